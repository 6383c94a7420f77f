// When each health probe runs, and which results count as a heartbeat of its source
// "probe/<name>" (docs/watching.md, "Probes"). Pure logic on times passed in: no threads,
// no I/O (the runner, watch/probe_runner.h, owns those), so tests drive it on a fake clock.
//
//  - Each probe runs every `interval`, at a fixed rate from its first run (a slow attempt
//    does not shift the next ones; after a stall, the next run is one interval from now,
//    never a burst of catch-up runs). A probe is never run twice at once.
//  - All probes are due at start: the first results come at once.
//  - A success is a heartbeat. So are the first failures_before_down - 1 failures in a row
//    after it (a tolerated blip); from the failures_before_down-th the probe stops vouching
//    for the target, and the tracker's usual silence detection makes the source DOWN.
//    A success ends the streak.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "firewatch/clock.h"
#include "watch/watch_config.h"

namespace firewatch::collector {

class ProbeSchedule {
 public:
  ProbeSchedule(std::vector<ProbeConfig> probes, MonoTime start);

  // Probes due at `now` that are not running, at most `max` of them, earliest due first;
  // each is marked running until Finished().
  std::vector<size_t> TakeDue(MonoTime now, size_t max);
  // The attempt of probe `index` ended; true when it counts as a heartbeat.
  bool Finished(size_t index, bool ok, MonoTime now);
  // The earliest due time of a probe that is not running; nullopt when all are running
  // (or there are none).
  std::optional<MonoTime> NextDue() const;

  const ProbeConfig& probe(size_t index) const { return probes_[index]; }
  size_t size() const { return probes_.size(); }
  uint32_t failures(size_t index) const { return state_[index].failures; }

 private:
  struct State {
    MonoTime due{};
    bool running = false;
    uint32_t failures = 0;  // in a row
  };
  std::vector<ProbeConfig> probes_;
  std::vector<State> state_;
};

}  // namespace firewatch::collector
