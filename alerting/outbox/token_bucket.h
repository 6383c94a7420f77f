// Token buckets for the outbox's rate limits (SMS costs money). In memory only: after a
// restart every bucket starts full (fail open, DESIGN principle 2) -- at most one extra
// burst per restart. Not thread-safe; the Dispatcher owns its buckets.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "firewatch/clock.h"

namespace firewatch::alerting::outbox {

// At most `burst` sends per `period`: a bucket of `burst` tokens that refills
// continuously at burst/period. burst <= 0 or period <= 0 means unlimited.
struct RateLimit {
  int burst = 0;
  std::chrono::milliseconds period{0};
  bool unlimited() const { return burst <= 0 || period.count() <= 0; }
};

class TokenBucket {
 public:
  // Starts full at `now`.
  TokenBucket(RateLimit limit, MonoTime now);
  // True when at least one token is available at `now` (refills first; takes nothing).
  bool Available(MonoTime now);
  // Takes one token if available; false (and nothing taken) otherwise.
  bool TryTake(MonoTime now);
  double tokens() const { return tokens_; }

 private:
  void Refill(MonoTime now);
  RateLimit limit_;
  double tokens_;
  MonoTime last_;
};

// Buckets keyed by a string (e.g. "contact\x1f" "channel"), created full on first use.
class BucketSet {
 public:
  // True when `key` under `limit` has a token now (unlimited: always).
  bool Available(const std::string& key, const RateLimit& limit, MonoTime now);
  // Takes a token for `key`; callers check Available on every bucket they need first.
  void Take(const std::string& key, const RateLimit& limit, MonoTime now);

 private:
  TokenBucket& Get(const std::string& key, const RateLimit& limit, MonoTime now);
  std::map<std::string, TokenBucket> buckets_;
};

}  // namespace firewatch::alerting::outbox
