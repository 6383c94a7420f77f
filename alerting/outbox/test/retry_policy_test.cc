#include "outbox/retry_policy.h"

#include <gtest/gtest.h>

#include <random>

namespace firewatch::alerting::outbox {
namespace {

using namespace std::chrono_literals;

TEST(RetryPolicyTest, CapGrowsByFactorAndSaturatesAtMaxDelay) {
  const RetryPolicy p{500ms, 3.0, 10'000ms, 5};
  EXPECT_EQ(BackoffCapMs(p, 1), 500);
  EXPECT_EQ(BackoffCapMs(p, 2), 1500);
  EXPECT_EQ(BackoffCapMs(p, 3), 4500);
  EXPECT_EQ(BackoffCapMs(p, 4), 10'000);
  EXPECT_EQ(BackoffCapMs(p, 1'000'000), 10'000);  // no overflow
  EXPECT_EQ(BackoffCapMs(p, 0), 500);
}

TEST(RetryPolicyTest, FullJitterStaysWithinZeroAndTheCapAndCoversTheRange) {
  const RetryPolicy p{1000ms, 2.0, 60'000ms, 5};
  std::mt19937_64 engine(12345);
  const Rng rng = [&] { return engine(); };
  for (int attempt = 1; attempt <= 8; ++attempt) {
    const int64_t cap = BackoffCapMs(p, attempt);
    int64_t lo = cap, hi = 0;
    for (int i = 0; i < 2000; ++i) {
      const int64_t d = BackoffDelayMs(p, attempt, rng);
      ASSERT_GE(d, 0);
      ASSERT_LE(d, cap);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    EXPECT_LT(lo, cap / 10) << "attempt " << attempt;
    EXPECT_GT(hi, cap - cap / 10) << "attempt " << attempt;
  }
}

TEST(RetryPolicyTest, SeededRngIsDeterministic) {
  const RetryPolicy p;
  std::mt19937_64 a(7), b(7);
  for (int i = 1; i < 10; ++i) {
    EXPECT_EQ(BackoffDelayMs(p, i, [&] { return a(); }), BackoffDelayMs(p, i, [&] { return b(); }));
  }
}

TEST(RetryPolicyTest, ExtremesOfTheRng) {
  const RetryPolicy p{1000ms, 2.0, 60'000ms, 5};
  EXPECT_EQ(BackoffDelayMs(p, 3, [] { return uint64_t{0}; }), 0);
  EXPECT_EQ(BackoffDelayMs(p, 3, [] { return ~uint64_t{0}; }), 4000);
  const RetryPolicy zero{0ms, 2.0, 0ms, 1};
  EXPECT_EQ(BackoffDelayMs(zero, 3, [] { return ~uint64_t{0}; }), 0);
}

}  // namespace
}  // namespace firewatch::alerting::outbox
