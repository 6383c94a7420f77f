#include "outbox/retry_policy.h"

#include <algorithm>
#include <cmath>

namespace firewatch::alerting::outbox {

int64_t BackoffCapMs(const RetryPolicy& policy, int failed_attempts) {
  const double max_ms = static_cast<double>(std::max<int64_t>(0, policy.max_delay.count()));
  const double base_ms = static_cast<double>(std::max<int64_t>(0, policy.base.count()));
  const double exponent = std::max(0, failed_attempts - 1);
  const double cap = base_ms * std::pow(std::max(1.0, policy.factor), exponent);
  // pow may give inf for huge exponents; min() with max_ms keeps it finite.
  return static_cast<int64_t>(std::min(cap, max_ms));
}

int64_t BackoffDelayMs(const RetryPolicy& policy, int failed_attempts, const Rng& rng) {
  const int64_t cap = BackoffCapMs(policy, failed_attempts);
  if (cap <= 0) return 0;
  // 53 random bits give a double in [0, 1).
  const double unit = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  const auto delay = static_cast<int64_t>(unit * static_cast<double>(cap + 1));
  return std::min(delay, cap);
}

}  // namespace firewatch::alerting::outbox
