// Heartbeats the collector hears itself: a Watchdog delivery from Alertmanager, a probe
// that succeeded. Each is fed to the SAME tracker as agents' frames (replay state,
// phi-accrual detector, backstop, recovery hysteresis, store, cluster merge, paging),
// under a reserved source id (watch/own_sources.h): nothing here detects anything.
//
// The heartbeats carry a random boot id per feed (one collector process) and a sequence
// that rises with every call, the receiver's wall clock as timestamp and the configured
// interval, so the tracker's replay rules hold as for any agent: after a restart the new
// boot is liveness at once and takes over the source's description after the backstop.
//
// Thread-safety: Heard() may be called from any thread (HTTP workers, probe threads). The
// work that changes the tracker runs through the Executor: in the collector, on its event
// loop through the mailbox, like a heartbeat over HTTP (the loop owns the tracker's
// transitions: docs/architecture.md); the sink is called there. Without an executor
// (tests) it runs on the calling thread. Either way calls are serialized, so the
// sequence reaches the tracker in order.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/protocol/frame.h"
#include "firewatch/status.h"
#include "firewatch/sync/mutex.h"
#include "tracker/source.h"
#include "tracker/tracker.h"
#include "watch/watch_config.h"

namespace firewatch::collector {

class OwnSourceFeed {
 public:
  using TransitionSink = std::function<void(std::vector<Transition>)>;
  // nullopt when heard, else why not, for the caller to report.
  using Outcome = std::optional<std::string>;
  // Runs `work` where the tracker may change and returns its outcome, or an error when it
  // could not (the loop busy or stopping). `work` owns everything it uses.
  using Executor = std::function<Result<Outcome>(std::function<Outcome()> work)>;
  OwnSourceFeed(const Clock& clock, Tracker& tracker, TransitionSink sink,
                Executor executor = nullptr);

  // `source_id` was heard by this collector now. Else why not: the tracker refused it
  // (its reject reason, e.g. source_limit once forgotten over the source cap, bad_interval
  // after a reload narrowed detection.min/max_interval) or the executor could not run it.
  Outcome Heard(const std::string& source_id, Duration interval, const protocol::Labels& labels);

 private:
  std::optional<protocol::RejectReason> HeardHere(const std::string& source_id, Duration interval,
                                                  const protocol::Labels& labels);
  const Clock& clock_;
  Tracker& tracker_;
  TransitionSink sink_;
  Executor executor_;
  Mutex mu_;
  protocol::BootId boot_;
  uint64_t sequence_ FW_GUARDED_BY(mu_) = 0;
};

// Makes every configured watchdog and probe known to the tracker before it is ever heard
// (call after Tracker::Restore, before the cluster view is restored): UP since `now`, so a
// watchdog that never delivers goes DOWN after one backstop, like a restored source. Sources
// the tracker already holds are left as they are.
void RegisterOwnSources(const WatchConfig& config, Tracker& tracker, const Clock& clock);

}  // namespace firewatch::collector
