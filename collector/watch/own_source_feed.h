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
// Thread-safety: Heard() may be called from any thread (HTTP workers, probe threads);
// calls are serialized (the sequence must reach the tracker in order). The sink is called
// on the calling thread, outside the tracker's lock (Ingestor's rules).
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/protocol/frame.h"
#include "tracker/source.h"
#include "tracker/tracker.h"
#include "watch/watch_config.h"

namespace firewatch::collector {

class OwnSourceFeed {
 public:
  using TransitionSink = std::function<void(std::vector<Transition>)>;
  OwnSourceFeed(const Clock& clock, Tracker& tracker, TransitionSink sink);

  // `source_id` was heard by this collector now. The tracker's reason when it refused the
  // heartbeat (source_limit once forgotten over the source cap; bad_interval after a
  // reload narrowed detection.min/max_interval), for the caller to report; else nullopt.
  std::optional<protocol::RejectReason> Heard(const std::string& source_id, Duration interval,
                                              const protocol::Labels& labels);

 private:
  const Clock& clock_;
  Tracker& tracker_;
  TransitionSink sink_;
  std::mutex mu_;
  protocol::BootId boot_;
  uint64_t sequence_ = 0;
};

// Makes every configured watchdog and probe known to the tracker before it is ever heard
// (call after Tracker::Restore, before the cluster view is restored): UP since `now`, so a
// watchdog that never delivers goes DOWN after one backstop, like a restored source. Sources
// the tracker already holds are left as they are.
void RegisterOwnSources(const WatchConfig& config, Tracker& tracker, const Clock& clock);

}  // namespace firewatch::collector
