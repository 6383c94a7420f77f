// The tracker's per-source record and its sliced walk (internal to the tracker's .cc files).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tracker/check_book.h"
#include "tracker/deadline.h"
#include "tracker/interned.h"
#include "tracker/tracker.h"

namespace firewatch::collector {

// A deadline source's own state (tracker/deadline.h), kept beside the entries
// (Tracker::deadline_states_) so a heartbeat source pays nothing for it: memory per
// source is a budget (docs/benchmarks.md, section 2).
struct DeadlineState {
  std::shared_ptr<const DeadlinePolicy> policy;
  int64_t due_from_ms = 0;    // the last success or failure: the schedule counts from it
  int64_t not_before_ms = 0;  // no DOWN before this (one grace after a restart)
  bool reported = false;      // DOWN because the job reported a failure
  std::vector<std::pair<std::string, int64_t>> runs;  // open runs: (rid, started ms)
  PingInfo info;
};

struct Tracker::Entry {
  std::string id;
  uint32_t position = 0;  // in entries_
  uint32_t wake_gen = 0;  // the current wheel item's generation (tracker/wake_wheel.h)
  // Order of first contact, never reused (SourceQuery): entries_ is sorted by it.
  uint64_t seq = 0;
  int64_t wake_ms = INT64_MAX;  // Tracker::WakeOf when last armed or re-woken; kNoWake
  LabelBlob labels;       // interned (label_pool.h)
  PhiDetector detector;
  protocol::ReplayState replay;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  int64_t state_since_ms = 0;
  uint64_t heartbeats = 0;
  uint32_t interval_ms = 0;
  uint32_t recovery_count = 0;  // consecutive heartbeats while DOWN
  SourceState state = SourceState::kUp;
  Transport last_transport = Transport::kUdp;
  bool dirty = false;      // in Tracker::dirty_
  bool dirty_row = false;  // ... as a whole row, not only progress (Tracker::TakeDirty)
  bool deadline = false;  // a deadline source (check): its state is in deadline_states_
  bool checks_stale = false;  // the last frame's digest was not checks_digest's
  Interned agent_version;     // interned (tracker texts_): a fleet runs a few versions
  Interned goodbye_reason;    // interned too; null unless STOPPED
  // Null until the source reports a check (check_book.h); shared with the snapshots
  // that read it, copied on write.
  std::shared_ptr<CheckBook> checks;
  uint64_t checks_digest = 0;  // of `checks`, as the agent named it (0: none, or version 1)
};

template <typename Visit>
void Tracker::WalkInSlices(uint64_t after, const Visit& visit) const {
  for (bool first = true, more = true; more; first = false) {
    if (!first) waiters_.GiveWay();
    const MonoTime now = clock_.Now();
    MutexLock lock(mu_);
    auto it = std::upper_bound(entries_.begin(), entries_.end(), after,
                               [](uint64_t s, const Entry& e) { return s < e.seq; });
    const auto end = entries_.end() - it > static_cast<ptrdiff_t>(kQuerySlice)
                         ? it + static_cast<ptrdiff_t>(kQuerySlice)
                         : entries_.end();
    for (bool slice_start = true; it != end; ++it, slice_start = false) {
      after = it->seq;
      if (!visit(*it, now, slice_start)) return;
    }
    more = it != entries_.end();
  }
}

}  // namespace firewatch::collector
