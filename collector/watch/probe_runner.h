// Runs the configured health probes from this collector (docs/watching.md, "Probes") on
// its own threads, never on the event loop or an HTTP worker: at most `threads` probes
// run at once (kProbeThreads by default), whatever their number, so a hung endpoint holds
// one thread for at most its timeout and never delays ingest. Each result that
// ProbeSchedule counts as a heartbeat goes to the OwnSourceFeed as "probe/<name>".
//
// Probing itself (RunProbe) is libcurl:
//   http  GET the URL (no redirects, the probe's timeout for the whole attempt, at most
//         64 KiB of body kept); ok when the status is expect_status and, when set, the body
//         contains expect_body;
//   tcp   connect to host:port within the timeout (libcurl CONNECT_ONLY); ok when it
//         connects; nothing is sent.
// Stop() aborts attempts in flight (libcurl's progress callback) and joins the threads.
//
// A probe's result changes are logged (first failure with its reason, recovery), so the
// log holds one line per change, not one per attempt; every attempt is counted in
// firewatch_probe_runs_total.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/log.h"
#include "firewatch/sync/mutex.h"
#include "watch/own_source_feed.h"
#include "watch/probe_schedule.h"
#include "watch/watch_config.h"
#include "watch/watch_metrics.h"

namespace firewatch::collector {

inline constexpr size_t kProbeThreads = 4;

struct ProbeOutcome {
  bool ok = false;
  std::string detail;  // "HTTP 200 in 3 ms", "connect: Connection refused", ...
};

// One attempt of `probe`; `stop` aborts it early (returns a failure) when it becomes true.
ProbeOutcome RunProbe(const ProbeConfig& probe, const std::atomic<bool>& stop);

class ProbeRunner {
 public:
  using Prober = std::function<ProbeOutcome(const ProbeConfig&, const std::atomic<bool>& stop)>;
  // `prober` is RunProbe in production; tests inject their own.
  ProbeRunner(const Clock& clock, const WatchConfig& config, OwnSourceFeed& feed,
              WatchMetrics& metrics, Prober prober = RunProbe, size_t threads = kProbeThreads);
  ~ProbeRunner();  // stops

  // Before Start(): told after each run of a probe whether it vouched (counted as a
  // heartbeat, watch/probe_schedule.h), on the probe thread, without the runner's lock
  // (the Alertmanager poster's health, watch/alertmanager_poster.h).
  using Observer = std::function<void(const std::string& probe, bool vouched)>;
  void SetObserver(Observer f) { observer_ = std::move(f); }

  void Start();  // no-op without probes
  void Stop();   // idempotent

 private:
  void Work();
  const Clock& clock_;
  OwnSourceFeed& feed_;
  WatchMetrics& metrics_;
  Prober prober_;
  Observer observer_;
  size_t threads_;
  const size_t probes_;  // how many are configured
  Mutex mu_;
  CondVar cv_;
  ProbeSchedule schedule_ FW_GUARDED_BY(mu_);
  std::vector<char> last_ok_ FW_GUARDED_BY(mu_);   // per probe, for logging changes
  std::vector<char> reported_ FW_GUARDED_BY(mu_);  // a result was logged once
  std::atomic<bool> stop_{false};
  std::vector<std::thread> workers_;
  RateLimiter log_limiter_;  // refusals by the tracker, per probe
};

}  // namespace firewatch::collector
