#include "detector/phi_detector.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace firewatch::collector {

double PhiOfStandardized(double y) {
  double tail = 0.5 * std::erfc(y / std::sqrt(2.0));
  if (tail <= 0) return PhiDetector::kMaxPhi;
  return std::min(PhiDetector::kMaxPhi, std::max(0.0, -std::log10(tail)));
}

void PhiDetector::Seed(Duration declared_interval) {
  int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(declared_interval).count();
  uint32_t mean = static_cast<uint32_t>(std::clamp<int64_t>(ms, 1, UINT32_MAX / 2));
  uint32_t dev = std::max<uint32_t>(1, mean / 4);
  ring_ = {};
  sum_ = sum_sq_ = 0;
  count_ = next_ = 0;
  // Two samples mean ± dev give exactly that mean and population stddev.
  Add(mean - dev, kMaxWindow);
  Add(mean + dev, kMaxWindow);
}

void PhiDetector::Add(uint32_t sample_ms, uint32_t window) {
  window = std::clamp<uint32_t>(window, 2, kMaxWindow);
  if (count_ >= window) {
    // Evict the oldest sample of the active window.
    uint32_t oldest = (next_ + kMaxWindow - count_) % kMaxWindow;
    uint64_t old = ring_[oldest];
    sum_ -= old;
    sum_sq_ -= old * old;
    --count_;
    while (count_ >= window) {  // window shrank by config reload
      oldest = (next_ + kMaxWindow - count_) % kMaxWindow;
      old = ring_[oldest];
      sum_ -= old;
      sum_sq_ -= old * old;
      --count_;
    }
  }
  ring_[next_] = sample_ms;
  next_ = (next_ + 1) % kMaxWindow;
  sum_ += sample_ms;
  sum_sq_ += static_cast<uint64_t>(sample_ms) * sample_ms;
  ++count_;
}

void PhiDetector::Heartbeat(MonoTime at, const PhiParams& params) {
  if (has_last_ && at > last_) {
    int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(at - last_).count();
    Add(static_cast<uint32_t>(std::min<int64_t>(ms, UINT32_MAX / 2)), params.window);
  }
  if (!has_last_ || at > last_) last_ = at;
  has_last_ = true;
}

void PhiDetector::Moments(const PhiParams& params, double& mean, double& sd,
                          double& pause) const {
  mean = static_cast<double>(sum_) / count_;
  double var = static_cast<double>(sum_sq_) / count_ - mean * mean;
  double min_sd = std::chrono::duration<double, std::milli>(params.min_stddev).count();
  sd = std::max(std::sqrt(std::max(0.0, var)), std::max(min_sd, 1.0));
  pause = std::chrono::duration<double, std::milli>(params.acceptable_pause).count();
}

double PhiDetector::Phi(MonoTime now, const PhiParams& params) const {
  if (!has_last_ || count_ == 0) return 0;
  double elapsed = std::chrono::duration<double, std::milli>(now - last_).count();
  double mean, sd, pause;
  Moments(params, mean, sd, pause);
  return PhiOfStandardized((elapsed - mean - pause) / sd);
}

double PhiDetector::ElapsedMsAt(double y, const PhiParams& params) const {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (y == -kInf) return -kInf;
  if (!has_last_ || count_ == 0 || y == kInf) return kInf;
  double mean, sd, pause;
  Moments(params, mean, sd, pause);
  return mean + pause + y * sd;
}

double StandardizedBelow(double phi) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (phi <= 0) return -kInf;  // PhiOfStandardized is never negative
  if (phi > PhiDetector::kMaxPhi) return kInf;
  // PhiOfStandardized(-40) is 0 and (100) is kMaxPhi: bisect the boundary between.
  double lo = -40, hi = 100;
  for (int i = 0; i < 200 && hi - lo > 1e-12; ++i) {
    const double mid = lo + (hi - lo) / 2;
    (PhiOfStandardized(mid) >= phi ? hi : lo) = mid;
  }
  return lo - 1e-6;  // below the boundary, with room for rounding in erfc and log10
}

}  // namespace firewatch::collector
