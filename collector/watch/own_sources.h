// Source ids the collector speaks for itself (docs/watching.md): "watchdog/<name>" (an
// Alertmanager Watchdog delivery heard here) and "probe/<name>" (a health probe that
// succeeded from here). No heartbeat frame may claim them, whatever its key: the ingest
// path refuses such frames as key_not_allowed, so only the configured watchdog token
// can keep a watchdog source alive. Header-only: the ingest library checks it per frame.
#pragma once

#include <string>
#include <string_view>

namespace firewatch::collector {

inline constexpr std::string_view kWatchdogPrefix = "watchdog/";
inline constexpr std::string_view kProbePrefix = "probe/";

inline bool IsCollectorOwnSource(std::string_view source_id) {
  return source_id.starts_with(kWatchdogPrefix) || source_id.starts_with(kProbePrefix);
}

// What a page about an own source says (its alert's summary, the local channel's line):
// empty for any other source, which pages as "<source> is DOWN".
inline std::string OwnSourceSummary(std::string_view source_id) {
  if (source_id.starts_with(kWatchdogPrefix)) {
    return std::string(source_id) +
           ": the primary alerting path Prometheus -> Alertmanager -> notifications is broken "
           "(no Watchdog delivery from Alertmanager)";
  }
  if (source_id.starts_with(kProbePrefix)) {
    return std::string(source_id) + ": health probe of the primary monitoring stack failing";
  }
  return {};
}

}  // namespace firewatch::collector
