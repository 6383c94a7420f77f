// The tracker's whole-table walks (tracker_query.cc). Query: filters, the match count,
// and the cursor's promise: a walk page by page lists every source tracked throughout
// exactly once, even when sources are added and forgotten between pages and the table
// spans several slices. Counts and CountsBy: exact, and they let ingest in between
// slices.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <string>

#include "tracker/tracker.h"

namespace firewatch::collector {
namespace {

using protocol::Heartbeat;

// A fake clock that runs `between_reads` each time the tracker reads the monotonic time
// (not again while it runs): the walks read it before each slice, without the lock, so
// the hook plays the ingest path getting its turn.
class HookClock final : public Clock {
 public:
  MonoTime Now() const override {
    if (between_reads && !running_) {
      running_ = true;
      between_reads();
      running_ = false;
    }
    return fake_.Now();
  }
  WallTime WallNow() const override { return fake_.WallNow(); }
  std::function<void()> between_reads;

 private:
  FakeClock fake_;
  mutable bool running_ = false;
};

class TrackerQueryTest : public ::testing::Test {
 protected:
  // One heartbeat of `id`; a goodbye when `stop` (the source turns STOPPED).
  void Beat(const std::string& id, const std::string& dc, bool stop = false) {
    Heartbeat hb;
    hb.source_id = id;
    hb.key_id = "k";
    hb.boot_id = boot_;
    hb.sequence = ++seqs_[id];
    hb.timestamp_ms = ToUnixMillis(clock_.WallNow());
    hb.interval_ms = 5000;
    hb.labels = {{"dc", dc}, {"role", "web"}};
    if (stop) hb.type = protocol::FrameType::kGoodbye;
    ASSERT_FALSE(tracker_.Observe(hb, Transport::kUdp).rejected) << id;
  }
  static std::string Id(int i) { return "Host-" + std::to_string(i); }

  HookClock clock_;
  Tracker tracker_{clock_, DetectionConfig{}};
  protocol::BootId boot_ = protocol::NewBootId();
  std::map<std::string, uint64_t> seqs_;
};

TEST_F(TrackerQueryTest, FiltersAndCountsAcrossSlices) {
  // More sources than two slices; every 10th in dc2, every 7th STOPPED.
  const int n = static_cast<int>(2 * Tracker::kQuerySlice + 1000);
  for (int i = 0; i < n; ++i) Beat(Id(i), i % 10 == 0 ? "dc2" : "dc1", i % 7 == 0);
  int stopped = 0, dc2 = 0, both = 0;
  for (int i = 0; i < n; ++i) {
    stopped += i % 7 == 0;
    dc2 += i % 10 == 0;
    both += i % 70 == 0;
  }

  SourceQuery all;
  all.limit = 3;
  SourcePage p = tracker_.Query(all);
  EXPECT_EQ(p.total, static_cast<uint64_t>(n));
  EXPECT_EQ(p.matched, static_cast<uint64_t>(n));
  ASSERT_EQ(p.sources.size(), 3u);
  EXPECT_EQ(p.sources[0].source_id, Id(0));  // first contact first
  EXPECT_EQ(p.sources[2].source_id, Id(2));
  ASSERT_TRUE(p.next);
  EXPECT_EQ(*p.next, p.seqs.back());

  SourceQuery st;
  st.states = 1u << static_cast<unsigned>(SourceState::kStopped);
  st.limit = 2;
  p = tracker_.Query(st);
  EXPECT_EQ(p.matched, static_cast<uint64_t>(stopped));
  ASSERT_EQ(p.sources.size(), 2u);
  EXPECT_EQ(p.sources[1].source_id, Id(7));
  EXPECT_EQ(p.sources[1].state, SourceState::kStopped);

  SourceQuery lab;
  lab.labels.push_back({"dc", [](std::string_view v) { return v == "dc2"; }});
  lab.states = st.states;
  lab.limit = 1000;
  p = tracker_.Query(lab);
  EXPECT_EQ(p.matched, static_cast<uint64_t>(both));
  EXPECT_EQ(p.sources.size(), static_cast<size_t>(both));
  EXPECT_FALSE(p.next);

  // A missing label is the empty string (the matcher rule).
  SourceQuery missing;
  missing.labels.push_back({"team", [](std::string_view v) { return v.empty(); }});
  EXPECT_EQ(tracker_.Query(missing).matched, static_cast<uint64_t>(n));

  // Text: ASCII case-insensitive substring of the id; longer than any id matches nothing.
  SourceQuery text;
  text.id_contains = "hOsT-1234";
  p = tracker_.Query(text);
  EXPECT_EQ(p.matched, 11u);  // 1234, 12340..12349
  EXPECT_EQ(p.sources.front().source_id, Id(1234));
  text.id_contains = std::string(protocol::kMaxIdLength + 1, 'h');
  EXPECT_EQ(tracker_.Query(text).matched, 0u);

  // Without count: no matched, and the page still says whether more follow.
  st.count = false;
  p = tracker_.Query(st);
  EXPECT_FALSE(p.matched);
  EXPECT_TRUE(p.next);
}

TEST_F(TrackerQueryTest, WalkListsEverySourceOnceWhileTheTableChanges) {
  const int n = static_cast<int>(Tracker::kQuerySlice + 500);
  for (int i = 0; i < n; ++i) Beat(Id(i), "dc1");
  std::set<std::string> forgotten;
  std::multiset<std::string> seen;
  SourceQuery q;
  q.limit = 997;
  int added = 0;
  for (int page = 0; page < 1000; ++page) {
    SourcePage p = tracker_.Query(q);
    for (const auto& s : p.sources) seen.insert(s.source_id);
    if (!p.next) break;
    q.after = *p.next;
    // Between pages: forget one already listed and one not listed yet, add a new one.
    const std::string early = Id(page * 3), late = Id(n - 1 - page * 5);
    if (tracker_.Forget(early)) forgotten.insert(early);
    if (tracker_.Forget(late)) forgotten.insert(late);
    Beat("new-" + std::to_string(++added), "dc1");
  }
  for (int i = 0; i < n; ++i) {
    const std::string id = Id(i);
    const size_t times = seen.count(id);
    if (forgotten.count(id) == 0) {
      EXPECT_EQ(times, 1u) << id;
    } else {
      EXPECT_LE(times, 1u) << id;
    }
  }
  for (int i = 1; i <= added; ++i) {
    EXPECT_LE(seen.count("new-" + std::to_string(i)), 1u);  // added after the last page: 0
  }
  EXPECT_EQ(seen.count("new-1"), 1u);  // added early: listed at the end
}

TEST_F(TrackerQueryTest, CountsWalkInSlicesAndLetIngestInBetween) {
  // Three slices; dc0..dc2 in turn, every 7th STOPPED.
  const int n = static_cast<int>(2 * Tracker::kQuerySlice + 1000);
  for (int i = 0; i < n; ++i) Beat(Id(i), "dc" + std::to_string(i % 3), i % 7 == 0);
  std::map<std::string, uint64_t> per_dc;
  uint64_t stopped = 0;
  for (int i = 0; i < n; ++i) {
    ++per_dc["dc" + std::to_string(i % 3)];
    stopped += i % 7 == 0;
  }
  const auto stopped_index = static_cast<int>(SourceState::kStopped);
  const auto up_index = static_cast<int>(SourceState::kUp);

  StateCounts c = tracker_.Counts();
  EXPECT_EQ(c.total, static_cast<uint64_t>(n));
  EXPECT_EQ(c.by_state[stopped_index], stopped);
  EXPECT_EQ(c.by_state[up_index], n - stopped);
  auto by_dc = tracker_.CountsBy("dc");
  ASSERT_EQ(by_dc.size(), 3u);
  for (const auto& [dc, counts] : by_dc) EXPECT_EQ(counts.total, per_dc[dc]) << dc;
  auto by_team = tracker_.CountsBy("team");  // nobody has it: all under ""
  ASSERT_EQ(by_team.size(), 1u);
  EXPECT_EQ(by_team[0].first, "");
  EXPECT_EQ(by_team[0].second.total, static_cast<uint64_t>(n));

  // Before each slice, "ingest" forgets a dc0 source the walk has not reached (in the
  // last slice) and adds a new one in dc9: a walk holding the lock throughout would
  // never let it in. The new ones come last and are counted; the forgotten ones not.
  int turns = 0;
  clock_.between_reads = [&] {
    ++turns;
    ASSERT_TRUE(tracker_.Forget(Id(n - 3 * turns)));  // (n - 3k) % 3 == 0 for n % 3 == 0
    Beat("new-" + std::to_string(turns), "dc9");
  };
  ASSERT_EQ(n % 3, 0);
  by_dc = tracker_.CountsBy("dc");
  EXPECT_EQ(turns, 3);  // one per slice
  std::map<std::string, uint64_t> got;
  for (const auto& [dc, counts] : by_dc) got[dc] = counts.total;
  per_dc["dc0"] -= 3;
  per_dc["dc9"] = 3;
  EXPECT_EQ(got, per_dc);

  c = tracker_.Counts();  // three more go, three more come (all UP: no n - 3k is a 7's)
  EXPECT_EQ(turns, 6);
  EXPECT_EQ(c.total, static_cast<uint64_t>(n));
  EXPECT_EQ(c.by_state[stopped_index], stopped);
  clock_.between_reads = nullptr;
}

TEST_F(TrackerQueryTest, EmptyTrackerAndCursorPastTheEnd) {
  SourcePage p = tracker_.Query({});
  EXPECT_TRUE(p.sources.empty());
  EXPECT_FALSE(p.next);
  EXPECT_EQ(p.matched, 0u);
  Beat("a", "dc1");
  SourceQuery q;
  q.after = 1'000'000;
  p = tracker_.Query(q);
  EXPECT_TRUE(p.sources.empty());
  EXPECT_FALSE(p.next);
}

}  // namespace
}  // namespace firewatch::collector
