#include "route/maintenance.h"

#include <date/tz.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cron/cron.h"

namespace firewatch::alerting::route {

using nlohmann::json;

namespace {

constexpr size_t kMaxTimeZoneBytes = 64;

Result<const date::time_zone*> LocateZone(const std::string& name) {
  if (name.empty() || name.size() > kMaxTimeZoneBytes) {
    return Status::InvalidArgument("recurrence.timeZone: expected an IANA time zone name");
  }
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return Status::InvalidArgument("recurrence.timeZone: unknown time zone '" + name + "'");
  }
}

struct Resolved {
  std::unique_ptr<cron::Expression> expr;
  const date::time_zone* zone = nullptr;
};

Result<Resolved> Resolve(const MaintenanceWindow& w, const MaintenanceLimits& limits) {
  if (Status st = ValidateSilence(w.base, limits.silence); !st.ok()) return st;
  Resolved r;
  if (!w.recurrence) return r;
  const Recurrence& rec = *w.recurrence;
  auto expr = cron::Expression::Parse(rec.cron);
  if (!expr.ok()) return Status::InvalidArgument("recurrence.cron: " + expr.status().message());
  auto zone = LocateZone(rec.time_zone);
  if (!zone.ok()) return zone.status();
  if (rec.duration <= Duration::zero() || rec.duration > limits.max_occurrence) {
    return Status::InvalidArgument(
        "recurrence.durationSeconds: must be more than 0 and at most " +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(limits.max_occurrence).count()));
  }
  r.expr = std::make_unique<cron::Expression>(std::move(expr).value());
  r.zone = *zone;
  return r;
}

}  // namespace

std::string_view WindowStateString(WindowState s) {
  switch (s) {
    case WindowState::kPending: return "pending";
    case WindowState::kActive: return "active";
    case WindowState::kWaiting: return "waiting";
    case WindowState::kExpired: return "expired";
  }
  return "unknown";
}

Status ValidateWindow(const MaintenanceWindow& w, const MaintenanceLimits& limits) {
  auto r = Resolve(w, limits);
  return r.ok() ? Status::Ok() : r.status();
}

std::string WindowToJson(const MaintenanceWindow& w) {
  if (!w.recurrence) return SilenceToJson(w.base);
  json j = json::parse(SilenceToJson(w.base));
  j["recurrence"] = {
      {"cron", w.recurrence->cron},
      {"timeZone", w.recurrence->time_zone},
      {"durationSeconds",
       std::chrono::duration_cast<std::chrono::seconds>(w.recurrence->duration).count()}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<MaintenanceWindow> WindowFromJsonValue(const json& value, const MaintenanceLimits& limits) {
  auto base = SilenceFromJsonValue(value, limits.silence);
  if (!base.ok()) return base.status();
  MaintenanceWindow w;
  w.base = std::move(base).value();
  auto rec = value.find("recurrence");  // SilenceFromJsonValue checked that value is an object
  if (rec != value.end() && !rec->is_null()) {
    if (!rec->is_object()) return Status::InvalidArgument("recurrence: expected an object");
    Recurrence r;
    auto cron = rec->find("cron");
    if (cron == rec->end() || !cron->is_string()) {
      return Status::InvalidArgument("recurrence.cron: expected a cron expression string");
    }
    r.cron = cron->get<std::string>();
    auto tz = rec->find("timeZone");
    if (tz == rec->end() || tz->is_null()) {
      r.time_zone = "UTC";
    } else if (!tz->is_string()) {
      return Status::InvalidArgument("recurrence.timeZone: expected a string");
    } else {
      r.time_zone = tz->get<std::string>();
    }
    auto d = rec->find("durationSeconds");
    if (d == rec->end() || !d->is_number_integer()) {
      return Status::InvalidArgument("recurrence.durationSeconds: expected an integer");
    }
    const int64_t secs = d->get<int64_t>();
    // Bounded before converting, so no overflow; Resolve checks the real limit.
    if (secs <= 0 || secs > 366LL * 24 * 3600) {
      return Status::InvalidArgument("recurrence.durationSeconds: out of range");
    }
    r.duration = std::chrono::seconds(secs);
    w.recurrence = std::move(r);
  }
  if (Status st = ValidateWindow(w, limits); !st.ok()) return st;
  return w;
}

Result<MaintenanceWindow> WindowFromJson(std::string_view text, const MaintenanceLimits& limits) {
  if (text.size() > kMaxMaintenanceJsonBytes) {
    return Status::InvalidArgument("maintenance window: more than " +
                                   std::to_string(kMaxMaintenanceJsonBytes) + " bytes");
  }
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Status::InvalidArgument("maintenance window: not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("maintenance window: expected a JSON object");
  return WindowFromJsonValue(j, limits);
}

// ---------------------------------------------------------------- compiled

CompiledWindow::~CompiledWindow() = default;

Result<std::shared_ptr<const CompiledWindow>> CompiledWindow::Make(MaintenanceWindow w) {
  // Limits were applied where the window came in (API, peer, store); here only the rules
  // evaluation depends on, so a window held before a limit changed still evaluates.
  MaintenanceLimits loose;
  loose.max_occurrence = std::chrono::hours(366 * 24);
  auto r = Resolve(w, loose);
  if (!r.ok()) return r.status();
  std::shared_ptr<CompiledWindow> c(new CompiledWindow());
  c->window_ = std::move(w);
  c->expr_ = std::move(r->expr);
  c->zone_ = r->zone;
  return std::shared_ptr<const CompiledWindow>(std::move(c));
}

std::optional<Occurrence> CompiledWindow::CurrentOrNext(WallTime now) const {
  const Silence& b = window_.base;
  if (now >= b.ends_at) return std::nullopt;
  if (!expr_) return Occurrence{b.starts_at, b.ends_at};
  const Duration d = window_.recurrence->duration;
  // An occurrence starting at t covers [t, t + d), cut to the series [starts_at, ends_at).
  // The first one still running at max(now, starts_at) starts after that minus d (Next()
  // is strictly after its argument): so a window made in the middle of an occurrence is
  // active at once, for the rest of it.
  const WallTime from = std::max(now, b.starts_at);
  auto t = expr_->Next(from - d, zone_);
  if (!t || *t >= b.ends_at) return std::nullopt;
  return Occurrence{std::max(*t, b.starts_at), std::min(*t + d, b.ends_at)};
}

WindowState CompiledWindow::StateAt(WallTime now) const {
  const Silence& b = window_.base;
  if (now >= b.ends_at) return WindowState::kExpired;
  auto occ = CurrentOrNext(now);
  if (occ && occ->start <= now && now < occ->end) return WindowState::kActive;
  if (now < b.starts_at) return WindowState::kPending;
  return occ ? WindowState::kWaiting : WindowState::kExpired;
}

bool CompiledWindow::Mutes(const LabelSet& labels, WallTime now) const {
  if (now >= window_.base.ends_at || now < window_.base.starts_at) return false;
  return MatchesAll(window_.base.matchers, labels) && ActiveAt(now);
}

bool MaintenanceSnapshot::Mutes(const LabelSet& labels, WallTime now) const {
  return std::any_of(windows_.begin(), windows_.end(),
                     [&](const auto& w) { return w->Mutes(labels, now); });
}

std::vector<std::string> MaintenanceSnapshot::MutedBy(const LabelSet& labels, WallTime now) const {
  std::vector<std::string> out;
  for (const auto& w : windows_) {
    if (w->Mutes(labels, now)) out.push_back(w->window().base.id);
  }
  return out;
}

}  // namespace firewatch::alerting::route
