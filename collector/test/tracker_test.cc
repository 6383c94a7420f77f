#include "tracker/tracker.h"

#include <gtest/gtest.h>

#include <set>

namespace firewatch::collector {
namespace {

using namespace std::chrono_literals;
using protocol::FrameType;
using protocol::Heartbeat;

class TrackerTest : public ::testing::Test {
 protected:
  Heartbeat Next(const std::string& id = "web-01") {
    Heartbeat hb;
    hb.source_id = id;
    hb.key_id = "k";
    hb.boot_id = boots_[id];
    hb.sequence = ++seqs_[id];
    hb.timestamp_ms = ToUnixMillis(clock_.WallNow());
    hb.interval_ms = 5000;
    hb.labels = {{"dc", "dc1"}};
    return hb;
  }
  void Restart(const std::string& id = "web-01") {
    boots_[id] = protocol::NewBootId();
    seqs_[id] = 0;
  }
  // Heartbeats every 5 s for `n` rounds, evaluating each second like the collector.
  void Beat(int n, const std::string& id = "web-01") {
    for (int i = 0; i < n; ++i) {
      auto r = tracker_.Observe(Next(id), Transport::kUdp);
      ASSERT_FALSE(r.rejected);
      for (int s = 0; s < 5; ++s) {
        clock_.Advance(1s);
        Collect(tracker_.Evaluate());
      }
    }
  }
  void Collect(std::vector<Transition> ts) {
    for (auto& t : ts) transitions_.push_back(std::move(t));
  }
  // Advances second by second until the source reaches `state`; returns seconds taken.
  int SecondsUntil(SourceState state, int limit = 120, const std::string& id = "web-01") {
    for (int s = 1; s <= limit; ++s) {
      clock_.Advance(1s);
      Collect(tracker_.Evaluate());
      if (tracker_.Get(id)->state == state) return s;
    }
    return -1;
  }
  SourceState StateOf(const std::string& id = "web-01") { return tracker_.Get(id)->state; }

  FakeClock clock_;
  Tracker tracker_{clock_, DetectionConfig{}};
  std::map<std::string, protocol::BootId> boots_{{"web-01", protocol::NewBootId()}};
  std::map<std::string, uint64_t> seqs_;
  std::vector<Transition> transitions_;
};

TEST_F(TrackerTest, FirstHeartbeatMakesANewUpSource) {
  auto r = tracker_.Observe(Next(), Transport::kUdp);
  ASSERT_FALSE(r.rejected);
  ASSERT_TRUE(r.transition);
  EXPECT_TRUE(r.transition->new_source);
  EXPECT_EQ(StateOf(), SourceState::kUp);
  EXPECT_EQ(tracker_.size(), 1u);
}

TEST_F(TrackerTest, SteadyHeartbeatsStayUp) {
  Beat(30);
  EXPECT_EQ(StateOf(), SourceState::kUp);
  EXPECT_TRUE(transitions_.empty());
}

TEST_F(TrackerTest, SilenceGoesLateThenDownWithinTwentySeconds) {
  Beat(10);
  // The last heartbeat arrived 5 s ago (Beat advances after each).
  int late = SecondsUntil(SourceState::kLate);
  ASSERT_GT(late, 0);
  int down = SecondsUntil(SourceState::kDown);
  ASSERT_GT(down, 0);
  int silent = 5 + late + down;
  EXPECT_LE(silent, 17) << "the backstop (3 x 5 s + 2 s) must catch it at the latest";
  EXPECT_GE(silent, 10) << "one lost heartbeat must not be DOWN";
  ASSERT_EQ(transitions_.size(), 2u);
  EXPECT_EQ(transitions_[1].to, SourceState::kDown);
  EXPECT_NE(transitions_[1].reason.find("silent for"), std::string::npos);
}

TEST_F(TrackerTest, OneLostHeartbeatIsLateNotDown) {
  Beat(10);
  clock_.Advance(5s);  // one heartbeat lost: 10 s of silence in total
  Collect(tracker_.Evaluate());
  EXPECT_NE(StateOf(), SourceState::kDown);
  ASSERT_FALSE(tracker_.Observe(Next(), Transport::kUdp).rejected);
  EXPECT_EQ(StateOf(), SourceState::kUp);
}

TEST_F(TrackerTest, BackstopCatchesASourceWithAWideWindow) {
  DetectionConfig c;
  c.down_phi = 1000;  // phi never fires
  tracker_.SetConfig(c);
  Beat(5);
  EXPECT_EQ(5 + SecondsUntil(SourceState::kDown), 17);
  EXPECT_NE(transitions_.back().reason.find("backstop"), std::string::npos);
}

TEST_F(TrackerTest, RecoveryNeedsConsecutiveHeartbeats) {
  Beat(5);
  ASSERT_GT(SecondsUntil(SourceState::kDown), 0);
  transitions_.clear();
  ASSERT_FALSE(tracker_.Observe(Next(), Transport::kUdp).rejected);
  EXPECT_EQ(StateOf(), SourceState::kDown) << "one heartbeat is not a recovery";
  clock_.Advance(5s);
  ASSERT_FALSE(tracker_.Observe(Next(), Transport::kUdp).rejected);
  EXPECT_EQ(StateOf(), SourceState::kUp);
  ASSERT_EQ(transitions_.size(), 0u);  // the recovery transition is returned by Observe
}

TEST_F(TrackerTest, FlappingSourceRestartsRecovery) {
  Beat(5);
  ASSERT_GT(SecondsUntil(SourceState::kDown), 0);
  ASSERT_FALSE(tracker_.Observe(Next(), Transport::kUdp).rejected);  // 1 of 2
  for (int i = 0; i < 20; ++i) {  // silent again
    clock_.Advance(1s);
    tracker_.Evaluate();
  }
  ASSERT_FALSE(tracker_.Observe(Next(), Transport::kUdp).rejected);
  EXPECT_EQ(StateOf(), SourceState::kDown) << "the count restarted after the new silence";
}

TEST_F(TrackerTest, GoodbyeStopsAndIsNeverDown) {
  Beat(3);
  Heartbeat bye = Next();
  bye.type = FrameType::kGoodbye;
  bye.goodbye_reason = "SIGTERM";
  auto r = tracker_.Observe(bye, Transport::kUdp);
  ASSERT_TRUE(r.transition);
  EXPECT_EQ(r.transition->to, SourceState::kStopped);
  EXPECT_EQ(tracker_.Get("web-01")->goodbye_reason, "SIGTERM");
  EXPECT_EQ(SecondsUntil(SourceState::kDown, 300), -1);
  EXPECT_EQ(StateOf(), SourceState::kStopped);
  // Restarted agent: new boot, UP at once.
  Restart();
  auto back = tracker_.Observe(Next(), Transport::kUdp);
  ASSERT_FALSE(back.rejected);
  EXPECT_EQ(StateOf(), SourceState::kUp);
  EXPECT_TRUE(tracker_.Get("web-01")->goodbye_reason.empty());
}

TEST_F(TrackerTest, ReplayAndSkewAreRejectedWithoutSideEffects) {
  Heartbeat hb = Next();
  ASSERT_FALSE(tracker_.Observe(hb, Transport::kUdp).rejected);
  EXPECT_EQ(tracker_.Observe(hb, Transport::kUdp).rejected, protocol::RejectReason::kReplayed);
  Heartbeat skewed = Next();
  skewed.timestamp_ms += 10 * 60 * 1000;
  EXPECT_EQ(tracker_.Observe(skewed, Transport::kUdp).rejected, protocol::RejectReason::kClockSkew);
  EXPECT_EQ(tracker_.Get("web-01")->heartbeats, 1u);
}

TEST_F(TrackerTest, WallClockStepDoesNotTriggerDown) {
  Beat(5);
  clock_.StepWall(1h);  // NTP jumps; monotonic time did not move
  Collect(tracker_.Evaluate());
  EXPECT_EQ(StateOf(), SourceState::kUp);
}

TEST_F(TrackerTest, RestoreKeepsHistoryAndGivesAGraceAfterRestart) {
  Beat(3);
  boots_["db-01"] = protocol::NewBootId();
  Beat(3, "db-01");
  ASSERT_GT(SecondsUntil(SourceState::kDown, 120, "web-01"), 0);
  auto saved = tracker_.Snapshot();
  ASSERT_EQ(saved.size(), 2u);

  clock_.Advance(10min);  // the collector was stopped for a while
  Tracker restored(clock_, DetectionConfig{});
  restored.Restore(saved);
  EXPECT_EQ(restored.Get("web-01")->state, SourceState::kDown);
  EXPECT_EQ(restored.Get("web-01")->first_seen_ms, saved[1].first_seen_ms);
  // db-01 was UP when we stopped: we could not hear it since, so it is not DOWN at once.
  restored.Evaluate();
  EXPECT_EQ(restored.Get("db-01")->state, SourceState::kUp);
  // ...but the backstop from the restart still catches it.
  bool down = false;
  for (int s = 0; s < 20 && !down; ++s) {
    clock_.Advance(1s);
    for (auto& t : restored.Evaluate()) down |= t.source_id == "db-01" && t.to == SourceState::kDown;
  }
  EXPECT_TRUE(down);
  // Replay state survived: an old frame is still refused.
  Heartbeat old = Next("db-01");
  old.sequence = 1;
  old.timestamp_ms = ToUnixMillis(clock_.WallNow());
  EXPECT_EQ(restored.Observe(old, Transport::kUdp).rejected, protocol::RejectReason::kReplayed);
}

TEST_F(TrackerTest, LabelSetsAreShared) {
  for (int i = 0; i < 100; ++i) {
    std::string id = "h" + std::to_string(i);
    boots_[id] = protocol::NewBootId();
    ASSERT_FALSE(tracker_.Observe(Next(id), Transport::kUdp).rejected);
  }
  auto dirty = tracker_.TakeDirty();
  EXPECT_EQ(dirty.size(), 100u);
  EXPECT_TRUE(tracker_.TakeDirty().empty());
  auto counts = tracker_.Counts();
  EXPECT_EQ(counts.by_state[static_cast<int>(SourceState::kUp)], 100u);
}

// The rows written with a batch of transitions (at once, not with the last-seen batch):
// each named source once, as it is now; ids no longer tracked are skipped; the sources
// stay dirty for the next TakeDirty.
TEST_F(TrackerTest, SnapshotsOfTransitionsAreCurrentAndOncePerSource) {
  for (const char* id : {"a", "b", "c"}) {
    boots_[id] = protocol::NewBootId();
    ASSERT_FALSE(tracker_.Observe(Next(id), Transport::kUdp).rejected);
  }
  (void)tracker_.TakeDirty();
  clock_.Advance(30s);
  const std::vector<Transition> ts = tracker_.Evaluate();
  ASSERT_FALSE(ts.empty());
  std::vector<std::string> named;
  for (const auto& t : ts) named.push_back(t.source_id);
  named.push_back(ts.front().source_id);  // named twice
  named.push_back("gone");
  const auto rows = tracker_.SnapshotsOf(named);
  ASSERT_EQ(rows.size(), 3u);
  std::set<std::string> ids;
  for (const auto& r : rows) {
    ids.insert(r.source_id);
    EXPECT_EQ(r.state, SourceState::kDown) << r.source_id;
  }
  EXPECT_EQ(ids, (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(tracker_.TakeDirty().size(), 3u);
}

// What goes to the store whole and what as a heartbeat's progress (Tracker::TakeDirty):
// a new source, a change of labels, interval, agent version or checks, and a transition
// make the row whole; a heartbeat with nothing new is progress, carrying what it changed.
TEST_F(TrackerTest, OnlyAHeartbeatWithNothingNewIsProgress) {
  for (const char* id : {"a", "b", "c", "d", "e"}) boots_[id] = protocol::NewBootId();
  for (const char* id : {"a", "b", "c", "d", "e"}) {
    ASSERT_FALSE(tracker_.Observe(Next(id), Transport::kUdp).rejected);
  }
  DirtyRows first = tracker_.TakeDirty();
  EXPECT_EQ(first.rows.size(), 5u) << "new sources are whole rows";
  EXPECT_TRUE(first.progress.empty());

  clock_.Advance(1s);
  ASSERT_FALSE(tracker_.Observe(Next("a"), Transport::kHttp).rejected);  // nothing new
  Heartbeat relabeled = Next("b");
  relabeled.labels.push_back({"zone", "z2"});
  ASSERT_FALSE(tracker_.Observe(relabeled, Transport::kUdp).rejected);
  Heartbeat slower = Next("c");
  slower.interval_ms *= 2;
  ASSERT_FALSE(tracker_.Observe(slower, Transport::kUdp).rejected);
  Heartbeat upgraded = Next("d");
  upgraded.agent_version = "9.9.9";
  ASSERT_FALSE(tracker_.Observe(upgraded, Transport::kUdp).rejected);
  Heartbeat checked = Next("e");
  checked.checks = {{"disk", protocol::CheckState::kOk, "ok"}};
  ASSERT_FALSE(tracker_.Observe(checked, Transport::kUdp).rejected);

  DirtyRows second = tracker_.TakeDirty();
  ASSERT_EQ(second.progress.size(), 1u);
  const SourceProgress& p = second.progress[0];
  const auto a = tracker_.Get("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(p.source_id, "a");
  EXPECT_EQ(p.last_seen_ms, a->last_seen_ms);
  EXPECT_EQ(p.heartbeats, 2u);
  EXPECT_EQ(p.last_transport, Transport::kHttp);
  EXPECT_EQ(p.replay.sequence, a->replay.sequence);
  EXPECT_EQ(p.replay.boot_id, a->replay.boot_id);
  std::set<std::string> whole;
  for (const auto& r : second.rows) whole.insert(r.source_id);
  EXPECT_EQ(whole, (std::set<std::string>{"b", "c", "d", "e"}));

  // The same checks again (as agents that send them in every frame do): progress; a
  // new output: whole.
  clock_.Advance(1s);
  Heartbeat same = Next("e");
  same.checks = checked.checks;
  ASSERT_FALSE(tracker_.Observe(same, Transport::kUdp).rejected);
  Heartbeat output = Next("a");
  output.checks = {{"disk", protocol::CheckState::kOk, "ok"}};
  ASSERT_FALSE(tracker_.Observe(output, Transport::kUdp).rejected);  // a's first check
  DirtyRows third = tracker_.TakeDirty();
  ASSERT_EQ(third.progress.size(), 1u);
  EXPECT_EQ(third.progress[0].source_id, "e");
  ASSERT_EQ(third.rows.size(), 1u);
  EXPECT_EQ(third.rows[0].source_id, "a");
  clock_.Advance(1s);
  Heartbeat fuller = Next("e");
  fuller.checks = {{"disk", protocol::CheckState::kOk, "91% used"}};
  ASSERT_FALSE(tracker_.Observe(fuller, Transport::kUdp).rejected);
  DirtyRows fourth = tracker_.TakeDirty();
  ASSERT_EQ(fourth.rows.size(), 1u) << "a check's output changed";
  EXPECT_EQ(fourth.rows[0].checks, fuller.checks);

  // A transition (here DOWN after silence) makes the row whole again; so does
  // MarkAllDirty, for every source.
  clock_.Advance(30s);
  ASSERT_EQ(tracker_.Evaluate().size(), 5u);
  DirtyRows down = tracker_.TakeDirty();
  EXPECT_EQ(down.rows.size(), 5u);
  EXPECT_TRUE(down.progress.empty());
  tracker_.MarkAllDirty();
  DirtyRows all = tracker_.TakeDirty();
  EXPECT_EQ(all.rows.size(), 5u);
  EXPECT_TRUE(all.progress.empty());
}

// The collector takes a period's changes in chunks (CollectorApp::WriteLastSeen): the
// sources changed first come first, each once however often it changed, and one that
// changes again after it was taken is handed out again, after the others.
TEST_F(TrackerTest, DirtySourcesAreTakenInChunksOldestChangeFirst) {
  const std::vector<std::string> order = {"e", "a", "d", "b", "c"};
  for (const auto& id : order) {
    boots_[id] = protocol::NewBootId();
    ASSERT_FALSE(tracker_.Observe(Next(id), Transport::kUdp).rejected);
  }
  ASSERT_FALSE(tracker_.Observe(Next("e"), Transport::kUdp).rejected);  // dirty already
  EXPECT_EQ(tracker_.dirty_count(), 5u);
  auto ids = [](const DirtyRows& rows) {  // whole rows first, then progress
    std::vector<std::string> out;
    for (const auto& r : rows.rows) out.push_back(r.source_id);
    for (const auto& p : rows.progress) out.push_back(p.source_id);
    return out;
  };
  EXPECT_EQ(ids(tracker_.TakeDirty(2)), (std::vector<std::string>{"e", "a"}));
  EXPECT_EQ(tracker_.dirty_count(), 3u);
  ASSERT_FALSE(tracker_.Observe(Next("a"), Transport::kUdp).rejected);  // changed again
  EXPECT_EQ(ids(tracker_.TakeDirty(2)), (std::vector<std::string>{"d", "b"}));
  EXPECT_EQ(ids(tracker_.TakeDirty(10)), (std::vector<std::string>{"c", "a"}));
  EXPECT_EQ(tracker_.dirty_count(), 0u);
  EXPECT_TRUE(tracker_.TakeDirty(10).empty());
}

}  // namespace
}  // namespace firewatch::collector

namespace firewatch::collector {
namespace {

TEST_F(TrackerTest, CheckStateChangesAreReported) {
  using protocol::CheckState;
  Heartbeat hb = Next();
  hb.checks = {{"disk", CheckState::kOk, ""}};
  EXPECT_TRUE(tracker_.Observe(hb, Transport::kUdp).check_changes.empty());
  hb = Next();
  hb.checks = {{"disk", CheckState::kCritical, "/var 99%"}};
  auto r = tracker_.Observe(hb, Transport::kUdp);
  ASSERT_EQ(r.check_changes.size(), 1u);
  EXPECT_EQ(r.check_changes[0].check, "disk");
  EXPECT_EQ(r.check_changes[0].from, CheckState::kOk);
  EXPECT_EQ(r.check_changes[0].to, CheckState::kCritical);
  EXPECT_EQ(r.check_changes[0].output, "/var 99%");
  hb = Next();
  hb.checks = {{"disk", CheckState::kCritical, "/var 99%"}};
  EXPECT_TRUE(tracker_.Observe(hb, Transport::kUdp).check_changes.empty()) << "no change";
  hb = Next();  // the check disappears: it is over
  r = tracker_.Observe(hb, Transport::kUdp);
  ASSERT_EQ(r.check_changes.size(), 1u);
  EXPECT_EQ(r.check_changes[0].to, CheckState::kOk);
}

}  // namespace
}  // namespace firewatch::collector
