// Retry timing for one channel: exponential backoff with full jitter (the AWS
// "Exponential Backoff And Jitter" scheme), so collectors and channels that failed
// together do not retry in lockstep.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace firewatch::alerting::outbox {

// Returns uniformly distributed 64-bit values. Injected so tests are deterministic
// (e.g. a seeded std::mt19937_64); never needs to be cryptographic.
using Rng = std::function<uint64_t()>;

struct RetryPolicy {
  std::chrono::milliseconds base{std::chrono::seconds(10)};  // cap of the first retry's delay
  double factor = 2.0;                                       // cap growth per failed attempt
  std::chrono::milliseconds max_delay{std::chrono::minutes(5)};
  // Attempts on one channel before failing over to the next one in the chain (>= 1).
  // A Permanent result fails over at once, whatever this says.
  int max_attempts = 4;
};

// The delay before the next attempt after `failed_attempts` (>= 1) failed attempts on a
// channel: uniform in [0, min(max_delay, base * factor^(failed_attempts-1))] ms, drawn
// with `rng`. Never negative; saturates instead of overflowing.
int64_t BackoffDelayMs(const RetryPolicy& policy, int failed_attempts, const Rng& rng);

// The upper bound BackoffDelayMs draws below (inclusive), in ms.
int64_t BackoffCapMs(const RetryPolicy& policy, int failed_attempts);

}  // namespace firewatch::alerting::outbox
