// The log lines of state transitions ("source X: UP -> DOWN (...)", "new source X",
// "source X: cluster verdict DOWN"): one line each, up to `per_second` lines a second;
// above that, the rest are counted by kind and reported in one summary line a second.
//
// Why: a datacenter going dark is 100,000 transitions in one or two evaluate ticks, and
// a collector's first minutes at a million sources are a million "new source" lines.
// One line each is one write to stderr each, on the event loop: a million sources
// becoming known at 50,000/s lost 0.6% of their first frames to the full socket
// (docs/benchmarks.md, section 8), and journald's own rate limit (10,000 lines in 30 s
// by default) would have dropped most of the lines anyway, and with them the ones that
// matter. The sources themselves are listed by GET /api/v1/sources?state=DOWN.
// Loop thread only (not thread-safe).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "tracker/source.h"

namespace firewatch::collector {

class TransitionLog {
 public:
  enum class Kind {
    kLocal,           // this collector's own transitions (the tracker's)
    kClusterVerdict,  // the cluster's merged verdicts (docs/cluster.md)
  };
  // One finished line (without level or time stamp); the default writes spdlog info.
  using Emit = std::function<void(const std::string&)>;

  static constexpr size_t kDefaultPerSecond = 100;

  TransitionLog(const Clock& clock, Kind kind, size_t per_second = kDefaultPerSecond,
                Emit emit = nullptr);

  // One line per transition while this second's budget lasts; the rest are counted.
  void Log(const std::vector<Transition>& ts);
  // The summary of what was counted, once the second it was counted in is over
  // (Log calls it too; the collector's flush timer calls it so that the last burst's
  // summary is not left waiting for the next transition).
  void Flush();

  uint64_t suppressed() const { return suppressed_total_; }  // ever, for tests

 private:
  std::string Line(const Transition& t) const;
  std::string KindOf(const Transition& t) const;

  const Clock& clock_;
  Kind kind_;
  size_t per_second_;
  Emit emit_;
  MonoTime second_start_{};
  size_t logged_this_second_ = 0;
  bool started_ = false;
  std::map<std::string, uint64_t> counted_;  // kind ("UP -> DOWN", "new") -> lines not written
  uint64_t counted_n_ = 0;
  MonoTime counted_since_{};
  uint64_t suppressed_total_ = 0;
};

}  // namespace firewatch::collector
