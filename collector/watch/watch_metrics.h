// Metrics of watchdogs and probes (docs/metrics.md, "Watchdogs and probes"), registered
// on the collector's registry so /metrics serves them with the rest:
//   firewatch_watchdog_deliveries_total{watchdog, result}  every POST /api/v1/watchdog/...
//   firewatch_probe_runs_total{probe, result}              every probe attempt (ok|failed)
//   firewatch_probe_up{probe}                              1 when the last attempt succeeded
//   firewatch_alertmanager_posts_total{alertmanager, result}  POST /api/v2/alerts requests
//                                 (ok|error|rejected) and rounds held (unhealthy), per URL
//   firewatch_alertmanager_healthy                         1 while posts are made
//   firewatch_alertmanager_alerts_refused_total            alerts not mirrored (mirror full)
// (the alertmanager_* families only with `alertmanager_post:` configured)
// Label values are bounded: configured names, and "-" for requests that name no
// configured watchdog (unknown name, body refused before the handler). Every configured
// name's series exist from start at 0. Thread-safe (prometheus-cpp atomics; the series
// are created in the constructor and never added later).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "watch/watch_config.h"

namespace firewatch::collector {

// Why a watchdog request ended as it did (the `result` label).
enum class WatchdogResult : uint8_t {
  kAccepted,   // heartbeat: at least one firing alert
  kResolved,   // valid, but nothing firing: not a sign of life
  kNoToken,    // 401
  kBadToken,   // 403
  kMalformed,  // 400
  kTooLarge,   // 413
  kUnknown,    // 404: no watchdog of that name
  kRefused,    // 503: the tracker refused the source (source cap)
};
inline constexpr int kWatchdogResultCount = 8;
std::string_view WatchdogResultName(WatchdogResult r);

inline constexpr std::string_view kNoWatchdog = "-";

// The `result` of a request to Alertmanager's POST /api/v2/alerts.
enum class AlertmanagerPostResult : uint8_t {
  kOk,         // 2xx
  kError,      // no response (connect, timeout) or 5xx/other: retried next round
  kRejected,   // 4xx: Alertmanager refused the body (logged with its reply)
  kUnhealthy,  // not sent: the health probe does not vouch for Alertmanager
};
inline constexpr int kAlertmanagerPostResultCount = 4;
std::string_view AlertmanagerPostResultName(AlertmanagerPostResult r);

class WatchMetrics {
 public:
  WatchMetrics(prometheus::Registry& registry, const WatchConfig& config);
  // `watchdog` must be a configured name or kNoWatchdog (else counted under kNoWatchdog).
  void Delivery(std::string_view watchdog, WatchdogResult result);
  void ProbeRun(const std::string& probe, bool ok);
  // `url` must be a configured alertmanager_post URL (else not counted).
  void AlertmanagerPost(const std::string& url, AlertmanagerPostResult result);
  void AlertmanagerHealthy(bool healthy);
  void AlertmanagerAlertRefused();

 private:
  std::map<std::string, std::array<prometheus::Counter*, kWatchdogResultCount>, std::less<>>
      deliveries_;
  std::map<std::string, std::pair<prometheus::Counter*, prometheus::Counter*>, std::less<>> runs_;
  std::map<std::string, prometheus::Gauge*, std::less<>> up_;
  std::map<std::string, std::array<prometheus::Counter*, kAlertmanagerPostResultCount>,
           std::less<>>
      am_posts_;
  prometheus::Gauge* am_healthy_ = nullptr;
  prometheus::Counter* am_refused_ = nullptr;
};

}  // namespace firewatch::collector
