// The `route:` tree and `inhibit_rules:` list, read strictly (unknown keys are errors,
// every error names file:line and the config path) with Alertmanager's key names, except
// that a route names an `escalation_policy` where Alertmanager names a `receiver`:
//
//   route:
//     escalation_policy: ops          # required on the root, inherited below
//     group_by: [alertname, dc]       # or ['...'] for every label
//     group_wait: 30s                 # defaults: RouteDefaults
//     group_interval: 5m
//     repeat_interval: 4h
//     routes:
//       - matchers: ['team="db"', 'severity=~"critical|page"']
//         escalation_policy: dba
//         continue: true
//   inhibit_rules:
//     - source_matchers: ['alertname="DomainDown"']
//       target_matchers: ['alertname="SourceDown"']
//       equal: [dc]
//
// Cross-check: every escalation_policy must be one of `policies` ("route.routes[1].
// escalation_policy: undefined escalation policy 'dba'"). docs/routing.md is the reference.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "firewatch/config/yaml_reader.h"
#include "firewatch/status.h"
#include "route/inhibit.h"
#include "route/route.h"

namespace firewatch::alerting::route {

struct RoutingConfig {
  std::shared_ptr<const Route> route;  // never null in a successfully read config
  std::vector<InhibitRule> inhibit_rules;
};

// A YAML list of strings, each with its node (for errors); errors name each bad element
// ("path[2]: expected a string"). Absent or null yields nothing.
std::vector<std::pair<std::string, YAML::Node>> StringList(config::Errors& errors,
                                                           const YAML::Node& n,
                                                           const std::string& path);
// A YAML list of matchers as routes write them (['dc="x"', ...]); a bad one is an error
// naming path[i] and what is wrong, and is left out.
Matchers ReadMatchers(config::Errors& errors, const YAML::Node& n, const std::string& path);

// Reads the `route` (required) and `inhibit_rules` (optional) keys of `parent`, so the
// collector config can embed them at its top level. Errors go to parent.errors(); `out`
// is complete only when no error was recorded.
void ReadRouting(config::MapReader& parent, const std::set<std::string>& policies,
                 const RouteDefaults& defaults, RoutingConfig& out);

// A whole file (or text) holding just those two keys; for fixtures and check-config.
[[nodiscard]] Result<RoutingConfig> LoadRoutingConfig(const std::string& path,
                                                      const std::set<std::string>& policies,
                                                      const RouteDefaults& defaults = {});
[[nodiscard]] Result<RoutingConfig> ParseRoutingConfig(const std::string& yaml,
                                                       const std::string& name,
                                                       const std::set<std::string>& policies,
                                                       const RouteDefaults& defaults = {});

}  // namespace firewatch::alerting::route
