// firewatchctl silence add | list | expire: the collector's /api/v1/silences, and
// firewatchctl maintenance add | list | expire: its /api/v1/maintenance (the same shape).
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "commands.h"
#include "firewatch/clock.h"
#include "firewatch/config/yaml_reader.h"
#include "firewatch/text/rfc3339.h"
#include "firewatch/text/url.h"
#include "http.h"
#include "route/matcher.h"
#include "route/maintenance.h"
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

// Command-line matchers, Alertmanager syntax; nullopt after printing why (as `cmd`).
std::optional<route::Matchers> ParseMatcherArgs(const std::vector<std::string>& args,
                                                const char* cmd) {
  if (args.empty()) {
    std::fprintf(stderr, "%s: give at least one matcher, e.g. source=web-1 or dc=~dc1.*\n", cmd);
    return std::nullopt;
  }
  route::Matchers matchers;
  for (const std::string& text : args) {
    auto m = route::ParseMatcher(text);
    if (!m.ok()) {
      std::fprintf(stderr, "%s: %s\n", cmd, m.status().message().c_str());
      return std::nullopt;
    }
    matchers.push_back(*std::move(m));
  }
  return matchers;
}

// A positive duration ("30m", "2h"); nullopt after printing why.
std::optional<Duration> ParseDurationArg(const std::string& text, const char* cmd,
                                         const char* flag) {
  auto d = config::ParseDuration(text);
  if (!d.ok() || d->count() <= 0) {
    std::fprintf(stderr, "%s: %s '%s': %s\n", cmd, flag, text.c_str(),
                 d.ok() ? "must be positive" : d.status().message().c_str());
    return std::nullopt;
  }
  return std::chrono::duration_cast<Duration>(*d);
}

// --until (RFC 3339, in the future) or else now + `duration`; nullopt after printing why.
std::optional<WallTime> EndArg(const std::string& until, const std::string& duration,
                               WallTime now, const char* cmd) {
  if (until.empty()) {
    auto d = ParseDurationArg(duration, cmd, "--duration");
    if (!d) return std::nullopt;
    return now + std::chrono::duration_cast<WallTime::duration>(*d);
  }
  auto t = route::ParseSilenceTime(until);
  if (!t.ok()) {
    std::fprintf(stderr, "%s: --until '%s': %s (e.g. 2026-11-25T20:00:00Z)\n", cmd,
                 until.c_str(), t.status().message().c_str());
    return std::nullopt;
  }
  if (*t <= now) {
    std::fprintf(stderr, "%s: --until %s is in the past\n", cmd, until.c_str());
    return std::nullopt;
  }
  return *t;
}

// The body as the collector will check it, before any request; a broad one is announced.
bool CheckBody(const route::Silence& s, const char* cmd, const char* what) {
  if (firewatch::Status v = route::ValidateSilence(s); !v.ok()) {
    std::fprintf(stderr, "%s: %s\n", cmd, v.message().c_str());
    return false;
  }
  if (s.force && route::IsBroad(s.matchers)) {
    std::fprintf(stderr, "%s: --force: this %s mutes %s for every source\n", cmd, what,
                 route::MatchersString(s.matchers).c_str());
  }
  return true;
}

// The id the collector answered under `key`, printed on stdout ("?" when unreadable).
std::string PrintId(const ApiReply& reply, const char* key) {
  auto doc = nlohmann::json::parse(reply.body, nullptr, false);
  std::string id = "?";
  if (!doc.is_discarded() && doc.is_object()) id = doc.value(key, id);
  std::printf("%s\n", id.c_str());
  return id;
}

// DELETE `path`/{id}: expires a silence or a window.
int ExpireById(const std::string& collector_url, const std::string& path, const std::string& id,
               int timeout_ms, const char* cmd) {
  const ApiReply reply =
      CallApi("DELETE", collector_url, path + text::UrlEncode(id), "", timeout_ms);
  if (!ReplyOk(reply, cmd)) return 1;
  std::printf("expired %s\n", id.c_str());
  return 0;
}

}  // namespace

int SilenceAdd(const SilenceAddOptions& o) {
  auto matchers = ParseMatcherArgs(o.matchers, "silence add");
  if (!matchers) return 2;
  const WallTime now = SystemClock::Instance().WallNow();
  auto ends = EndArg(o.until, o.duration, now, "silence add");
  if (!ends) return 2;
  route::Silence s;
  s.matchers = std::move(*matchers);
  s.starts_at = now;
  s.ends_at = *ends;
  s.created_by = "firewatchctl";  // placeholder for the check below: the collector
  s.comment = o.comment;           // records the token's operator instead
  s.force = o.force;
  if (!CheckBody(s, "silence add", "silence")) return 2;
  auto body = nlohmann::json::parse(route::SilenceToJson(s));
  body.erase("createdBy");
  const ApiReply reply =
      CallApi("POST", o.collector_url, "/api/v1/silences", body.dump(), o.timeout_ms);
  if (!ReplyOk(reply, "silence add")) return 1;
  PrintId(reply, "silenceID");
  std::fprintf(stderr, "silenced %s until %s (%s)\n", route::MatchersString(s.matchers).c_str(),
               text::FormatRfc3339(ToUnixMillis(*ends)).c_str(), Relative(*ends, now).c_str());
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
  return ExpireById(collector_url, "/api/v1/silences/", id, timeout_ms, "silence expire");
}

int MaintenanceAdd(const MaintenanceAddOptions& o) {
  const char* cmd = "maintenance add";
  auto matchers = ParseMatcherArgs(o.matchers, cmd);
  if (!matchers) return 2;
  const WallTime now = SystemClock::Instance().WallNow();
  route::MaintenanceWindow w;
  w.base.matchers = std::move(*matchers);
  w.base.starts_at = now;
  if (!o.start.empty()) {
    auto t = route::ParseSilenceTime(o.start);
    if (!t.ok()) {
      std::fprintf(stderr, "%s: --start '%s': %s\n", cmd, o.start.c_str(),
                   t.status().message().c_str());
      return 2;
    }
    w.base.starts_at = *t;
  }
  if (o.cron.empty()) {
    // One-off: from --start for --duration, or until --until.
    std::optional<WallTime> ends;
    if (o.until.empty()) {
      auto d = ParseDurationArg(o.duration, cmd, "--duration");
      if (!d) return 2;
      // From --start when given (a start an hour ago with --duration 2h ends in an
      // hour, as written), else from now.
      ends = w.base.starts_at + std::chrono::duration_cast<WallTime::duration>(*d);
      if (*ends <= now) {
        std::fprintf(stderr, "%s: --start %s with --duration %s ended already; nothing added\n",
                     cmd, o.start.c_str(), o.duration.c_str());
        return 2;
      }
    } else {
      ends = EndArg(o.until, o.duration, now, cmd);
    }
    if (!ends) return 2;
    w.base.ends_at = *ends;
  } else {
    // Recurring: each occurrence lasts --duration; the series runs until --until (or
    // until expired).
    auto d = ParseDurationArg(o.duration, cmd, "--duration");
    if (!d) return 2;
    w.recurrence = route::Recurrence{o.cron, o.time_zone, *d};
    w.base.ends_at = FromUnixMillis(route::kMaxSilenceUnixMs);
    if (!o.until.empty()) {
      auto ends = EndArg(o.until, o.duration, now, cmd);
      if (!ends) return 2;
      w.base.ends_at = *ends;
    }
  }
  w.base.created_by = "firewatchctl";  // placeholder: the collector records the operator
  w.base.comment = o.comment;
  w.base.force = o.force;
  if (firewatch::Status v = route::ValidateWindow(w); !v.ok()) {
    std::fprintf(stderr, "%s: %s\n", cmd, v.message().c_str());
    return 2;
  }
  if (!CheckBody(w.base, cmd, "window")) return 2;
  auto body = nlohmann::json::parse(route::WindowToJson(w));
  body.erase("createdBy");
  body.erase("id");
  const ApiReply reply =
      CallApi("POST", o.collector_url, "/api/v1/maintenance", body.dump(), o.timeout_ms);
  if (!ReplyOk(reply, cmd)) return 1;
  PrintId(reply, "maintenanceID");
  std::fprintf(stderr, "maintenance for %s: %s\n", route::MatchersString(w.base.matchers).c_str(),
               w.recurrence ? ("'" + o.cron + "' " + o.time_zone + " for " + o.duration).c_str()
                            : ("until " + text::FormatRfc3339(ToUnixMillis(w.base.ends_at))).c_str());
  return 0;
}

int MaintenanceList(const std::string& collector_url, bool all, bool json, int timeout_ms) {
  const ApiReply reply = CallApi("GET", collector_url, "/api/v1/maintenance", "", timeout_ms);
  if (!ReplyOk(reply, "maintenance list")) return 1;
  if (json) {
    std::printf("%s\n", reply.body.c_str());
    return 0;
  }
  auto doc = nlohmann::json::parse(reply.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_array()) {
    std::fprintf(stderr, "maintenance list: %s did not answer with a list of windows\n",
                 reply.url.c_str());
    return 1;
  }
  const WallTime now = SystemClock::Instance().WallNow();
  size_t shown = 0;
  for (const auto& item : doc) {
    auto w = route::WindowFromJsonValue(item);
    if (!w.ok()) {
      std::fprintf(stderr, "maintenance list: skipping an unreadable window: %s\n",
                   w.status().message().c_str());
      continue;
    }
    std::string state = "?", when;
    if (auto st = item.find("status"); st != item.end() && st->is_object()) {
      state = st->value("state", state);
      if (auto occ = st->find("occurrence"); occ != st->end() && occ->is_object()) {
        auto from = route::ParseSilenceTime(occ->value("startsAt", ""));
        auto to = route::ParseSilenceTime(occ->value("endsAt", ""));
        if (from.ok() && to.ok()) {
          when = state == "active" ? "ends " + Relative(*to, now) : "starts " + Relative(*from, now);
        }
      }
    }
    if (!all && state == "expired") continue;
    if (shown++ == 0) {
      std::printf("%-36s  %-7s  %-18s  %-24s  %-12s  %s\n", "ID", "STATE", "WHEN", "SCHEDULE",
                  "CREATED BY", "MATCHERS / COMMENT");
    }
    const std::string schedule =
        w->recurrence ? w->recurrence->cron + " " + w->recurrence->time_zone : "once";
    std::printf("%-36s  %-7s  %-18s  %-24s  %-12s  %s  %s\n", w->base.id.c_str(), state.c_str(),
                when.c_str(), schedule.c_str(), w->base.created_by.c_str(),
                route::MatchersString(w->base.matchers).c_str(), w->base.comment.c_str());
  }
  if (shown == 0) {
    std::printf(all ? "no maintenance windows\n"
                    : "no current or upcoming maintenance windows (--all lists expired ones)\n");
  }
  return 0;
}

int MaintenanceExpire(const std::string& collector_url, const std::string& id, int timeout_ms) {
  return ExpireById(collector_url, "/api/v1/maintenance/", id, timeout_ms, "maintenance expire");
}

}  // namespace firewatch::ctl
