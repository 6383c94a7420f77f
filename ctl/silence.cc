// firewatchctl silence add | list | expire: the collector's /api/v1/silences.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "firewatch/clock.h"
#include "firewatch/config/yaml_reader.h"
#include "firewatch/text/rfc3339.h"
#include "firewatch/text/url.h"
#include "http.h"
#include "route/matcher.h"
#include "route/silence.h"

namespace firewatch::ctl {

namespace {

namespace route = alerting::route;

// "in 1h59m" / "3m ago", to the minute (seconds below two minutes).
std::string Relative(WallTime t, WallTime now) {
  const auto d = std::chrono::duration_cast<std::chrono::seconds>(t - now).count();
  const long long s = d < 0 ? -d : d;
  char buf[48];
  if (s < 120) {
    std::snprintf(buf, sizeof buf, "%llds", s);
  } else if (s < 48 * 3600) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, s / 60 % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", s / 86400, s / 3600 % 24);
  }
  return d < 0 ? std::string(buf) + " ago" : "in " + std::string(buf);
}

}  // namespace

int SilenceAdd(const SilenceAddOptions& o) {
  if (o.matchers.empty()) {
    std::fprintf(stderr, "silence add: give at least one matcher, e.g. source=web-1 or dc=~dc1.*\n");
    return 2;
  }
  route::Matchers matchers;
  for (const std::string& text : o.matchers) {
    auto m = route::ParseMatcher(text);
    if (!m.ok()) {
      std::fprintf(stderr, "silence add: %s\n", m.status().message().c_str());
      return 2;
    }
    matchers.push_back(*std::move(m));
  }
  const WallTime now = SystemClock::Instance().WallNow();
  WallTime ends;
  if (!o.until.empty()) {
    auto t = route::ParseSilenceTime(o.until);
    if (!t.ok()) {
      std::fprintf(stderr, "silence add: --until '%s': %s (e.g. 2026-11-25T20:00:00Z)\n",
                   o.until.c_str(), t.status().message().c_str());
      return 2;
    }
    ends = *t;
    if (ends <= now) {
      std::fprintf(stderr, "silence add: --until %s is in the past\n", o.until.c_str());
      return 2;
    }
  } else {
    auto d = config::ParseDuration(o.duration);
    if (!d.ok() || d->count() <= 0) {
      std::fprintf(stderr, "silence add: --duration '%s': %s\n", o.duration.c_str(),
                   d.ok() ? "must be positive" : d.status().message().c_str());
      return 2;
    }
    ends = now + std::chrono::duration_cast<WallTime::duration>(*d);
  }
  route::Silence s;
  s.matchers = std::move(matchers);
  s.starts_at = now;
  s.ends_at = ends;
  s.created_by = "firewatchctl";  // placeholder for the check below: the collector
  s.comment = o.comment;           // records the token's operator instead
  s.force = o.force;
  if (firewatch::Status v = route::ValidateSilence(s); !v.ok()) {
    std::fprintf(stderr, "silence add: %s\n", v.message().c_str());
    return 2;
  }
  if (o.force && route::IsBroad(s.matchers)) {
    std::fprintf(stderr, "silence add: --force: this silence mutes %s for every source\n",
                 route::MatchersString(s.matchers).c_str());
  }
  auto body = nlohmann::json::parse(route::SilenceToJson(s));
  body.erase("createdBy");
  const ApiReply reply =
      CallApi("POST", o.collector_url, "/api/v1/silences", body.dump(), o.timeout_ms);
  if (!ReplyOk(reply, "silence add")) return 1;
  auto doc = nlohmann::json::parse(reply.body, nullptr, false);
  std::string id = "?";
  if (!doc.is_discarded() && doc.is_object()) id = doc.value("silenceID", id);
  std::printf("%s\n", id.c_str());
  std::fprintf(stderr, "silenced %s until %s (%s)\n", route::MatchersString(s.matchers).c_str(),
               text::FormatRfc3339(ToUnixMillis(ends)).c_str(), Relative(ends, now).c_str());
  return 0;
}

int SilenceList(const std::string& collector_url, bool all, bool json, int timeout_ms) {
  const ApiReply reply = CallApi("GET", collector_url, "/api/v1/silences", "", timeout_ms);
  if (!ReplyOk(reply, "silence list")) return 1;
  if (json) {
    std::printf("%s\n", reply.body.c_str());
    return 0;
  }
  auto doc = nlohmann::json::parse(reply.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_array()) {
    std::fprintf(stderr, "silence list: %s did not answer with a list of silences\n",
                 reply.url.c_str());
    return 1;
  }
  const WallTime now = SystemClock::Instance().WallNow();
  std::vector<route::Silence> shown;
  for (const auto& item : doc) {
    auto s = route::SilenceFromJsonValue(item);
    if (!s.ok()) {
      std::fprintf(stderr, "silence list: skipping an unreadable silence: %s\n",
                   s.status().message().c_str());
      continue;
    }
    if (all || route::StateAt(*s, now) != route::SilenceState::kExpired) shown.push_back(*s);
  }
  std::sort(shown.begin(), shown.end(),
            [](const auto& a, const auto& b) { return a.ends_at < b.ends_at; });
  if (shown.empty()) {
    std::printf(all ? "no silences\n" : "no active or pending silences (--all lists expired ones)\n");
    return 0;
  }
  std::printf("%-36s  %-7s  %-16s  %-12s  %s\n", "ID", "STATE", "ENDS", "CREATED BY",
              "MATCHERS / COMMENT");
  for (const auto& s : shown) {
    const auto state = route::StateAt(s, now);
    const WallTime when = state == route::SilenceState::kPending ? s.starts_at : s.ends_at;
    std::string ends = Relative(when, now);
    if (state == route::SilenceState::kPending) ends = "starts " + ends;
    std::printf("%-36s  %-7s  %-16s  %-12s  %s  %s\n", s.id.c_str(),
                std::string(route::SilenceStateString(state)).c_str(), ends.c_str(),
                s.created_by.c_str(), route::MatchersString(s.matchers).c_str(),
                s.comment.c_str());
  }
  return 0;
}

int SilenceExpire(const std::string& collector_url, const std::string& id, int timeout_ms) {
  const ApiReply reply =
      CallApi("DELETE", collector_url, "/api/v1/silences/" + text::UrlEncode(id), "", timeout_ms);
  if (!ReplyOk(reply, "silence expire")) return 1;
  std::printf("expired %s\n", id.c_str());
  return 0;
}

}  // namespace firewatch::ctl
