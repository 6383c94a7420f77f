// The `schedules:` and `escalation_policies:` config sections, read strictly.
//
// Every error carries file:line and the dotted path of the field ("oncall.yml:14:
// escalation_policies[0].steps[1].targets[0]: undefined schedule 'primary'"); unknown keys
// are errors; all errors are collected (not just the first). Cross-references are
// checked: rotation members, override contacts and step targets must be known contacts,
// "schedule:<name>" targets must name a schedule in the same config, channels must be
// known channels, time zones must exist in the OS tz database. The format is documented
// with examples in docs/oncall.md.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>

#include "firewatch/config/yaml_reader.h"
#include "firewatch/status.h"
#include "schedule/escalation.h"
#include "schedule/schedule.h"

namespace firewatch::alerting::schedule {

// Names defined elsewhere in the config (contacts:, channels:), for cross-checks. The sets
// are authoritative: an empty set means nothing of that kind is defined.
struct KnownNames {
  std::set<std::string, std::less<>> contacts;
  std::set<std::string, std::less<>> channels;
};

using PolicySet = std::map<std::string, EscalationPolicy, std::less<>>;

struct OnCallConfig {
  ScheduleSet schedules;          // by name; every rotation valid (see schedule.h)
  PolicySet escalation_policies;  // by name; every target/channel resolvable
};

// Reads `schedules` and `escalation_policies` from the mapping `top` reads (marking both
// keys used; the caller calls top.Finish()). Both are optional lists. Errors go to
// top.errors(); `out` then holds what could be read and must not be used.
void ReadOnCallConfig(config::MapReader& top, const KnownNames& known, OnCallConfig& out);

// A whole file (or text) whose top level holds only those two keys: for fixtures, tests
// and check tools. InvalidArgument with one "file:line: message" per line on errors.
[[nodiscard]] Result<OnCallConfig> LoadOnCallConfig(const std::string& path,
                                                    const KnownNames& known);
[[nodiscard]] Result<OnCallConfig> ParseOnCallConfig(const std::string& text,
                                                     const std::string& name,
                                                     const KnownNames& known);

}  // namespace firewatch::alerting::schedule
