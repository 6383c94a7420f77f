#include "schedule/schedule.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace firewatch::alerting::schedule {
namespace {

using namespace std::chrono_literals;
using testing::L;
using testing::T;
using testing::Z;
using Names = std::vector<std::string>;

// Weekly, Mondays 09:00 New York time, from Monday 2026-03-02.
Schedule NewYorkWeekly() {
  Schedule s;
  s.name = "primary";
  s.zone = Z("America/New_York");
  Rotation r;
  r.name = "weekly";
  r.members = {"alice", "bob", "carol"};
  r.zone = s.zone;
  r.start = L("2026-03-02T09:00");
  r.length = kWeekly;
  s.rotations.push_back(r);
  return s;
}

TEST(ScheduleTest, WeeklyNewYorkHandsOffAt0900LocalAcrossBothDstChanges) {
  const Schedule s = NewYorkWeekly();
  const Rotation& r = s.rotations[0];
  // DST starts Sunday 2026-03-08: the week that contains it is one hour short.
  auto march = ShiftAt(r, T("2026-03-08T12:00:00-04:00"));
  ASSERT_TRUE(march);
  EXPECT_EQ(march->index, 0);
  EXPECT_EQ(march->member, "alice");
  EXPECT_EQ(march->start, T("2026-03-02T09:00:00-05:00"));
  EXPECT_EQ(march->end, T("2026-03-09T09:00:00-04:00"));
  EXPECT_EQ(march->end - march->start, 167h);
  EXPECT_EQ(FormatLocal(s.zone, march->end), "2026-03-09 09:00 EDT");
  // The next week is a normal one.
  auto next = ShiftAt(r, march->end);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->member, "bob");
  EXPECT_EQ(next->end - next->start, 168h);
  // DST ends Sunday 2026-11-01: that week is one hour longer. 238 days = 34 weeks in.
  auto november = ShiftAt(r, T("2026-11-01T12:00:00-05:00"));
  ASSERT_TRUE(november);
  EXPECT_EQ(november->index, 34);
  EXPECT_EQ(november->member, "bob");  // 34 mod 3 = 1
  EXPECT_EQ(november->start, T("2026-10-26T09:00:00-04:00"));
  EXPECT_EQ(november->end, T("2026-11-02T09:00:00-05:00"));
  EXPECT_EQ(november->end - november->start, 169h);
  EXPECT_EQ(FormatLocal(s.zone, november->end), "2026-11-02 09:00 EST");

  EXPECT_EQ(OnCallAt(s, T("2026-03-08T03:30:00-04:00")), Names{"alice"});
  EXPECT_EQ(OnCallAt(s, T("2026-03-09T08:59:59-04:00")), Names{"alice"});
  EXPECT_EQ(OnCallAt(s, T("2026-03-09T09:00:00-04:00")), Names{"bob"});
  EXPECT_EQ(OnCallAt(s, T("2026-11-02T08:59:59-05:00")), Names{"bob"});
  EXPECT_EQ(OnCallAt(s, T("2026-11-02T09:00:00-05:00")), Names{"carol"});
  EXPECT_EQ(NextHandoff(s, T("2026-03-03T00:00:00-05:00")), T("2026-03-09T09:00:00-04:00"));
  EXPECT_EQ(NextHandoff(s, T("2026-10-30T00:00:00-04:00")), T("2026-11-02T09:00:00-05:00"));
}

TEST(ScheduleTest, NobodyBeforeTheFirstHandoff) {
  const Schedule s = NewYorkWeekly();
  EXPECT_TRUE(OnCallAt(s, T("2026-03-02T08:59:59-05:00")).empty());
  EXPECT_EQ(NextHandoff(s, T("2026-01-01T00:00:00Z")), T("2026-03-02T09:00:00-05:00"));
  EXPECT_FALSE(ShiftAt(s.rotations[0], T("2026-03-01T00:00:00Z")));
}

TEST(ScheduleTest, DailyBerlinShiftsAre23And25HoursOnDstDays) {
  Rotation r;
  r.name = "daily";
  r.members = {"alice", "bob"};
  r.zone = Z("Europe/Berlin");
  r.start = L("2026-03-27T09:00");
  r.length = kDaily;
  auto normal = ShiftAt(r, T("2026-03-27T12:00:00+01:00"));
  ASSERT_TRUE(normal);
  EXPECT_EQ(normal->end - normal->start, 24h);
  // 2026-03-29 02:00 CET -> 03:00 CEST.
  auto spring = ShiftAt(r, T("2026-03-29T03:30:00+02:00"));
  ASSERT_TRUE(spring);
  EXPECT_EQ(spring->index, 1);
  EXPECT_EQ(spring->member, "bob");
  EXPECT_EQ(spring->start, T("2026-03-28T09:00:00+01:00"));
  EXPECT_EQ(spring->end, T("2026-03-29T09:00:00+02:00"));
  EXPECT_EQ(spring->end - spring->start, 23h);
  // 2026-10-25 03:00 CEST -> 02:00 CET. The shift starts 211 days after 03-27.
  auto autumn = ShiftAt(r, T("2026-10-25T02:30:00+01:00"));
  ASSERT_TRUE(autumn);
  EXPECT_EQ(autumn->index, 211);
  EXPECT_EQ(autumn->member, "bob");
  EXPECT_EQ(autumn->start, T("2026-10-24T09:00:00+02:00"));
  EXPECT_EQ(autumn->end, T("2026-10-25T09:00:00+01:00"));
  EXPECT_EQ(autumn->end - autumn->start, 25h);
  // The very next shift is back to 24h, still at 09:00 local.
  auto after = ShiftAt(r, autumn->end);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->member, "alice");
  EXPECT_EQ(after->end, T("2026-10-26T09:00:00+01:00"));
}

TEST(ScheduleTest, HandoffInsideTheDstGapHappensWhenTheGapEnds) {
  Rotation r;
  r.members = {"alice", "bob"};
  r.zone = Z("Europe/Berlin");
  r.start = L("2026-03-27T02:30");
  r.length = kDaily;
  EXPECT_EQ(HandoffAt(r, 2), T("2026-03-29T03:00:00+02:00"));  // 02:30 does not exist
  EXPECT_EQ(HandoffAt(r, 3), T("2026-03-30T02:30:00+02:00"));
  // 02:30 happens twice on 2026-10-25; the hand-off is at the first one.
  EXPECT_EQ(HandoffAt(r, 212), T("2026-10-25T02:30:00+02:00"));
}

TEST(ScheduleTest, Custom12hRotationFollowsTheWallClock) {
  Rotation r;
  r.name = "half-days";
  r.members = {"alice", "bob"};
  r.zone = Z("Europe/Berlin");
  r.start = L("2026-03-28T09:00");
  r.length = 12h;
  auto day = ShiftAt(r, T("2026-03-28T10:00:00+01:00"));
  ASSERT_TRUE(day);
  EXPECT_EQ(day->member, "alice");
  EXPECT_EQ(day->end, T("2026-03-28T21:00:00+01:00"));
  auto night = ShiftAt(r, T("2026-03-29T04:00:00+02:00"));
  ASSERT_TRUE(night);
  EXPECT_EQ(night->member, "bob");
  EXPECT_EQ(night->start, T("2026-03-28T21:00:00+01:00"));
  EXPECT_EQ(night->end, T("2026-03-29T09:00:00+02:00"));
  EXPECT_EQ(night->end - night->start, 11h);
  auto next_day = ShiftAt(r, T("2026-03-29T09:00:00+02:00"));
  ASSERT_TRUE(next_day);
  EXPECT_EQ(next_day->member, "alice");
  EXPECT_EQ(next_day->end - next_day->start, 12h);
}

TEST(ScheduleTest, OverrideInTheMiddleOfAShift) {
  Schedule s = NewYorkWeekly();
  s.overrides.push_back({"dave", T("2026-03-04T12:00:00-05:00"), T("2026-03-05T12:00:00-05:00")});
  EXPECT_EQ(OnCallAt(s, T("2026-03-04T11:59:59-05:00")), Names{"alice"});
  EXPECT_EQ(OnCallAt(s, T("2026-03-04T12:00:00-05:00")), Names{"dave"});
  EXPECT_EQ(OnCallAt(s, T("2026-03-05T11:59:59-05:00")), Names{"dave"});
  EXPECT_EQ(OnCallAt(s, T("2026-03-05T12:00:00-05:00")), Names{"alice"});
  EXPECT_EQ(NextHandoff(s, T("2026-03-03T00:00:00-05:00")), T("2026-03-04T12:00:00-05:00"));
  EXPECT_EQ(NextHandoff(s, T("2026-03-04T13:00:00-05:00")), T("2026-03-05T12:00:00-05:00"));
  EXPECT_EQ(NextHandoff(s, T("2026-03-05T12:00:00-05:00")), T("2026-03-09T09:00:00-04:00"));

  const auto shifts = Shifts(s, T("2026-03-02T09:00:00-05:00"), T("2026-03-09T09:00:00-04:00"));
  ASSERT_EQ(shifts.size(), 3u);
  EXPECT_EQ(shifts[0].contacts, Names{"alice"});
  EXPECT_EQ(shifts[0].source, "weekly");
  EXPECT_EQ(shifts[0].end, T("2026-03-04T12:00:00-05:00"));
  EXPECT_EQ(shifts[1].contacts, Names{"dave"});
  EXPECT_EQ(shifts[1].source, "override");
  EXPECT_EQ(shifts[1].end, T("2026-03-05T12:00:00-05:00"));
  EXPECT_EQ(shifts[2].contacts, Names{"alice"});
  EXPECT_EQ(shifts[2].start, T("2026-03-05T12:00:00-05:00"));
  EXPECT_EQ(shifts[2].end, T("2026-03-09T09:00:00-04:00"));
}

TEST(ScheduleTest, OverrideSpanningAHandoff) {
  Schedule s = NewYorkWeekly();
  // alice hands off to bob at 09:00 on 03-09; erin covers 06:00-12:00 that morning.
  s.overrides.push_back({"erin", T("2026-03-09T06:00:00-04:00"), T("2026-03-09T12:00:00-04:00")});
  EXPECT_EQ(OnCallAt(s, T("2026-03-09T05:59:00-04:00")), Names{"alice"});
  EXPECT_EQ(OnCallAt(s, T("2026-03-09T08:00:00-04:00")), Names{"erin"});
  EXPECT_EQ(OnCallAt(s, T("2026-03-09T10:00:00-04:00")), Names{"erin"});
  EXPECT_EQ(OnCallAt(s, T("2026-03-09T12:00:00-04:00")), Names{"bob"});
  // The 09:00 rotation boundary changes nothing while erin covers it.
  EXPECT_EQ(NextHandoff(s, T("2026-03-09T07:00:00-04:00")), T("2026-03-09T12:00:00-04:00"));

  const auto shifts = Shifts(s, T("2026-03-09T00:00:00-04:00"), T("2026-03-10T00:00:00-04:00"));
  ASSERT_EQ(shifts.size(), 3u);
  EXPECT_EQ(shifts[0].contacts, Names{"alice"});
  EXPECT_EQ(shifts[0].start, T("2026-03-09T00:00:00-04:00"));
  EXPECT_EQ(shifts[1].contacts, Names{"erin"});
  EXPECT_EQ(shifts[1].start, T("2026-03-09T06:00:00-04:00"));
  EXPECT_EQ(shifts[2].contacts, Names{"bob"});
  EXPECT_EQ(shifts[2].start, T("2026-03-09T12:00:00-04:00"));
  EXPECT_EQ(shifts[2].end, T("2026-03-10T00:00:00-04:00"));
}

TEST(ScheduleTest, OverlappingOverridesPutEveryoneOnCall) {
  Schedule s = NewYorkWeekly();
  s.overrides.push_back({"dave", T("2026-03-04T00:00:00Z"), T("2026-03-06T00:00:00Z")});
  s.overrides.push_back({"erin", T("2026-03-05T00:00:00Z"), T("2026-03-07T00:00:00Z")});
  s.overrides.push_back({"dave", T("2026-03-05T00:00:00Z"), T("2026-03-05T01:00:00Z")});
  EXPECT_EQ(OnCallAt(s, T("2026-03-05T00:30:00Z")), (Names{"dave", "erin"}));
  EXPECT_EQ(OnCallAt(s, T("2026-03-06T00:30:00Z")), Names{"erin"});
}

TEST(ScheduleTest, TheTopmostStartedLayerWins) {
  Schedule s = NewYorkWeekly();
  Rotation top;
  top.name = "holiday cover";
  top.members = {"dave"};
  top.zone = s.zone;
  top.start = L("2026-03-04T18:00");
  top.end = L("2026-03-06T09:00");
  top.length = kDaily;
  s.rotations.push_back(top);
  EXPECT_EQ(OnCallAt(s, T("2026-03-04T17:59:00-05:00")), Names{"alice"});
  EXPECT_EQ(OnCallAt(s, T("2026-03-04T18:00:00-05:00")), Names{"dave"});
  EXPECT_EQ(OnCallAt(s, T("2026-03-05T18:00:00-05:00")), Names{"dave"});
  EXPECT_EQ(OnCallAt(s, T("2026-03-06T09:00:00-05:00")), Names{"alice"});
  const auto shifts = Shifts(s, T("2026-03-04T00:00:00-05:00"), T("2026-03-07T00:00:00-05:00"));
  ASSERT_EQ(shifts.size(), 3u);
  EXPECT_EQ(shifts[1].source, "holiday cover");
  EXPECT_EQ(shifts[1].start, T("2026-03-04T18:00:00-05:00"));
  EXPECT_EQ(shifts[1].end, T("2026-03-06T09:00:00-05:00"));
}

TEST(ScheduleTest, OneMemberRotationNeverHandsOff) {
  Schedule s = NewYorkWeekly();
  s.rotations[0].members = {"alice"};
  EXPECT_FALSE(NextHandoff(s, T("2026-04-01T00:00:00Z")));
  const auto shifts = Shifts(s, T("2026-03-01T00:00:00Z"), T("2026-06-01T00:00:00Z"));
  ASSERT_EQ(shifts.size(), 2u);  // nobody until the start, then alice throughout
  EXPECT_TRUE(shifts[0].contacts.empty());
  EXPECT_EQ(shifts[0].source, "");
  EXPECT_EQ(shifts[1].contacts, Names{"alice"});
}

TEST(ScheduleTest, ShiftsAreClippedAndBounded) {
  const Schedule s = NewYorkWeekly();
  EXPECT_TRUE(Shifts(s, T("2026-04-01T00:00:00Z"), T("2026-04-01T00:00:00Z")).empty());
  const auto shifts = Shifts(s, T("2026-04-01T00:00:00Z"), T("2027-04-01T00:00:00Z"), 5);
  ASSERT_EQ(shifts.size(), 5u);
  EXPECT_EQ(shifts[0].start, T("2026-04-01T00:00:00Z"));
  for (size_t i = 1; i < shifts.size(); ++i) {
    EXPECT_EQ(shifts[i].start, shifts[i - 1].end);
    EXPECT_NE(shifts[i].contacts, shifts[i - 1].contacts);
  }
}

}  // namespace
}  // namespace firewatch::alerting::schedule
