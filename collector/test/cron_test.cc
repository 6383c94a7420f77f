// Cron expressions: parsing, next fire times, and the daylight-saving cases Debian cron
// and healthchecks' cronsim agree on (Europe/Riga 2021: spring-forward on March 28 at
// 03:00 -> 04:00, fall-back on October 31 at 04:00 -> 03:00). All times are fixed.
#include "cron/cron.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace firewatch::cron {
namespace {

using namespace std::chrono;

const date::time_zone* Zone(const char* name) {
  return date::locate_zone(name);
}

// Local time in `zone`, the earlier instant when it happens twice.
WallTime At(const date::time_zone* zone, int y, int mo, int d, int h, int mi) {
  const date::local_seconds local =
      date::local_days{date::year(y) / mo / d} + hours(h) + minutes(mi);
  return time_point_cast<WallTime::duration>(zone->to_sys(local, date::choose::earliest));
}

std::string Iso(const date::time_zone* zone, WallTime t) {
  return date::format("%FT%T%Ez", date::zoned_time<seconds>(zone, floor<seconds>(t)));
}

// The next `n` fire times after `from`, formatted in `zone`.
std::vector<std::string> NextN(const char* expr, const date::time_zone* zone, WallTime from,
                               int n) {
  auto e = Expression::Parse(expr);
  EXPECT_TRUE(e.ok()) << expr << ": " << e.status().message();
  std::vector<std::string> out;
  if (!e.ok()) return out;
  for (int i = 0; i < n; ++i) {
    auto t = e->Next(from, zone);
    if (!t) break;
    out.push_back(Iso(zone, *t));
    from = *t;
  }
  return out;
}

using V = std::vector<std::string>;

TEST(CronParseTest, AcceptsTheCrontabSyntax) {
  const auto* utc = Zone("UTC");
  const WallTime jan1 = At(utc, 2020, 1, 1, 0, 0);
  EXPECT_EQ(
      NextN("*/15 * * * *", utc, jan1, 3),
      (V{"2020-01-01T00:15:00+00:00", "2020-01-01T00:30:00+00:00", "2020-01-01T00:45:00+00:00"}));
  EXPECT_EQ(
      NextN("5/20 * * * *", utc, jan1, 3),
      (V{"2020-01-01T00:05:00+00:00", "2020-01-01T00:25:00+00:00", "2020-01-01T00:45:00+00:00"}));
  EXPECT_EQ(NextN("0-10/5,58 1 * * *", utc, jan1, 4),
            (V{"2020-01-01T01:00:00+00:00", "2020-01-01T01:05:00+00:00",
               "2020-01-01T01:10:00+00:00", "2020-01-01T01:58:00+00:00"}));
  // Names, case-insensitive; ranges of names.
  EXPECT_EQ(NextN("0 9 * feb-Mar mon-FRI", utc, jan1, 2),
            (V{"2020-02-03T09:00:00+00:00", "2020-02-04T09:00:00+00:00"}));
  // 7 and 0 are both Sunday (2020-01-05 is a Sunday).
  EXPECT_EQ(NextN("0 0 * * 7", utc, jan1, 1), (V{"2020-01-05T00:00:00+00:00"}));
  EXPECT_EQ(NextN("0 0 * * SUN", utc, jan1, 1), (V{"2020-01-05T00:00:00+00:00"}));
  // Tabs and repeated spaces separate fields.
  EXPECT_EQ(NextN(" 0\t0  1 * * ", utc, jan1, 1), (V{"2020-02-01T00:00:00+00:00"}));
}

TEST(CronParseTest, Aliases) {
  const auto* utc = Zone("UTC");
  const WallTime t = At(utc, 2020, 1, 1, 0, 30);  // a Wednesday
  EXPECT_EQ(NextN("@hourly", utc, t, 1), (V{"2020-01-01T01:00:00+00:00"}));
  EXPECT_EQ(NextN("@daily", utc, t, 1), (V{"2020-01-02T00:00:00+00:00"}));
  EXPECT_EQ(NextN("@midnight", utc, t, 1), (V{"2020-01-02T00:00:00+00:00"}));
  EXPECT_EQ(NextN("@weekly", utc, t, 1), (V{"2020-01-05T00:00:00+00:00"}));
  EXPECT_EQ(NextN("@MONTHLY", utc, t, 1), (V{"2020-02-01T00:00:00+00:00"}));
  EXPECT_EQ(NextN("@yearly", utc, t, 1), (V{"2021-01-01T00:00:00+00:00"}));
  EXPECT_EQ(NextN("@annually", utc, t, 1), (V{"2021-01-01T00:00:00+00:00"}));
  EXPECT_FALSE(Expression::Parse("@reboot").ok());
  EXPECT_EQ(Expression::Parse("@daily")->text(), "@daily");
}

TEST(CronParseTest, RejectsWhatCronRejects) {
  for (const char* bad :
       {"* * * *", "* * * * * *", "", "   ", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * 32 * *",
        "* * * 0 *", "* * * 13 *", "* * * * 8", "-1 * * * *", "ABC * * * *", "2/ * * * *",
        "/2 * * * *", "*/0 * * * *", "1//2 * * * *", "1-1_0 * * * *", "* * 5-1 * *", "* * * * 1#2",
        "* * L * *", "* * * * 5L", "? * * * *", "1, * * * *", ",1 * * * *", "99999 * * * *",
        "* * * JAN-13 *", "* * * * MON-8", "\xc2\xb9 * * * *",
        // No selected month has that day: never fires.
        "0 0 30 2 *", "* * 31 4 *", "0 0 31 2,4,6,9,11 *"}) {
    auto e = Expression::Parse(bad);
    EXPECT_FALSE(e.ok()) << "'" << bad << "' parsed";
  }
  auto e = Expression::Parse("0 25 * * *");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "bad hour field '25': value out of range 0-23");
  EXPECT_FALSE(Expression::Parse(std::string(kMaxExpressionLength + 1, '*')).ok());
}

TEST(CronNextTest, DayOfMonthOrDayOfWeekLikeVixieCron) {
  const auto* utc = Zone("UTC");
  const WallTime jan1 = At(utc, 2020, 1, 1, 0, 0);
  // Neither field starts with '*': either matches (the 15th, and every Monday).
  EXPECT_EQ(
      NextN("0 0 15 * MON", utc, jan1, 3),
      (V{"2020-01-06T00:00:00+00:00", "2020-01-13T00:00:00+00:00", "2020-01-15T00:00:00+00:00"}));
  // Day of week starts with '*': both must match ("first Sunday of the month").
  EXPECT_EQ(
      NextN("1 1 1-7 * */7", utc, jan1, 3),
      (V{"2020-01-05T01:01:00+00:00", "2020-02-02T01:01:00+00:00", "2020-03-01T01:01:00+00:00"}));
  // Day of month starts with '*': both must match ("first Monday of the month").
  EXPECT_EQ(NextN("1 1 */100,1-7 * MON", utc, jan1, 2),
            (V{"2020-01-06T01:01:00+00:00", "2020-02-03T01:01:00+00:00"}));
}

TEST(CronNextTest, RareAndImpossibleDatesAreBounded) {
  const auto* utc = Zone("UTC");
  const WallTime jan1 = At(utc, 2020, 1, 1, 0, 0);
  EXPECT_EQ(NextN("0 0 29 2 *", utc, jan1 + hours(24 * 60), 2),
            (V{"2024-02-29T00:00:00+00:00", "2028-02-29T00:00:00+00:00"}));
  // February 29th that must also be a Sunday (day-of-week starts with '*': AND).
  auto rare = Expression::Parse("0 0 29 2 */7");
  ASSERT_TRUE(rare.ok());
  const auto started = steady_clock::now();
  auto t = rare->Next(jan1, utc);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(Iso(utc, *t), "2032-02-29T00:00:00+00:00");
  t = rare->Next(*t, utc);  // 28 years on
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(Iso(utc, *t), "2060-02-29T00:00:00+00:00");
  // A scan over decades stays cheap (months that cannot match are skipped whole).
  EXPECT_LT(steady_clock::now() - started, seconds(2));
}

TEST(CronNextTest, StrictlyAfterAndSubMinuteStart) {
  const auto* utc = Zone("UTC");
  auto e = Expression::Parse("30 2 * * *");
  ASSERT_TRUE(e.ok());
  const WallTime at = At(utc, 2020, 1, 1, 2, 30);
  EXPECT_EQ(Iso(utc, *e->Next(at, utc)), "2020-01-02T02:30:00+00:00");
  EXPECT_EQ(Iso(utc, *e->Next(at - milliseconds(1), utc)), "2020-01-01T02:30:00+00:00");
}

class CronDstTest : public ::testing::Test {
 protected:
  const date::time_zone* riga = Zone("Europe/Riga");
  WallTime Riga(int mo, int d, int h, int mi) { return At(riga, 2021, mo, d, h, mi); }
};

TEST_F(CronDstTest, IntervalJobsFollowRealTime) {
  EXPECT_EQ(NextN("0 * * * *", riga, Riga(3, 28, 1, 30), 2),
            (V{"2021-03-28T02:00:00+02:00", "2021-03-28T04:00:00+03:00"}));
  EXPECT_EQ(NextN("0 * * * *", riga, Riga(10, 31, 1, 30), 4),
            (V{"2021-10-31T02:00:00+03:00", "2021-10-31T03:00:00+03:00",
               "2021-10-31T03:00:00+02:00", "2021-10-31T04:00:00+02:00"}));
  EXPECT_EQ(
      NextN("*/30 * * * *", riga, Riga(3, 28, 2, 10), 3),
      (V{"2021-03-28T02:30:00+02:00", "2021-03-28T04:00:00+03:00", "2021-03-28T04:30:00+03:00"}));
  EXPECT_EQ(
      NextN("*/30 * * * *", riga, Riga(10, 31, 2, 10), 6),
      (V{"2021-10-31T02:30:00+03:00", "2021-10-31T03:00:00+03:00", "2021-10-31T03:30:00+03:00",
         "2021-10-31T03:00:00+02:00", "2021-10-31T03:30:00+02:00", "2021-10-31T04:00:00+02:00"}));
  EXPECT_EQ(
      NextN("0 */2 * * *", riga, Riga(10, 31, 1, 30), 3),
      (V{"2021-10-31T02:00:00+03:00", "2021-10-31T04:00:00+02:00", "2021-10-31T06:00:00+02:00"}));
  EXPECT_EQ(
      NextN("0 */3 * * *", riga, Riga(10, 31, 1, 30), 3),
      (V{"2021-10-31T03:00:00+03:00", "2021-10-31T03:00:00+02:00", "2021-10-31T06:00:00+02:00"}));
  EXPECT_EQ(NextN("30 */2 * * *", riga, Riga(3, 28, 1, 30), 2),
            (V{"2021-03-28T02:30:00+02:00", "2021-03-28T04:30:00+03:00"}));
  EXPECT_EQ(NextN("* * * * *", riga, Riga(3, 28, 2, 58), 2),
            (V{"2021-03-28T02:59:00+02:00", "2021-03-28T04:00:00+03:00"}));
  EXPECT_EQ(
      NextN("* 1-6 * * *", riga, Riga(10, 31, 3, 58), 3),
      (V{"2021-10-31T03:59:00+03:00", "2021-10-31T03:00:00+02:00", "2021-10-31T03:01:00+02:00"}));
}

TEST_F(CronDstTest, FixedTimeJobsRunOnceAndRunSkippedTimesAtTheGapEnd) {
  // 03:15 does not exist on March 28: it runs at 04:00, once.
  EXPECT_EQ(
      NextN("15 3 * * *", riga, Riga(3, 27, 0, 0), 3),
      (V{"2021-03-27T03:15:00+02:00", "2021-03-28T04:00:00+03:00", "2021-03-29T03:15:00+03:00"}));
  // 03:15 happens twice on October 31: it runs at the first.
  EXPECT_EQ(
      NextN("15 3 * * *", riga, Riga(10, 30, 0, 0), 3),
      (V{"2021-10-30T03:15:00+03:00", "2021-10-31T03:15:00+03:00", "2021-11-01T03:15:00+02:00"}));
  EXPECT_EQ(
      NextN("0 1,2,3,4,5 * * *", riga, Riga(3, 28, 1, 30), 3),
      (V{"2021-03-28T02:00:00+02:00", "2021-03-28T04:00:00+03:00", "2021-03-28T05:00:00+03:00"}));
  EXPECT_EQ(
      NextN("0 1-5 * * *", riga, Riga(10, 31, 1, 30), 3),
      (V{"2021-10-31T02:00:00+03:00", "2021-10-31T03:00:00+03:00", "2021-10-31T04:00:00+02:00"}));
  EXPECT_EQ(
      NextN("30 1,2,3,4,5 * * *", riga, Riga(3, 28, 1, 30), 3),
      (V{"2021-03-28T02:30:00+02:00", "2021-03-28T04:00:00+03:00", "2021-03-28T04:30:00+03:00"}));
  EXPECT_EQ(
      NextN("30 1,2,3,4,5 * * *", riga, Riga(10, 31, 1, 30), 3),
      (V{"2021-10-31T02:30:00+03:00", "2021-10-31T03:30:00+03:00", "2021-10-31T04:30:00+02:00"}));
  EXPECT_EQ(
      NextN("0 4 * * *", riga, Riga(10, 30, 1, 30), 3),
      (V{"2021-10-30T04:00:00+03:00", "2021-10-31T04:00:00+02:00", "2021-11-01T04:00:00+02:00"}));
  EXPECT_EQ(
      NextN("0 1,3,5,7,9,11,13,15,17,19,21,23 * * *", riga, Riga(3, 28, 0, 30), 3),
      (V{"2021-03-28T01:00:00+02:00", "2021-03-28T04:00:00+03:00", "2021-03-28T05:00:00+03:00"}));
}

TEST_F(CronDstTest, NewYorkTwoThirtyOnTheSpringForwardDay) {
  const auto* ny = Zone("America/New_York");  // 2026-03-08 02:00 -> 03:00
  EXPECT_EQ(
      NextN("30 2 * * *", ny, At(ny, 2026, 3, 7, 12, 0), 3),
      (V{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00"}));
  // Fall back on 2026-11-01: 01:30 happens twice; the daily job runs once.
  EXPECT_EQ(NextN("30 1 * * *", ny, At(ny, 2026, 10, 31, 12, 0), 2),
            (V{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}));
}

}  // namespace
}  // namespace firewatch::cron
