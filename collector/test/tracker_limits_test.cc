// The tracker's admission rules from issue #10 (docs/security.md): interval bounds,
// the timestamp window at its extremes, boot succession (a forged boot cannot lock the
// real agent out; a goodbye only from the current boot), the source cap, the per-key
// new-source budget, and forgetting. All on a FakeClock.
#include <gtest/gtest.h>

#include <limits>
#include <map>

#include "tracker/tracker.h"

namespace firewatch::collector {
namespace {

using namespace std::chrono_literals;
using protocol::CheckState;
using protocol::FrameType;
using protocol::Heartbeat;
using protocol::RejectReason;

class Agent {
 public:
  Agent(const Clock& clock, std::string id, std::string key = "k")
      : clock_(clock), id_(std::move(id)), key_(std::move(key)) {}
  Heartbeat Next() {
    Heartbeat hb;
    hb.source_id = id_;
    hb.key_id = key_;
    hb.boot_id = boot_;
    hb.sequence = ++seq_;
    hb.timestamp_ms = ToUnixMillis(clock_.WallNow());
    hb.interval_ms = 1000;
    hb.labels = {{"dc", "dc1"}};
    return hb;
  }
  Heartbeat Goodbye() {
    Heartbeat hb = Next();
    hb.type = FrameType::kGoodbye;
    hb.goodbye_reason = "SIGTERM";
    return hb;
  }
  void Restart() {
    boot_ = protocol::NewBootId();
    seq_ = 0;
  }
  const protocol::BootId& boot() const { return boot_; }

 private:
  const Clock& clock_;
  std::string id_, key_;
  protocol::BootId boot_ = protocol::NewBootId();
  uint64_t seq_ = 0;
};

class TrackerLimitsTest : public ::testing::Test {
 protected:
  std::optional<RejectReason> Send(const Heartbeat& hb) {
    auto r = tracker_.Observe(hb, Transport::kUdp);
    if (r.transition) transitions_.push_back(*r.transition);
    return r.rejected;
  }
  // One second at a time, evaluating like the collector's loop.
  void Wait(std::chrono::seconds s) {
    for (int i = 0; i < s.count(); ++i) {
      clock_.Advance(1s);
      for (auto& t : tracker_.Evaluate()) transitions_.push_back(t);
    }
  }
  SourceState StateOf(const std::string& id) { return tracker_.Get(id)->state; }

  FakeClock clock_;
  Tracker tracker_{clock_, DetectionConfig{}};
  std::vector<Transition> transitions_;
};

TEST_F(TrackerLimitsTest, IntervalOutsideTheConfiguredBoundsIsRefused) {
  Agent a(clock_, "web-01");
  Heartbeat hb = a.Next();
  hb.interval_ms = std::numeric_limits<uint32_t>::max();  // ~49 days of backstop
  EXPECT_EQ(Send(hb), RejectReason::kBadInterval);
  hb = a.Next();
  hb.interval_ms = 3'600'001;  // default max is 1 h
  EXPECT_EQ(Send(hb), RejectReason::kBadInterval);
  hb = a.Next();
  hb.interval_ms = 999;  // default min is 1 s
  EXPECT_EQ(Send(hb), RejectReason::kBadInterval);
  EXPECT_FALSE(tracker_.Get("web-01")) << "a refused frame creates nothing";
  hb = a.Next();
  hb.interval_ms = 3'600'000;
  EXPECT_FALSE(Send(hb));

  DetectionConfig tight;
  tight.max_interval = 10s;
  tracker_.SetConfig(tight);
  hb = a.Next();
  hb.interval_ms = 10'001;
  EXPECT_EQ(Send(hb), RejectReason::kBadInterval);
}

TEST_F(TrackerLimitsTest, RestoredIntervalIsClampedToTheMaximum) {
  Agent a(clock_, "web-01");
  ASSERT_FALSE(Send(a.Next()));
  auto saved = tracker_.Snapshot();
  saved[0].interval_ms = std::numeric_limits<uint32_t>::max();  // stored by an older build
  Tracker restored(clock_, DetectionConfig{});
  restored.Restore(saved);
  EXPECT_EQ(restored.Get("web-01")->interval_ms, 3'600'000u);
}

TEST_F(TrackerLimitsTest, ExtremeTimestampsAreClockSkew) {
  Agent a(clock_, "web-01");
  ASSERT_FALSE(Send(a.Next()));
  for (int64_t ts : {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(),
                     int64_t{0}, ToUnixMillis(clock_.WallNow()) + 5'001,
                     ToUnixMillis(clock_.WallNow()) - 120'001}) {
    Heartbeat hb = a.Next();
    hb.timestamp_ms = ts;
    EXPECT_EQ(Send(hb), RejectReason::kClockSkew) << ts;
  }
  Heartbeat ahead = a.Next();
  ahead.timestamp_ms = ToUnixMillis(clock_.WallNow()) + 5'000;  // a few seconds ahead is fine
  EXPECT_FALSE(Send(ahead));
}

TEST_F(TrackerLimitsTest, ForgedFutureBootDoesNotLockOutTheRealAgent) {
  Agent real(clock_, "web-01");
  Agent forger(clock_, "web-01");
  ASSERT_FALSE(Send(real.Next()));
  for (int i = 0; i < 60; ++i) {
    Heartbeat forged = forger.Next();
    forged.timestamp_ms += 5'000;  // as far ahead as the window allows
    forged.checks = {{"disk", CheckState::kCritical, "forged"}};
    forged.labels = {{"dc", "elsewhere"}};
    forged.interval_ms = 3'600'000;
    auto r = tracker_.Observe(forged, Transport::kUdp);
    ASSERT_FALSE(r.rejected);
    EXPECT_TRUE(r.check_changes.empty()) << "another boot's checks are not taken";
    clock_.Advance(500ms);
    ASSERT_FALSE(Send(real.Next())) << "the real agent was locked out after " << i << " forgeries";
    clock_.Advance(500ms);
    tracker_.Evaluate();
  }
  const SourceSnapshot s = *tracker_.Get("web-01");
  EXPECT_EQ(s.state, SourceState::kUp);
  EXPECT_EQ(s.replay.boot_id, real.boot());
  EXPECT_EQ(s.interval_ms, 1000u);
  EXPECT_EQ(s.labels, (protocol::Labels{{"dc", "dc1"}}));
  EXPECT_TRUE(s.checks.empty());
}

TEST_F(TrackerLimitsTest, GoodbyeFromAnotherBootDoesNotStopTheSource) {
  Agent real(clock_, "web-01");
  Agent forger(clock_, "web-01");
  ASSERT_FALSE(Send(real.Next()));
  clock_.Advance(200ms);
  EXPECT_EQ(Send(forger.Goodbye()), RejectReason::kGoodbyeNotCurrent);
  EXPECT_EQ(StateOf("web-01"), SourceState::kUp);
  // A forged boot that got a heartbeat in first is still not current.
  ASSERT_FALSE(Send(forger.Next()));
  EXPECT_EQ(Send(forger.Goodbye()), RejectReason::kGoodbyeNotCurrent);
  EXPECT_EQ(StateOf("web-01"), SourceState::kUp);
  // The real agent's own goodbye stops it.
  ASSERT_FALSE(Send(real.Goodbye()));
  EXPECT_EQ(StateOf("web-01"), SourceState::kStopped);
}

TEST_F(TrackerLimitsTest, QuickRestartTakesOverOnceTheOldBootWouldBeDown) {
  Agent a(clock_, "web-01");
  for (int i = 0; i < 5; ++i) {
    Wait(1s);
    ASSERT_FALSE(Send(a.Next()));
  }
  const protocol::BootId old_boot = a.boot();
  a.Restart();  // kill -9 and started again at once: no goodbye
  clock_.Advance(100ms);
  // The backstop is 1 s x 3 + 2 s: for 5 s after the old boot's last frame the new one
  // is only liveness (a forger could otherwise race a live agent's next heartbeat).
  int took_over_after = -1;
  for (int s = 0; s < 8 && took_over_after < 0; ++s) {
    Heartbeat hb = a.Next();
    hb.checks = {{"disk", CheckState::kCritical, "full"}};
    auto r = tracker_.Observe(hb, Transport::kUdp);
    ASSERT_FALSE(r.rejected);
    if (tracker_.Get("web-01")->replay.boot_id == a.boot()) {
      took_over_after = s;
      EXPECT_EQ(r.check_changes.size(), 1u) << "the new boot describes the source now";
    } else {
      EXPECT_TRUE(r.check_changes.empty()) << "not current yet";
      EXPECT_EQ(tracker_.Get("web-01")->replay.boot_id, old_boot);
    }
    Wait(1s);
  }
  EXPECT_EQ(took_over_after, 5);
  EXPECT_EQ(StateOf("web-01"), SourceState::kUp);
  for (const auto& t : transitions_) EXPECT_NE(t.to, SourceState::kDown) << "kept alive meanwhile";
}

TEST_F(TrackerLimitsTest, NewBootOfADownSourceTakesOverAtOnce) {
  Agent a(clock_, "web-01");
  ASSERT_FALSE(Send(a.Next()));
  Wait(30s);
  ASSERT_EQ(StateOf("web-01"), SourceState::kDown);
  a.Restart();
  ASSERT_FALSE(Send(a.Next()));
  EXPECT_EQ(tracker_.Get("web-01")->replay.boot_id, a.boot());
  ASSERT_FALSE(Send(a.Next()));
  EXPECT_EQ(StateOf("web-01"), SourceState::kUp) << "recovery_heartbeats (2) counted at once";
}

TEST_F(TrackerLimitsTest, SourceCapRefusesNewSourcesOnly) {
  tracker_.SetLimits({.max_sources = 3, .new_sources_per_key_per_minute = 0});
  std::vector<Agent> agents;
  for (int i = 0; i < 5; ++i) agents.emplace_back(clock_, "h" + std::to_string(i));
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(Send(agents[i].Next()));
  EXPECT_EQ(Send(agents[3].Next()), RejectReason::kSourceLimit);
  EXPECT_EQ(Send(agents[4].Next()), RejectReason::kSourceLimit);
  EXPECT_EQ(tracker_.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(Send(agents[i].Next())) << "known sources still count";
  LimitStatus st = tracker_.Limits();
  EXPECT_TRUE(st.at_capacity);
  EXPECT_EQ(st.tracked, 3u);
  EXPECT_EQ(st.refused_at_capacity, 2u);
  // Forgetting one makes room for one.
  ASSERT_TRUE(tracker_.Forget("h1"));
  EXPECT_FALSE(tracker_.Limits().at_capacity);
  EXPECT_FALSE(Send(agents[3].Next()));
  EXPECT_EQ(Send(agents[4].Next()), RejectReason::kSourceLimit);
}

TEST_F(TrackerLimitsTest, NewSourcesPerKeyPerMinute) {
  tracker_.SetLimits({.max_sources = 1000, .new_sources_per_key_per_minute = 10});
  int n = 0;
  auto fresh = [&](const std::string& key) { return Agent(clock_, "s" + std::to_string(n++), key).Next(); };
  for (int i = 0; i < 10; ++i) ASSERT_FALSE(Send(fresh("flood")));
  EXPECT_EQ(Send(fresh("flood")), RejectReason::kNewSourceRate);
  EXPECT_FALSE(Send(fresh("other"))) << "each key has its own budget";
  LimitStatus st = tracker_.Limits();
  EXPECT_EQ(st.rate_limited_keys, std::vector<std::string>{"flood"});
  EXPECT_EQ(st.refused_by_rate, 1u);
  EXPECT_FALSE(st.at_capacity);
  // The budget refills continuously: 10 per minute is one per 6 s.
  clock_.Advance(6s);
  EXPECT_FALSE(Send(fresh("flood")));
  EXPECT_EQ(Send(fresh("flood")), RejectReason::kNewSourceRate);
  clock_.Advance(2min);
  EXPECT_TRUE(tracker_.Limits().rate_limited_keys.empty()) << "a minute without refusals";
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(Send(fresh("flood"))) << "refilled to one minute's worth";
  EXPECT_EQ(Send(fresh("flood")), RejectReason::kNewSourceRate);
}

TEST_F(TrackerLimitsTest, ForgetRemovesAndKeepsEveryOtherSourceFindable) {
  std::vector<Agent> agents;
  for (int i = 0; i < 50; ++i) agents.emplace_back(clock_, "h" + std::to_string(i));
  for (auto& a : agents) ASSERT_FALSE(Send(a.Next()));
  (void)tracker_.TakeDirty();
  ASSERT_FALSE(Send(agents[40].Next()));  // dirty, and moves when h7 goes

  auto gone = tracker_.Forget("h7");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->source_id, "h7");
  EXPECT_FALSE(tracker_.Forget("h7")) << "already gone";
  EXPECT_FALSE(tracker_.Forget("nobody"));
  EXPECT_EQ(tracker_.size(), 49u);
  EXPECT_FALSE(tracker_.Get("h7"));
  for (int i = 0; i < 50; ++i) {
    if (i != 7) {
      ASSERT_TRUE(tracker_.Get("h" + std::to_string(i))) << i;
    }
  }
  auto dirty = tracker_.TakeDirty();
  ASSERT_EQ(dirty.size(), 1u);
  ASSERT_EQ(dirty.progress.size(), 1u) << "a heartbeat with nothing new";
  EXPECT_EQ(dirty.progress[0].source_id, "h40");
  // Heard again: a new source (first heartbeat, new boot state).
  auto r = tracker_.Observe(agents[7].Next(), Transport::kUdp);
  ASSERT_FALSE(r.rejected);
  ASSERT_TRUE(r.transition);
  EXPECT_TRUE(r.transition->new_source);
}

TEST_F(TrackerLimitsTest, ForgetSilentForTakesOnlyTheSilentOnes) {
  Agent old1(clock_, "old-1"), old2(clock_, "old-2"), live(clock_, "live");
  ASSERT_FALSE(Send(old1.Next()));
  ASSERT_FALSE(Send(old2.Next()));
  clock_.Advance(10min);
  ASSERT_FALSE(Send(live.Next()));
  auto gone = tracker_.ForgetSilentFor(5min);
  ASSERT_EQ(gone.size(), 2u);
  EXPECT_EQ(tracker_.size(), 1u);
  EXPECT_TRUE(tracker_.Get("live"));
  EXPECT_TRUE(tracker_.ForgetSilentFor(5min).empty());
}

TEST_F(TrackerLimitsTest, ForgetSilentForCountsALiveSourceFromTheCollectorsRestart) {
  Agent live(clock_, "live"), dead(clock_, "dead");
  ASSERT_FALSE(Send(live.Next()));
  ASSERT_FALSE(Send(dead.Next()));
  for (int i = 0; i < 60; ++i) {  // dead goes DOWN; live keeps sending
    Wait(1s);
    ASSERT_FALSE(Send(live.Next()));
  }
  ASSERT_EQ(StateOf("dead"), SourceState::kDown);
  ASSERT_EQ(StateOf("live"), SourceState::kUp);
  auto saved = tracker_.Snapshot();
  clock_.Advance(std::chrono::hours(24 * 40));  // the collector was stopped for 40 days
  Tracker restored(clock_, DetectionConfig{});
  restored.Restore(saved);
  auto gone = restored.ForgetSilentFor(std::chrono::hours(24 * 30));
  ASSERT_EQ(gone.size(), 1u) << "only the source that was already DOWN";
  EXPECT_EQ(gone[0].source_id, "dead");
  EXPECT_TRUE(restored.Get("live"));
}

TEST_F(TrackerLimitsTest, PeerTombstoneDoesNotRemoveASourceHeardSince) {
  Agent a(clock_, "web-01");
  ASSERT_FALSE(Send(a.Next()));
  Agent b(clock_, "web-02");
  ASSERT_FALSE(Send(b.Next()));
  const int64_t forgotten_at = ToUnixMillis(clock_.WallNow()) - 1'000;  // before our frame
  EXPECT_TRUE(tracker_.ForgetUnlessHeardSince({{"web-01", forgotten_at}}).empty());
  EXPECT_TRUE(tracker_.Get("web-01"));
  clock_.Advance(5s);
  ASSERT_FALSE(Send(b.Next()));  // web-02 is heard after the forget below was made
  const int64_t now = ToUnixMillis(clock_.WallNow());
  auto gone = tracker_.ForgetUnlessHeardSince(
      {{"web-01", now - 1}, {"web-02", now - 1}, {"nobody", now}});
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].source_id, "web-01");
  EXPECT_FALSE(tracker_.Get("web-01"));
  EXPECT_TRUE(tracker_.Get("web-02"));
}

}  // namespace
}  // namespace firewatch::collector
