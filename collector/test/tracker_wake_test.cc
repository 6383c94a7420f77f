// Evaluate() through the wake wheel (tracker/wake_wheel.h): it looks only at sources
// that could have changed state, and decides exactly what the full scan decides.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "tracker/tracker.h"

namespace firewatch::collector {
namespace {

using namespace std::chrono_literals;
using protocol::Heartbeat;

TEST(StandardizedBelowTest, IsJustBelowWherePhiReachesTheLevel) {
  for (double phi : {0.1, 1.0, 3.0, 8.0, 16.0, 300.0}) {
    const double y = StandardizedBelow(phi);
    EXPECT_LT(PhiOfStandardized(y), phi) << phi;
    EXPECT_GE(PhiOfStandardized(y + 1e-5), phi) << phi;
  }
  EXPECT_EQ(StandardizedBelow(0), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(StandardizedBelow(PhiDetector::kMaxPhi + 1), std::numeric_limits<double>::infinity());
}

TEST(PhiInverseTest, ElapsedMsAtInvertsPhi) {
  PhiDetector d;
  d.Seed(5s);
  const MonoTime t0{std::chrono::seconds(100)};
  d.SetLastArrival(t0);
  PhiParams p;
  p.acceptable_pause = 5s;
  const double ms = d.ElapsedMsAt(StandardizedBelow(8.0), p);
  const auto at = t0 + std::chrono::microseconds(static_cast<int64_t>(ms * 1000));
  EXPECT_LT(d.Phi(at, p), 8.0);
  EXPECT_GE(d.Phi(at + 1ms, p), 8.0);
}

class Sender {
 public:
  explicit Sender(const Clock& clock) : clock_(clock) {}
  Heartbeat Next(const std::string& id, uint32_t interval_ms = 5000) {
    Heartbeat hb;
    hb.source_id = id;
    hb.key_id = "k";
    auto [it, fresh] = boots_.try_emplace(id);
    if (fresh) it->second = protocol::NewBootId();
    hb.boot_id = it->second;
    hb.sequence = ++seqs_[id];
    hb.timestamp_ms = ToUnixMillis(clock_.WallNow());
    hb.interval_ms = interval_ms;
    hb.labels = {{"dc", "dc1"}};
    return hb;
  }
  void Restart(const std::string& id) {
    boots_[id] = protocol::NewBootId();
    seqs_[id] = 0;
  }

 private:
  const Clock& clock_;
  std::map<std::string, protocol::BootId> boots_;
  std::map<std::string, uint64_t> seqs_;
};

std::string Id(int i) { return "host-" + std::to_string(i); }

// The O(changeable) property, counted rather than timed: 100,000 sources that keep
// sending cost a tick nothing; 10 that go silent cost about 10 at their wake time.
TEST(TrackerWakeTest, TicksVisitOnlySourcesThatCanChange) {
  FakeClock clock;
  Tracker tracker(clock, DetectionConfig{});
  Sender sender(clock);
  constexpr int kSources = 100'000, kSilent = 10;
  std::vector<protocol::HeartbeatView> views(kSources);
  std::vector<Heartbeat> frames(kSources);
  std::vector<const protocol::HeartbeatView*> ptrs;
  std::vector<ObserveResult> results;
  auto beat = [&](int first) {  // sources [first, kSources) send one heartbeat each
    ptrs.clear();
    for (int i = first; i < kSources; ++i) {
      frames[i] = sender.Next(Id(i));
      protocol::ViewOf(frames[i], views[i]);
      ptrs.push_back(&views[i]);
    }
    tracker.ObserveBatch(ptrs, Transport::kUdp, results);
    for (const auto& r : results) ASSERT_FALSE(r.rejected);
  };
  beat(0);
  uint64_t max_evaluated = 0, total_evaluated = 0, moved = 0;
  std::vector<Transition> transitions;
  for (int tick = 1; tick <= 4 * 30; ++tick) {  // 30 s at 4 ticks/s
    clock.Advance(250ms);
    if (tick % 20 == 0) beat(kSilent);  // every 5 s, all but the first 10
    for (auto& t : tracker.Evaluate()) transitions.push_back(std::move(t));
    const EvaluateStats st = tracker.LastEvaluateStats();
    EXPECT_EQ(st.deadlines, 0u);
    max_evaluated = std::max(max_evaluated, st.evaluated);
    total_evaluated += st.evaluated;
    moved += st.wheel.moved;
    if (tick < 4 * 8) {
      EXPECT_EQ(st.evaluated, 0u) << "tick " << tick;  // nobody due yet
    }
  }
  // The silent 10 went LATE and then DOWN; nobody else changed.
  ASSERT_EQ(transitions.size(), 2u * kSilent);
  for (const auto& t : transitions) {
    EXPECT_LT(std::stoi(t.source_id.substr(5)), kSilent) << t.source_id;
  }
  EXPECT_EQ(tracker.Counts().by_state[static_cast<int>(SourceState::kDown)], kSilent);
  // Each silent source is looked at when it can go LATE, when it can go DOWN, and on
  // the few ticks around them that rounding costs; the 99,990 others never.
  EXPECT_GE(max_evaluated, 1u);
  EXPECT_LE(max_evaluated, static_cast<uint64_t>(kSilent));
  EXPECT_LE(total_evaluated, 4u * kSilent);
  // The senders' items were moved later by the wheel (no state rules run for them).
  EXPECT_GT(moved, 0u);
  // Once DOWN, the silent ones leave the wheel; a tick far from every wake costs 0.
  EXPECT_EQ(tracker.LastEvaluateStats().evaluated, 0u);
}

// A source whose wake keeps moving earlier (here: its interval flips between 1 s and
// 1 h) leaves stale items behind; the wheel is rebuilt before they outnumber sources.
TEST(TrackerWakeTest, StaleItemsStayBounded) {
  FakeClock clock;
  Tracker tracker(clock, DetectionConfig{});
  Sender sender(clock);
  for (int i = 0; i < 5000; ++i) {
    clock.Advance(1ms);
    ASSERT_FALSE(tracker.Observe(sender.Next("flip", i % 2 ? 3'600'000 : 1000), Transport::kUdp)
                     .rejected);
  }
  (void)tracker.Evaluate();
  EXPECT_LE(tracker.LastEvaluateStats().wheel_items, 2u * 1 + 1024 + 1);
  EXPECT_EQ(tracker.Get("flip")->state, SourceState::kUp);
}

// Random heartbeat schedules against a twin tracker that uses the full scan: the same
// transitions (id, states, reason, time, order) at the same ticks, and the same states.
TEST(TrackerWakeTest, SameTransitionsAsTheFullScan) {
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    auto uniform = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    FakeClock clock;
    DetectionConfig config;
    Tracker wheel(clock, config), full(clock, config);
    Sender sender(clock);
    constexpr int kSources = 150;
    static constexpr uint32_t kIntervals[] = {1000, 2000, 5000, 30000};
    struct Plan {
      int64_t next_ms = 0;  // next frame (fake monotonic ms since start)
      uint32_t interval_ms = 5000;
    };
    std::vector<Plan> plans(kSources);
    for (auto& p : plans) {
      p.interval_ms = kIntervals[uniform(0, 3)];
      p.next_ms = uniform(0, static_cast<int>(p.interval_ms));
    }
    int64_t now_ms = 0;
    size_t compared = 0, changes = 0;
    for (int step = 0; step < 3000; ++step) {
      const int adv = uniform(1, 400);
      clock.Advance(std::chrono::milliseconds(adv));
      now_ms += adv;
      for (int i = 0; i < kSources; ++i) {
        Plan& p = plans[i];
        if (p.next_ms > now_ms) continue;
        const int what = uniform(0, 99);
        if (what < 3) {  // goes quiet for up to two minutes
          p.next_ms = now_ms + uniform(0, 120'000);
          continue;
        }
        if (what < 5) sender.Restart(Id(i));  // a new boot
        if (what == 5) p.interval_ms = kIntervals[uniform(0, 3)];
        Heartbeat hb = sender.Next(Id(i), p.interval_ms);
        if (what == 6) hb.type = protocol::FrameType::kGoodbye;
        if (what == 7) {  // a burst: three quick frames
          for (int k = 0; k < 2; ++k) {
            (void)wheel.Observe(hb, Transport::kUdp);
            (void)full.Observe(hb, Transport::kUdp);
            hb = sender.Next(Id(i), p.interval_ms);
          }
        }
        const auto a = wheel.Observe(hb, Transport::kUdp);
        const auto b = full.Observe(hb, Transport::kUdp);
        ASSERT_EQ(a.rejected.has_value(), b.rejected.has_value());
        const int jitter = static_cast<int>(p.interval_ms) / 5;
        p.next_ms = now_ms + p.interval_ms + uniform(-jitter, jitter);
        if (what == 6) p.next_ms += uniform(0, 60'000);
      }
      const int rare = uniform(0, 999);
      if (rare < 3) {  // detection settings reloaded
        config.late_phi = uniform(1, 4);
        config.down_phi = uniform(5, 12);
        config.acceptable_missed = uniform(0, 2);
        config.backstop_intervals = uniform(2, 5);
        wheel.SetConfig(config);
        full.SetConfig(config);
      } else if (rare < 6) {  // an operator forgets one; positions compact
        const std::string id = Id(uniform(0, kSources - 1));
        EXPECT_EQ(wheel.Forget(id).has_value(), full.Forget(id).has_value());
      } else if (rare < 8) {
        EXPECT_EQ(wheel.ForgetSilentFor(40s).size(), full.ForgetSilentFor(40s).size());
      } else if (rare < 9) {  // a restart's restore, over what is there
        auto snapshot = full.Snapshot();
        snapshot.resize(std::min<size_t>(snapshot.size(), 20));
        wheel.Restore(snapshot);
        full.Restore(snapshot);
      }
      const auto got = wheel.Evaluate();
      const auto want = full.EvaluateFullScan();
      ASSERT_EQ(got.size(), want.size()) << "step " << step;
      for (size_t k = 0; k < got.size(); ++k) {
        EXPECT_EQ(got[k].source_id, want[k].source_id);
        EXPECT_EQ(got[k].from, want[k].from);
        EXPECT_EQ(got[k].to, want[k].to);
        EXPECT_EQ(got[k].reason, want[k].reason);
        EXPECT_EQ(got[k].at_ms, want[k].at_ms);
      }
      changes += got.size();
      ++compared;
      if (step % 100 == 0) {  // recovery counts and every state agree, not only transitions
        const auto sa = wheel.Snapshot(), sb = full.Snapshot();
        ASSERT_EQ(sa.size(), sb.size());
        for (size_t k = 0; k < sa.size(); ++k) {
          ASSERT_EQ(sa[k].source_id, sb[k].source_id);
          ASSERT_EQ(sa[k].state, sb[k].state) << sa[k].source_id << " step " << step;
        }
      }
    }
    EXPECT_EQ(compared, 3000u);
    EXPECT_GT(changes, 100u);  // the schedules did exercise LATE, DOWN and recovery
  }
}

}  // namespace
}  // namespace firewatch::collector
