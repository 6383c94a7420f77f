#include "outbox/token_bucket.h"

#include <gtest/gtest.h>

namespace firewatch::alerting::outbox {
namespace {

using namespace std::chrono_literals;

TEST(TokenBucketTest, BurstThenRefillAtTheAverageRate) {
  FakeClock clock;
  TokenBucket b({5, 10min}, clock.Now());
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.TryTake(clock.Now())) << i;
  EXPECT_FALSE(b.TryTake(clock.Now()));
  clock.Advance(119s);
  EXPECT_FALSE(b.Available(clock.Now()));
  clock.Advance(1s);  // 10 min / 5 = one token every 2 minutes
  EXPECT_TRUE(b.TryTake(clock.Now()));
  EXPECT_FALSE(b.TryTake(clock.Now()));
  clock.Advance(24h);  // never more than the burst
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.TryTake(clock.Now())) << i;
  EXPECT_FALSE(b.TryTake(clock.Now()));
}

TEST(TokenBucketTest, UnlimitedAlwaysAllows) {
  FakeClock clock;
  TokenBucket b({}, clock.Now());
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(b.TryTake(clock.Now()));
}

TEST(TokenBucketTest, BucketSetKeepsKeysApart) {
  FakeClock clock;
  BucketSet set;
  const RateLimit one{1, 1min};
  EXPECT_TRUE(set.Available("alice", one, clock.Now()));
  set.Take("alice", one, clock.Now());
  EXPECT_FALSE(set.Available("alice", one, clock.Now()));
  EXPECT_TRUE(set.Available("bob", one, clock.Now()));
  clock.Advance(1min);
  EXPECT_TRUE(set.Available("alice", one, clock.Now()));
}

}  // namespace
}  // namespace firewatch::alerting::outbox
