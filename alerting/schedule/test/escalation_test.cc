#include "schedule/escalation.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace firewatch::alerting::schedule {
namespace {

using namespace std::chrono_literals;
using testing::L;
using testing::T;
using testing::Z;
using Keys = std::vector<std::string>;

ScheduleSet Schedules() {
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
  ScheduleSet set;
  set.emplace("primary", s);
  return set;
}

// Step 0: email+sms to whoever is on call, wait 5m; step 1: sms to dave, wait 10m.
// Two repeats: rounds 0, 1, 2, each 15 minutes long.
EscalationPolicy Policy() {
  EscalationPolicy p;
  p.name = "default";
  p.steps.push_back({{"schedule:primary"}, {"email", "sms"}, 5min});
  p.steps.push_back({{"dave"}, {"sms"}, 10min});
  p.repeat = 2;
  return p;
}

Keys KeysOf(const EscalationPlan& plan) {
  Keys keys;
  for (const auto& n : plan.due) keys.push_back(n.idempotency_key);
  return keys;
}

// 2026-03-03T10:00:00-05:00: alice is on call.
const WallTime t0 = WallTime(date::sys_days(date::year(2026) / 3 / 3).time_since_epoch() + 15h);

IncidentState Incident() {
  IncidentState i;
  i.incident_id = "inc-7";
  i.started_at = t0;
  return i;
}

TEST(EscalationTest, DueListsAtSeveralInstants) {
  const auto p = Policy();
  const auto s = Schedules();
  const auto i = Incident();

  auto before = Evaluate(p, i, s, t0 - 1s);
  EXPECT_TRUE(before.due.empty());
  EXPECT_EQ(before.next_due, t0);

  auto at0 = Evaluate(p, i, s, t0);
  EXPECT_EQ(KeysOf(at0), (Keys{"inc-7/0/0/alice/email", "inc-7/0/0/alice/sms"}));
  EXPECT_EQ(at0.next_due, t0 + 5min);
  ASSERT_EQ(at0.due.size(), 2u);
  EXPECT_EQ(at0.due[0].target, "schedule:primary");
  EXPECT_EQ(at0.due[0].contact, "alice");
  EXPECT_EQ(at0.due[0].channel, "email");
  EXPECT_EQ(at0.due[0].due, t0);
  EXPECT_EQ(at0.due[0].round, 0u);
  EXPECT_EQ(at0.due[0].step, 0u);

  auto at4 = Evaluate(p, i, s, t0 + 4min + 59s);
  EXPECT_EQ(KeysOf(at4), KeysOf(at0));
  EXPECT_EQ(at4.next_due, t0 + 5min);

  auto at5 = Evaluate(p, i, s, t0 + 5min);
  EXPECT_EQ(KeysOf(at5),
            (Keys{"inc-7/0/0/alice/email", "inc-7/0/0/alice/sms", "inc-7/0/1/dave/sms"}));
  EXPECT_EQ(at5.due[2].due, t0 + 5min);
  EXPECT_EQ(at5.next_due, t0 + 15min);

  auto at15 = Evaluate(p, i, s, t0 + 15min);
  EXPECT_EQ(KeysOf(at15), (Keys{"inc-7/0/0/alice/email", "inc-7/0/0/alice/sms",
                                "inc-7/0/1/dave/sms", "inc-7/1/0/alice/email",
                                "inc-7/1/0/alice/sms"}));
  EXPECT_EQ(at15.next_due, t0 + 20min);

  auto done = Evaluate(p, i, s, t0 + 1h);
  EXPECT_EQ(KeysOf(done),
            (Keys{"inc-7/0/0/alice/email", "inc-7/0/0/alice/sms", "inc-7/0/1/dave/sms",
                  "inc-7/1/0/alice/email", "inc-7/1/0/alice/sms", "inc-7/1/1/dave/sms",
                  "inc-7/2/0/alice/email", "inc-7/2/0/alice/sms", "inc-7/2/1/dave/sms"}));
  EXPECT_EQ(done.due.back().due, t0 + 35min);
  EXPECT_FALSE(done.next_due);  // the last round's last step has fired
  EXPECT_TRUE(done.unresolved.empty());
}

TEST(EscalationTest, AckStopsLaterSteps) {
  const auto p = Policy();
  const auto s = Schedules();
  auto i = Incident();
  i.acknowledged_at = t0 + 3min;
  auto plan = Evaluate(p, i, s, t0 + 3min);
  EXPECT_EQ(KeysOf(plan), (Keys{"inc-7/0/0/alice/email", "inc-7/0/0/alice/sms"}));
  EXPECT_FALSE(plan.next_due);
  auto later = Evaluate(p, i, s, t0 + 2h);
  EXPECT_EQ(KeysOf(later), KeysOf(plan));
  EXPECT_FALSE(later.next_due);

  // An ack at the very instant step 1 is due wins over it.
  i.acknowledged_at = t0 + 5min;
  EXPECT_EQ(Evaluate(p, i, s, t0 + 2h).due.size(), 2u);
  // An ack before anything was due stops everything.
  i.acknowledged_at = t0;
  EXPECT_TRUE(Evaluate(p, i, s, t0 + 2h).due.empty());
}

TEST(EscalationTest, ResolveStopsLaterSteps) {
  const auto p = Policy();
  const auto s = Schedules();
  auto i = Incident();
  i.resolved_at = t0 + 16min;
  auto plan = Evaluate(p, i, s, t0 + 2h);
  EXPECT_EQ(plan.due.size(), 5u);  // round 0, and round 1's step 0 at t0+15m
  EXPECT_FALSE(plan.next_due);
  // The earlier of ack and resolve counts.
  i.acknowledged_at = t0 + 6min;
  EXPECT_EQ(Evaluate(p, i, s, t0 + 2h).due.size(), 3u);
}

TEST(EscalationTest, KeysAreStableAcrossRecomputation) {
  const auto p = Policy();
  const auto s = Schedules();
  const auto i = Incident();
  // A "restart" recomputes from (start, now): same keys, and the earlier list is a prefix
  // of the later one, so the outbox only ever sees new keys appended.
  const auto first = KeysOf(Evaluate(p, i, s, t0 + 7min));
  const auto again = KeysOf(Evaluate(p, i, s, t0 + 7min));
  const auto later = KeysOf(Evaluate(p, i, s, t0 + 31min));
  EXPECT_EQ(first, again);
  ASSERT_GT(later.size(), first.size());
  EXPECT_TRUE(std::equal(first.begin(), first.end(), later.begin()));
  EXPECT_EQ(IdempotencyKey("inc-7", 1, 0, "alice", "sms"), "inc-7/1/0/alice/sms");
}

TEST(EscalationTest, ScheduleTargetsResolveWhenTheStepFires) {
  EscalationPolicy p;
  p.steps.push_back({{"schedule:primary"}, {"email"}, 5min});
  p.steps.push_back({{"schedule:primary", "dave"}, {"sms"}, 0min});
  const auto s = Schedules();
  IncidentState i;
  i.incident_id = "inc-8";
  i.started_at = T("2026-03-09T08:58:00-04:00");  // alice hands off to bob at 09:00
  auto before = Evaluate(p, i, s, i.started_at + 1min);
  EXPECT_EQ(KeysOf(before), (Keys{"inc-8/0/0/alice/email"}));
  auto after = Evaluate(p, i, s, i.started_at + 1h);
  // Step 0 still says alice (it fired before the hand-off); step 1 pages bob.
  EXPECT_EQ(KeysOf(after),
            (Keys{"inc-8/0/0/alice/email", "inc-8/0/1/bob/sms", "inc-8/0/1/dave/sms"}));
  EXPECT_FALSE(after.next_due);
}

TEST(EscalationTest, AContactReachedTwiceInOneStepIsNotifiedOnce) {
  EscalationPolicy p;
  p.steps.push_back({{"alice", "schedule:primary"}, {"sms"}, 0min});
  IncidentState i = Incident();
  auto plan = Evaluate(p, i, Schedules(), t0);
  EXPECT_EQ(KeysOf(plan), (Keys{"inc-7/0/0/alice/sms"}));
  EXPECT_EQ(plan.due[0].target, "alice");
}

TEST(EscalationTest, AScheduleWithNobodyOnCallIsReportedNotSent) {
  EscalationPolicy p;
  p.steps.push_back({{"schedule:primary", "schedule:missing", "dave"}, {"sms"}, 0min});
  IncidentState i;
  i.incident_id = "inc-9";
  i.started_at = T("2026-03-01T00:00:00Z");  // before the rotation's first hand-off
  auto plan = Evaluate(p, i, Schedules(), i.started_at);
  EXPECT_EQ(KeysOf(plan), (Keys{"inc-9/0/0/dave/sms"}));
  ASSERT_EQ(plan.unresolved.size(), 2u);
  EXPECT_EQ(plan.unresolved[0].target, "schedule:primary");
  EXPECT_EQ(plan.unresolved[1].target, "schedule:missing");
  EXPECT_EQ(plan.unresolved[0].due, i.started_at);
}

TEST(EscalationTest, KeyComponentsAreEscaped) {
  EXPECT_EQ(IdempotencyKey("a/b", 0, 1, "c%d", "e"), "a%2Fb/0/1/c%25d/e");
  EXPECT_NE(IdempotencyKey("i", 0, 0, "a/b", "c"), IdempotencyKey("i", 0, 0, "a", "b/c"));
  EXPECT_EQ(RoundAndStepOf(IdempotencyKey("a/b", 2, 7, "c", "d")), (std::pair<uint32_t, uint32_t>{2, 7}));
  EXPECT_FALSE(RoundAndStepOf("K7Q2MX/resolve/alice/sms"));
  EXPECT_FALSE(RoundAndStepOf("test/sms/1700000000000"));
  EXPECT_FALSE(RoundAndStepOf("i/99999999999/0/a/b"));
}

TEST(EscalationTest, StepDueTimes) {
  const auto p = Policy();
  EXPECT_EQ(StepDueAt(p, t0, 0, 0), t0);
  EXPECT_EQ(StepDueAt(p, t0, 0, 1), t0 + 5min);
  EXPECT_EQ(StepDueAt(p, t0, 2, 0), t0 + 30min);
  EXPECT_EQ(StepDueAt(p, t0, 2, 1), t0 + 35min);
}

}  // namespace
}  // namespace firewatch::alerting::schedule
