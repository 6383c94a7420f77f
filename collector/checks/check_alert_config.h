// How agents' check reports page (the `check_alerts:` section of the collector's config;
// docs/agent.md "On the collector", docs/configuration.md). The policy itself is
// tracker/check_book.h's.
//
//   check_alerts:
//     history: 20                  # changes kept per check (1..100)
//     rules:                       # the first that matches a check applies
//       - check: postgres          # optional: the check's name
//         labels: {dc: pangyo}     # optional: source labels that must all match
//         consecutive: 3           # heartbeats reporting a problem before it alerts
//         flap_changes: 4          # changes within flap_window that mean flapping
//         flap_window: 10m
#pragma once

#include "firewatch/config/yaml_reader.h"
#include "tracker/check_book.h"

namespace firewatch::collector {

inline constexpr size_t kMaxCheckAlertRules = 1000;

// Reads `check_alerts:` from `top` (absent: the defaults, which page on the first report
// of a problem). Errors name the file, line and key.
void ReadCheckAlertsConfig(config::MapReader& top, CheckAlertPolicy& out);

}  // namespace firewatch::collector
