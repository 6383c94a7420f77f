// Posts firewatch's own alerts to Alertmanager's POST /api/v2/alerts, in "mirror" mode:
// IN ADDITION to paging directly, never instead (docs/watching.md, "Posting firewatch's
// alerts to Alertmanager"). What is posted, and when Alertmanager counts as healthy, is
// decided by watch/alertmanager_post.h; this class owns the thread and the HTTP calls.
//
// Threads: Observe() and ProbeFinished() may be called from any thread (the event loop,
// the probe threads); they take the poster's lock for in-memory work only and never wait
// for the network. One poster thread makes the blocking calls (the one synchronous
// client, firewatch/http_client.h), without the lock, so a hung Alertmanager delays only
// the mirror, never the loop, the alerting thread or a page. Each round posts every
// mirrored alert to every configured URL (an Alertmanager HA cluster wants every instance
// to hear every alert), in requests of at most kMaxAlertsPerPost alerts.
//
// When: at once after a change (coalesced: a burst of alerts is one round), every
// resend_interval otherwise, and min(resend_interval, 10 s) after a failed round. While
// the health probe does not vouch for Alertmanager, no request is made (counted as
// result="unhealthy"); when it vouches again, everything held is posted at once.
//
// Counted in firewatch_alertmanager_posts_total{alertmanager, result}; a URL's result
// changes are logged (first failure with its detail, the recovery), one line per change.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/http_client.h"
#include "firewatch/status.h"
#include "firewatch/sync/mutex.h"
#include "model/alert.h"
#include "watch/alertmanager_post.h"
#include "watch/watch_config.h"
#include "watch/watch_metrics.h"

namespace firewatch::collector {

inline constexpr size_t kMaxAlertsPerPost = 500;

class AlertmanagerPoster {
 public:
  using Sender = std::function<http_client::Response(const http_client::Request&,
                                                     const http_client::TransportOptions&)>;
  // Reads bearer_token_file (secret-file rules; a missing or unsafe file fails naming it).
  // `config.alertmanager_post.enabled` must be true. `sender` is http_client::Perform in
  // production; tests inject their own.
  static Result<std::unique_ptr<AlertmanagerPoster>> Create(const Clock& clock,
                                                            const WatchConfig& config,
                                                            WatchMetrics& metrics,
                                                            Sender sender = http_client::Perform);
  ~AlertmanagerPoster();  // stops

  // An alert firewatch raised (firing or resolved). Thread-safe, never blocks on I/O.
  void Observe(const alerting::Alert& alert) FW_EXCLUDES(mu_);
  // A probe finished a run; only the configured health_probe matters. Thread-safe.
  void ProbeFinished(const std::string& probe, bool vouched) FW_EXCLUDES(mu_);

  void Start();  // the poster thread
  void Stop();   // idempotent; waits for a request in flight (at most its timeout)

 private:
  AlertmanagerPoster(const Clock& clock, const AlertmanagerPostConfig& config, Duration probe_interval,
                     Duration probe_timeout, std::string bearer_token, WatchMetrics& metrics,
                     Sender sender);
  void Work();
  // One round to one URL: every chunk of `body_chunks`; returns the last result name.
  void PostTo(size_t url_index, const std::vector<std::string>& body_chunks, bool& failed);

  const Clock& clock_;
  const AlertmanagerPostConfig config_;
  const std::string bearer_token_;
  WatchMetrics& metrics_;
  Sender sender_;
  Mutex mu_;
  CondVar cv_;
  AlertmanagerMirror mirror_ FW_GUARDED_BY(mu_);
  AlertmanagerHealth health_ FW_GUARDED_BY(mu_);
  bool held_ FW_GUARDED_BY(mu_) = false;  // a round was skipped as unhealthy
  MonoTime next_round_ FW_GUARDED_BY(mu_);
  std::vector<std::string> last_result_;  // per URL, poster thread only (logging changes)
  std::atomic<bool> stop_{false};
  std::thread worker_;
};

}  // namespace firewatch::collector
