#include "commands.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <nlohmann/json.hpp>

#include "app/collector_config.h"
#include "firewatch/clock.h"
#include "firewatch/config/yaml_reader.h"
#include "firewatch/protocol/keyring.h"
#include "firewatch/text/url.h"
#include "http.h"
#include "notify/factory.h"
#include "notify/notifier.h"
#ifdef FIREWATCH_CTL_HAS_AGENT
#include "agent_config.h"
#endif

namespace firewatch::ctl {

int Keygen(const std::string& out, bool force) {
  const std::string text = protocol::GenerateKeyText();
  if (out == "-") {
    std::fputs(text.c_str(), stdout);
    return 0;
  }
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
  int fd = ::open(out.c_str(), flags, 0600);
  if (fd < 0) {
    std::fprintf(stderr, "keygen: cannot create %s: %s%s\n", out.c_str(), std::strerror(errno),
                 errno == EEXIST ? " (use --force to replace it)" : "");
    return 1;
  }
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    std::fprintf(stderr, "keygen: cannot write %s\n", out.c_str());
    return 1;
  }
  std::printf(
      "wrote a new key to %s (keep it secret; give the same file to agents and collectors)\n",
      out.c_str());
  return 0;
}

namespace {

std::string Ago(double seconds) {
  char buf[32];
  if (seconds < 120)
    std::snprintf(buf, sizeof buf, "%.0fs", seconds);
  else if (seconds < 7200)
    std::snprintf(buf, sizeof buf, "%.0fm", seconds / 60);
  else
    std::snprintf(buf, sizeof buf, "%.1fh", seconds / 3600);
  return buf;
}

}  // namespace

namespace {
// The collector's cluster view (GET /api/v1/collectors), when it has peers. Best effort:
// a collector without the endpoint or without peers prints nothing.
void PrintCluster(const std::string& collector_url, int timeout_ms) {
  const ApiReply reply = CallApi("GET", collector_url, "/api/v1/collectors", "", timeout_ms);
  if (!reply.reached || reply.status != 200) return;
  auto doc = nlohmann::json::parse(reply.body, nullptr, false);
  if (doc.is_discarded() || !doc.contains("collectors") || doc["collectors"].size() < 2) return;
  std::printf("\ncluster (as seen by %s)%s\n", doc.value("self", "?").c_str(),
              doc.value("isolated", false) ? ": ISOLATED (no peer, most sources lost)"
              : doc.value("alone", false)  ? ": ALONE (no peer reachable)"
                                           : "");
  std::printf("%-24s %-8s %-10s %-10s %s\n", "COLLECTOR", "STATE", "LAST SYNC", "CONFIG",
              "CANNOT HEAR");
  for (const auto& c : doc["collectors"]) {
    const bool self = c.value("self", false);
    std::string sync = "-";
    if (!self && c.contains("last_sync_age_ms") && c["last_sync_age_ms"].is_number()) {
      sync = Ago(c["last_sync_age_ms"].get<double>() / 1000.0) + " ago";
    } else if (!self) {
      sync = "never";
    }
    std::printf("%-24s %-8s %-10s %-10s %llu\n", (c.value("id", "?") + (self ? " *" : "")).c_str(),
                c.value("state", "?").c_str(), sync.c_str(),
                c.value("config_matches", true) ? "same" : "DIFFERENT",
                static_cast<unsigned long long>(c.value("unheard_sources", 0ull)));
  }
  const auto warnings = doc.value("path_warnings_total", 0ull);
  if (warnings > 0) {
    std::printf(
        "%llu path warning(s): sources heard by some collectors and not others "
        "(GET /api/v1/collectors lists them)\n",
        static_cast<unsigned long long>(warnings));
  }
}
}  // namespace

namespace {
// GET /api/v1/sources page by page (it pages: docs/api.md), following `next` until the
// last page; the pages' sources in one document shaped like a single page. Prints why
// and returns nullopt when a page fails.
std::optional<nlohmann::json> AllSources(const std::string& collector_url, int timeout_ms) {
  nlohmann::json doc;
  nlohmann::json sources = nlohmann::json::array();
  std::string after;
  while (true) {
    std::string path = "/api/v1/sources?limit=5000";
    if (!after.empty()) path += "&after=" + text::UrlEncode(after);
    const ApiReply reply = CallApi("GET", collector_url, path, "", timeout_ms);
    if (!ReplyOk(reply, "status")) return std::nullopt;
    auto page = nlohmann::json::parse(reply.body, nullptr, false);
    if (page.is_discarded() || !page.contains("sources") || !page["sources"].is_array()) {
      std::fprintf(stderr, "status: %s did not answer with a source list\n", reply.url.c_str());
      return std::nullopt;
    }
    for (auto& s : page["sources"]) sources.push_back(std::move(s));
    if (doc.is_null()) doc = page;  // collector, generated_at, matched, total of the first
    if (!page.contains("next") || !page["next"].is_string()) break;
    const std::string next = page["next"].get<std::string>();
    if (next == after) break;  // never loop on a collector that repeats itself
    after = next;
  }
  doc["sources"] = std::move(sources);
  doc.erase("next");
  doc.erase("limit");
  return doc;
}
}  // namespace

int Status(const std::string& collector_url, bool json, int timeout_ms) {
  const std::optional<nlohmann::json> all = AllSources(collector_url, timeout_ms);
  if (!all) return 1;
  const nlohmann::json& doc = *all;
  if (json) {
    std::fputs(doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str(), stdout);
    std::fputs("\n", stdout);
    return 0;
  }
  std::vector<nlohmann::json> sources(doc["sources"].begin(), doc["sources"].end());
  auto rank = [](const std::string& s) {
    return s == "DOWN" ? 0 : s == "LATE" ? 1 : s == "STOPPED" ? 2 : 3;
  };
  // The API lists in order of first contact: by state, then id, for people.
  std::stable_sort(sources.begin(), sources.end(), [&](const auto& a, const auto& b) {
    const int ra = rank(a.value("state", "")), rb = rank(b.value("state", ""));
    return ra != rb ? ra < rb : a.value("source_id", "") < b.value("source_id", "");
  });
  std::printf("collector %s: %zu sources\n", doc.value("collector", "?").c_str(), sources.size());
  std::printf("%-32s %-8s %-10s %s\n", "SOURCE", "STATE", "LAST SEEN", "LABELS");
  for (const auto& s : sources) {
    std::string labels;
    if (s.contains("labels") && s["labels"].is_object()) {
      for (auto it = s["labels"].begin(); it != s["labels"].end(); ++it) {
        labels += (labels.empty() ? "" : ",") + it.key() + "=" +
                  (it.value().is_string() ? it.value().get<std::string>() : it.value().dump());
      }
    }
    std::printf("%-32s %-8s %-10s %s\n", s.value("source_id", "?").c_str(),
                s.value("state", "?").c_str(),
                (Ago(s.value("last_seen_ago_seconds", 0.0)) + " ago").c_str(), labels.c_str());
  }
  PrintCluster(collector_url, timeout_ms);
  return 0;
}

namespace {
std::string Labels(const nlohmann::json& labels) {
  std::string out;
  if (!labels.is_object()) return out;
  for (auto it = labels.begin(); it != labels.end(); ++it) {
    out += (out.empty() ? "" : ",") + it.key() + "=" +
           (it.value().is_string() ? it.value().get<std::string>() : it.value().dump());
  }
  return out;
}
}  // namespace

int Incidents(const std::string& collector_url, bool all, bool json, int timeout_ms) {
  const ApiReply reply = CallApi("GET", collector_url, "/api/v1/incidents", "", timeout_ms);
  if (!ReplyOk(reply, "incidents")) return 1;
  if (json) {
    std::fputs(reply.body.c_str(), stdout);
    std::fputs("\n", stdout);
    return 0;
  }
  auto doc = nlohmann::json::parse(reply.body, nullptr, false);
  if (doc.is_discarded() || !doc.contains("incidents") || !doc["incidents"].is_array()) {
    std::fprintf(stderr, "incidents: %s did not answer with an incident list\n", reply.url.c_str());
    return 1;
  }
  const double now_s =
      static_cast<double>(ToUnixMillis(SystemClock::Instance().WallNow())) / 1000.0;
  std::vector<const nlohmann::json*> shown;
  size_t resolved = 0;
  for (const auto& i : doc["incidents"]) {
    const bool done = i.value("state", "") == "resolved";
    resolved += done ? 1 : 0;
    if (all || !done) shown.push_back(&i);
  }
  std::printf("%zu incident(s) open or acked%s\n", doc["incidents"].size() - resolved,
              all ? "" : (resolved > 0 ? " (--all also lists the resolved ones)" : ""));
  if (shown.empty()) return 0;
  std::printf("%-8s %-9s %-9s %-5s %-24s %-16s %s\n", "ID", "STATE", "SINCE", "STEP", "PAGED",
              "ACKED BY", "GROUP");
  for (const auto* i : shown) {
    const double started_s = i->value("started_at_ms", 0.0) / 1000.0;
    std::string paged;
    long step = -1;
    if (i->contains("paged") && (*i)["paged"].is_array()) {
      for (const auto& p : (*i)["paged"]) {
        const std::string who = p.value("contact", "?");
        if (paged.find(who) == std::string::npos) paged += (paged.empty() ? "" : ",") + who;
        step = std::max(step, p.value("step", 0L));
      }
    }
    std::printf("%-8s %-9s %-9s %-5s %-24s %-16s %s\n", i->value("id", "?").c_str(),
                i->value("state", "?").c_str(), (Ago(std::max(0.0, now_s - started_s))).c_str(),
                step < 0 ? "-" : std::to_string(step).c_str(), paged.empty() ? "-" : paged.c_str(),
                i->value("acked_by", std::string("-")).c_str(),
                Labels(i->value("group_labels", nlohmann::json::object())).c_str());
  }
  return 0;
}

std::string BashCompletion(const std::vector<std::string>& subcommands) {
  std::string words;
  for (const auto& w : subcommands) words += (words.empty() ? "" : " ") + w;
  return "# bash completion for firewatchctl: source <(firewatchctl completion bash)\n"
         "_firewatchctl() {\n"
         "  local cur=${COMP_WORDS[COMP_CWORD]}\n"
         "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
         "    COMPREPLY=($(compgen -W \"" +
         words +
         " --help --version --token-file\" -- \"$cur\"))\n"
         "    return\n"
         "  fi\n"
         "  case ${COMP_WORDS[1]} in\n"
         "    silence|maintenance) [ \"$COMP_CWORD\" -eq 2 ] && COMPREPLY=($(compgen -W \"add list expire\" -- "
         "\"$cur\")) && return ;;\n"
         "    token) [ \"$COMP_CWORD\" -eq 2 ] && COMPREPLY=($(compgen -W \"create revoke\" -- "
         "\"$cur\")) && return ;;\n"
         "    check-config|test-page) COMPREPLY=($(compgen -f -- \"$cur\")) && return ;;\n"
         "  esac\n"
         "  COMPREPLY=($(compgen -W \"--collector --json --all --comment --timeout-ms --token-file "
         "--help\" "
         "-- \"$cur\"))\n"
         "}\n"
         "complete -F _firewatchctl firewatchctl\n";
}

int CheckConfig(const std::string& path) {
  auto doc = config::LoadFile(path);
  if (!doc.ok()) {
    std::fprintf(stderr, "%s\n", doc.status().message().c_str());
    return 1;
  }
  const bool is_agent = (*doc)["collectors"].IsDefined() || (*doc)["agent"].IsDefined();
  if (is_agent) {
#ifdef FIREWATCH_CTL_HAS_AGENT
    auto cfg = agent::LoadAgentConfigFile(path, "firewatchctl");
    if (!cfg.ok()) {
      std::fprintf(stderr, "%s\n", cfg.status().message().c_str());
      return 1;
    }
    std::printf("%s: OK (agent config)\n", path.c_str());
    return 0;
#else
    std::fprintf(stderr, "%s: agent configs are checked with firewatch-agent --check-config\n",
                 path.c_str());
    return 2;
#endif
  }
  auto cfg = collector::LoadCollectorConfig(path);
  if (!cfg.ok()) {
    std::fprintf(stderr, "%s\n", cfg.status().message().c_str());
    return 1;
  }
  std::printf("%s: OK (collector config)\n", path.c_str());
  return 0;
}

int Ack(const std::string& collector_url, const std::string& id, int timeout_ms) {
  const ApiReply reply =
      CallApi("POST", collector_url, "/api/v1/ack/" + text::UrlEncode(id), "{}", timeout_ms);
  if (!ReplyOk(reply, "ack")) return 1;
  auto doc = nlohmann::json::parse(reply.body, nullptr, false);
  std::string acked = id;
  std::string state;
  if (!doc.is_discarded() && doc.is_object()) {
    acked = doc.value("id", id);
    state = doc.value("state", "");
  }
  if (state.empty() || state == "acked") {
    std::printf("acknowledged %s\n", acked.c_str());
  } else {
    std::printf("acknowledged %s (already %s)\n", acked.c_str(), state.c_str());
  }
  return 0;
}

int Resolve(const std::string& collector_url, const std::string& id, const std::string& comment,
            bool json, int timeout_ms) {
  nlohmann::json body = nlohmann::json::object();
  if (!comment.empty()) body["comment"] = comment;
  const ApiReply reply =
      CallApi("POST", collector_url, "/api/v1/incidents/" + text::UrlEncode(id) + "/resolve",
              body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), timeout_ms);
  if (!ReplyOk(reply, "resolve")) return 1;
  if (json) {
    std::fputs(reply.body.c_str(), stdout);
    std::fputs("\n", stdout);
    return 0;
  }
  auto doc = nlohmann::json::parse(reply.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || doc.value("state", "") != "resolved") {
    std::fprintf(stderr, "resolve: %s did not answer with a resolved incident\n",
                 reply.url.c_str());
    return 1;
  }
  const std::string by = doc.value("resolved_by", "");
  std::string firing;
  if (doc.contains("alerts") && doc["alerts"].is_array()) {
    for (const auto& a : doc["alerts"]) {
      if (a.value("status", "") != "firing") continue;
      const nlohmann::json labels = a.value("labels", nlohmann::json::object());
      firing +=
          (firing.empty() ? "" : ",") + labels.value("source", labels.value("alertname", "?"));
    }
  }
  std::printf("%-8s %-9s %-16s %s\n", "ID", "STATE", "RESOLVED BY", "STILL FIRING");
  std::printf("%-8s %-9s %-16s %s\n", doc.value("id", id).c_str(), "resolved",
              by.empty() ? "(recovered)" : by.c_str(), firing.empty() ? "-" : firing.c_str());
  if (by.empty()) {
    std::printf("already resolved: every alert had recovered\n");
  } else if (!firing.empty()) {
    std::printf(
        "still firing: no new incident until it recovers and fails again, another alert "
        "joins, or the route's repeat_interval passes\n");
  }
  return 0;
}

int Forget(const std::string& collector_url, const std::string& source, int timeout_ms) {
  const ApiReply reply = CallApi("DELETE", collector_url,
                                 "/api/v1/sources/" + text::UrlEncode(source), "", timeout_ms);
  if (!ReplyOk(reply, "forget")) return 1;
  std::printf("forgot %s (removed from %s's memory and store; its peers are told)\n",
              source.c_str(), collector_url.c_str());
  return 0;
}

int TestPage(const std::string& config_path, const std::string& channel,
             const std::string& contact) {
  auto cfg = collector::LoadCollectorConfig(config_path);
  if (!cfg.ok()) {
    std::fprintf(stderr, "%s\n", cfg.status().message().c_str());
    return 1;
  }
  const alerting::AlertingConfig& ac = cfg->alerting;
  if (!ac.enabled || ac.channels.empty()) {
    std::fprintf(stderr,
                 "test-page: %s configures no alerting channels (add `channels:`, see "
                 "docs/notifiers.md)\n",
                 config_path.c_str());
    return 1;
  }
  auto names = [](const auto& list) {
    std::string out;
    for (const auto& x : list) out += (out.empty() ? "" : ", ") + x.name;
    return out.empty() ? std::string("(none)") : out;
  };
  const alerting::notify::ChannelConfig* ch = ac.FindChannel(channel);
  if (ch == nullptr) {
    std::fprintf(stderr, "test-page: no channel '%s' in %s; valid channels: %s\n", channel.c_str(),
                 config_path.c_str(), names(ac.channels).c_str());
    return 1;
  }
  const alerting::Contact* c = nullptr;
  if (!contact.empty()) {
    c = ac.FindContact(contact);
    if (c == nullptr) {
      std::fprintf(stderr, "test-page: no contact '%s' in %s; valid contacts: %s\n",
                   contact.c_str(), config_path.c_str(), names(ac.contacts).c_str());
      return 1;
    }
  } else if (!ac.contacts.empty()) {
    c = &ac.contacts.front();
  }
  const std::string address = c ? alerting::AddressFor(*c, ch->type) : std::string();
  if (c != nullptr && address.empty() &&
      (ch->type == "smtp" || ch->type == "twilio" || ch->type == "http_sms")) {
    std::fprintf(stderr, "test-page: contact '%s' has no %s for %s channel '%s'\n", c->name.c_str(),
                 ch->type == "smtp" ? "email" : "phone", ch->type.c_str(), ch->name.c_str());
    return 1;
  }
  const Clock& clock = SystemClock::Instance();
  auto notifier = alerting::notify::MakeNotifier(*ch, clock);
  alerting::Notification n;
  n.kind = "test";
  n.incident_id = "TEST";
  n.idempotency_key = "test/" + channel + "/" + std::to_string(ToUnixMillis(clock.WallNow()));
  n.contact = c ? c->name : std::string();
  n.address = address;
  n.subject = "[TEST] firewatch test page";
  n.text =
      "This is a test page from firewatchctl through channel " + channel + ". No action is needed.";
  std::string to = c ? " to " + c->name : std::string();
  if (!address.empty()) to += " (" + address + ")";
  std::printf("sending a test page through %s channel '%s'%s\n", ch->type.c_str(), ch->name.c_str(),
              to.c_str());
  std::fflush(stdout);
  const alerting::SendResult r = notifier->Send(n);
  if (r.ok()) {
    std::printf("delivered: %s\n", r.detail.c_str());
    return 0;
  }
  std::printf("failed (%s): %s\n",
              r.kind == alerting::SendResult::Kind::kRetryable ? "retryable" : "permanent",
              r.detail.c_str());
  return 1;
}

}  // namespace firewatch::ctl
