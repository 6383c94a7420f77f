// Maintenance windows (issue #14): planned time spans in which everything matching a set
// of label matchers is muted: no pages, while the tracker keeps tracking (docs/routing.md,
// "Maintenance windows"). A window is one-off ([starts_at, ends_at), like a silence) or
// recurring: a cron expression (collector/cron, five fields, DST rules of Debian cron) in
// an IANA time zone fires the start of each occurrence, which lasts `duration`; each
// occurrence is cut to the series [starts_at, ends_at) (one already running when the
// window is made mutes at once, for the rest of it), so expiring a recurring window
// (ends_at = now) ends the whole series at once.
//
// Why a piece of its own and not a kind of silence: a silence is "mute from A to B" and
// every collector of today reads it so. Were a recurring window sent as a silence, a peer
// that does not know recurrences would read it as one continuous silence over the whole
// series (weeks of muted pages). As its own replicated piece (its own payload field, its
// own table) a peer that does not know windows simply ignores them. What a window shares
// with a silence is reused, not copied: the body *is* a route::Silence (id, matchers,
// times, author, comment, updated_at, force), validated by ValidateSilence (sizes, no
// broad matcher set without force) and written by SilenceToJson, plus a "recurrence".
//
// Windows are created and expired, never edited (to change one, expire it and create a
// new one): the history of what was muted when stays true, and merging is "newest
// updated_at wins" as for silences.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "firewatch/clock.h"
#include "firewatch/status.h"
#include "route/muter.h"
#include "route/silence.h"

namespace firewatch::cron {
class Expression;
}
namespace date {
class time_zone;
}

namespace firewatch::alerting::route {

struct Recurrence {
  std::string cron;       // five-field cron expression or @alias (cron::Expression)
  std::string time_zone;  // IANA name, "UTC" when empty in JSON
  Duration duration{};    // how long each occurrence lasts
};

struct MaintenanceWindow {
  Silence base;  // id, matchers, starts_at/ends_at (the series bounds), author, comment
  std::optional<Recurrence> recurrence;
};

// Bounds (docs/routing.md, "Maintenance windows"): the silence limits apply to the body.
struct MaintenanceLimits {
  SilenceLimits silence{};
  size_t max_live = 200;     // pending + active windows held at once
  size_t max_expired = 200;  // expired ones kept (tombstones for peers), oldest dropped first
  Duration retention = std::chrono::hours(120);
  Duration max_occurrence = std::chrono::hours(24 * 7);  // a recurring occurrence's duration
};

inline constexpr size_t kMaxMaintenanceJsonBytes = 64 * 1024;

// Where a window stands at a time: pending (series not started), active (inside an
// occurrence: mutes), waiting (recurring, between occurrences), expired (series over).
enum class WindowState : uint8_t { kPending, kActive, kWaiting, kExpired };
std::string_view WindowStateString(WindowState s);  // "pending" "active" "waiting" "expired"

struct Occurrence {
  WallTime start{};
  WallTime end{};
};

// ValidateSilence on the body (so the same field names and limits), plus for a recurrence:
// the expression parses, the time zone is known, 0 < duration <= limits.max_occurrence.
[[nodiscard]] Status ValidateWindow(const MaintenanceWindow& w, const MaintenanceLimits& limits = {});

// The silence's JSON (route/silence.h) plus, for a recurring window,
// "recurrence": {"cron": "0 2 * * SUN", "timeZone": "Asia/Seoul", "durationSeconds": 7200}.
std::string WindowToJson(const MaintenanceWindow& w);
// Parses WindowToJson output, validated by ValidateWindow. Unknown fields are ignored.
[[nodiscard]] Result<MaintenanceWindow> WindowFromJsonValue(const nlohmann::json& value,
                                                           const MaintenanceLimits& limits = {});
// The same from text; texts over kMaxMaintenanceJsonBytes are refused before parsing.
[[nodiscard]] Result<MaintenanceWindow> WindowFromJson(std::string_view json,
                                                      const MaintenanceLimits& limits = {});

// A window with its expression and zone resolved once, so evaluating it parses nothing.
// Immutable; any thread.
class CompiledWindow {
 public:
  // Fails as ValidateWindow does.
  [[nodiscard]] static Result<std::shared_ptr<const CompiledWindow>> Make(MaintenanceWindow w);
  ~CompiledWindow();

  const MaintenanceWindow& window() const { return window_; }
  // The occurrence that contains `now`, else the next one; nullopt when none is left.
  std::optional<Occurrence> CurrentOrNext(WallTime now) const;
  WindowState StateAt(WallTime now) const;
  bool ActiveAt(WallTime now) const { return StateAt(now) == WindowState::kActive; }
  // Active at `now` and every matcher matches `labels`.
  bool Mutes(const LabelSet& labels, WallTime now) const;

 private:
  CompiledWindow() = default;
  MaintenanceWindow window_;
  std::unique_ptr<cron::Expression> expr_;  // set for a recurring window
  const date::time_zone* zone_ = nullptr;
};

// An immutable set of windows; evaluating it takes no lock. Matchers are tried before
// the (cron) time test, so a window that does not match costs a string comparison.
class MaintenanceSnapshot final : public Muter {
 public:
  MaintenanceSnapshot() = default;
  explicit MaintenanceSnapshot(std::vector<std::shared_ptr<const CompiledWindow>> windows)
      : windows_(std::move(windows)) {}
  bool Mutes(const LabelSet& labels, WallTime now) const override;
  // Ids of the windows active at `now` that match `labels`, in id order.
  std::vector<std::string> MutedBy(const LabelSet& labels, WallTime now) const;
  const std::vector<std::shared_ptr<const CompiledWindow>>& windows() const { return windows_; }

 private:
  std::vector<std::shared_ptr<const CompiledWindow>> windows_;  // by id
};

}  // namespace firewatch::alerting::route
