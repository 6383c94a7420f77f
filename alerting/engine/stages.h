// The alerting pipeline's stages after routing, each a small pure unit (no threads, no
// I/O, time passed in) in the style of Alertmanager's notify package. The engine
// (engine.h) is the runner: it owns the threads, the stores and the outbox, and calls
// these in order for every pass:
//
//   route::Dispatcher (group) -> silences/inhibition (route::Muter)
//     -> IncidentBook (incident/incident.h; RestartHolds hold restored ones)
//     -> PlanEscalation: which pages are due, on which channel chain      [escalation]
//     -> outbox::Outbox::Enqueue (on disk before anything is sent)
//     -> DecideLocally, then the cluster's PeerGate::Decide                [dedup/gate]
//     -> outbox::Dispatcher (retries, failover, rate limits) -> notifiers
//   and for follow-ups (resolve, acknowledge): PagedFrom -> PlanFollowUps.
//
// A PageRequest is what a stage asks the runner to write to the outbox; the runner renders
// the text (engine/message.h) and enqueues it under `key` (idempotent: recomputing a
// request after a restart is a no-op).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/alerting_config.h"
#include "engine/peer_gate.h"
#include "incident/incident.h"
#include "outbox/outbox.h"

namespace firewatch::alerting {

struct PageRequest {
  std::string kind;  // "trigger", "resolve", "acknowledge"
  std::string contact;
  std::vector<std::string> chain;  // channel failover order; chain[0] first
  std::string key;                 // idempotency key
  int64_t due_ms = 0;              // Unix ms
};

// One page that went out for an incident (delivered here, covered by a rate-limit
// summary, delivered by a peer collector, or possibly delivered: an attempt interrupted
// by a crash): who, over what, for which escalation step.
struct PagedContact {
  std::string contact;
  std::string channel;  // the channel it went out on (after failover)
  uint32_t round = 0;   // escalation round and step (from the idempotency key)
  uint32_t step = 0;
  int64_t at_ms = 0;  // when it was recorded as delivered (Unix ms)
};

// ---- escalation ----

struct EscalationOutcome {
  std::vector<PageRequest> pages;  // due now, in the policy's order
  size_t unresolved_targets = 0;   // schedule targets that named nobody (logged, counted)
};

// The trigger pages due by `now` for an incident, per its escalation policy and the
// on-call schedules. Nothing for an incident that is resolved, has no firing alert, or
// whose policy is unknown. Each page fails over only to the contact's channels this step
// does not already page them on (a failed email must not become a second copy of the SMS
// the same step sent).
EscalationOutcome PlanEscalation(const Incident& inc, const AlertingConfig& config, WallTime now);

// ---- restart holds ----

// Restored incidents wait before they escalate again (engine.h StartupState): a settle
// time (a host that kept sending while the collector was down is heard UP first), and
// alerts the restart could not vouch for must be confirmed (fire again) before their
// deadline or they are taken as recovered. Alerting thread only.
class RestartHolds {
 public:
  void Settle(const std::string& incident_id, int64_t until_ms);
  void HoldUnconfirmed(const std::string& incident_id, std::vector<LabelSet> alerts,
                       int64_t deadline_ms);
  // Whether `inc` may escalate at `now_ms`; a settle time that has passed is forgotten.
  bool MayEscalate(const Incident& inc, int64_t now_ms);
  // A firing alert confirms itself in every held incident.
  void ObserveFiring(const LabelSet& labels);
  // The alerts whose deadline passed, removed from the holds: the runner resolves them.
  std::vector<LabelSet> TakeExpired(int64_t now_ms);
  void Forget(const std::string& incident_id);
  bool empty() const { return unconfirmed_.empty() && settling_.empty(); }
  size_t held() const { return unconfirmed_.size(); }

 private:
  struct Unconfirmed {
    int64_t deadline_ms = 0;
    std::vector<LabelSet> alerts;
  };
  std::map<std::string, Unconfirmed> unconfirmed_;
  std::map<std::string, int64_t> settling_;
};

// ---- resolved by hand ----

// An operator resolved an incident whose alerts still fire (docs/routing.md, "Resolved by
// hand"). Its still-firing alerts are set aside: the group opens no new incident for
// them until one of them recovers (then a new failure is new), another alert fires in
// the group, or they still fire a repeat_interval after the resolve (a reminder: it was
// never fixed). Alerting thread only; at most one entry per group, removed when it no
// longer holds anything.
class ResolvedByHand {
 public:
  // Records incident `inc`, just resolved by hand at inc.resolved_ms: its firing alerts.
  void Record(const Incident& inc);
  // The alert recovered: it is no longer set aside. Returns the groups that held it (the
  // runner resets them, so that its next failure is a group's first notification).
  std::vector<std::string> ObserveResolved(const LabelSet& labels);
  // Whether a firing notification of `group_key` carrying `alerts` opens no incident now:
  // every firing alert is set aside and `repeat_interval` has not passed since the
  // resolve. When it does open one, the group's entry is forgotten.
  bool Holds(const std::string& group_key, const std::vector<Alert>& alerts, int64_t now_ms,
             int64_t repeat_interval_ms);
  size_t size() const { return groups_.size(); }

 private:
  struct SetAside {
    int64_t resolved_ms = 0;
    std::vector<LabelSet> alerts;
  };
  std::map<std::string, SetAside> groups_;
};

// ---- who was paged; follow-ups ----

// Who was paged for an incident, from its outbox items (any order; the result follows
// it): a trigger page that went out (delivered here, covered by a summary, cancelled as
// delivered by a peer), or that a peer's log says it delivered or was sending
// (`peer_handled`, may be null), or whose send was interrupted by a crash (`attempts`:
// the item's attempts; fail open, duplicates beat silence). One entry per channel.
std::vector<PagedContact> PagedFrom(
    const std::vector<outbox::Item>& items,
    const std::function<std::vector<outbox::Attempt>(const std::string& key)>& attempts,
    const std::function<bool(const std::string& key)>& peer_handled);

// The follow-ups ("resolve" or "acknowledge") for everyone paged: one per (contact,
// channel) they were paged on, due `now_ms`, failing over only to channels they were not
// paged on (those get their own copy). A reopened incident's follow-ups have new keys.
std::vector<PageRequest> PlanFollowUps(const Incident& inc, const std::string& kind,
                                       const std::vector<PagedContact>& paged,
                                       const AlertingConfig& config, int64_t now_ms);

// The follow-up to one contact on one channel (a page delivered after its incident was
// resolved or acked: the contact hears the follow-up there too).
PageRequest FollowUpTo(const Incident& inc, const std::string& kind, const std::string& contact,
                       const std::string& channel, const std::vector<std::string>& also_paged_on,
                       const AlertingConfig& config, int64_t now_ms);

// ---- gate ----

// Whether a due page may still go out, by its incident's state here: trigger pages of a
// resolved or acked incident are dropped; everything else (follow-ups, tests, summaries,
// pages of incidents unknown here) goes on to the cluster's gate.
GateDecision DecideLocally(const Notification& n, const std::optional<Incident>& inc);

}  // namespace firewatch::alerting
