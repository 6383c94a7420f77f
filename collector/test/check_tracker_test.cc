// Scheduled checks in the tracker (tracker/deadline.h) on a fake clock: new -> UP on the
// first ping, late -> grace -> DOWN, /fail DOWN at once (reported), started and not
// finished within grace -> DOWN, run time by rid, restarts, cron schedules across DST,
// and the `checks:` config section; the `check_alerts:` section (agents' checks).
#include <gtest/gtest.h>

#include "checks/check_alert_config.h"
#include "checks/check_config.h"
#include "firewatch/config/yaml_reader.h"
#include "tracker/tracker.h"

namespace firewatch::collector {
namespace {

using namespace std::chrono_literals;

constexpr const char* kUuid = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278";

// One config section read from `yaml` by `read` (errors name "test.yml").
template <typename T>
Result<T> ParseSection(const std::string& yaml, void (*read)(config::MapReader&, T&)) {
  auto doc = config::LoadString(yaml, "test.yml");
  if (!doc.ok()) return doc.status();
  config::Errors errors("test.yml");
  config::MapReader top(errors, *doc, "");
  T out;
  read(top, out);
  top.Finish();
  if (!errors.empty()) return errors.ToStatus();
  return out;
}

Result<ChecksConfig> ParseChecks(const std::string& yaml) {
  return ParseSection<ChecksConfig>(yaml, ReadChecksConfig);
}

class CheckTrackerTest : public ::testing::Test {
 protected:
  explicit CheckTrackerTest(WallTime start = WallTime(std::chrono::seconds(1'700'000'000)))
      : clock_(start), tracker_(clock_, DetectionConfig{}) {}

  void Configure(const std::string& job) {
    auto c = ParseChecks("checks:\n  jobs:\n    - {name: backup, uuid: " + std::string(kUuid) +
                         ", " + job + "}\n");
    ASSERT_TRUE(c.ok()) << c.status().message();
    checks_ = *c;
    tracker_.SetDeadlines(DeadlineSourcesOf(checks_));
  }
  Tracker::PingResult Ping(PingKind kind, std::string_view rid = "", int exit_status = -1,
                           std::string_view body = "") {
    PingEvent ev;
    ev.kind = kind;
    ev.rid = rid;
    ev.exit_status = exit_status;
    ev.body = body;
    return tracker_.Ping("check/backup", ev);
  }
  SourceState State() { return tracker_.Get("check/backup")->state; }

  FakeClock clock_;
  Tracker tracker_;
  ChecksConfig checks_;
};

TEST_F(CheckTrackerTest, NewUntilFirstPingThenLateGraceDownAndResolved) {
  Configure("period: 60s, grace: 30s");
  EXPECT_FALSE(tracker_.Ping("check/other", {}).known);
  clock_.Advance(1h);  // never pinged: "new", never DOWN
  EXPECT_TRUE(tracker_.Evaluate().empty());
  EXPECT_EQ(tracker_.size(), 0u);

  auto first = Ping(PingKind::kSuccess);
  ASSERT_TRUE(first.known);
  ASSERT_TRUE(first.transition);
  EXPECT_TRUE(first.transition->new_source);
  EXPECT_EQ(State(), SourceState::kUp);
  auto snap = tracker_.Get("check/backup");
  ASSERT_TRUE(snap->ping);
  EXPECT_EQ(snap->ping->next_due_ms, ToUnixMillis(clock_.WallNow()) + 60'000);
  EXPECT_EQ(snap->labels, (protocol::Labels{{"check", "backup"}}));

  clock_.Advance(59s);
  EXPECT_TRUE(tracker_.Evaluate().empty());
  clock_.Advance(1s);
  auto late = tracker_.Evaluate();
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].to, SourceState::kLate);
  clock_.Advance(29s);
  EXPECT_TRUE(tracker_.Evaluate().empty());
  clock_.Advance(1s);
  auto down = tracker_.Evaluate();
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].to, SourceState::kDown);
  EXPECT_FALSE(down[0].reported);
  EXPECT_NE(down[0].reason.find("no ping since"), std::string::npos) << down[0].reason;
  clock_.Advance(1h);
  EXPECT_TRUE(tracker_.Evaluate().empty());  // pages once

  auto up = Ping(PingKind::kSuccess);
  ASSERT_TRUE(up.transition);  // no hysteresis: one success resolves
  EXPECT_EQ(up.transition->from, SourceState::kDown);
  EXPECT_EQ(up.transition->to, SourceState::kUp);
}

TEST_F(CheckTrackerTest, FailAndNonzeroExitAreDownAtOnceAndReported) {
  Configure("period: 1h, grace: 10m");
  Ping(PingKind::kSuccess);
  auto fail = Ping(PingKind::kFail, "", 3, "disk full");
  ASSERT_TRUE(fail.transition);
  EXPECT_EQ(fail.transition->to, SourceState::kDown);
  EXPECT_TRUE(fail.transition->reported);
  EXPECT_NE(fail.transition->reason.find("exit status 3"), std::string::npos);
  EXPECT_NE(fail.transition->reason.find("disk full"), std::string::npos);
  auto snap = tracker_.Get("check/backup");
  EXPECT_TRUE(snap->ping->failure_reported);
  EXPECT_EQ(snap->ping->last_kind, "exit 3");
  EXPECT_EQ(snap->ping->last_message, "disk full");

  auto ok = Ping(PingKind::kSuccess, "", 0);
  ASSERT_TRUE(ok.transition);
  EXPECT_EQ(ok.transition->to, SourceState::kUp);
  EXPECT_FALSE(tracker_.Get("check/backup")->ping->failure_reported);
}

TEST_F(CheckTrackerTest, FailOnASilentDownSourceReportsItAgain) {
  Configure("period: 60s, grace: 30s");
  Ping(PingKind::kSuccess);
  clock_.Advance(90s);
  ASSERT_EQ(tracker_.Evaluate().size(), 1u);
  auto fail = Ping(PingKind::kFail);
  ASSERT_TRUE(fail.transition);  // DOWN -> DOWN, now reported (the cluster pages it)
  EXPECT_EQ(fail.transition->from, SourceState::kDown);
  EXPECT_EQ(fail.transition->to, SourceState::kDown);
  EXPECT_TRUE(fail.transition->reported);
}

TEST_F(CheckTrackerTest, AFailureReportExpiresIntoASilenceAfterAWholeSchedule) {
  Configure("period: 60s, grace: 30s");
  Ping(PingKind::kFail);
  clock_.Advance(89s);
  EXPECT_TRUE(tracker_.Evaluate().empty());
  clock_.Advance(1s);
  auto ts = tracker_.Evaluate();
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].from, SourceState::kDown);
  EXPECT_EQ(ts[0].to, SourceState::kDown);
  EXPECT_FALSE(ts[0].reported);
  EXPECT_TRUE(tracker_.Evaluate().empty());
}

TEST_F(CheckTrackerTest, StartedAndNotFinishedWithinGraceIsDown) {
  Configure("period: 1h, grace: 60s");
  Ping(PingKind::kSuccess);
  clock_.Advance(10s);
  EXPECT_FALSE(Ping(PingKind::kStart).transition);  // no state change
  EXPECT_GT(tracker_.Get("check/backup")->ping->running_since_ms, 0);
  clock_.Advance(59s);
  EXPECT_TRUE(tracker_.Evaluate().empty());
  clock_.Advance(1s);
  auto ts = tracker_.Evaluate();
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, SourceState::kDown);
  EXPECT_NE(ts[0].reason.find("not finished within 60.0s"), std::string::npos) << ts[0].reason;
  clock_.Advance(5s);
  auto done = Ping(PingKind::kSuccess);
  ASSERT_TRUE(done.transition);
  EXPECT_EQ(done.transition->to, SourceState::kUp);
  EXPECT_EQ(done.duration_ms, 65'000);
  EXPECT_EQ(tracker_.Get("check/backup")->ping->running_since_ms, -1);
}

TEST_F(CheckTrackerTest, RidPairsEachStartWithItsFinish) {
  Configure("period: 1h, grace: 10m");
  const std::string a = "11111111-1111-1111-1111-111111111111";
  const std::string b = "22222222-2222-2222-2222-222222222222";
  Ping(PingKind::kStart, a);
  clock_.Advance(10s);
  Ping(PingKind::kStart, b);
  clock_.Advance(5s);
  EXPECT_EQ(Ping(PingKind::kSuccess, a).duration_ms, 15'000);
  clock_.Advance(5s);
  EXPECT_EQ(Ping(PingKind::kFail, b).duration_ms, 10'000);
  EXPECT_EQ(Ping(PingKind::kSuccess, a).duration_ms, -1);  // already finished
  // A start is not a success: the schedule counts from the last finish.
  for (size_t i = 0; i < kMaxOpenRuns + 5; ++i) Ping(PingKind::kStart);  // bounded, no growth
  EXPECT_EQ(Ping(PingKind::kSuccess).duration_ms, 0);
}

TEST_F(CheckTrackerTest, LogKeepsTheMessageOnlyAndBodiesAreTruncated) {
  Configure("period: 60s, grace: 30s");
  EXPECT_TRUE(Ping(PingKind::kLog, "", -1, "hello").known);
  EXPECT_EQ(tracker_.size(), 0u);  // a log alone is no sign of life
  Ping(PingKind::kSuccess);
  clock_.Advance(61s);
  tracker_.Evaluate();  // LATE
  EXPECT_FALSE(Ping(PingKind::kLog, "", -1, "still copying").transition);
  EXPECT_EQ(State(), SourceState::kLate);
  const std::string big(kMaxPingMessage + 100, 'x');
  Ping(PingKind::kLog, "", -1, big);
  auto snap = tracker_.Get("check/backup");
  EXPECT_EQ(snap->ping->last_message.size(), kMaxPingMessage);
  EXPECT_TRUE(snap->ping->message_truncated);
  EXPECT_EQ(snap->ping->last_kind, "log");
}

TEST_F(CheckTrackerTest, HeartbeatFramesCannotSpeakForACheck) {
  Configure("period: 60s, grace: 30s");
  protocol::Heartbeat hb;
  hb.source_id = "check/backup";
  hb.key_id = "k";
  hb.boot_id = protocol::NewBootId();
  hb.sequence = 1;
  hb.timestamp_ms = ToUnixMillis(clock_.WallNow());
  hb.interval_ms = 5000;
  auto r = tracker_.Observe(hb, Transport::kUdp);
  ASSERT_TRUE(r.rejected);
  EXPECT_EQ(*r.rejected, protocol::RejectReason::kKeyNotAllowed);
  Ping(PingKind::kSuccess);
  hb.sequence = 2;
  r = tracker_.Observe(hb, Transport::kUdp);
  ASSERT_TRUE(r.rejected);
}

TEST_F(CheckTrackerTest, AfterARestartNothingIsDownBeforeOneGrace) {
  Configure("period: 60s, grace: 30s");
  Ping(PingKind::kSuccess);
  auto saved = tracker_.Snapshot();
  clock_.Advance(10min);  // the collector was stopped meanwhile
  Tracker restarted(clock_, DetectionConfig{});
  restarted.SetDeadlines(DeadlineSourcesOf(checks_));
  restarted.Restore(saved);
  clock_.Advance(29s);
  EXPECT_TRUE(restarted.Evaluate().empty());
  clock_.Advance(1s);
  auto ts = restarted.Evaluate();
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, SourceState::kDown);
  EXPECT_TRUE(restarted.Get("check/backup")->ping != nullptr);
}

// 2026-03-28 02:35 in Berlin (CET, UTC+1) = 01:35 UTC.
class CronCheckTest : public CheckTrackerTest {
 protected:
  CronCheckTest() : CheckTrackerTest(WallTime(std::chrono::seconds(1774661700))) {}
};

TEST_F(CronCheckTest, ADailyJobAtTwoThirtyOnTheSpringForwardDayIsDueAtThree) {
  Configure("schedule: '30 2 * * *', tz: Europe/Berlin, grace: 1h");
  Ping(PingKind::kSuccess);  // Saturday's run, 02:35 CET
  // Sunday 2026-03-29 has no 02:30 in Berlin: due at 03:00 CEST = 01:00 UTC.
  const int64_t due = 1774746000'000;
  EXPECT_EQ(tracker_.Get("check/backup")->ping->next_due_ms, due);
  clock_.Advance(std::chrono::milliseconds(due - ToUnixMillis(clock_.WallNow())) - 1s);
  EXPECT_TRUE(tracker_.Evaluate().empty());
  clock_.Advance(1s);
  auto late = tracker_.Evaluate();
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].to, SourceState::kLate);
  clock_.Advance(1h);
  auto down = tracker_.Evaluate();
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].to, SourceState::kDown);
}

TEST(ChecksConfigTest, ErrorsNameTheLineAndTheKey) {
  auto bad = [](const std::string& job) {
    auto c = ParseChecks("checks:\n  jobs:\n    - name: a\n      " + job + "\n");
    EXPECT_FALSE(c.ok()) << job;
    return c.ok() ? std::string() : c.status().message();
  };
  const std::string u = std::string("uuid: ") + kUuid;
  EXPECT_NE(bad(u + "\n      period: 1h\n      schedule: '@daily'").find("exactly one of"),
            std::string::npos);
  EXPECT_NE(bad(u).find("exactly one of"), std::string::npos);
  EXPECT_NE(bad("uuid: not-a-uuid\n      period: 1h").find("test.yml:3"), std::string::npos);
  EXPECT_NE(bad(u + "\n      schedule: '0 0 30 2 *'").find("day-of-month"), std::string::npos);
  EXPECT_NE(bad(u + "\n      schedule: '@daily'\n      tz: Mars/Olympus").find("unknown time zone"),
            std::string::npos);
  EXPECT_NE(bad(u + "\n      period: 1h\n      slug: a").find("needs checks.ping_key"),
            std::string::npos);
  EXPECT_NE(bad(u + "\n      period: 1h\n      tz: UTC").find("only applies"), std::string::npos);
  EXPECT_NE(bad(u + "\n      period: 1h\n      colour: red").find("colour"), std::string::npos);
  auto dup = ParseChecks(std::string("checks:\n  jobs:\n    - {name: a, uuid: ") + kUuid +
                         ", period: 1h}\n    - {name: a, uuid: " + kUuid + ", period: 1h}\n");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("used by another check"), std::string::npos);
  auto ok = ParseChecks(std::string("checks:\n  ping_key: abcdefghijklmnop1234\n  jobs:\n"
                                    "    - {name: a, uuid: ") +
                        "5BF66975-D4C7-4BF5-BCC8-B8D8A82EA278, slug: nightly, period: 1h}\n");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->jobs[0].uuid, kUuid);  // canonical lower case
}

Result<CheckAlertPolicy> ParseAlerts(const std::string& yaml) {
  return ParseSection<CheckAlertPolicy>(yaml, ReadCheckAlertsConfig);
}

TEST(CheckAlertConfigTest, AbsentIsTheDefaultAndRulesAreRead) {
  auto none = ParseAlerts("other: 1\n");
  EXPECT_FALSE(none.ok()) << "unknown top-level keys are still refused";
  auto empty = ParseAlerts("check_alerts:\n");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->history, 20u);
  EXPECT_TRUE(empty->rules.empty());
  auto p = ParseAlerts(
      "check_alerts:\n  history: 30\n  rules:\n"
      "    - {check: pg, labels: {dc: dc1}, consecutive: 3, flap_changes: 4, flap_window: 10m}\n"
      "    - {consecutive: 2}\n");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->history, 30u);
  ASSERT_EQ(p->rules.size(), 2u);
  EXPECT_EQ(p->rules[0].check, "pg");
  EXPECT_EQ(p->rules[0].labels, (protocol::Labels{{"dc", "dc1"}}));
  EXPECT_EQ(p->rules[0].consecutive, 3u);
  EXPECT_EQ(p->rules[0].flap_changes, 4u);
  EXPECT_EQ(p->rules[0].flap_window_ms, 600'000);
  EXPECT_EQ(p->For("pg", {{"dc", "dc1"}}).consecutive, 3u);
  EXPECT_EQ(p->For("pg", {{"dc", "dc2"}}).consecutive, 2u);
}

TEST(CheckAlertConfigTest, ErrorsNameTheLineAndTheKey) {
  auto bad = [](const std::string& rule) {
    auto c = ParseAlerts("check_alerts:\n  history: 5\n  rules:\n    - " + rule + "\n");
    EXPECT_FALSE(c.ok()) << rule;
    return c.ok() ? std::string() : c.status().message();
  };
  const std::string alone = bad("{flap_changes: 3}");
  EXPECT_NE(alone.find("test.yml:4"), std::string::npos) << alone;
  EXPECT_NE(alone.find("check_alerts.rules[0]: flap_changes and flap_window go together"),
            std::string::npos)
      << alone;
  EXPECT_NE(bad("{flap_changes: 6, flap_window: 1m}").find("more than check_alerts.history"),
            std::string::npos);
  EXPECT_NE(bad("{consecutive: 0}").find("consecutive"), std::string::npos);
  EXPECT_NE(bad("{colour: red}").find("colour"), std::string::npos);
  EXPECT_FALSE(ParseAlerts("check_alerts:\n  history: 101\n").ok());
  EXPECT_FALSE(ParseAlerts("check_alerts:\n  rules: {check: a}\n").ok());
}

}  // namespace
}  // namespace firewatch::collector
