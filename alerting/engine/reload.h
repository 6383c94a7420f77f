// What a configuration reload (SIGHUP) means for the alerting engine, as pure functions
// over two configs (no threads, no I/O): the engine applies their result on its own
// thread between two passes (engine.h, Reload). docs/configuration.md, "Reload".
//
// Rules:
//   - Routing, inhibition, contacts, channels (notifiers and their secrets), schedules,
//     escalation policies, runbooks, retry policy and rate limits take the new values.
//   - An incident in flight keeps escalating under the new config; when its escalation
//     policy is gone from the new config, the old policy is carried forward under its
//     name (with the schedules, contacts and channels it needs that the new config
//     lacks) until the incident resolves: removing a policy from the file must not
//     silently stop the paging of an open incident. Names the new config still
//     defines take their new definitions (a contact's new address is used at once).
//   - A few settings cannot change in a running engine (RestartOnlyChanges): the new
//     config keeps the running values for them (KeepRestartOnly) and the log says so.
#pragma once

#include <string>
#include <vector>

#include "engine/alerting_config.h"
#include "incident/incident.h"

namespace firewatch::alerting {

// One line per difference an operator cares about, e.g. "channels: +sms2 -email",
// "contacts: ~alice" (changed), "route: reloaded". Empty when nothing changed but the
// route tree (which is always rebuilt and reported as such).
std::vector<std::string> DescribeChanges(const AlertingConfig& running, const AlertingConfig& next);

// Settings whose change needs a restart, one line each naming the key
// ("alerting.external_url"); empty when none changed.
std::vector<std::string> RestartOnlyChanges(const AlertingConfig& running,
                                            const AlertingConfig& next);
// Copies the running values of those settings into `next`.
void KeepRestartOnly(const AlertingConfig& running, AlertingConfig& next);

// What CarryForward added to `next`, by kind; empty when nothing was needed.
struct CarriedForward {
  std::vector<std::string> policies, schedules, contacts, channels;
  bool empty() const {
    return policies.empty() && schedules.empty() && contacts.empty() && channels.empty();
  }
};

// Adds to `next` the escalation policies of unresolved incidents in `in_flight` that
// `next` no longer defines, taken from `running`, with the schedules, contacts and
// channels they reach that `next` lacks. Never replaces anything `next` defines.
CarriedForward CarryForward(const AlertingConfig& running, const std::vector<Incident>& in_flight,
                            AlertingConfig& next);

}  // namespace firewatch::alerting
