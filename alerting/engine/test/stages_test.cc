// The pipeline's stages (engine/stages.h) on their own: no threads, no storage, time
// passed in.
#include "engine/stages.h"

#include <gtest/gtest.h>

#include "schedule/escalation.h"
#include "test_config.h"

namespace firewatch::alerting {
namespace {

using namespace std::chrono_literals;

// alice: SMS then email; bob: email. Step 0 pages alice on SMS and email at once, step 1
// (after 5 minutes) bob.
AlertingConfig Config() {
  const std::string yaml = R"(
contacts:
  - {name: alice, channels: [sms, email, hook]}
  - {name: bob, channels: [email]}
channels:
  - {name: sms, type: webhook, url: "http://127.0.0.1:9/sms"}
  - {name: email, type: webhook, url: "http://127.0.0.1:9/email"}
  - {name: hook, type: webhook, url: "http://127.0.0.1:9/hook"}
escalation_policies:
  - name: default
    steps:
      - {targets: [alice], channels: [sms, email], wait: 5m}
      - {targets: [bob], channels: [email], wait: 5m}
route:
  escalation_policy: default
)";
  return testing::ParseAlertingConfig(yaml, "stages_test.yml");
}

constexpr int64_t kStart = 1'800'000'000'000;  // Unix ms

Incident Firing() {
  Incident inc;
  inc.id = "K7Q2MX";
  inc.group_key = "{}:{source=\"web-1\"}";
  inc.policy = "default";
  inc.started_ms = kStart;
  Alert a;
  a.labels = {{"alertname", "SourceDown"}, {"source", "web-1"}};
  a.status = AlertStatus::kFiring;
  inc.alerts.push_back(a);
  return inc;
}

WallTime At(int64_t ms) {
  return FromUnixMillis(ms);
}

TEST(PlanEscalationTest, StepZeroPagesEachChannelFailingOverOnlyToChannelsTheStepDoesNotUse) {
  const auto out = PlanEscalation(Firing(), Config(), At(kStart));
  ASSERT_EQ(out.pages.size(), 2u);
  EXPECT_EQ(out.pages[0].contact, "alice");
  EXPECT_EQ(out.pages[0].chain, (std::vector<std::string>{"sms", "hook"}));
  EXPECT_EQ(out.pages[1].chain, (std::vector<std::string>{"email", "hook"}));
  EXPECT_EQ(out.pages[0].key, schedule::IdempotencyKey("K7Q2MX", 0, 0, "alice", "sms"));
  EXPECT_EQ(out.pages[0].due_ms, kStart);
  EXPECT_EQ(out.pages[0].kind, "trigger");
}

TEST(PlanEscalationTest, TheNextStepIsDueAfterItsWaitAndNotBefore) {
  EXPECT_EQ(PlanEscalation(Firing(), Config(), At(kStart + 299'999)).pages.size(), 2u);
  const auto out = PlanEscalation(Firing(), Config(), At(kStart + 300'000));
  ASSERT_EQ(out.pages.size(), 3u);
  EXPECT_EQ(out.pages[2].contact, "bob");
  EXPECT_EQ(out.pages[2].due_ms, kStart + 300'000);
}

TEST(PlanEscalationTest, NothingForRecoveredResolvedOrUnknownPolicyAndNoLaterStepAfterAnAck) {
  Incident recovered = Firing();
  recovered.alerts[0].status = AlertStatus::kResolved;
  EXPECT_TRUE(PlanEscalation(recovered, Config(), At(kStart + 3'600'000)).pages.empty());
  Incident resolved = Firing();
  resolved.state = IncidentState::kResolved;
  EXPECT_TRUE(PlanEscalation(resolved, Config(), At(kStart)).pages.empty());
  Incident unknown = Firing();
  unknown.policy = "nope";
  EXPECT_TRUE(PlanEscalation(unknown, Config(), At(kStart)).pages.empty());
  Incident acked = Firing();
  acked.state = IncidentState::kAcked;
  acked.acked_ms = kStart + 60'000;
  EXPECT_EQ(PlanEscalation(acked, Config(), At(kStart + 3'600'000)).pages.size(), 2u);
}

TEST(RestartHoldsTest, SettleTimeHoldsUntilItPasses) {
  RestartHolds holds;
  holds.Settle("K7Q2MX", kStart + 10'000);
  EXPECT_FALSE(holds.MayEscalate(Firing(), kStart + 9'999));
  EXPECT_TRUE(holds.MayEscalate(Firing(), kStart + 10'000));
  EXPECT_TRUE(holds.empty());
}

TEST(RestartHoldsTest, UnconfirmedAlertsHoldUntilConfirmedOrExpire) {
  const Incident inc = Firing();
  RestartHolds holds;
  holds.HoldUnconfirmed(inc.id, {inc.alerts[0].labels}, kStart + 30'000);
  EXPECT_FALSE(holds.MayEscalate(inc, kStart));
  EXPECT_TRUE(holds.TakeExpired(kStart + 29'999).empty());
  holds.ObserveFiring(inc.alerts[0].labels);  // fired again: confirmed
  EXPECT_TRUE(holds.MayEscalate(inc, kStart));
  EXPECT_TRUE(holds.TakeExpired(kStart + 60'000).empty());

  holds.HoldUnconfirmed(inc.id, {inc.alerts[0].labels}, kStart + 30'000);
  const auto expired = holds.TakeExpired(kStart + 30'000);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0], inc.alerts[0].labels);
  EXPECT_EQ(holds.held(), 0u);
}

TEST(RestartHoldsTest, AnotherFiringAlertInTheIncidentLetsItEscalate) {
  Incident inc = Firing();
  Alert other;
  other.labels = {{"alertname", "CheckFailing"}, {"source", "web-1"}};
  other.status = AlertStatus::kFiring;
  inc.alerts.push_back(other);
  RestartHolds holds;
  holds.HoldUnconfirmed(inc.id, {inc.alerts[0].labels}, kStart + 30'000);
  EXPECT_TRUE(holds.MayEscalate(inc, kStart));
  holds.Forget(inc.id);
  EXPECT_TRUE(holds.empty());
}

outbox::Item Trigger(const std::string& contact, std::vector<std::string> chain, outbox::State st,
                     size_t index = 0, std::string detail = "") {
  outbox::Item item;
  item.notification.kind = "trigger";
  item.notification.contact = contact;
  item.notification.idempotency_key = schedule::IdempotencyKey("K7Q2MX", 0, 1, contact, chain[0]);
  item.channel_chain = std::move(chain);
  item.channel_index = index;
  item.state = st;
  item.updated_ms = kStart + 5;
  item.detail = std::move(detail);
  return item;
}

TEST(ResolvedByHandTest, SetAsideUntilRecoveredJoinedOrTheRepeatIntervalPassed) {
  auto alert = [](const std::string& source, AlertStatus st = AlertStatus::kFiring) {
    Alert a;
    a.labels = {{"alertname", "SourceDown"}, {"source", source}};
    a.status = st;
    return a;
  };
  Incident inc;
  inc.group_key = "g";
  inc.resolved_ms = 1000;
  inc.alerts = {alert("a"), alert("b", AlertStatus::kResolved)};
  const int64_t repeat = 4 * 3600 * 1000;
  ResolvedByHand hand;
  hand.Record(inc);
  EXPECT_TRUE(hand.Holds("g", {alert("a")}, 2000, repeat));
  EXPECT_TRUE(hand.Holds("g", {alert("a"), alert("b", AlertStatus::kResolved)}, 2000, repeat));
  EXPECT_FALSE(hand.Holds("other", {alert("a")}, 2000, repeat));
  EXPECT_FALSE(hand.Holds("g", {alert("a"), alert("c")}, 2000, repeat)) << "a new alert joined";
  EXPECT_EQ(hand.size(), 0u) << "forgotten once it opens an incident";

  hand.Record(inc);
  EXPECT_FALSE(hand.Holds("g", {alert("a")}, 1000 + repeat, repeat)) << "the reminder";
  hand.Record(inc);
  EXPECT_TRUE(hand.ObserveResolved(alert("b").labels).empty()) << "b was not set aside";
  EXPECT_EQ(hand.ObserveResolved(alert("a").labels), std::vector<std::string>{"g"});
  EXPECT_EQ(hand.size(), 0u);  // recovered: the next failure is new
  EXPECT_FALSE(hand.Holds("g", {alert("a")}, 2000, repeat));
  inc.alerts = {alert("a", AlertStatus::kResolved)};
  hand.Record(inc);  // nothing was firing: nothing set aside
  EXPECT_EQ(hand.size(), 0u);
}

TEST(PagedFromTest, PagesThatWentOutCountOthersDoNot) {
  std::vector<outbox::Item> items{
      Trigger("alice", {"sms", "hook"}, outbox::State::kSent, 1),  // failed over, delivered
      Trigger("bob", {"email"}, outbox::State::kSummarized),
      Trigger("carol", {"email"}, outbox::State::kCancelled, 0,
              std::string(outbox::kDeliveredByPeer) + "site-a"),
      Trigger("dave", {"email"}, outbox::State::kPending),
      Trigger("erin", {"email"}, outbox::State::kCancelled, 0, "incident resolved"),
  };
  const auto paged = PagedFrom(items, nullptr, nullptr);
  ASSERT_EQ(paged.size(), 3u);
  EXPECT_EQ(paged[0].contact, "alice");
  EXPECT_EQ(paged[0].channel, "hook");  // where it went out, after failover
  EXPECT_EQ(paged[0].step, 1u);
  EXPECT_EQ(paged[0].at_ms, kStart + 5);
  EXPECT_EQ(paged[1].contact, "bob");
  EXPECT_EQ(paged[2].contact, "carol");
}

TEST(PagedFromTest, APeersLogAndAnInterruptedSendCountAsPaged) {
  std::vector<outbox::Item> items{Trigger("alice", {"sms"}, outbox::State::kPending),
                                  Trigger("bob", {"email"}, outbox::State::kFailed, 1)};
  auto peer = [&](const std::string& key) { return key == items[0].key(); };
  auto attempts = [&](const std::string& key) {
    std::vector<outbox::Attempt> out;
    if (key == items[1].key()) {
      out.push_back({1, "email", kStart + 7, outbox::AttemptResult::kInterrupted, "crashed"});
      out.push_back({2, "email", kStart + 9, outbox::AttemptResult::kPermanent, "550"});
    }
    return out;
  };
  const auto paged = PagedFrom(items, attempts, peer);
  ASSERT_EQ(paged.size(), 2u);
  EXPECT_EQ(paged[0].contact, "alice");
  EXPECT_EQ(paged[1].contact, "bob");
  EXPECT_EQ(paged[1].at_ms, kStart + 7);
  EXPECT_TRUE(PagedFrom(items, nullptr, nullptr).empty());
}

TEST(PlanFollowUpsTest, OneFollowUpPerChannelPagedFailingOverOnlyToChannelsNotPaged) {
  const std::vector<PagedContact> paged{{"alice", "sms", 0, 0, kStart},
                                        {"alice", "email", 0, 0, kStart},
                                        {"alice", "sms", 1, 0, kStart},  // a later round
                                        {"bob", "email", 0, 1, kStart}};
  const auto out = PlanFollowUps(Firing(), "resolve", paged, Config(), kStart + 1);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].chain, (std::vector<std::string>{"sms", "hook"}));
  EXPECT_EQ(out[0].key, "K7Q2MX/resolve/alice/sms");
  EXPECT_EQ(out[1].chain, (std::vector<std::string>{"email", "hook"}));
  EXPECT_EQ(out[2].contact, "bob");
  EXPECT_EQ(out[2].kind, "resolve");
  EXPECT_EQ(out[2].due_ms, kStart + 1);
  Incident reopened = Firing();
  reopened.reopened = 2;
  EXPECT_EQ(PlanFollowUps(reopened, "resolve", paged, Config(), kStart)[0].key,
            "K7Q2MX/resolve/r2/alice/sms");
}

TEST(DecideLocallyTest, TriggersOfResolvedOrAckedIncidentsAreDroppedEverythingElseGoesOn) {
  Notification trigger;
  trigger.kind = "trigger";
  Notification resolve;
  resolve.kind = "resolve";
  Incident inc = Firing();
  using Kind = GateDecision::Kind;
  EXPECT_EQ(DecideLocally(trigger, inc).kind, Kind::kSend);
  EXPECT_EQ(DecideLocally(trigger, std::nullopt).kind, Kind::kSend);  // unknown: fail open
  inc.state = IncidentState::kAcked;
  EXPECT_EQ(DecideLocally(trigger, inc).kind, Kind::kSkip);
  inc.state = IncidentState::kResolved;
  EXPECT_EQ(DecideLocally(trigger, inc).kind, Kind::kSkip);
  EXPECT_EQ(DecideLocally(resolve, inc).kind, Kind::kSend);
}

}  // namespace
}  // namespace firewatch::alerting
