#include "commands.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "app/collector_config.h"
#include "firewatch/clock.h"
#include "notify/factory.h"
#include "notify/notifier.h"
#include "firewatch/config/yaml_reader.h"
#include "firewatch/protocol/keyring.h"
#include "firewatch/text/url.h"
#include "http.h"
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
  std::printf("wrote a new key to %s (keep it secret; give the same file to agents and collectors)\n",
              out.c_str());
  return 0;
}

namespace {

std::string Ago(double seconds) {
  char buf[32];
  if (seconds < 120) std::snprintf(buf, sizeof buf, "%.0fs", seconds);
  else if (seconds < 7200) std::snprintf(buf, sizeof buf, "%.0fm", seconds / 60);
  else std::snprintf(buf, sizeof buf, "%.1fh", seconds / 3600);
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
    std::printf("%-24s %-8s %-10s %-10s %llu\n",
                (c.value("id", "?") + (self ? " *" : "")).c_str(), c.value("state", "?").c_str(),
                sync.c_str(), c.value("config_matches", true) ? "same" : "DIFFERENT",
                static_cast<unsigned long long>(c.value("unheard_sources", 0ull)));
  }
  const auto warnings = doc.value("path_warnings_total", 0ull);
  if (warnings > 0) {
    std::printf("%llu path warning(s): sources heard by some collectors and not others "
                "(GET /api/v1/collectors lists them)\n",
                static_cast<unsigned long long>(warnings));
  }
}
}  // namespace

int Status(const std::string& collector_url, bool json, int timeout_ms) {
  const ApiReply reply = CallApi("GET", collector_url, "/api/v1/sources", "", timeout_ms);
  if (!ReplyOk(reply, "status")) return 1;
  const std::string& body = reply.body;
  const std::string& url = reply.url;
  if (json) {
    std::fputs(body.c_str(), stdout);
    std::fputs("\n", stdout);
    return 0;
  }
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.contains("sources")) {
    std::fprintf(stderr, "status: %s did not answer with a source list\n", url.c_str());
    return 1;
  }
  std::vector<nlohmann::json> sources(doc["sources"].begin(), doc["sources"].end());
  auto rank = [](const std::string& s) {
    return s == "DOWN" ? 0 : s == "LATE" ? 1 : s == "STOPPED" ? 2 : 3;
  };
  std::stable_sort(sources.begin(), sources.end(), [&](const auto& a, const auto& b) {
    return rank(a.value("state", "")) < rank(b.value("state", ""));
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

int Forget(const std::string& collector_url, const std::string& source, int timeout_ms) {
  const ApiReply reply = CallApi("DELETE", collector_url, "/api/v1/sources/" + text::UrlEncode(source),
                                 "", timeout_ms);
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
  if (c != nullptr && address.empty() && (ch->type == "smtp" || ch->type == "twilio" ||
                                          ch->type == "http_sms")) {
    std::fprintf(stderr, "test-page: contact '%s' has no %s for %s channel '%s'\n",
                 c->name.c_str(), ch->type == "smtp" ? "email" : "phone", ch->type.c_str(),
                 ch->name.c_str());
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
  n.text = "This is a test page from firewatchctl through channel " + channel +
           ". No action is needed.";
  std::string to = c ? " to " + c->name : std::string();
  if (!address.empty()) to += " (" + address + ")";
  std::printf("sending a test page through %s channel '%s'%s\n", ch->type.c_str(),
              ch->name.c_str(), to.c_str());
  std::fflush(stdout);
  const alerting::SendResult r = notifier->Send(n);
  if (r.ok()) {
    std::printf("delivered: %s\n", r.detail.c_str());
    return 0;
  }
  std::printf("failed (%s): %s\n", r.kind == alerting::SendResult::Kind::kRetryable ? "retryable" : "permanent",
              r.detail.c_str());
  return 1;
}

}  // namespace firewatch::ctl
