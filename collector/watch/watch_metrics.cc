#include "watch/watch_metrics.h"

namespace firewatch::collector {

std::string_view WatchdogResultName(WatchdogResult r) {
  switch (r) {
    case WatchdogResult::kAccepted:
      return "accepted";
    case WatchdogResult::kResolved:
      return "resolved";
    case WatchdogResult::kNoToken:
      return "no_token";
    case WatchdogResult::kBadToken:
      return "bad_token";
    case WatchdogResult::kMalformed:
      return "malformed";
    case WatchdogResult::kTooLarge:
      return "too_large";
    case WatchdogResult::kUnknown:
      return "unknown_watchdog";
    case WatchdogResult::kRefused:
      return "refused";
  }
  return "unknown";
}

std::string_view AlertmanagerPostResultName(AlertmanagerPostResult r) {
  switch (r) {
    case AlertmanagerPostResult::kOk:
      return "ok";
    case AlertmanagerPostResult::kError:
      return "error";
    case AlertmanagerPostResult::kRejected:
      return "rejected";
    case AlertmanagerPostResult::kUnhealthy:
      return "unhealthy";
  }
  return "unknown";
}

WatchMetrics::WatchMetrics(prometheus::Registry& registry, const WatchConfig& config) {
  if (config.alertmanager_post.enabled) {
    auto& posts = prometheus::BuildCounter()
                      .Name("firewatch_alertmanager_posts_total")
                      .Help("Requests to Alertmanager's POST /api/v2/alerts by URL and result "
                            "(ok, error, rejected), and rounds held while it is unhealthy")
                      .Register(registry);
    for (const auto& url : config.alertmanager_post.urls) {
      for (int i = 0; i < kAlertmanagerPostResultCount; ++i) {
        const std::string result(AlertmanagerPostResultName(static_cast<AlertmanagerPostResult>(i)));
        am_posts_[url][i] = &posts.Add({{"alertmanager", url}, {"result", result}});
      }
    }
    am_healthy_ = &prometheus::BuildGauge()
                       .Name("firewatch_alertmanager_healthy")
                       .Help("1 while firewatch posts its alerts to Alertmanager (its health "
                             "probe vouches for it, or none is configured)")
                       .Register(registry)
                       .Add({});
    am_refused_ = &prometheus::BuildCounter()
                       .Name("firewatch_alertmanager_alerts_refused_total")
                       .Help("Alerts not mirrored to Alertmanager because the mirror was full")
                       .Register(registry)
                       .Add({});
  }
  auto& deliveries = prometheus::BuildCounter()
                         .Name("firewatch_watchdog_deliveries_total")
                         .Help("Requests to POST /api/v1/watchdog/{name}, by watchdog and result")
                         .Register(registry);
  auto add = [&](const std::string& name) {
    for (int i = 0; i < kWatchdogResultCount; ++i) {
      const std::string result(WatchdogResultName(static_cast<WatchdogResult>(i)));
      deliveries_[name][i] = &deliveries.Add({{"watchdog", name}, {"result", result}});
    }
  };
  add(std::string(kNoWatchdog));
  for (const auto& w : config.watchdogs) add(w.name);
  if (config.probes.empty()) return;
  auto& runs = prometheus::BuildCounter()
                   .Name("firewatch_probe_runs_total")
                   .Help("Health probes run from this collector, by probe and result (ok, failed)")
                   .Register(registry);
  auto& up = prometheus::BuildGauge()
                 .Name("firewatch_probe_up")
                 .Help("1 when the probe's last attempt from this collector succeeded")
                 .Register(registry);
  for (const auto& p : config.probes) {
    runs_[p.name] = {&runs.Add({{"probe", p.name}, {"result", "ok"}}),
                     &runs.Add({{"probe", p.name}, {"result", "failed"}})};
    up_[p.name] = &up.Add({{"probe", p.name}});
  }
}

void WatchMetrics::Delivery(std::string_view watchdog, WatchdogResult result) {
  auto it = deliveries_.find(watchdog);
  if (it == deliveries_.end()) it = deliveries_.find(kNoWatchdog);
  if (it != deliveries_.end()) it->second[static_cast<size_t>(result)]->Increment();
}

void WatchMetrics::ProbeRun(const std::string& probe, bool ok) {
  auto it = runs_.find(probe);
  if (it != runs_.end()) (ok ? it->second.first : it->second.second)->Increment();
  auto g = up_.find(probe);
  if (g != up_.end()) g->second->Set(ok ? 1 : 0);
}

void WatchMetrics::AlertmanagerPost(const std::string& url, AlertmanagerPostResult result) {
  auto it = am_posts_.find(url);
  if (it != am_posts_.end()) it->second[static_cast<size_t>(result)]->Increment();
}

void WatchMetrics::AlertmanagerHealthy(bool healthy) {
  if (am_healthy_) am_healthy_->Set(healthy ? 1 : 0);
}

void WatchMetrics::AlertmanagerAlertRefused() {
  if (am_refused_) am_refused_->Increment();
}

}  // namespace firewatch::collector
