// Posting firewatch's own alerts to Alertmanager (docs/watching.md, "Posting firewatch's
// alerts to Alertmanager"): the pure parts, unit-tested on a fake clock. The thread and
// the HTTP calls are in watch/alertmanager_poster.h.
//
//  - PostableAlertsJson: the body of POST /api/v2/alerts, Alertmanager's `postableAlerts`
//    (a JSON array of {labels, annotations, startsAt, endsAt, generatorURL}).
//  - AlertmanagerMirror: which alerts to post and with which times. Every alert firewatch
//    raises (SourceDown, CheckFailing, the cluster's alerts) is observed here, keyed by
//    its label fingerprint. A firing alert is re-posted every resend_interval with
//    endsAt = now + 4 x resend_interval (Prometheus' own rule): Alertmanager resolves it
//    by itself if firewatch stops re-posting (a dead collector does not leave a stale
//    alert behind). A resolved alert is posted with its real endsAt (in the past: resolved
//    at once) and kept, re-posted each round, for kResolvedRetention, so an Alertmanager
//    that missed the first post still learns about the recovery (Prometheus keeps
//    resolved alerts 15 minutes the same way).
//  - AlertmanagerHealth: whether Alertmanager counts as healthy now, from the configured
//    health probe's results as the probe schedule judges them (a tolerated blip below
//    failures_before_down still vouches) and their age.
//
// Not thread-safe: AlertmanagerPoster holds them under its lock.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "model/alert.h"

namespace firewatch::collector {

// The body of POST /api/v2/alerts for `alerts` (their times already set: a firing alert
// needs ends_at_ms). Label and annotation names Alertmanager would refuse (it accepts
// [A-Za-z_][A-Za-z0-9_]*, and one bad name fails the whole request with 400) are
// rewritten: every other byte becomes '_', a leading digit gets a '_' prefix; labels with
// empty values are dropped (Alertmanager drops them too). Invalid UTF-8 is replaced.
std::string PostableAlertsJson(const std::vector<alerting::Alert>& alerts);
// "ok-name_1" -> "ok_name_1", "1x" -> "_1x", "" -> "_".
std::string AlertmanagerLabelName(const std::string& name);

inline constexpr Duration kResolvedRetention = std::chrono::minutes(15);
// The most alerts mirrored at once: resolved ones are dropped first (oldest end first),
// then new firing alerts are refused (counted by the caller).
inline constexpr size_t kMaxMirroredAlerts = 10'000;

class AlertmanagerMirror {
 public:
  explicit AlertmanagerMirror(Duration resend_interval);

  // A firing or resolved alert as firewatch raised it. A firing alert already mirrored
  // keeps its first startsAt; a resolved one keeps the startsAt of its firing (the
  // resolved transition carries its own time there) and gets endsAt = its end (or
  // `now_ms` when it has none). Returns false when the alert was refused (the mirror is
  // full of firing alerts).
  bool Observe(const alerting::Alert& alert, int64_t now_ms);

  // The alerts to post at `now_ms`, times set (firing: endsAt = now + 4 x resend), and
  // forgets resolved alerts whose end is older than kResolvedRetention. Clears changed().
  std::vector<alerting::Alert> TakeBatch(int64_t now_ms);

  // Something was observed since the last TakeBatch: post now rather than at the next
  // resend.
  bool changed() const { return changed_; }
  size_t firing() const;
  size_t size() const { return alerts_.size(); }

 private:
  void DropOldestResolved();
  Duration resend_;
  std::map<uint64_t, alerting::Alert> alerts_;  // by label fingerprint
  bool changed_ = false;
};

class AlertmanagerHealth {
 public:
  // Without a probe (`probe_interval` zero) Alertmanager is always taken as healthy: the
  // post itself is the test. With one, a result counts for 2 x interval + timeout (one
  // late run tolerated); older, or none yet, is not healthy.
  AlertmanagerHealth(Duration probe_interval, Duration probe_timeout);

  // The health probe finished a run at `at`; `vouched` as the probe schedule judged it
  // (ProbeSchedule::Finished: a success, or a failure still below failures_before_down).
  void Record(bool vouched, MonoTime at);
  bool Healthy(MonoTime now) const;
  bool has_probe() const { return valid_for_ > Duration::zero(); }

 private:
  Duration valid_for_;
  std::optional<MonoTime> last_at_;
  bool last_vouched_ = false;
};

}  // namespace firewatch::collector
