// Phi-accrual failure detector (Hayashibara et al., 2004) for one heartbeat stream.
//
// phi(t) = -log10(P(next arrival later than t)), with inter-arrival times modelled as a
// normal distribution over a window of recent samples. We use the exact normal tail,
// phi = -log10(0.5 * erfc(y / sqrt(2))), y = (elapsed - mean - acceptable_pause) / stddev,
// not the logistic approximation, so phi stays monotone and precise far in the tail.
//
// Memory matters (100,000 sources per collector): samples are whole milliseconds in a
// fixed ring of kMaxWindow, plus running sums. Not thread-safe; the tracker locks.
#pragma once

#include <array>
#include <cstdint>

#include "firewatch/clock.h"

namespace firewatch::collector {

struct PhiParams {
  uint32_t window = 20;                 // samples used, 2..kMaxWindow
  Duration min_stddev = std::chrono::milliseconds(500);
  Duration acceptable_pause = std::chrono::seconds(0);
};

class PhiDetector {
 public:
  static constexpr uint32_t kMaxWindow = 32;

  // Seeds the window with the declared interval so phi is meaningful from the first
  // heartbeat (and after a collector restart): mean = interval, stddev = interval / 4.
  void Seed(Duration declared_interval);
  // Records one arrival. The first arrival only sets the reference point.
  void Heartbeat(MonoTime at, const PhiParams& params);
  // Suspicion level at `now`; 0 before any arrival. Finite (capped at kMaxPhi).
  double Phi(MonoTime now, const PhiParams& params) const;
  bool has_arrival() const { return has_last_; }
  MonoTime last_arrival() const { return last_; }
  // Moves the reference point (used after restoring from disk: monotonic time restarts).
  void SetLastArrival(MonoTime t) {
    last_ = t;
    has_last_ = true;
  }
  // The elapsed time since the last arrival (ms) at which the standardized distance
  // (elapsed - mean - pause) / stddev reaches `y`: with StandardizedBelow() this inverts
  // Phi() (the tracker's wake times, tracker/wake_wheel.h). Computed from the same
  // mean and stddev as Phi(). With no arrival yet Phi() stays 0: -inf when y is -inf
  // (a level <= 0 is reached at once), else +inf.
  double ElapsedMsAt(double y, const PhiParams& params) const;
  double mean_ms() const { return count_ ? static_cast<double>(sum_) / count_ : 0; }
  uint32_t samples() const { return count_; }

  static constexpr double kMaxPhi = 1000.0;

 private:
  void Add(uint32_t sample_ms, uint32_t window);
  // Mean, effective stddev and pause (ms) as Phi() uses them; count_ must be > 0.
  void Moments(const PhiParams& params, double& mean, double& sd, double& pause) const;
  std::array<uint32_t, kMaxWindow> ring_{};
  uint64_t sum_ = 0;
  uint64_t sum_sq_ = 0;
  uint32_t count_ = 0;
  uint32_t next_ = 0;
  bool has_last_ = false;
  MonoTime last_{};
};

// The exact normal-tail phi for a standardized distance y (non-decreasing in y).
double PhiOfStandardized(double y);
// A standardized distance strictly below the least y with PhiOfStandardized(y) >= phi
// (by a small margin, so a time computed from it is never late): -inf when phi <= 0
// (every y reaches it), +inf when phi > kMaxPhi (none does). Costs ~200 erfc calls:
// compute once per configuration, not per heartbeat.
double StandardizedBelow(double phi);

}  // namespace firewatch::collector
