#include "detector/phi_detector.h"

#include <gtest/gtest.h>

#include <cmath>

namespace firewatch::collector {
namespace {

using namespace std::chrono_literals;

TEST(PhiTest, ExactNormalTail) {
  EXPECT_NEAR(PhiOfStandardized(0), -std::log10(0.5), 1e-12);
  // P(Z > 3) = 1.3499e-3 -> phi 2.8697
  EXPECT_NEAR(PhiOfStandardized(3), 2.8697, 1e-3);
  // Far tail stays finite and monotone (the logistic approximation saturates).
  EXPECT_GT(PhiOfStandardized(20), PhiOfStandardized(10));
  EXPECT_LE(PhiOfStandardized(1e6), PhiDetector::kMaxPhi);
  EXPECT_EQ(PhiOfStandardized(-50), 0.0);
}

TEST(PhiTest, ZeroBeforeFirstArrival) {
  PhiDetector d;
  d.Seed(5s);
  EXPECT_EQ(d.Phi(MonoTime(100s), {}), 0.0);
}

TEST(PhiTest, GrowsWithSilence) {
  PhiParams p;
  PhiDetector d;
  d.Seed(1s);
  MonoTime t(1000s);
  for (int i = 0; i < 30; ++i) {  // more than the window: the seed samples are gone
    d.Heartbeat(t, p);
    t += 1s;
  }
  MonoTime last = t - 1s;
  double at_mean = d.Phi(last + 1s, p);
  EXPECT_LT(at_mean, 1.0);
  // 2 s late with the minimum stddev of 500 ms is y = 4: P = 3.2e-5, phi = 4.5.
  EXPECT_NEAR(d.Phi(last + 3s, p), 4.5, 0.05);
  EXPECT_GT(d.Phi(last + 5s, p), 15.0);  // y = 8
  EXPECT_NEAR(d.mean_ms(), 1000, 1);
}

TEST(PhiTest, AcceptablePauseShiftsTheCurve) {
  PhiParams p, paused;
  paused.acceptable_pause = 1s;
  PhiDetector d;
  d.Seed(1s);
  d.Heartbeat(MonoTime(10s), p);
  EXPECT_NEAR(d.Phi(MonoTime(12s), paused), d.Phi(MonoTime(11s), p), 1e-9);
}

TEST(PhiTest, WindowForgetsOldRhythm) {
  PhiParams p;
  p.window = 4;
  PhiDetector d;
  d.Seed(10s);
  MonoTime t(1000s);
  for (int i = 0; i < 10; ++i) {
    d.Heartbeat(t, p);
    t += 1s;
  }
  EXPECT_NEAR(d.mean_ms(), 1000, 1);
  EXPECT_EQ(d.samples(), 4u);
}

TEST(PhiTest, JitterWidensTolerance) {
  PhiParams p;
  p.min_stddev = 1ms;
  PhiDetector steady, jittery;
  MonoTime a(0s), b(0s);
  for (int i = 0; i < 20; ++i) {
    steady.Heartbeat(a, p);
    jittery.Heartbeat(b, p);
    a += 1000ms;
    b += (i % 2) ? 700ms : 1300ms;
  }
  // Same silence since the last arrival: the jittery stream is less suspicious.
  EXPECT_GT(steady.Phi(steady.last_arrival() + 1500ms, p),
            jittery.Phi(jittery.last_arrival() + 1500ms, p));
}

}  // namespace
}  // namespace firewatch::collector
