// The pure half of a configuration reload (engine/reload.h): what changed, what needs a
// restart, and what in-flight incidents keep. The engine's side (regrouping, the
// hand-off to the alerting thread, failover of pages queued for a removed channel) is
// tested in engine_test.cc.
#include "engine/reload.h"

#include <gtest/gtest.h>

#include "test_config.h"

namespace firewatch::alerting {
namespace {

// Two contacts, two channels, a schedule and two policies; `extra` is appended (more
// top-level keys) and `policy` is the route's policy.
const std::string kSchedule = R"(schedules:
  - name: primary
    time_zone: UTC
    rotations:
      - {name: weekly, members: [carol], start: "2026-01-05 09:00", length: weekly}
)";

AlertingConfig Make(const std::string& contacts, const std::string& channels,
                    const std::string& policies, const std::string& policy,
                    const std::string& alerting = "", const std::string& schedules = kSchedule) {
  const std::string yaml = "contacts:\n" + contacts + "channels:\n" + channels + schedules +
                           "escalation_policies:\n" + policies +
                           "route:\n  escalation_policy: " + policy + "\n" + alerting;
  return testing::ParseAlertingConfig(yaml, "reload_test.yml");
}

const std::string kChannels = R"(  - {name: mail, type: webhook, url: "http://127.0.0.1:1/mail"}
  - {name: sms, type: webhook, url: "http://127.0.0.1:1/sms"}
)";
const std::string kContacts = R"(  - {name: alice, channels: [mail]}
  - {name: bob, channels: [sms, mail]}
  - {name: carol, channels: [sms]}
)";
const std::string kPolicies = R"(  - name: default
    steps:
      - {targets: [alice], channels: [mail], wait: 5m}
      - {targets: ["schedule:primary"], channels: [sms], wait: 5m}
  - name: quiet
    steps:
      - {targets: [alice], channels: [mail], wait: 5m}
)";

Incident InFlight(const std::string& policy, IncidentState state = IncidentState::kOpen) {
  Incident inc;
  inc.id = "INC-" + policy;
  inc.policy = policy;
  inc.state = state;
  return inc;
}

TEST(ReloadTest, DescribesAddedRemovedAndChangedNames) {
  const AlertingConfig before = Make(kContacts, kChannels, kPolicies, "default");
  const AlertingConfig after =
      Make(R"(  - {name: alice, email: a@example.com, channels: [mail]}
  - {name: bob, channels: [mail]}
  - {name: dave, channels: [pager]}
)",
           R"(  - {name: mail, type: webhook, url: "http://127.0.0.1:1/mail2"}
  - {name: pager, type: webhook, url: "http://127.0.0.1:1/pager"}
)",
           R"(  - name: default
    steps:
      - {targets: [alice], channels: [mail], wait: 1m}
)",
           "default", "alerting: {reopen_window: 5m}\n", "");
  const auto lines = DescribeChanges(before, after);
  auto has = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  EXPECT_TRUE(has("channels: +pager -sms")) << ::testing::PrintToString(lines);
  EXPECT_TRUE(has("contacts: +dave -carol ~alice ~bob")) << ::testing::PrintToString(lines);
  EXPECT_TRUE(has("schedules: -primary")) << ::testing::PrintToString(lines);
  EXPECT_TRUE(has("escalation_policies: -quiet ~default")) << ::testing::PrintToString(lines);
  EXPECT_TRUE(has("alerting.reopen_window: 2m -> 5m")) << ::testing::PrintToString(lines);
  EXPECT_TRUE(DescribeChanges(before, before).empty());
}

TEST(ReloadTest, RestartOnlySettingsAreNamedAndKept) {
  const AlertingConfig before = Make(kContacts, kChannels, kPolicies, "default");
  AlertingConfig after =
      Make(kContacts, kChannels, kPolicies, "default",
           "alerting: {external_url: \"http://x.example\", outbox_retention: 7d, "
           "max_attempts: 2}\n");
  const auto restart = RestartOnlyChanges(before, after);
  EXPECT_EQ(restart,
            (std::vector<std::string>{"alerting.external_url", "alerting.outbox_retention"}));
  KeepRestartOnly(before, after);
  EXPECT_EQ(after.external_url, "");
  EXPECT_EQ(after.outbox_retention, before.outbox_retention);
  EXPECT_EQ(after.max_attempts, 2u);  // reloadable: the new value stays
  EXPECT_TRUE(RestartOnlyChanges(before, after).empty());
}

TEST(ReloadTest, RemovedPolicyOfAnOpenIncidentIsCarriedWithWhatItReaches) {
  const AlertingConfig before = Make(kContacts, kChannels, kPolicies, "default");
  // The new file has only "quiet", a new alice address and no sms channel, carol, or
  // schedule.
  AlertingConfig after = Make(R"(  - {name: alice, email: new@example.com, channels: [mail]}
)",
                              R"(  - {name: mail, type: webhook, url: "http://127.0.0.1:1/mail"}
)",
                              R"(  - name: quiet
    steps:
      - {targets: [alice], channels: [mail], wait: 5m}
)",
                              "quiet", "", "");
  const CarriedForward carried =
      CarryForward(before, {InFlight("default"), InFlight("quiet")}, after);
  EXPECT_EQ(carried.policies, std::vector<std::string>{"default"});
  EXPECT_EQ(carried.schedules, std::vector<std::string>{"primary"});
  EXPECT_EQ(carried.contacts, std::vector<std::string>{"carol"});  // via the schedule
  EXPECT_EQ(carried.channels, std::vector<std::string>{"sms"});    // step 2's channel
  ASSERT_EQ(after.oncall.escalation_policies.count("default"), 1u);
  EXPECT_EQ(after.oncall.escalation_policies.at("default").steps.size(), 2u);
  // What the new file defines wins: alice keeps her new address.
  ASSERT_NE(after.FindContact("alice"), nullptr);
  EXPECT_EQ(after.FindContact("alice")->email, "new@example.com");
  EXPECT_EQ(after.contacts.size(), 2u);
  EXPECT_EQ(after.channels.size(), 2u);
}

TEST(ReloadTest, NothingIsCarriedForResolvedIncidentsOrKeptPolicies) {
  const AlertingConfig before = Make(kContacts, kChannels, kPolicies, "default");
  AlertingConfig after = Make(kContacts, kChannels, R"(  - name: default
    steps:
      - {targets: [bob], channels: [sms], wait: 5m}
)",
                              "default");
  const CarriedForward carried = CarryForward(
      before, {InFlight("quiet", IncidentState::kResolved), InFlight("default")}, after);
  EXPECT_TRUE(carried.empty());
  EXPECT_EQ(after.oncall.escalation_policies.count("quiet"), 0u);
  // An open incident of a policy that still exists runs under its new steps.
  EXPECT_EQ(after.oncall.escalation_policies.at("default").steps[0].targets,
            std::vector<std::string>{"bob"});
}

}  // namespace
}  // namespace firewatch::alerting
