// Maintenance windows (route/maintenance.h, route/replicated_maintenance.h) on a fake
// clock: one-off and recurring occurrences (DST through the cron library: Europe/Riga 2021
// springs forward on March 28 at 03:00 -> 04:00 and falls back on October 31 at 04:00 ->
// 03:00), matching, JSON, merge with tombstones, limits and persistence.
#include "route/replicated_maintenance.h"

#include <date/tz.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace firewatch::alerting::route {
namespace {

using namespace std::chrono_literals;
using testing::Ms;

// Local time in `zone`, the earlier instant when it happens twice.
WallTime At(const char* zone, int y, int mo, int d, int h, int mi) {
  const date::local_seconds local =
      date::local_days{date::year(y) / mo / d} + std::chrono::hours(h) + std::chrono::minutes(mi);
  return std::chrono::time_point_cast<WallTime::duration>(
      date::locate_zone(zone)->to_sys(local, date::choose::earliest));
}

MaintenanceWindow OneOff(WallTime start, WallTime end) {
  MaintenanceWindow w;
  w.base.matchers = Ms({R"(dc="dc1")"});
  w.base.starts_at = start;
  w.base.ends_at = end;
  w.base.created_by = "alice";
  w.base.comment = "CHG-42 rack move";
  return w;
}

MaintenanceWindow Weekly(WallTime start, WallTime end, const char* cron = "30 2 * * SUN",
                         const char* zone = "Europe/Riga", Duration d = 1h) {
  MaintenanceWindow w = OneOff(start, end);
  w.recurrence = Recurrence{cron, zone, d};
  return w;
}

std::shared_ptr<const CompiledWindow> Compile(MaintenanceWindow w) {
  auto c = CompiledWindow::Make(std::move(w));
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? *c : nullptr;
}

const LabelSet kDc1{{"alertname", "SourceDown"}, {"dc", "dc1"}, {"source", "web-1"}};
const LabelSet kDc2{{"alertname", "SourceDown"}, {"dc", "dc2"}, {"source", "web-2"}};

TEST(MaintenanceWindowTest, OneOffIsActiveFromStartUntilEnd) {
  const WallTime t0 = At("UTC", 2024, 5, 1, 12, 0);
  auto w = Compile(OneOff(t0, t0 + 2h));
  EXPECT_EQ(w->StateAt(t0 - 1s), WindowState::kPending);
  EXPECT_EQ(w->StateAt(t0), WindowState::kActive);
  EXPECT_TRUE(w->Mutes(kDc1, t0 + 1h));
  EXPECT_FALSE(w->Mutes(kDc2, t0 + 1h));  // the matchers decide
  EXPECT_EQ(w->StateAt(t0 + 2h), WindowState::kExpired);
  EXPECT_FALSE(w->Mutes(kDc1, t0 + 2h));
}

TEST(MaintenanceWindowTest, RecurringIsActiveOnlyInsideOccurrences) {
  const WallTime from = At("Europe/Riga", 2021, 5, 1, 0, 0);  // a Saturday
  auto w = Compile(Weekly(from, from + std::chrono::hours(24 * 30)));
  EXPECT_EQ(w->StateAt(from), WindowState::kWaiting);
  const WallTime sun = At("Europe/Riga", 2021, 5, 2, 2, 30);
  EXPECT_FALSE(w->Mutes(kDc1, sun - 1s));
  EXPECT_TRUE(w->Mutes(kDc1, sun));
  EXPECT_TRUE(w->Mutes(kDc1, sun + 59min));
  EXPECT_FALSE(w->Mutes(kDc1, sun + 1h));  // the occurrence lasts `duration`
  auto next = w->CurrentOrNext(sun + 1h);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->start, At("Europe/Riga", 2021, 5, 9, 2, 30));  // upcoming: next Sunday
}

TEST(MaintenanceWindowTest, SpringForwardOccurrenceStartsAtTheEndOfTheGap) {
  // 03:30 does not exist in Riga on 2021-03-28; a fixed-time occurrence starts at 04:00 (EEST).
  const WallTime from = At("Europe/Riga", 2021, 3, 27, 0, 0);
  auto w = Compile(Weekly(from, from + std::chrono::hours(24 * 7), "30 3 * * *", "Europe/Riga"));
  const WallTime gap_end = At("Europe/Riga", 2021, 3, 28, 4, 0);
  EXPECT_FALSE(w->Mutes(kDc1, gap_end - 1s));
  EXPECT_TRUE(w->Mutes(kDc1, gap_end));
  EXPECT_TRUE(w->Mutes(kDc1, gap_end + 59min));
  EXPECT_FALSE(w->Mutes(kDc1, gap_end + 1h));
}

TEST(MaintenanceWindowTest, FallBackRepeatedHourRunsOnce) {
  // 03:30 happens twice in Riga on 2021-10-31; a fixed-time occurrence starts at the first.
  const WallTime from = At("Europe/Riga", 2021, 10, 30, 0, 0);
  auto w = Compile(Weekly(from, from + std::chrono::hours(24 * 7), "30 3 * * *", "Europe/Riga", 30min));
  const WallTime first = At("Europe/Riga", 2021, 10, 31, 3, 30);  // EEST
  EXPECT_TRUE(w->Mutes(kDc1, first));
  EXPECT_FALSE(w->Mutes(kDc1, first + 30min));
  EXPECT_FALSE(w->Mutes(kDc1, first + 1h));  // 03:30 EET, the second time: no new occurrence
  EXPECT_TRUE(w->Mutes(kDc1, At("Europe/Riga", 2021, 11, 1, 3, 30)));
}

TEST(MaintenanceWindowTest, SeriesBoundsCutOccurrences) {
  const WallTime sun = At("Europe/Riga", 2021, 5, 2, 2, 30);
  // The series ends in the middle of an occurrence: it is cut there.
  auto w = Compile(Weekly(sun - 1h, sun + 20min));
  EXPECT_TRUE(w->Mutes(kDc1, sun + 10min));
  EXPECT_FALSE(w->Mutes(kDc1, sun + 20min));
  // A series made in the middle of an occurrence mutes at once, for the rest of it.
  auto late = Compile(Weekly(sun + 10min, sun + std::chrono::hours(24 * 8)));
  EXPECT_FALSE(late->Mutes(kDc1, sun + 5min));  // before the series
  EXPECT_EQ(late->StateAt(sun + 5min), WindowState::kPending);
  EXPECT_TRUE(late->Mutes(kDc1, sun + 20min));
  EXPECT_EQ(late->CurrentOrNext(sun + 20min)->start, sun + 10min);
  EXPECT_EQ(late->StateAt(sun + 1h), WindowState::kWaiting);
  EXPECT_TRUE(late->Mutes(kDc1, At("Europe/Riga", 2021, 5, 9, 2, 30)));
  // No occurrence left before the series ends: over, though endsAt is a day away.
  auto none = Compile(Weekly(sun + 10min, sun + std::chrono::hours(24)));
  EXPECT_EQ(none->StateAt(sun + 1h), WindowState::kExpired);
}

TEST(MaintenanceWindowTest, JsonRoundTripAndClearErrors) {
  const WallTime t0 = At("UTC", 2024, 5, 1, 12, 0);
  MaintenanceWindow w = Weekly(t0, t0 + 24h * 30, "0 2 * * SUN", "Asia/Seoul", 2h);
  w.base.id = "w1";
  w.base.updated_at = t0;
  auto back = WindowFromJson(WindowToJson(w));
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_TRUE(back->recurrence.has_value());
  EXPECT_EQ(back->recurrence->cron, "0 2 * * SUN");
  EXPECT_EQ(back->recurrence->time_zone, "Asia/Seoul");
  EXPECT_EQ(back->recurrence->duration, 2h);
  EXPECT_EQ(back->base.id, "w1");
  EXPECT_EQ(WindowToJson(*back), WindowToJson(w));

  auto with = [&](const char* key, nlohmann::json value) {
    auto j = nlohmann::json::parse(WindowToJson(w));
    j["recurrence"][key] = std::move(value);
    return WindowFromJson(j.dump());
  };
  EXPECT_NE(with("cron", "61 * * * *").status().message().find("recurrence.cron"), std::string::npos);
  EXPECT_NE(with("timeZone", "Mars/Olympus").status().message().find("unknown time zone"),
            std::string::npos);
  EXPECT_NE(with("durationSeconds", 0).status().message().find("durationSeconds"), std::string::npos);
  EXPECT_NE(with("durationSeconds", 8 * 24 * 3600).status().message().find("at most"),
            std::string::npos);
  EXPECT_FALSE(WindowFromJson("[1]").ok());
  EXPECT_FALSE(WindowFromJson(std::string(kMaxMaintenanceJsonBytes + 1, ' ')).ok());
  // A broad matcher set needs force, as for silences.
  MaintenanceWindow broad = w;
  broad.base.matchers = Ms({R"(alertname="SourceDown")"});
  EXPECT_FALSE(ValidateWindow(broad).ok());
}

class ReplicatedMaintenanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/firewatch_maintenance_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::unique_ptr<ReplicatedMaintenance> Make(MaintenanceLimits limits = {}) {
    return std::make_unique<ReplicatedMaintenance>(
        clock_, limits, [this] { return "w" + std::to_string(++next_id_); });
  }
  FakeClock clock_{At("UTC", 2024, 5, 1, 12, 0)};
  std::string dir_;
  int next_id_ = 0;
};

TEST_F(ReplicatedMaintenanceTest, CreateMutesExpireEndsTheSeries) {
  auto m = Make();
  const WallTime now = clock_.WallNow();
  auto id = m->Create(OneOff(now - 1h, now + 1h));  // a start in the past becomes now
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_TRUE(m->muter()->Mutes(kDc1, now));
  EXPECT_EQ(m->MutedBy(kDc1, now), std::vector<std::string>{"w1"});
  EXPECT_EQ(m->List().at(0).base.starts_at, now);
  EXPECT_EQ(m->Counts()["active"], 1u);
  clock_.Advance(10min);
  ASSERT_TRUE(m->Expire(*id).ok());
  EXPECT_FALSE(m->Mutes(kDc1, clock_.WallNow()));
  EXPECT_EQ(m->Counts()["expired"], 1u);
  EXPECT_EQ(m->Expire(*id).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(m->Expire("nope").code(), Status::Code::kNotFound);
  EXPECT_FALSE(m->Create(OneOff(now - 2h, now - 1h)).ok());  // ends in the past
}

TEST_F(ReplicatedMaintenanceTest, LiveWindowsAreLimited) {
  MaintenanceLimits limits;
  limits.max_live = 2;
  auto m = Make(limits);
  const WallTime now = clock_.WallNow();
  ASSERT_TRUE(m->Create(OneOff(now, now + 1h)).ok());
  ASSERT_TRUE(m->Create(OneOff(now, now + 1h)).ok());
  auto third = m->Create(OneOff(now, now + 1h));
  EXPECT_NE(third.status().message().find("limit"), std::string::npos);
}

TEST_F(ReplicatedMaintenanceTest, MergeNewestWinsAndTombstonesReplicate) {
  auto a = Make();
  auto b = Make();
  const WallTime now = clock_.WallNow();
  auto id = a->Create(Weekly(now, now + 24h * 30, "0 * * * *", "UTC", 30min));
  ASSERT_TRUE(id.ok()) << id.status().message();
  b->Merge("a", a->Export());
  ASSERT_EQ(b->List().size(), 1u);
  EXPECT_TRUE(b->Mutes(kDc1, now + 5min));  // 12:00 occurrence, as on a

  clock_.Advance(1min);
  ASSERT_TRUE(a->Expire(*id).ok());
  auto stale = b->Export();  // b still holds the live version
  b->Merge("a", a->Export());
  EXPECT_FALSE(b->Mutes(kDc1, clock_.WallNow()));  // the expiry (a tombstone) won
  a->Merge("b", stale);  // an older version does not bring the window back
  EXPECT_FALSE(a->Mutes(kDc1, clock_.WallNow()));

  // A bad entry is refused alone and counted.
  PeerWindows bad = a->Export();
  bad.items.at(0).base.id = "w9";
  bad.items.at(0).base.updated_at += 1s;
  bad.items.at(0).base.matchers = Ms({R"(alertname="SourceDown")"});  // broad, no force
  bad.refused_on_parse = 2;
  b->Merge("a", bad);
  EXPECT_EQ(b->Refused()["peer"], 3u);
  EXPECT_EQ(b->List().size(), 1u);

  // Tombstones go after the retention.
  clock_.Advance(121h);
  ASSERT_TRUE(a->Create(OneOff(clock_.WallNow(), clock_.WallNow() + 1h)).ok());  // runs gc
  EXPECT_EQ(a->List().size(), 1u);
}

TEST_F(ReplicatedMaintenanceTest, PersistedAndReloaded) {
  const std::string path = dir_ + "/incidents.db";
  const WallTime now = clock_.WallNow();
  std::string id;
  {
    auto m = Make();
    ASSERT_TRUE(m->Open(path).ok());
    auto created = m->Create(Weekly(now, now + 24h * 30, "0 2 * * *", "Asia/Seoul", 1h));
    ASSERT_TRUE(created.ok()) << created.status().message();
    id = *created;
    auto other = m->Create(OneOff(now, now + 1h));
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE(m->Expire(*other).ok());
  }
  auto m = Make();
  ASSERT_TRUE(m->Open(path).ok());
  auto list = m->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].base.id, id);
  ASSERT_TRUE(list[0].recurrence.has_value());
  EXPECT_EQ(list[0].recurrence->time_zone, "Asia/Seoul");
  EXPECT_EQ(m->Counts()["expired"], 1u);
  EXPECT_EQ(m->Refused()["store"], 0u);
}

}  // namespace
}  // namespace firewatch::alerting::route
