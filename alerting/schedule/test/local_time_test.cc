#include "schedule/local_time.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace firewatch::alerting::schedule {
namespace {

using namespace std::chrono_literals;
using testing::L;
using testing::T;
using testing::Z;

TEST(LocalTimeTest, FindsZonesInTheOsDatabase) {
  EXPECT_TRUE(FindZone("Europe/Berlin").ok());
  EXPECT_TRUE(FindZone("America/New_York").ok());
  EXPECT_TRUE(FindZone("UTC").ok());
  auto bad = FindZone("Europe/Berlinn");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "unknown time zone 'Europe/Berlinn'");
  EXPECT_FALSE(FindZone("").ok());
}

TEST(LocalTimeTest, ParsesLocalAndRfc3339DateTimes) {
  auto d = ParseDateTime("2026-03-02");
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->has_time);
  EXPECT_FALSE(d->utc_offset);
  auto lt = ParseDateTime("2026-03-02T09:30");
  ASSERT_TRUE(lt.ok());
  EXPECT_TRUE(lt->has_time);
  EXPECT_EQ(lt->local - d->local, 9h + 30min);
  auto sp = ParseDateTime("2026-03-02 09:30:15");
  ASSERT_TRUE(sp.ok());
  EXPECT_EQ(sp->local - d->local, 9h + 30min + 15s);
  auto z = ParseDateTime("2026-03-02T09:30:00Z");
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(*z->utc_offset, 0s);
  auto off = ParseDateTime("2026-03-02T09:30:00-05:00");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(*off->utc_offset, -5h);
  EXPECT_EQ(Resolve(*off, nullptr) - Resolve(*z, nullptr), 5h);
  EXPECT_EQ(ToUnixMillis(T("1970-01-01T01:00:00+01:00")), 0);
}

TEST(LocalTimeTest, RejectsMalformedDateTimes) {
  for (const char* bad : {"", "2026-3-2", "2026-02-30", "2026-03-02T9:00", "2026-03-02T24:00",
                          "2026-03-02T09:00:00.5Z", "2026-03-02T09:00+1", "2026-03-02X09:00",
                          "tomorrow", "2026-03-02T09:00:00+01:00 "}) {
    auto r = ParseDateTime(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("expected a date-time"), std::string::npos);
    }
  }
}

TEST(LocalTimeTest, ParsesTimeOfDay) {
  EXPECT_EQ(*ParseTimeOfDay("09:00"), 9h);
  EXPECT_EQ(*ParseTimeOfDay("23:59"), 23h + 59min);
  EXPECT_EQ(FormatTimeOfDay(9h + 5min), "09:05");
  for (const char* bad : {"9:00", "24:00", "09:60", "0900", "09:00:00", ""}) {
    EXPECT_FALSE(ParseTimeOfDay(bad).ok()) << bad;
  }
}

TEST(LocalTimeTest, GapMapsToTheTransitionAndOverlapToTheEarlierInstant) {
  const Zone berlin = Z("Europe/Berlin");
  // 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00Z). 02:30 does not exist.
  EXPECT_EQ(ToWall(berlin, L("2026-03-29T02:30")), T("2026-03-29T01:00:00Z"));
  EXPECT_EQ(ToWall(berlin, L("2026-03-29T03:00")), T("2026-03-29T01:00:00Z"));
  EXPECT_EQ(ToWall(berlin, L("2026-03-29T01:59")), T("2026-03-29T00:59:00Z"));
  // 2026-10-25: 03:00 CEST falls back to 02:00 CET. 02:30 happens twice; first one wins.
  EXPECT_EQ(ToWall(berlin, L("2026-10-25T02:30")), T("2026-10-25T02:30:00+02:00"));
  EXPECT_EQ(ToWall(berlin, L("2026-10-25T03:00")), T("2026-10-25T03:00:00+01:00"));
  EXPECT_EQ(ToLocal(berlin, T("2026-10-25T02:30:00+01:00")), L("2026-10-25T02:30"));
}

TEST(LocalTimeTest, FormatsWithTheZonesOffsetAndAbbreviation) {
  const Zone ny = Z("America/New_York");
  EXPECT_EQ(FormatLocal(ny, T("2026-03-09T13:00:00Z")), "2026-03-09 09:00 EDT");
  EXPECT_EQ(FormatLocal(ny, T("2026-03-02T14:00:30Z")), "2026-03-02 09:00:30 EST");
  EXPECT_EQ(FormatRfc3339(ny, T("2026-03-09T13:00:00Z")), "2026-03-09T09:00:00-04:00");
  EXPECT_EQ(FormatRfc3339(Z("UTC"), T("2026-03-09T13:00:00Z")), "2026-03-09T13:00:00Z");
  EXPECT_EQ(FormatRfc3339(Z("Asia/Kolkata"), T("2026-03-09T13:00:00Z")),
            "2026-03-09T18:30:00+05:30");
}

}  // namespace
}  // namespace firewatch::alerting::schedule
