#include "scheduler.h"

#include <gtest/gtest.h>

#include <deque>

namespace firewatch::agent {
namespace {

using namespace std::chrono_literals;

// Returns scripted values, then 0.5 (no jitter) when the script runs out.
class ScriptedRandom final : public Random {
 public:
  explicit ScriptedRandom(std::deque<double> values) : values_(std::move(values)) {}
  double Uniform01() override {
    if (values_.empty()) return 0.5;
    double v = values_.front();
    values_.pop_front();
    return v;
  }

 private:
  std::deque<double> values_;
};

TEST(SchedulerTest, FirstHeartbeatIsImmediate) {
  FakeClock clock;
  ScriptedRandom rnd({});
  HeartbeatScheduler s(5s, 0.1, rnd);
  EXPECT_EQ(s.Start(clock.Now()), clock.Now());
}

TEST(SchedulerTest, DeadlinesChainFromDeadlinesNotFromFiringTimes) {
  FakeClock clock;
  ScriptedRandom rnd({});  // always 0.5: zero jitter
  HeartbeatScheduler s(5s, 0.1, rnd);
  const MonoTime start = s.Start(clock.Now());
  MonoTime d = start;
  for (int k = 1; k <= 1000; ++k) {
    // The timer fires late each time (a busy loop); the schedule must not drift.
    clock.Advance(d - clock.Now() + 37ms);
    d = s.Next(clock.Now());
    EXPECT_EQ(d, start + k * 5s) << "heartbeat " << k;
  }
  EXPECT_EQ(s.skipped(), 0u);
}

TEST(SchedulerTest, JitterSpansPlusMinusTheFraction) {
  FakeClock clock;
  ScriptedRandom rnd({0.0, 1.0, 0.5, 0.75});
  HeartbeatScheduler s(10s, 0.1, rnd);
  MonoTime d0 = s.Start(clock.Now());
  MonoTime d1 = s.Next(clock.Now());
  EXPECT_EQ(d1 - d0, 9s);  // -10%
  MonoTime d2 = s.Next(clock.Now());
  EXPECT_EQ(d2 - d1, 11s);  // +10% (the open end of [0,1) approached)
  MonoTime d3 = s.Next(clock.Now());
  EXPECT_EQ(d3 - d2, 10s);
  MonoTime d4 = s.Next(clock.Now());
  EXPECT_EQ(d4 - d3, 10500ms);
}

TEST(SchedulerTest, JitterIsClampedToHalfTheInterval) {
  FakeClock clock;
  ScriptedRandom rnd({0.0});
  HeartbeatScheduler s(10s, 0.9, rnd);
  MonoTime d0 = s.Start(clock.Now());
  EXPECT_EQ(s.Next(clock.Now()) - d0, 5s);
}

TEST(SchedulerTest, SeededJitterStaysInBoundsAndAveragesOut) {
  FakeClock clock;
  SeededRandom rnd(42);
  HeartbeatScheduler s(5s, 0.1, rnd);
  MonoTime start = s.Start(clock.Now());
  MonoTime prev = start;
  const int n = 20000;
  Duration min_gap = 1h, max_gap{};
  for (int i = 0; i < n; ++i) {
    clock.Advance(prev - clock.Now());  // fire exactly on time
    MonoTime d = s.Next(clock.Now());
    min_gap = std::min(min_gap, d - prev);
    max_gap = std::max(max_gap, d - prev);
    prev = d;
  }
  EXPECT_GE(min_gap, 4500ms);
  EXPECT_LE(max_gap, 5500ms);
  EXPECT_LT(min_gap, 4600ms);  // the jitter is actually used
  EXPECT_GT(max_gap, 5400ms);
  // Mean period within 0.2% of the interval: no systematic drift.
  double mean_ms = std::chrono::duration<double, std::milli>(prev - start).count() / n;
  EXPECT_NEAR(mean_ms, 5000.0, 10.0);
}

TEST(SchedulerTest, SameSeedSameSchedule) {
  FakeClock clock;
  SeededRandom a(7), b(7), c(8);
  HeartbeatScheduler sa(5s, 0.1, a), sb(5s, 0.1, b), sc(5s, 0.1, c);
  sa.Start(clock.Now());
  sb.Start(clock.Now());
  sc.Start(clock.Now());
  bool differs = false;
  for (int i = 0; i < 50; ++i) {
    MonoTime x = sa.Next(clock.Now()), y = sb.Next(clock.Now()), z = sc.Next(clock.Now());
    EXPECT_EQ(x, y);
    differs |= x != z;
  }
  EXPECT_TRUE(differs);
}

TEST(SchedulerTest, AStalledProcessRestartsFromNowWithoutABurst) {
  FakeClock clock;
  ScriptedRandom rnd({});
  HeartbeatScheduler s(5s, 0.1, rnd);
  MonoTime start = s.Start(clock.Now());
  clock.Advance(42s);  // SIGSTOP, suspend...
  MonoTime d = s.Next(clock.Now());
  EXPECT_EQ(d, clock.Now());  // one heartbeat now, not eight
  EXPECT_EQ(s.skipped(), 7u);  // deadlines 5s..35s were missed whole
  EXPECT_EQ(s.Next(clock.Now()), start + 42s + 5s);
}

TEST(SchedulerTest, WallClockStepsDoNotMoveDeadlines) {
  FakeClock clock;
  ScriptedRandom rnd({});
  HeartbeatScheduler s(5s, 0.1, rnd);
  MonoTime start = s.Start(clock.Now());
  clock.StepWall(-1h);  // NTP steps the wall clock back
  EXPECT_EQ(s.Next(clock.Now()), start + 5s);
  clock.StepWall(2h);
  EXPECT_EQ(s.Next(clock.Now()), start + 10s);
}

}  // namespace
}  // namespace firewatch::agent
