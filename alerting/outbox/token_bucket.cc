#include "outbox/token_bucket.h"

#include <algorithm>

namespace firewatch::alerting::outbox {

TokenBucket::TokenBucket(RateLimit limit, MonoTime now)
    : limit_(limit), tokens_(static_cast<double>(std::max(limit.burst, 0))), last_(now) {}

void TokenBucket::Refill(MonoTime now) {
  if (limit_.unlimited() || now <= last_) return;
  const double elapsed_ms =
      std::chrono::duration<double, std::milli>(now - last_).count();
  const double rate_per_ms = static_cast<double>(limit_.burst) /
                             static_cast<double>(limit_.period.count());
  tokens_ = std::min(static_cast<double>(limit_.burst), tokens_ + elapsed_ms * rate_per_ms);
  last_ = now;
}

bool TokenBucket::Available(MonoTime now) {
  if (limit_.unlimited()) return true;
  Refill(now);
  // A tiny epsilon absorbs floating-point residue (4.9999999 tokens after a full period).
  return tokens_ >= 1.0 - 1e-9;
}

bool TokenBucket::TryTake(MonoTime now) {
  if (!Available(now)) return false;
  if (!limit_.unlimited()) tokens_ = std::max(0.0, tokens_ - 1.0);
  return true;
}

TokenBucket& BucketSet::Get(const std::string& key, const RateLimit& limit, MonoTime now) {
  auto it = buckets_.find(key);
  if (it == buckets_.end()) it = buckets_.emplace(key, TokenBucket(limit, now)).first;
  return it->second;
}

bool BucketSet::Available(const std::string& key, const RateLimit& limit, MonoTime now) {
  if (limit.unlimited()) return true;
  return Get(key, limit, now).Available(now);
}

void BucketSet::Take(const std::string& key, const RateLimit& limit, MonoTime now) {
  if (limit.unlimited()) return;
  (void)Get(key, limit, now).TryTake(now);
}

}  // namespace firewatch::alerting::outbox
