#include "schedule/oncall_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace firewatch::alerting::schedule {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::L;
using testing::T;
using Names = std::vector<std::string>;

std::string Fixture(const std::string& name) {
  return std::string(FIREWATCH_SCHEDULE_TESTDATA) + "/" + name;
}

KnownNames Known() {
  KnownNames k;
  k.contacts = {"alice", "bob", "carol", "dave", "erin"};
  k.channels = {"email", "sms", "webhook"};
  return k;
}

TEST(OnCallConfigTest, GoodFixtureLoads) {
  auto c = LoadOnCallConfig(Fixture("good/oncall.yml"), Known());
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->schedules.size(), 2u);
  const Schedule& primary = c->schedules.at("primary");
  EXPECT_EQ(primary.zone->name(), "America/New_York");
  ASSERT_EQ(primary.rotations.size(), 2u);
  const Rotation& weekly = primary.rotations[0];
  EXPECT_EQ(weekly.name, "weekly");
  EXPECT_EQ(weekly.members, (Names{"alice", "bob", "carol"}));
  EXPECT_EQ(weekly.start, L("2026-03-02T09:00"));  // date + handoff
  EXPECT_EQ(weekly.length, kWeekly);
  EXPECT_FALSE(weekly.end);
  EXPECT_EQ(primary.rotations[1].end, L("2026-12-27T09:00"));
  ASSERT_EQ(primary.overrides.size(), 1u);
  EXPECT_EQ(primary.overrides[0].contact, "dave");
  EXPECT_EQ(primary.overrides[0].start, T("2026-03-04T12:00:00-05:00"));  // local, in NY
  EXPECT_EQ(primary.overrides[0].end, T("2026-03-05T12:00:00-05:00"));

  const Schedule& sun = c->schedules.at("follow-the-sun");
  EXPECT_EQ(sun.rotations[0].name, "rotation-1");
  EXPECT_EQ(sun.rotations[0].length, 12h);
  EXPECT_EQ(sun.rotations[0].zone->name(), "Europe/Berlin");
  EXPECT_EQ(sun.rotations[1].zone->name(), "Asia/Tokyo");
  EXPECT_EQ(sun.rotations[1].length, 72h);

  ASSERT_EQ(c->escalation_policies.size(), 2u);
  const EscalationPolicy& def = c->escalation_policies.at("default");
  EXPECT_EQ(def.repeat, 2u);
  ASSERT_EQ(def.steps.size(), 2u);
  EXPECT_EQ(def.steps[0].targets, Names{"schedule:primary"});
  EXPECT_EQ(def.steps[0].channels, (Names{"email", "sms"}));
  EXPECT_EQ(def.steps[0].wait, 5min);
  EXPECT_EQ(def.steps[1].targets, (Names{"erin", "schedule:follow-the-sun"}));
  EXPECT_EQ(c->escalation_policies.at("low-urgency").steps[0].wait, 0s);

  // End to end: the loaded schedule answers like the hand-built one in schedule_test.
  EXPECT_EQ(OnCallAt(primary, T("2026-03-09T09:00:00-04:00")), Names{"bob"});
  EXPECT_EQ(OnCallAt(primary, T("2026-03-04T13:00:00-05:00")), Names{"dave"});
  EXPECT_EQ(OnCallAt(primary, T("2026-12-25T12:00:00-05:00")), Names{"dave"});
}

TEST(OnCallConfigTest, AnEmptyFileIsAnEmptyConfig) {
  auto c = ParseOnCallConfig("", "empty.yml", Known());
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->schedules.empty());
  EXPECT_TRUE(c->escalation_policies.empty());
}

TEST(OnCallConfigTest, UndefinedScheduleIsNamedWithItsPath) {
  const std::string text =
      "escalation_policies:\n"
      "  - name: default\n"
      "    steps:\n"
      "      - targets: [alice]\n"
      "        channels: [sms]\n"
      "      - targets: [schedule:primary]\n"
      "        channels: [sms]\n";
  auto c = ParseOnCallConfig(text, "alerting.yml", Known());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "alerting.yml:6: escalation_policies[0].steps[1].targets[0]: undefined schedule "
            "'primary'");
}

TEST(OnCallConfigTest, SectionsCanSitUnderAParentKey) {
  auto root = config::LoadString(
      "alerting:\n  schedules:\n    - name: x\n      time_zone: UTC\n      rotations:\n"
      "        - members: [alice]\n          start: 2026-01-01T00:00\n          length: bogus\n",
      "fw.yml");
  ASSERT_TRUE(root.ok());
  config::Errors errors("fw.yml");
  config::MapReader top(errors, (*root)["alerting"], "alerting");
  OnCallConfig out;
  ReadOnCallConfig(top, Known(), out);
  top.Finish();
  EXPECT_NE(errors.ToStatus().message().find(
                "fw.yml:8: alerting.schedules[0].rotations[0].length: expected daily"),
            std::string::npos)
      << errors.ToStatus().message();
}

// Each bad fixture starts with comment lines "# expect: LINE: fragment" (one or more).
TEST(OnCallConfigTest, BadFixturesFailWithFileLineAndReason) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(Fixture("bad"))) {
    std::ifstream in(entry.path());
    std::string line;
    std::vector<std::string> expects;
    while (std::getline(in, line) && line.rfind("# expect: ", 0) == 0) {
      expects.push_back(line.substr(10));
    }
    ASSERT_FALSE(expects.empty()) << entry.path() << " has no '# expect:' line";
    auto c = LoadOnCallConfig(entry.path().string(), Known());
    ASSERT_FALSE(c.ok()) << entry.path() << " should fail";
    for (const auto& e : expects) {
      std::string want = entry.path().string() + ":" + e;
      EXPECT_NE(c.status().message().find(want), std::string::npos)
          << "want: " << want << "\ngot:\n" << c.status().message();
    }
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

}  // namespace
}  // namespace firewatch::alerting::schedule
