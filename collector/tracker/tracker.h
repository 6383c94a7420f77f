// The liveness tracker: per-source replay state, phi-accrual detector and hard backstop.
//
// Input is authenticated heartbeats (protocol::Decode already passed). Observe() applies
// replay protection and records arrivals; Evaluate() is called periodically (about every
// 250 ms by the collector's loop) and turns silence into LATE/DOWN. Both return the
// state transitions they caused, which the caller persists and pages on.
//
// State rules (docs/architecture.md, "Detection"):
//   UP -> LATE    phi (without pause) >= late_phi
//   * -> DOWN     phi (with acceptable pause) >= down_phi, or silent >= backstop
//                 (interval * backstop_intervals + backstop_grace), whichever first
//   LATE -> UP    next heartbeat
//   DOWN -> UP    recovery_heartbeats consecutive heartbeats (hysteresis against flapping)
//   * -> STOPPED  goodbye frame; STOPPED -> UP on the next heartbeat
//
// Thread-safety: all public methods are safe to call from any thread (one mutex). Time
// comes only from the injected Clock.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "detector/phi_detector.h"
#include "firewatch/clock.h"
#include "firewatch/protocol/frame.h"
#include "tracker/label_pool.h"
#include "tracker/source_index.h"
#include "tracker/source.h"

namespace firewatch::collector {

struct DetectionConfig {
  PhiParams phi;                        // window and min stddev; pause is derived below
  uint32_t acceptable_missed = 1;       // heartbeats that may be lost before phi climbs
  double late_phi = 3.0;
  double down_phi = 8.0;
  uint32_t backstop_intervals = 3;
  Duration backstop_grace = std::chrono::seconds(2);
  uint32_t recovery_heartbeats = 2;
  std::chrono::milliseconds max_clock_skew = std::chrono::seconds(120);
};

struct ObserveResult {
  std::optional<protocol::RejectReason> rejected;  // replayed / clock_skew
  std::optional<Transition> transition;
  std::vector<CheckChange> check_changes;  // checks whose state differs from last time
};

struct StateCounts {
  uint64_t by_state[kSourceStateCount] = {};
  uint64_t total = 0;
};

class Tracker {
 public:
  Tracker(const Clock& clock, DetectionConfig config);
  ~Tracker();

  // Replaces the detection settings (SIGHUP reload); keeps all source state.
  void SetConfig(const DetectionConfig& config);

  // Loads persisted sources after a restart. A source's silence is measured from its
  // persisted last_seen, but never less than from `restart` minus ... see the .cc:
  // sources that were not DOWN get one full backstop from now before they can be
  // declared DOWN, because this collector could not listen while it was stopped.
  void Restore(std::vector<SourceSnapshot> sources);

  // Applies one authenticated frame. The Heartbeat overload (tests, tools) builds a view
  // first; the ingest paths pass views.
  ObserveResult Observe(const protocol::HeartbeatView& hb, Transport transport);
  ObserveResult Observe(const protocol::Heartbeat& hb, Transport transport);
  // Applies many under one lock and one clock reading (the UDP path: one recvmmsg
  // batch, read within microseconds). results[i] is frames[i]'s outcome; `results` is
  // resized and its elements reused, so a caller that keeps it does not allocate.
  void ObserveBatch(std::span<const protocol::HeartbeatView* const> frames, Transport transport,
                    std::vector<ObserveResult>& results);

  // Re-evaluates every source at clock.Now().
  std::vector<Transition> Evaluate();

  // Copies for the API, status page and metrics (phi filled in).
  std::vector<SourceSnapshot> Snapshot() const;
  std::optional<SourceSnapshot> Get(std::string_view source_id) const;
  StateCounts Counts() const;
  // Counts per value of the label `key`, sorted by value (sources without the label under
  // ""): the per-failure-domain metrics. Decodes each distinct label set once.
  std::vector<std::pair<std::string, StateCounts>> CountsBy(std::string_view key) const;
  size_t size() const;

  // Sources changed since the last call, for the store (phi not meaningful).
  std::vector<SourceSnapshot> TakeDirty();

 private:
  struct Entry;
  // Position of `id` in entries_, or SourceIndex::kNone.
  uint32_t PositionOf(std::string_view id, uint32_t hash) const;
  Entry& Add(std::string id, uint32_t hash);  // id must be new
  void MarkDirty(Entry& e);
  void ObserveLocked(const protocol::HeartbeatView& hb, uint32_t hash, Transport transport,
                     MonoTime now, int64_t now_ms, ObserveResult& out);
  SourceSnapshot ToSnapshot(const Entry& e, MonoTime now) const;
  std::optional<Transition> SetState(Entry& e, SourceState to, std::string reason);

  const Clock& clock_;
  mutable std::mutex mu_;
  DetectionConfig config_;
  std::vector<Entry> entries_;  // every source ever heard, in order of first contact
  SourceIndex index_;           // source id -> position in entries_
  LabelPool label_pool_;
  std::vector<uint32_t> dirty_;  // positions changed since the last TakeDirty()
};

}  // namespace firewatch::collector
