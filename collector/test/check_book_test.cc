// Agents' checks on the collector (tracker/check_book.h) on a fake clock: per-check state,
// since, history and its cap; consecutive failures before alerting; flapping held as one
// alert; rules matched by check name and source labels; copy-on-write snapshots; what one
// source's checks may cost (the message budget, history messages cut, the worst case).
#include "tracker/check_book.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "tracker/tracker.h"

namespace firewatch::collector {
namespace {

using namespace std::chrono_literals;
using protocol::CheckState;
using protocol::Heartbeat;

class CheckBookTest : public ::testing::Test {
 protected:
  // One heartbeat carrying `checks`, 1 s after the previous one.
  std::vector<CheckChange> Beat(std::vector<protocol::CheckResult> checks,
                                const std::string& id = "db-01") {
    clock_.Advance(1s);
    Heartbeat hb;
    hb.source_id = id;
    hb.key_id = "k";
    hb.boot_id = boot_;
    hb.sequence = ++seq_[id];
    hb.timestamp_ms = ToUnixMillis(clock_.WallNow());
    hb.interval_ms = 1000;
    hb.labels = {{"dc", id == "db-01" ? "dc1" : "dc2"}};
    hb.checks = std::move(checks);
    auto r = tracker_.Observe(hb, Transport::kUdp);
    EXPECT_FALSE(r.rejected);
    return r.check_changes;
  }
  std::vector<CheckChange> Pg(CheckState s, const std::string& id = "db-01") {
    return Beat({{"pg", s, std::string(protocol::CheckStateName(s))}}, id);
  }
  const CheckRecord& Record(const std::string& id = "db-01") {
    snap_ = tracker_.Get(id);
    EXPECT_TRUE(snap_ && snap_->check_book && !snap_->check_book->empty());
    return snap_->check_book->front();
  }
  int64_t Now() { return ToUnixMillis(clock_.WallNow()); }

  FakeClock clock_;
  Tracker tracker_{clock_, DetectionConfig{}};
  protocol::BootId boot_ = protocol::NewBootId();
  std::map<std::string, uint64_t> seq_;
  std::optional<SourceSnapshot> snap_;
};

TEST_F(CheckBookTest, ASourceWithoutChecksHasNoBook) {
  Beat({});
  EXPECT_EQ(tracker_.Get("db-01")->check_book, nullptr);
}

TEST_F(CheckBookTest, StateSinceOutputAndHistoryAreKept) {
  Pg(CheckState::kOk);
  const int64_t first = Now();
  Pg(CheckState::kOk);
  EXPECT_EQ(Record().since_ms, first);
  EXPECT_EQ(Record().consecutive, 2u);
  EXPECT_TRUE(Record().history.empty());
  auto c = Pg(CheckState::kCritical);
  const int64_t crit = Now();
  ASSERT_EQ(c.size(), 1u);  // the default policy: the first CRITICAL alerts
  EXPECT_EQ(c[0].to, CheckState::kCritical);
  Beat({{"pg", CheckState::kCritical, "still down"}});
  const CheckRecord& r = Record();
  EXPECT_EQ(r.state, CheckState::kCritical);
  EXPECT_EQ(r.since_ms, crit);
  EXPECT_EQ(r.changed_ms, Now()) << "the message changed";
  EXPECT_EQ(r.output, "still down");
  EXPECT_EQ(r.alerted, CheckState::kCritical);
  ASSERT_EQ(r.history.size(), 1u);
  EXPECT_EQ(r.history[0].from, CheckState::kOk);
  EXPECT_EQ(r.history[0].to, CheckState::kCritical);
  EXPECT_EQ(r.history[0].at_ms, crit);
  EXPECT_EQ(r.history[0].output, "CRITICAL");
  c = Beat({});  // gone from the heartbeat: OK, resolved
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].to, CheckState::kOk);
  EXPECT_FALSE(Record().reported);
  EXPECT_TRUE(tracker_.Get("db-01")->checks.empty()) << "snapshot checks: as last reported";
}

TEST_F(CheckBookTest, HistoryIsCapped) {
  CheckAlertPolicy p;
  p.history = 3;
  tracker_.SetCheckAlerts(p);
  for (int i = 0; i < 10; ++i) Pg(i % 2 ? CheckState::kOk : CheckState::kWarning);
  const auto& h = Record().history;
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h.back().at_ms, Now());
  EXPECT_EQ(h.back().to, CheckState::kOk);
}

// ---- what one source's checks may cost (kMaxBookOutputBytes, kMaxHistoryOutput) ----

// `n` checks named c000.. (names of `name_len` bytes), each in `state` with a message of
// `len` bytes that differs per heartbeat (`tag`).
std::vector<protocol::CheckResult> ManyChecks(size_t n, size_t len, CheckState state, char tag,
                                              size_t name_len = 4) {
  std::vector<protocol::CheckResult> out;
  for (size_t i = 0; i < n; ++i) {
    std::string name = "c" + std::to_string(1000 + i).substr(1);
    name.resize(std::max(name_len, name.size()), 'n');
    out.push_back({std::move(name), state, std::string(len, tag)});
  }
  return out;
}

size_t OutputBytes(const CheckBook& book) {
  size_t n = 0;
  for (const auto& r : book) n += r.output.size();
  return n;
}

TEST_F(CheckBookTest, AnAgentsLongestMessagesAreKeptWhole) {
  // The most an agent sends: 64 checks (check_config.h), 256-byte messages.
  Beat(ManyChecks(64, protocol::kMaxCheckOutput, CheckState::kCritical, 'x'));
  auto s = tracker_.Get("db-01");
  for (const auto& r : *s->check_book) EXPECT_EQ(r.output.size(), protocol::kMaxCheckOutput);
  EXPECT_EQ(OutputBytes(*s->check_book), kMaxBookOutputBytes);
  EXPECT_EQ(tracker_.Limits().check_outputs_cut, 0u);
}

TEST_F(CheckBookTest, MessagesPastTheSourcesBudgetAreCutAndCounted) {
  // Over HTTP a frame may carry 128 such checks: the first 64 fill the budget.
  auto checks = ManyChecks(kMaxBookChecks, protocol::kMaxCheckOutput, CheckState::kCritical, 'x');
  checks[63].output = std::string(250, 'x') + "\xC3\xA9\xC3\xA9\xC3\xA9";  // 256 bytes, ends in "ééé"
  checks[0].output = "short";  // leaves 251 bytes for the 65th
  auto changes = Beat(checks);
  ASSERT_EQ(changes.size(), kMaxBookChecks) << "every check still alerts";
  auto s = tracker_.Get("db-01");
  const CheckBook& book = *s->check_book;
  ASSERT_EQ(book.size(), kMaxBookChecks);
  EXPECT_EQ(book[63].output, checks[63].output) << "within the budget: whole";
  EXPECT_EQ(book[64].output.size(), 251u);
  EXPECT_TRUE(book[65].output.empty());
  EXPECT_LE(OutputBytes(book), kMaxBookOutputBytes);
  EXPECT_EQ(tracker_.Limits().check_outputs_cut, kMaxBookChecks - 64);

  // A cut ends on a UTF-8 boundary: 3 bytes left before a 2-byte character keeps 2.
  checks = ManyChecks(kMaxBookChecks, protocol::kMaxCheckOutput, CheckState::kCritical, 'y');
  checks[64].output = "ab\xC3\xA9" + std::string(200, 'y');
  checks[0].output = std::string(protocol::kMaxCheckOutput - 3, 'y');  // 3 bytes left at [64]
  Beat(checks);
  s = tracker_.Get("db-01");
  EXPECT_EQ(s->check_book->at(64).output, "ab");
}

TEST_F(CheckBookTest, HistoryKeepsTheStartOfEachMessage) {
  const std::string message = std::string(kMaxHistoryOutput - 1, 'x') + "\xC3\xA9 and more";
  Beat({{"pg", CheckState::kCritical, message}});
  const CheckRecord& r = Record();
  EXPECT_EQ(r.output, message) << "the record keeps the whole message";
  ASSERT_EQ(r.history.size(), 1u);
  EXPECT_EQ(r.history[0].output, std::string(kMaxHistoryOutput - 1, 'x'))
      << "cut to kMaxHistoryOutput bytes, not inside the 2-byte character";
}

// The worst a key holder can make one source's checks cost, as docs/agent.md ("On the
// collector") states it: 128 checks with 128-byte names and 256-byte messages, every
// check changing state and message in every heartbeat until every history is full.
TEST_F(CheckBookTest, WorstCaseBytesPerSourceAreBounded) {
  for (uint32_t history : {20u, kMaxCheckHistory}) {
    CheckAlertPolicy p;
    p.history = history;
    tracker_.SetCheckAlerts(p);
    const std::string id = "hostile-" + std::to_string(history);
    for (uint32_t i = 0; i < 2 * history + 4; ++i) {
      Beat(ManyChecks(255, protocol::kMaxCheckOutput,
                      i % 2 ? CheckState::kOk : CheckState::kCritical, static_cast<char>('a' + i % 26),
                      protocol::kMaxShortText),
           id);
    }
    auto s = tracker_.Get(id);
    ASSERT_EQ(s->check_book->size(), kMaxBookChecks);
    ASSERT_EQ(s->check_book->front().history.size(), history);
    const size_t bytes = ApproxBytes(*s->check_book);
    std::printf("history %u: %zu bytes\n", history, bytes);
    // docs/agent.md: at most 360 KiB per source with the default history of 20 (344 KiB
    // measured), 1,400 KiB with the most, 100 (1,320 KiB). Without the two caps: 941 KiB
    // and 4,237 KiB.
    EXPECT_LE(bytes, history == 20 ? 360u * 1024 : 1400u * 1024) << "history " << history;
  }
}

TEST_F(CheckBookTest, ConsecutiveFailuresBeforeAlertingAndRecoveryResolvesAtOnce) {
  CheckAlertPolicy p;
  p.rules.push_back({"pg", {}, 3, 0, 0});
  tracker_.SetCheckAlerts(p);
  Pg(CheckState::kOk);
  EXPECT_TRUE(Pg(CheckState::kCritical).empty());
  EXPECT_TRUE(Pg(CheckState::kCritical).empty());
  EXPECT_EQ(Record().alerted, CheckState::kOk);
  auto c = Pg(CheckState::kCritical);
  ASSERT_EQ(c.size(), 1u) << "the third CRITICAL heartbeat in a row";
  EXPECT_EQ(c[0].from, CheckState::kOk);
  EXPECT_EQ(c[0].to, CheckState::kCritical);
  EXPECT_TRUE(Pg(CheckState::kCritical).empty());
  c = Pg(CheckState::kOk);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].to, CheckState::kOk);
  // Two failures and a success: never alerts.
  EXPECT_TRUE(Pg(CheckState::kCritical).empty());
  EXPECT_TRUE(Pg(CheckState::kCritical).empty());
  EXPECT_TRUE(Pg(CheckState::kOk).empty());
}

TEST_F(CheckBookTest, RulesMatchByCheckNameAndSourceLabels) {
  CheckAlertPolicy p;
  p.rules.push_back({"", {{"dc", "dc2"}}, 2, 0, 0});
  tracker_.SetCheckAlerts(p);
  EXPECT_EQ(Pg(CheckState::kCritical, "db-01").size(), 1u) << "dc1: no rule, the default";
  EXPECT_TRUE(Pg(CheckState::kCritical, "db-02").empty()) << "dc2: two in a row";
  EXPECT_EQ(Pg(CheckState::kCritical, "db-02").size(), 1u);
  EXPECT_EQ(p.For("other", {{"dc", "dc2"}}).consecutive, 2u);
  EXPECT_EQ(p.For("other", {{"dc", "dc3"}}).consecutive, 1u);
}

TEST_F(CheckBookTest, AFlappingCheckFiresOnceAndResolvesAfterAQuietWindow) {
  CheckAlertPolicy p;
  p.rules.push_back({"pg", {}, 2, 3, 10'000});  // 2 in a row; 3 changes in 10 s: flapping
  tracker_.SetCheckAlerts(p);
  Pg(CheckState::kOk);
  std::vector<CheckChange> all;
  auto take = [&](std::vector<CheckChange> c) { all.insert(all.end(), c.begin(), c.end()); };
  take(Pg(CheckState::kCritical));  // change 1: soft
  take(Pg(CheckState::kOk));        // change 2
  EXPECT_TRUE(all.empty());
  take(Pg(CheckState::kCritical));  // change 3: flapping, fires once
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all[0].flapping);
  EXPECT_EQ(all[0].to, CheckState::kCritical);
  EXPECT_TRUE(Record().flapping);
  EXPECT_EQ(AlertedChecks(*tracker_.Get("db-01"))[0].state, CheckState::kCritical);
  for (int i = 0; i < 8; ++i) take(Pg(i % 2 ? CheckState::kCritical : CheckState::kOk));
  EXPECT_EQ(all.size(), 1u) << "no flip pages or resolves while flapping";
  // OK from now on: still flapping until a whole window (10 s) holds no change.
  std::vector<CheckChange> quiet;
  int beats = 0;
  while (quiet.empty() && beats < 30) {
    quiet = Pg(CheckState::kOk);
    ++beats;
  }
  ASSERT_EQ(quiet.size(), 1u);
  EXPECT_EQ(quiet[0].to, CheckState::kOk) << "resolved";
  EXPECT_FALSE(Record().flapping);
  EXPECT_GE(beats, 10);
  EXPECT_LE(beats, 11);
}

TEST_F(CheckBookTest, ASnapshotIsNotChangedByLaterHeartbeats) {
  Pg(CheckState::kOk);
  auto before = tracker_.Get("db-01");
  Pg(CheckState::kCritical);
  EXPECT_EQ(before->check_book->front().state, CheckState::kOk);
  EXPECT_EQ(Record().state, CheckState::kCritical);
}

TEST_F(CheckBookTest, RestoredChecksKeepTheirStateAsAlerted) {
  Pg(CheckState::kCritical);
  Tracker restarted(clock_, DetectionConfig{});
  restarted.Restore(tracker_.Snapshot());
  auto s = restarted.Get("db-01");
  ASSERT_TRUE(s->check_book);
  EXPECT_EQ(s->check_book->front().alerted, CheckState::kCritical);
  EXPECT_EQ(s->check_book->front().since_ms, 0) << "unknown across a restart";
  EXPECT_EQ(s->checks.size(), 1u);
}

}  // namespace
}  // namespace firewatch::collector
