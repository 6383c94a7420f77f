// TransitionLog (app/transition_log.h): a line per transition up to the budget of a
// second, then one summary line per second counting the rest by kind, on a fake clock.
#include "app/transition_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace firewatch::collector {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Transition Move(const std::string& id, SourceState from, SourceState to) {
  Transition t;
  t.source_id = id;
  t.from = from;
  t.to = to;
  t.reason = "silent for 17.2s";
  return t;
}

Transition New(const std::string& id) {
  Transition t = Move(id, SourceState::kUp, SourceState::kUp);
  t.new_source = true;
  t.reason = "first heartbeat";
  return t;
}

std::vector<Transition> Downs(int from, int n) {
  std::vector<Transition> ts;
  for (int i = from; i < from + n; ++i) {
    ts.push_back(Move("host-" + std::to_string(i), SourceState::kUp, SourceState::kDown));
  }
  return ts;
}

struct Fixture {
  FakeClock clock;
  std::vector<std::string> lines;
  TransitionLog log{clock, TransitionLog::Kind::kLocal, 3,
                    [this](const std::string& l) { lines.push_back(l); }};
};

TEST(TransitionLog, UnderTheBudgetEveryTransitionHasItsLine) {
  Fixture f;
  f.log.Log({New("web-1"), Move("db-1", SourceState::kUp, SourceState::kDown)});
  f.clock.Advance(std::chrono::seconds(5));
  f.log.Flush();
  EXPECT_THAT(f.lines, ElementsAre("new source web-1 (first heartbeat)",
                                   "source db-1: UP -> DOWN (silent for 17.2s)"));
  EXPECT_EQ(f.log.suppressed(), 0u);
}

TEST(TransitionLog, AStormIsItsFirstLinesAndOneSummaryOnceTheSecondIsOver) {
  Fixture f;
  std::vector<Transition> storm = Downs(0, 100'000);
  storm.push_back(New("web-9"));
  f.log.Log(storm);
  ASSERT_EQ(f.lines.size(), 3u);  // the budget; the summary waits for the second to end
  EXPECT_EQ(f.lines[0], "source host-0: UP -> DOWN (silent for 17.2s)");
  f.clock.Advance(std::chrono::milliseconds(999));
  f.log.Flush();
  EXPECT_EQ(f.lines.size(), 3u);
  f.clock.Advance(std::chrono::milliseconds(1));
  f.log.Flush();
  ASSERT_EQ(f.lines.size(), 4u);
  EXPECT_THAT(f.lines[3], HasSubstr("99998 more source transitions in the last 1.0 s"));
  EXPECT_THAT(f.lines[3], HasSubstr("at most 3 lines a second"));
  EXPECT_THAT(f.lines[3], HasSubstr("99997 UP -> DOWN, 1 new"));
  EXPECT_EQ(f.log.suppressed(), 99'998u);
  f.log.Flush();  // said once
  EXPECT_EQ(f.lines.size(), 4u);
}

TEST(TransitionLog, EachSecondHasItsOwnBudgetAndThePreviousSummaryComesFirst) {
  Fixture f;
  f.log.Log(Downs(0, 5));
  f.clock.Advance(std::chrono::milliseconds(1500));
  f.log.Log({Move("host-0", SourceState::kDown, SourceState::kUp)});
  ASSERT_EQ(f.lines.size(), 5u);
  EXPECT_THAT(f.lines[3], HasSubstr("2 more source transitions in the last 1.5 s"));
  EXPECT_EQ(f.lines[4], "source host-0: DOWN -> UP (silent for 17.2s)");
  // Within the same second, the budget counts what was already written.
  f.log.Log(Downs(10, 3));
  EXPECT_EQ(f.lines.size(), 7u);
}

TEST(TransitionLog, ClusterVerdictsHaveTheirOwnLinesAndKinds) {
  FakeClock clock;
  std::vector<std::string> lines;
  TransitionLog log(clock, TransitionLog::Kind::kClusterVerdict, 1,
                    [&lines](const std::string& l) { lines.push_back(l); });
  log.Log(Downs(0, 3));
  clock.Advance(std::chrono::seconds(1));
  log.Flush();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "source host-0: cluster verdict DOWN (silent for 17.2s)");
  EXPECT_THAT(lines[1], HasSubstr("2 more cluster verdicts in the last 1.0 s"));
  EXPECT_THAT(lines[1], HasSubstr("2 verdict DOWN"));
}

}  // namespace
}  // namespace firewatch::collector
