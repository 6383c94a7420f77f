// Aggregation groups and their timers, as Alertmanager's dispatcher and dedup stage do
// them, as a pure state machine: the caller feeds alerts with Insert and calls Tick at
// (or after) NextTick(); nothing here reads a clock, sleeps or starts threads.
//
// Each alert goes to every route Route::Match returns; on each route it joins the group
// named by the route's group_by label values. For one group:
//  - a new group (created by a firing alert) waits group_wait, then notifies;
//  - after that it is looked at every group_interval (deadline-based: the schedule does
//    not drift when Tick runs late). It notifies when a firing alert was added, or a
//    notified alert resolved, since its last notification; otherwise, when alerts are
//    still firing and repeat_interval has passed since the last notification (so
//    repeat_interval is in effect rounded up to a multiple of group_interval);
//  - when every alert is resolved it sends one resolved notification and is removed.
// Alerts muted by any Muter (inhibition, silences) at flush time are left out, and an
// all-muted group sends nothing (its state is kept, so it notifies once unmuted).
// Resolved alerts are reported only if a firing notification named them, and are then
// dropped from the group. A resolved alert never creates a group.
//
// Group keys follow Alertmanager, `<route key>:<group labels>`, for example
// `{}/{severity="critical"}:{alertname="SourceDown", dc="dc1"}`. They depend only on the
// config and the labels, so every collector computes the same key for the same group.
//
// Not thread-safe: owned by the alerting loop. The route tree and the muters must
// outlive the Dispatcher. A config reload builds a new Dispatcher (as Alertmanager does).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "model/alert.h"
#include "route/muter.h"
#include "route/route.h"

namespace firewatch::alerting::route {

enum class GroupStatus : uint8_t { kFiring, kResolved };
std::string_view GroupStatusString(GroupStatus s);  // "firing", "resolved"

// Why a group notified.
enum class NotifyReason : uint8_t {
  kFirst,     // first notification of the group, after group_wait
  kChanged,   // alerts were added or resolved since the last notification
  kRepeat,    // nothing changed, repeat_interval passed
  kResolved,  // every alert is resolved; the group is removed
};
std::string_view NotifyReasonString(NotifyReason r);  // "first", "changed", ...

// What the escalation stage receives: one message about one group.
struct GroupNotification {
  const Route* route = nullptr;   // the matched route (owned by the tree)
  std::string escalation_policy;  // route->escalation_policy()
  std::string group_key;          // stable across collectors
  LabelSet group_labels;
  std::vector<Alert> alerts;      // firing first, then resolved; each sorted by labels
  GroupStatus status = GroupStatus::kFiring;  // firing while any alert fires
  NotifyReason reason = NotifyReason::kFirst;
};

class Dispatcher {
 public:
  explicit Dispatcher(const Route& root, std::vector<const Muter*> muters = {});
  Dispatcher(const Dispatcher&) = delete;  // due_ points into groups_
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Adds or replaces (by label fingerprint) the alert in its group on every matching
  // route, creating groups for firing alerts as needed (due at now + group_wait).
  void Insert(const Alert& alert, MonoTime now);

  // Flushes every group due at `now` (monotonic, for the timers) in group key order;
  // `wall_now` is what muters are asked with. Returns the notifications to send.
  std::vector<GroupNotification> Tick(MonoTime now, WallTime wall_now);

  // The engine resolved the group's incident because every alert in it recovered (the
  // incident follows the alerts' truth, not this group's timers): forget what the group
  // announced, so that a new firing alert is a first notification (after group_wait), not
  // a repeat. Resolved alerts are dropped; a group left without alerts is removed. A
  // group still holding (muted) firing alerts stays, due at most group_wait from `now`.
  void Reset(const std::string& group_key, MonoTime now);

  // When Tick next has work, or nullopt when there are no groups.
  std::optional<MonoTime> NextTick() const;

  size_t group_count() const { return groups_.size(); }
  std::vector<std::string> GroupKeys() const;  // sorted
  // Every firing alert held in any group, once each (by label fingerprint): what a
  // dispatcher built from a reloaded route tree is given to regroup (engine Reload).
  std::vector<Alert> FiringAlerts() const;

 private:
  struct Group {
    const Route* route = nullptr;
    LabelSet labels;
    std::map<uint64_t, Alert> alerts;  // by fingerprint
    MonoTime next_flush{};
    size_t due_index = 0;  // in due_[next_flush]
    bool notified = false;
    MonoTime last_notified{};
    std::set<uint64_t> last_firing;
    std::set<uint64_t> last_resolved;
  };
  using Groups = std::map<std::string, Group>;
  void Flush(const std::string& key, Group& g, MonoTime now, WallTime wall_now,
             std::vector<GroupNotification>& out) const;
  bool Muted(const LabelSet& labels, WallTime wall_now) const;
  // Moves group `it` to `when` in due_ (its next_flush), or adds it (`fresh`).
  void Schedule(Groups::iterator it, MonoTime when, bool fresh = false);
  void Unschedule(Groups::iterator it);  // takes it out of due_
  void Erase(Groups::iterator it);       // the group and its due_ entry

  const Route& root_;
  std::vector<const Muter*> muters_;
  Groups groups_;  // by group key
  // Every group once, under its next_flush: Tick and NextTick look only at what is due.
  // A datacenter going dark with per-host groups makes 100,000 groups, and the alerting
  // thread runs Tick at least four times a second: a walk of every group on each was
  // most of its CPU in that storm (bench/dispatcher_tick.cc). Groups made in the same
  // storm share a due time, so a bucket per time (a group knows its place in it,
  // Group::due_index) moves a group in O(1) where a set ordered by time would rebalance
  // per group. A map's iterators stay valid until erased.
  std::map<MonoTime, std::vector<Groups::iterator>> due_;
};

}  // namespace firewatch::alerting::route
