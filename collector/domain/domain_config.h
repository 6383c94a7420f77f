// The `domains:` section of the collector config (docs/domains.md): which label names a
// failure domain, when losing a domain's sources is one DomainDown page instead of one
// page per host, and the service map those pages name.
//
//   domains:
//     label: dc            # the failure-domain label (default dc)
//     threshold: 0.5       # share of the domain's known sources ...
//     min_sources: 5       # ... and at least this many ...
//     window: 20s          # ... going DOWN within this long
//     services:            # optional service map (domain/service_map.h)
//       - name: db
//         sources: ['role="db"']
//       - name: api
//         sources: ['role="api"']
//         depends_on: [db]
//
// Read strictly: unknown keys, bad values, unknown depends_on names and dependency cycles
// are errors naming file:line ("config.yml:14: domains.services[2]: dependency cycle:
// api -> web -> api").
#pragma once

#include <string>

#include "domain/service_map.h"
#include "firewatch/clock.h"
#include "firewatch/config/yaml_reader.h"
#include "route/route.h"

namespace firewatch::collector {

struct DomainConfig {
  bool enabled = true;
  std::string label = "dc";
  double threshold = 0.5;  // (0, 1]
  uint64_t min_sources = 5;
  Duration window = std::chrono::seconds(20);
  ServiceMap services;
};

inline constexpr size_t kMaxServices = 256;

// A canonical one-line text of the settings (for "changed on reload?"): equal texts,
// equal behaviour.
std::string DomainConfigText(const DomainConfig& c);

// The routes a plain SourceDown or CheckFailing alert takes whose group_wait is shorter
// than `window`: there a host's page can leave before the domain decision (docs/domains.md,
// "the race"). One line per route ("route.routes[2] (group_wait 0s)"); empty when safe or
// when domains are off. Alerts with more labels may take other routes: this checks the
// common case, for a warning at start.
std::vector<std::string> RoutesFasterThanWindow(const DomainConfig& c,
                                                const alerting::route::Route& root);

// Reads `top`'s `domains` key (absent: the defaults above). Errors go to top.errors().
void ReadDomainConfig(config::MapReader& top, DomainConfig& out);

}  // namespace firewatch::collector
