// Escalation policies as a pure function of (policy, incident, schedules, now).
//
// A policy is ordered steps; each step notifies every target on every one of its
// channels, then waits `wait` before the next step. After the last step's wait the whole
// policy runs again, `repeat` more times (rounds 0..repeat). With t0 the incident start
// and W the sum of all waits, step s of round r is due at
//     t0 + r * W + (wait[0] + ... + wait[s-1]).
// Acknowledging or resolving stops everything due at or after that instant (a step due at
// the same instant as the ack does not fire); what was due before stays in the list, so
// the list only ever grows while the incident is open.
//
// Crash-restart determinism: the answer depends only on the inputs. A "schedule:<name>"
// target is resolved with OnCallAt at the step's DUE time (not at `now`), so evaluating
// again later, or after a restart, yields the same contacts and the same idempotency keys
// ("incident/round/step/contact/channel", rounds and steps counted from 0, components
// percent-escaped), and the outbox drops what it already holds. If the schedule itself is
// edited after a step fired, a recomputation may name a different contact; that contact is
// then paged too (intended: the schedule is the truth).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "firewatch/clock.h"
#include "schedule/schedule.h"

namespace firewatch::alerting::schedule {

// A target naming a schedule: "schedule:primary" = whoever is on call in `primary`.
inline constexpr std::string_view kScheduleTargetPrefix = "schedule:";

struct EscalationStep {
  std::vector<std::string> targets;   // contact names and/or "schedule:<name>"
  std::vector<std::string> channels;  // each target is notified on each channel at once
  Duration wait{};                    // until the next step (or the next round)
};

struct EscalationPolicy {
  std::string name;
  std::vector<EscalationStep> steps;  // at least one
  uint32_t repeat = 0;                // extra passes over all steps: rounds 0..repeat
};

// What the policy needs to know about an incident.
struct IncidentState {
  std::string incident_id;                 // first component of every key
  WallTime started_at;                     // t0: step 0 of round 0 is due here
  std::optional<WallTime> acknowledged_at;
  std::optional<WallTime> resolved_at;
};

// One message to send.
struct DueNotification {
  uint32_t round = 0;
  uint32_t step = 0;
  std::string target;   // as configured: "bob" or "schedule:primary"
  std::string contact;  // resolved contact name
  std::string channel;
  WallTime due;
  std::string idempotency_key;  // IdempotencyKey(incident, round, step, contact, channel)
};

// A schedule target that named nobody at the step's due time (or an unknown schedule):
// nothing can be sent for it; callers log and count it.
struct UnresolvedTarget {
  uint32_t round = 0;
  uint32_t step = 0;
  std::string target;
  WallTime due;
};

struct EscalationPlan {
  std::vector<DueNotification> due;        // due at or before now, in (due, round, step,
                                           // target order, channel order) order
  std::vector<UnresolvedTarget> unresolved;
  std::optional<WallTime> next_due;        // when to evaluate again; nullopt: nothing more
                                           // will ever be due (stopped or all rounds done)
};

// Schedules by name, as "schedule:<name>" targets refer to them.
using ScheduleSet = std::map<std::string, Schedule, std::less<>>;

// The instant step `step` of round `round` is due (see the formula above).
WallTime StepDueAt(const EscalationPolicy& policy, WallTime started_at, uint32_t round,
                   uint32_t step);

// "incident/round/step/contact/channel"; '%' and '/' inside components are written as
// %25 and %2F so distinct inputs never give the same key.
std::string IdempotencyKey(std::string_view incident_id, uint32_t round, uint32_t step,
                           std::string_view contact, std::string_view channel);
// The (round, step) of a key made by IdempotencyKey, or nullopt for any other key
// (follow-ups such as "<incident>/resolve/...", tests, summaries).
std::optional<std::pair<uint32_t, uint32_t>> RoundAndStepOf(std::string_view key);

// Everything due by `now`. A contact reached twice within one step (named directly and
// through a schedule) is notified once per channel. Steps whose due time is not before the
// ack/resolve instant are never due.
EscalationPlan Evaluate(const EscalationPolicy& policy, const IncidentState& incident,
                        const ScheduleSet& schedules, WallTime now);

}  // namespace firewatch::alerting::schedule
