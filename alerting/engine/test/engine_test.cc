// The engine end to end, minus the collector: alerts in, incidents opened, pages written
// to the outbox and delivered through webhook channels to a local recording server.
// Time is a FakeClock (group timers, escalation waits, due times); the engine's own
// threads still run in real time, so the tests wait (at most a few seconds) for them.
#include "engine/engine.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "incident/incident_store.h"
#include "route/replicated_silences.h"
#include "route/silence.h"
#include "test/test_http_server.h"
#include "test_config.h"

namespace firewatch::alerting {
namespace {

using namespace std::chrono_literals;
using notify::testing::RecordedRequest;

// Polls `done` every 10 ms (real time) for up to 5 s: for the tests that run the engine's
// own threads (Threads::kRun), and for what other threads do.
bool PollFor(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

// The cluster's side of the engine, scripted (collector/cluster implements the real one).
struct FakeGate : PeerGate {
  mutable std::mutex mu;
  GateDecision decision = GateDecision::Send();
  std::vector<std::string> asked;
  GateDecision Decide(const std::string& key, int64_t, int64_t) override {
    std::lock_guard lock(mu);
    asked.push_back(key);
    return decision;
  }
  std::optional<std::string> PeerHandled(const std::string& key) override {
    std::lock_guard lock(mu);
    auto it = handled.find(key);
    return it == handled.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  std::map<std::string, std::string> handled;  // idempotency key -> peer (under mu)
  // Called on the alerting thread in the middle of a pass (a group fires with no incident
  // yet): tests hold the pass there.
  std::function<void()> during_pass;
  // The open incident a peer holds for any group that fires (group_key filled in).
  std::optional<PeerIncident> open_at_peer;
  std::optional<PeerIncident> PeerIncidentFor(const std::string& group_key) override {
    if (during_pass) during_pass();
    if (!open_at_peer) return std::nullopt;
    PeerIncident p = *open_at_peer;
    p.group_key = group_key;
    return p;
  }
  // What a peer holds resolved by hand (set before the alert fires; read on the alerting
  // thread afterwards).
  std::optional<std::pair<std::string, PeerIncident>> resolved_by_peer;
  std::optional<std::pair<std::string, PeerIncident>> PeerResolvedFor(const std::string&) override {
    return resolved_by_peer;
  }
  // "collector-0" comes before "collector-a" in this cluster's order.
  bool Precedes(const std::string& a, const std::string& b) const override { return a < b; }
  void Set(GateDecision d) {
    std::lock_guard lock(mu);
    decision = std::move(d);
  }
};

// The route settings (below `escalation_policy`) and retry policy of every test config.
const char* const kGroupingAndRetry = R"(  group_by: [source]
  group_wait: 0s
  group_interval: 1s
alerting:
  retry_base: 10ms
  retry_max_delay: 10ms
)";

class EngineTest : public notify::testing::HttpServerTest {
 protected:
  void SetUp() override {
    HttpServerTest::SetUp();
    std::string tmpl = (std::filesystem::temp_directory_path() / "engine_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (engine_) engine_->Stop();
    engine_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // alice is paged at once on /alice, bob 5 minutes later on /bob; groups by source.
  AlertingConfig Config() const {
    const std::string url = server_->base_url();
    const std::string yaml = R"(
contacts:
  - {name: alice, channels: )" +
                             alice_channels_ + R"(}
  - {name: bob, channels: [hook-bob]}
channels:
  - {name: hook-alice, type: webhook, url: ")" +
                             url + R"(/alice"}
  - {name: hook-bob, type: webhook, url: ")" +
                             url + R"(/bob"}
  - {name: hook-alice2, type: webhook, url: ")" +
                             url + R"(/alice2"}
escalation_policies:
  - name: default
    steps:
      - {targets: [alice], channels: )" +
                             alice_channels_ + R"(, wait: 5m}
      - {targets: [bob], channels: [hook-bob], wait: 5m}
route:
  escalation_policy: default
)" + kGroupingAndRetry;
    return testing::ParseAlertingConfig(yaml, "engine_test.yml");
  }

  // Most tests drive the engine by hand (Threads::kManual): WaitFor and LetItRun run its
  // passes and deliveries on this thread, on the fake clock, so "nothing was sent" is
  // checked after the passes that would have sent it, not after a sleep.
  void Start(PeerGate* gate = nullptr, StartupState startup = {},
             AlertingEngine::Threads threads = AlertingEngine::Threads::kManual) {
    threads_ = threads;
    engine_ = std::make_unique<AlertingEngine>(clock_, Config(), dir_, "collector-a");
    if (gate != nullptr) engine_->SetPeerGate(gate);
    Status st = engine_->Start(std::move(startup), threads);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  // One round: an alerting pass, then every channel sends what is due (manual mode).
  void Round() {
    engine_->Step();
    auto r = engine_->Deliver();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  }
  // Until `done`: up to 10 rounds by hand, or polling the engine's own threads.
  bool WaitFor(const std::function<bool()>& done) {
    if (threads_ == AlertingEngine::Threads::kRun) return PollFor(done);
    for (int i = 0; i < 10 && !done(); ++i) Round();
    return done();
  }
  // Whatever the engine would do now: a few rounds (an announcement enqueued by a
  // delivery goes out in the next one). Manual mode only: with the engine's own threads
  // "nothing happened" could only be a sleep, and no test asserts an absence that way.
  void LetItRun() {
    ASSERT_EQ(threads_, AlertingEngine::Threads::kManual) << "LetItRun needs Threads::kManual";
    for (int i = 0; i < 3; ++i) Round();
  }

  Alert SourceDown(AlertStatus status = AlertStatus::kFiring) const {
    Alert a;
    a.labels = {{"alertname", "SourceDown"}, {"source", "web-1"}, {"dc", "dc1"}};
    a.annotations = {{"summary", "web-1 stopped sending heartbeats"}};
    a.starts_at_ms = ToUnixMillis(clock_.WallNow());
    a.status = status;
    if (status == AlertStatus::kResolved) a.ends_at_ms = ToUnixMillis(clock_.WallNow());
    return a;
  }

  std::vector<RecordedRequest> To(const std::string& path) const {
    std::vector<RecordedRequest> out;
    for (auto& r : server_->requests()) {
      if (r.path == path) out.push_back(r);
    }
    return out;
  }

  // Fires SourceDown and waits for its incident and alice's first page.
  Incident FireAndWaitForFirstPage() {
    engine_->Submit(SourceDown());
    EXPECT_TRUE(WaitFor([&] { return To("/alice").size() == 1; })) << "alice was not paged";
    auto incidents = engine_->Incidents();
    EXPECT_EQ(incidents.size(), 1u);
    return incidents.empty() ? Incident{} : incidents.front();
  }

  static std::string Event(const RecordedRequest& r) {
    return nlohmann::json::parse(r.body).value("firewatchEvent", "");
  }
  // The restored state's truth: everything is source/check state the tracker restored.
  static StartupState Vouched(std::vector<Alert> firing = {}) {
    StartupState st;
    st.firing = std::move(firing);
    st.vouched_for = [](const Alert&) { return true; };
    return st;
  }

  // Makes the alerting thread's next pass that asks `gate` wait for `released`, and returns
  // once it does: a new group (web-2) is submitted, whose pass asks the gate.
  void HoldAPass(FakeGate& gate, std::shared_future<void> released) {
    auto entered = std::make_shared<std::promise<void>>();
    auto once = std::make_shared<std::once_flag>();
    gate.during_pass = [entered, once, released] {
      std::call_once(*once, [&] {
        entered->set_value();
        released.wait();
      });
    };
    Alert other = SourceDown();
    other.labels["source"] = "web-2";
    engine_->Submit(other);
    entered->get_future().wait();
  }

  // What AckNow/ResolveNow write first, as a kill right after that write leaves it: the
  // incident changed in incidents.db, and nothing else done (the engine is stopped).
  void WrittenBeforeTheKill(const Incident& inc, const std::function<void(Incident&)>& change) {
    IncidentStore store;
    ASSERT_TRUE(store.Open(dir_ + "/incidents.db").ok());
    Incident changed = inc;
    change(changed);
    ASSERT_TRUE(store.Put(changed).ok());
  }

  std::string alice_channels_ = "[hook-alice]";  // her failover order, and step 1's channels
  std::string dir_;
  AlertingEngine::Threads threads_ = AlertingEngine::Threads::kManual;
  FakeClock clock_;
  std::unique_ptr<AlertingEngine> engine_;
};

TEST_F(EngineTest, FiringAlertOpensIncidentAndSendsStepZeroThroughTheOutbox) {
  Start();
  const Incident inc = FireAndWaitForFirstPage();
  EXPECT_EQ(inc.state, IncidentState::kOpen);
  EXPECT_EQ(inc.policy, "default");

  const auto body = nlohmann::json::parse(To("/alice")[0].body);
  EXPECT_EQ(body["status"], "firing");
  EXPECT_EQ(body["alerts"][0]["labels"]["source"], "web-1");
  EXPECT_EQ(body["groupLabels"]["source"], "web-1");

  const EngineStats stats = engine_->Stats();
  EXPECT_EQ(stats.notifications_enqueued, 1u);  // step 0 only: bob is not due yet
  EXPECT_TRUE(WaitFor([&] { return engine_->Stats().outbox_depth["sent"] == 1; }));
  EXPECT_EQ(engine_->Stats().notifications["hook-alice"][0], 1u);  // delivered
  EXPECT_EQ(engine_->Stats().incidents["open"], 1u);
  EXPECT_TRUE(To("/bob").empty());
}

// Submit(vector): a DOWN storm's alerts in one hand-over, taken whole and in order.
TEST_F(EngineTest, ABatchOfAlertsIsTakenWholeAndInOrder) {
  Start();
  FireAndWaitForFirstPage();
  Alert web2 = SourceDown();
  web2.labels["source"] = "web-2";
  // web-1 recovers and fails again (the last word is "firing"), web-2 fails.
  engine_->Submit(std::vector<Alert>{SourceDown(AlertStatus::kResolved), SourceDown(), web2});
  ASSERT_TRUE(WaitFor([&] { return engine_->Incidents().size() == 2; }));
  LetItRun();
  for (const auto& inc : engine_->Incidents()) {
    EXPECT_EQ(inc.state, IncidentState::kOpen) << inc.group_key;
  }
  engine_->Submit(std::vector<Alert>{});  // nothing: no wake-up, no change
  LetItRun();
  EXPECT_EQ(engine_->Incidents().size(), 2u);
}

TEST_F(EngineTest, UnacknowledgedIncidentEscalatesToTheNextStep) {
  Start();
  FireAndWaitForFirstPage();
  clock_.Advance(5min + 1s);
  EXPECT_TRUE(WaitFor([&] { return To("/bob").size() == 1; })) << "bob was not paged";
  EXPECT_EQ(To("/alice").size(), 1u);  // no repeat of step 0
}

TEST_F(EngineTest, AckStopsLaterSteps) {
  Start();
  const Incident inc = FireAndWaitForFirstPage();
  auto acked = engine_->Ack(inc.id, "alice");
  ASSERT_TRUE(acked.ok()) << acked.status().ToString();
  EXPECT_EQ(acked->state, IncidentState::kAcked);
  EXPECT_EQ(acked->acked_by, "alice");

  // alice, who was paged, hears who took it.
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 2; })) << "no ack announcement";
  EXPECT_EQ(Event(To("/alice")[1]), "acknowledge");
  clock_.Advance(5min + 1s);
  LetItRun();
  EXPECT_TRUE(To("/bob").empty()) << "an acked incident escalated";
  EXPECT_EQ(To("/alice").size(), 2u);
  EXPECT_EQ(engine_->Stats().incidents["acked"], 1u);
  EXPECT_EQ(engine_->Ack("NOSUCH", "alice").status().code(), Status::Code::kNotFound);
}

TEST_F(EngineTest, ResolveSendsResolveToStepZeroAndStopsEscalation) {
  Start();
  const Incident inc = FireAndWaitForFirstPage();
  engine_->Submit(SourceDown(AlertStatus::kResolved));
  clock_.Advance(2s);  // the group's next group_interval tick reports the resolve
  EXPECT_TRUE(WaitFor([&] { return To("/alice").size() == 2; })) << "no resolve notification";
  const auto body = nlohmann::json::parse(To("/alice")[1].body);
  EXPECT_EQ(body["status"], "resolved");
  EXPECT_EQ(engine_->Incidents().front().state, IncidentState::kResolved);
  EXPECT_EQ(engine_->Incidents().front().id, inc.id);

  clock_.Advance(5min);
  LetItRun();
  EXPECT_TRUE(To("/bob").empty()) << "a resolved incident escalated";
  EXPECT_EQ(To("/alice").size(), 2u);
}

// Issue #16: a recovery between step 1 and step 2 resolves the incident at once (not at
// the group's next group_interval, here 1 s, never reached: the clock does not move).
TEST_F(EngineTest, RecoveryBeforeTheNextStepResolvesAtOnceAndStepTwoNeverPages) {
  Start();
  const Incident inc = FireAndWaitForFirstPage();
  clock_.Advance(4min);
  engine_->Submit(SourceDown(AlertStatus::kResolved));
  ASSERT_TRUE(WaitFor([&] {
    return engine_->Incidents().front().state == IncidentState::kResolved;
  })) << "the incident waited for the group timer";
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 2; })) << "alice got no all-clear";
  EXPECT_EQ(Event(To("/alice")[1]), "resolve");
  clock_.Advance(2min);  // step 2 would be due now
  LetItRun();
  EXPECT_TRUE(To("/bob").empty()) << "bob was paged for a recovered host";
  EXPECT_EQ(engine_->Incidents().front().id, inc.id);
}

// Submitted together with the step's due time: the recovery is applied before the pass
// that would escalate, so the step never fires.
TEST_F(EngineTest, RecoveryAtTheStepsDueTimeDoesNotPageTheStep) {
  Start();
  FireAndWaitForFirstPage();
  engine_->Submit(SourceDown(AlertStatus::kResolved));
  clock_.Advance(5min);  // exactly step 2's due time
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 2; }));
  LetItRun();
  EXPECT_TRUE(To("/bob").empty());
}

TEST_F(EngineTest, EveryoneWhoWasPagedHearsTheAllClearAndNobodyElse) {
  Start();
  FireAndWaitForFirstPage();
  clock_.Advance(5min + 1s);
  ASSERT_TRUE(WaitFor([&] { return To("/bob").size() == 1; }));
  engine_->Submit(SourceDown(AlertStatus::kResolved));
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 2 && To("/bob").size() == 2; }));
  EXPECT_EQ(Event(To("/alice")[1]), "resolve");
  EXPECT_EQ(Event(To("/bob")[1]), "resolve");
  EXPECT_EQ(nlohmann::json::parse(To("/bob")[1].body)["status"], "resolved");
}

// Who may ack by SMS (collector/app/twilio_inbound.h): the contacts paged for the
// incident, by the same rule as who hears the all-clear.
TEST_F(EngineTest, PagedContactsAreThoseWhosePageWentOut) {
  Start();
  const Incident inc = FireAndWaitForFirstPage();
  ASSERT_TRUE(WaitFor([&] { return engine_->Stats().outbox_depth["sent"] == 1; }));
  auto paged = engine_->PagedContacts(inc.id);
  ASSERT_TRUE(paged.ok());
  EXPECT_EQ(*paged, std::vector<std::string>{"alice"});  // bob's step is not due yet
  std::string lower = inc.id;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(*engine_->PagedContacts(lower), std::vector<std::string>{"alice"});
  clock_.Advance(5min + 1s);
  ASSERT_TRUE(WaitFor([&] { return To("/bob").size() == 1; }));
  ASSERT_TRUE(WaitFor([&] { return engine_->PagedContacts(inc.id)->size() == 2; }));
  EXPECT_EQ(engine_->PagedContacts("NOSUCH").status().code(), Status::Code::kNotFound);
}

TEST_F(EngineTest, AckAfterTwoStepsIsAnnouncedToBoth) {
  Start();
  const Incident inc = FireAndWaitForFirstPage();
  clock_.Advance(5min + 1s);
  ASSERT_TRUE(WaitFor([&] { return To("/bob").size() == 1; }));
  ASSERT_TRUE(engine_->Ack(inc.id, "bob").ok());
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 2 && To("/bob").size() == 2; }));
  EXPECT_EQ(Event(To("/alice")[1]), "acknowledge");
  EXPECT_EQ(Event(To("/bob")[1]), "acknowledge");
}

// An ack that races the step's due time: whichever the loop sees first, the step that is
// due at or after the ack never pages.
// Issue #12's lost update: an escalation pass holds copies of incidents it is about to
// write; an ack applied by an API thread in the middle of it was overwritten on disk by
// the stale "open" copy (escalation resumed after a restart). Acks from other threads
// are now applied on the alerting thread, between passes: held in a pass, an ack waits.
TEST_F(EngineTest, AnAckRacingAnAlertingPassWaitsForItAndIsWhatIsOnDisk) {
  FakeGate gate;
  Start(&gate, {}, AlertingEngine::Threads::kRun);  // the alerting thread is the point here
  const Incident inc = FireAndWaitForFirstPage();
  std::promise<void> release;
  HoldAPass(gate, release.get_future().share());
  auto ack = std::async(std::launch::async, [&] { return engine_->Ack(inc.id, "alice"); });
  // With the pass held the ack cannot be applied (before the fix it was, at once).
  EXPECT_EQ(ack.wait_for(300ms), std::future_status::timeout) << "acked in the middle of a pass";
  release.set_value();
  auto r = ack.get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, IncidentState::kAcked);
  engine_->Stop();
  engine_.reset();
  Start();  // restores incidents.db
  for (const auto& i : engine_->Incidents()) {
    if (i.id == inc.id) {
      EXPECT_EQ(i.state, IncidentState::kAcked) << "the ack was lost on disk";
    }
  }
}

TEST_F(EngineTest, AckRacingAStepStopsIt) {
  Start();
  const Incident inc = FireAndWaitForFirstPage();
  clock_.Advance(5min);
  ASSERT_TRUE(engine_->Ack(inc.id, "alice").ok());
  LetItRun();
  EXPECT_TRUE(To("/bob").empty());
}

TEST_F(EngineTest, FlapWithinTheReopenWindowReopensWithoutRepagingStepOne) {
  Start();
  const Incident inc = FireAndWaitForFirstPage();
  engine_->Submit(SourceDown(AlertStatus::kResolved));
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 2; }));
  clock_.Advance(30s);  // within the default 2m window
  engine_->Submit(SourceDown());
  ASSERT_TRUE(WaitFor([&] { return engine_->Incidents().front().state == IncidentState::kOpen; }));
  EXPECT_EQ(engine_->Incidents().size(), 1u);
  EXPECT_EQ(engine_->Incidents().front().id, inc.id);
  EXPECT_EQ(engine_->Incidents().front().reopened, 1u);
  LetItRun();
  EXPECT_EQ(To("/alice").size(), 2u) << "step 1 paged again for a flap";
  // Escalation resumes: still failing at step 2's time, bob is paged.
  clock_.Advance(5min);
  EXPECT_TRUE(WaitFor([&] { return To("/bob").size() == 1; }));
  // Recovers again: a second all-clear to both (its own key).
  engine_->Submit(SourceDown(AlertStatus::kResolved));
  EXPECT_TRUE(WaitFor([&] { return To("/alice").size() == 3 && To("/bob").size() == 2; }));
}

TEST_F(EngineTest, AFailureAfterTheReopenWindowIsANewIncidentThatPages) {
  Start();
  const Incident first = FireAndWaitForFirstPage();
  engine_->Submit(SourceDown(AlertStatus::kResolved));
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 2; }));
  clock_.Advance(3min);
  engine_->Submit(SourceDown());
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 3; })) << "the new outage paged nobody";
  EXPECT_EQ(Event(To("/alice")[2]), "trigger");
  ASSERT_EQ(engine_->Incidents().size(), 2u);
  EXPECT_NE(engine_->Incidents().front().id, first.id);
}

// Issue #9: recovered while the collector was stopped (or the group timer had not run):
// resolved at start, the all-clear goes out, no later step pages, and the next outage is
// a new incident that pages.
TEST_F(EngineTest, RestoredIncidentWhoseAlertRecoveredIsResolvedAtStart) {
  Start();
  const Incident inc = FireAndWaitForFirstPage();
  engine_->Stop();
  engine_.reset();
  Start(nullptr, Vouched());  // the tracker says web-1 is UP
  ASSERT_EQ(engine_->Incidents().front().state, IncidentState::kResolved);
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 2; })) << "no all-clear after restart";
  EXPECT_EQ(Event(To("/alice")[1]), "resolve");
  clock_.Advance(5min + 1s);
  LetItRun();
  EXPECT_TRUE(To("/bob").empty()) << "the backup was paged for a healthy host";
  clock_.Advance(5min);  // past the reopen window
  engine_->Submit(SourceDown());
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 3; })) << "the next outage paged nobody";
  EXPECT_NE(engine_->Incidents().front().id, inc.id);
}

TEST_F(EngineTest, RestoredIncidentStillFiringKeepsEscalatingAfterTheSettleTime) {
  Start();
  FireAndWaitForFirstPage();
  engine_->Stop();
  engine_.reset();
  StartupState st = Vouched({SourceDown()});
  st.settle = 30s;
  clock_.Advance(5min + 1s);  // step 2 became due while the collector was stopped
  Start(nullptr, std::move(st));
  LetItRun();
  EXPECT_TRUE(To("/bob").empty()) << "escalated before a live host could be heard again";
  clock_.Advance(31s);
  EXPECT_TRUE(WaitFor([&] { return To("/bob").size() == 1; }));
  EXPECT_EQ(To("/alice").size(), 1u);  // step 1 not repeated (same keys)
}

TEST_F(EngineTest, UnvouchedRestoredAlertsAreHeldThenResolvedUnlessConfirmed) {
  Start();
  FireAndWaitForFirstPage();
  engine_->Stop();
  engine_.reset();
  StartupState st;  // nobody vouches: e.g. a cluster alert only live peers can confirm
  st.confirm_within = 60s;
  clock_.Advance(5min + 1s);
  Start(nullptr, std::move(st));
  LetItRun();
  EXPECT_TRUE(To("/bob").empty()) << "escalated an unconfirmed alert";
  EXPECT_EQ(engine_->Incidents().front().state, IncidentState::kOpen);
  clock_.Advance(61s);
  ASSERT_TRUE(
      WaitFor([&] { return engine_->Incidents().front().state == IncidentState::kResolved; }));
  EXPECT_TRUE(To("/bob").empty());
}

TEST_F(EngineTest, UnvouchedRestoredAlertConfirmedAgainEscalates) {
  Start();
  FireAndWaitForFirstPage();
  engine_->Stop();
  engine_.reset();
  clock_.Advance(5min + 1s);
  Start(nullptr, StartupState{});
  engine_->Submit(SourceDown());  // confirmed by the live source of truth
  EXPECT_TRUE(WaitFor([&] { return To("/bob").size() == 1; }));
}

// A recovery submitted right before a clean stop is applied on the way out: its incident
// is resolved on disk and the all-clear is in the outbox for the next start.
TEST_F(EngineTest, StopAppliesTheRecoveriesAlreadySubmitted) {
  Start();
  FireAndWaitForFirstPage();
  engine_->Submit(SourceDown(AlertStatus::kResolved));
  engine_->Stop();
  engine_.reset();
  Start(nullptr, Vouched());
  EXPECT_EQ(engine_->Incidents().front().state, IncidentState::kResolved);
  EXPECT_TRUE(WaitFor([&] { return To("/alice").size() == 2; }));
}

// Issue #9: a step that pages alice on two channels sends one copy per channel; when one
// fails for good it does not fail over to the other (she got that one already).
TEST_F(EngineTest, FailoverNeverRepeatsAChannelTheSameStepAlreadyUses) {
  alice_channels_ = "[hook-alice, hook-alice2]";
  server_->Respond(400, "{}");  // every send fails for good
  Start();
  engine_->Submit(SourceDown());
  ASSERT_TRUE(WaitFor([&] { return engine_->Stats().outbox_depth["failed"] == 2; }))
      << "both pages should fail (each on its own channel only)";
  EXPECT_EQ(To("/alice").size(), 1u) << "the failed /alice2 page failed over to /alice";
  EXPECT_EQ(To("/alice2").size(), 1u) << "the failed /alice page failed over to /alice2";
}

TEST_F(EngineTest, RestartDoesNotPageTwice) {
  Start();
  FireAndWaitForFirstPage();
  engine_->Stop();
  engine_.reset();
  Start();  // same data_dir: incidents and outbox restored; step 0 recomputed by key
  LetItRun();
  EXPECT_EQ(To("/alice").size(), 1u);
  EXPECT_EQ(engine_->Incidents().size(), 1u);
}

// A kill between a late page's delivery and the enqueue of its follow-up (SendOn) left the
// follow-up unwritten: the restart sends it (and a restart where it was written sends
// nothing twice).
TEST_F(EngineTest, AFollowUpLostToAKillAfterDeliveryIsSentAfterTheRestart) {
  Start();
  FireAndWaitForFirstPage();
  engine_->Submit(SourceDown(AlertStatus::kResolved));
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 2; }));
  engine_->Stop();
  engine_.reset();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/outbox.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "DELETE FROM attempts WHERE key IN (SELECT key FROM notifications "
                           "WHERE kind = 'resolve'); DELETE FROM notifications WHERE kind = "
                           "'resolve'",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    EXPECT_EQ(sqlite3_changes(db), 1) << "one follow-up row to lose";
    sqlite3_close(db);
  }
  Start();
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 3; }))
      << "the all-clear lost to the kill was never sent";
  EXPECT_EQ(Event(To("/alice")[2]), "resolve");
  engine_->Stop();
  engine_.reset();
  Start();  // nothing lost this time: nothing sent again
  LetItRun();
  EXPECT_EQ(To("/alice").size(), 3u);
}

// ---- cluster hooks (docs/cluster.md)

// The owner of the page died (its claim is taken over) after the host recovered: the
// collector taking over never pages the later step.
TEST_F(EngineTest, TakeoverAfterTheOwnerDiedNeverPagesARecoveredIncident) {
  FakeGate gate;
  Start(&gate);
  FireAndWaitForFirstPage();
  gate.Set(
      GateDecision::Defer(ToUnixMillis(clock_.WallNow()) + 3'600'000, "collector-0 claimed it"));
  clock_.Advance(5min + 1s);  // bob's step is due, but a live peer claimed it
  LetItRun();
  ASSERT_TRUE(To("/bob").empty());
  engine_->Submit(SourceDown(AlertStatus::kResolved));  // the merged verdict: recovered
  ASSERT_TRUE(
      WaitFor([&] { return engine_->Incidents().front().state == IncidentState::kResolved; }));
  gate.Set(GateDecision::Send());  // the owner died: its claims are taken over
  clock_.Advance(2h);
  LetItRun();
  EXPECT_TRUE(To("/bob").empty()) << "took over a page for a recovered incident";
}

TEST_F(EngineTest, APageAPeerDeliveredIsNotSentHere) {
  FakeGate gate;
  gate.Set(GateDecision::Skip("delivered by collector b"));
  Start(&gate);
  engine_->Submit(SourceDown());
  ASSERT_TRUE(WaitFor([&] { return engine_->Stats().outbox_depth["cancelled"] == 1; }));
  EXPECT_TRUE(To("/alice").empty());
  std::lock_guard lock(gate.mu);
  ASSERT_FALSE(gate.asked.empty());
  EXPECT_EQ(gate.asked.front().rfind(engine_->Incidents().front().id + "/0/0/alice/", 0), 0u);
}

// The owner paged alice and died before our copy of her page was gated (it waits its
// rank's turn); the host then recovered. Alice still hears the all-clear, from us.
TEST_F(EngineTest, AContactAPeerPagedHearsTheAllClearFromHere) {
  FakeGate gate;
  gate.Set(GateDecision::Defer(ToUnixMillis(clock_.WallNow()) + 3'600'000, "rank 1: waiting"));
  Start(&gate);
  engine_->Submit(SourceDown());
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(gate.mu);
    return !gate.asked.empty();
  }));
  {
    std::lock_guard lock(gate.mu);
    gate.handled[gate.asked.front()] = "collector-0";  // its log, synced before it died
    gate.decision = GateDecision::Send();
  }
  const std::string id = engine_->Incidents().front().id;
  ASSERT_EQ(engine_->Paged(id).size(), 1u) << "a page the peer delivered counts as paged here";
  engine_->Submit(SourceDown(AlertStatus::kResolved));
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 1; }))
      << "alice never heard the all-clear";
  EXPECT_EQ(Event(To("/alice")[0]), "resolve");
}

TEST_F(EngineTest, AdoptsThePeersIncidentIdAndAppliesItsAck) {
  FakeGate gate;
  Start(&gate);
  const Incident mine = FireAndWaitForFirstPage();
  EXPECT_EQ(engine_->incident_replica().Export().at(0).origin, "collector-a");
  // The first member opened the same group too; its pages were delivered there.
  gate.Set(GateDecision::Skip("delivered by collector-0"));
  PeerIncident theirs{
      "PEER23", mine.group_key, "collector-0", IncidentState::kOpen, mine.started_ms - 300, 0, ""};
  engine_->incident_replica().Merge("collector-0", {theirs});
  ASSERT_TRUE(WaitFor([&] { return engine_->Incidents().front().id == "PEER23"; }));
  EXPECT_EQ(engine_->Incidents().front().started_ms, mine.started_ms - 300);
  EXPECT_EQ(engine_->incident_replica().Export().at(0).origin, "collector-0");
  // A peer later in the order does not make us change again.
  engine_->incident_replica().Merge(
      "collector-z", {{"ZZZZZZ", mine.group_key, "collector-z", IncidentState::kOpen, 0, 0, ""}});
  LetItRun();
  EXPECT_EQ(engine_->Incidents().front().id, "PEER23");

  // Acked on the peer: escalation stops here too.
  theirs.state = IncidentState::kAcked;
  theirs.acked_by = "alice";
  theirs.acked_ms = mine.started_ms + 1000;
  engine_->incident_replica().Merge("collector-0", {theirs});
  ASSERT_TRUE(WaitFor([&] { return engine_->Incidents().front().state == IncidentState::kAcked; }));
  EXPECT_EQ(engine_->Incidents().front().acked_by, "alice (on collector-0)");
  gate.Set(GateDecision::Send());
  clock_.Advance(5min + 1s);
  LetItRun();
  EXPECT_TRUE(To("/bob").empty()) << "escalated although acked on a peer";
  size_t triggers = 0;  // (an ack announcement may follow: the peer's ack is news here)
  for (const auto& r : To("/alice")) triggers += Event(r) == "trigger";
  EXPECT_EQ(triggers, 1u) << "re-paged under the adopted id";
}

// A member later in the cluster order decided first (its page waits for its rank turn):
// this collector opens the group under that member's id, so the page it sends is the one
// the other then skips, not a second one.
TEST_F(EngineTest, AGroupAPeerLaterInTheOrderOpenedFirstOpensUnderItsId) {
  FakeGate gate;
  gate.open_at_peer = PeerIncident{
      "LATER2", "", "collector-z", IncidentState::kOpen, ToUnixMillis(clock_.WallNow()) - 3000,
      0,        ""};
  Start(&gate);
  const Incident inc = FireAndWaitForFirstPage();
  EXPECT_EQ(inc.id, "LATER2");
  EXPECT_EQ(inc.started_ms, gate.open_at_peer->started_ms);
  EXPECT_EQ(engine_->incident_replica().Export().at(0).origin, "collector-z");
  std::lock_guard lock(gate.mu);
  ASSERT_FALSE(gate.asked.empty());
  EXPECT_EQ(gate.asked.front().rfind("LATER2/", 0), 0u) << gate.asked.front();
}

// ---- resolved by hand (docs/routing.md, "Resolved by hand") ----

TEST_F(EngineTest, ResolveByHandStopsEscalationAndTellsEveryonePaged) {
  Start();
  const Incident inc = FireAndWaitForFirstPage();
  auto resolved = engine_->Resolve(inc.id, "carol", "disk replaced");
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->state, IncidentState::kResolved);
  EXPECT_EQ(resolved->resolved_by, "carol");
  EXPECT_EQ(resolved->resolve_comment, "disk replaced");
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 2; })) << "alice got no RESOLVED";
  EXPECT_EQ(Event(To("/alice")[1]), "resolve");
  EXPECT_EQ(nlohmann::json::parse(To("/alice")[1].body)["status"], "resolved");
  clock_.Advance(5min + 1s);  // bob's step would be due now
  LetItRun();
  EXPECT_TRUE(To("/bob").empty()) << "a resolved incident escalated";
  EXPECT_EQ(To("/alice").size(), 2u);
  EXPECT_EQ(engine_->Stats().incidents["resolved"], 1u);
  // Again, or by someone else: nothing changes, nobody hears anything twice.
  auto again = engine_->Resolve(inc.id, "dave");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->resolved_by, "carol");
  EXPECT_EQ(engine_->Resolve("NOSUCH", "carol").status().code(), Status::Code::kNotFound);
  LetItRun();
  EXPECT_EQ(To("/alice").size(), 2u);
}

TEST_F(EngineTest, ResolvingAnAckedIncidentTellsEveryonePaged) {
  Start();
  const Incident inc = FireAndWaitForFirstPage();
  ASSERT_TRUE(engine_->Ack(inc.id, "alice").ok());
  ASSERT_TRUE(engine_->Resolve(inc.id, "alice").ok());
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 3; }));
  std::multiset<std::string> events;
  for (const auto& r : To("/alice")) events.insert(Event(r));
  EXPECT_EQ(events, (std::multiset<std::string>{"trigger", "acknowledge", "resolve"}));
}

// The source is still DOWN when the operator resolves: no new incident at once (the
// operator said it is handled), none while it stays down; its recovery is quiet; the
// next failure is a new incident that pages from step 1.
TEST_F(EngineTest, StillFiringAfterAResolveByHandOpensNothingUntilItFailsAgain) {
  Start();
  const Incident inc = FireAndWaitForFirstPage();
  ASSERT_TRUE(engine_->Resolve(inc.id, "carol").ok());
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 2; }));
  for (int i = 0; i < 5; ++i) {  // group_interval is 1 s: the group is looked at each time
    clock_.Advance(1min);
    LetItRun();
  }
  EXPECT_EQ(engine_->Incidents().size(), 1u);
  EXPECT_EQ(To("/alice").size(), 2u);
  EXPECT_TRUE(To("/bob").empty());

  // It recovers (nothing to say) and fails again before the group's next tick: the clock
  // does not move, so only a group that started over pages at once.
  engine_->Submit(SourceDown(AlertStatus::kResolved));
  LetItRun();
  EXPECT_EQ(To("/alice").size(), 2u);
  engine_->Submit(SourceDown());  // and fails again, within the reopen window (2m)
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 3; })) << "the new failure paged nobody";
  EXPECT_EQ(Event(To("/alice")[2]), "trigger");
  const Incident next = engine_->Incidents().front();
  EXPECT_NE(next.id, inc.id) << "a hand-resolved incident was reopened";
  EXPECT_EQ(next.state, IncidentState::kOpen);
  EXPECT_EQ(next.reopened, 0u);
}

TEST_F(EngineTest, StillFiringARepeatIntervalAfterAResolveByHandOpensANewIncident) {
  Start();
  const Incident inc = FireAndWaitForFirstPage();
  ASSERT_TRUE(engine_->Resolve(inc.id, "carol").ok());
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 2; }));
  clock_.Advance(3h + 59min);  // repeat_interval is 4h (the default)
  LetItRun();
  EXPECT_EQ(engine_->Incidents().size(), 1u);
  clock_.Advance(2min);
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 3; })) << "no reminder after 4h";
  EXPECT_EQ(Event(To("/alice")[2]), "trigger");
  EXPECT_NE(engine_->Incidents().front().id, inc.id);
  EXPECT_EQ(engine_->Incidents().front().state, IncidentState::kOpen);
}

TEST_F(EngineTest, AnotherAlertOfTheGroupAfterAResolveByHandOpensANewIncident) {
  Start();
  const Incident inc = FireAndWaitForFirstPage();
  ASSERT_TRUE(engine_->Resolve(inc.id, "carol").ok());
  LetItRun();
  Alert check = SourceDown();
  check.labels["alertname"] = "CheckFailing";  // the same group (group_by: [source])
  check.labels["check"] = "disk";
  engine_->Submit(check);
  clock_.Advance(2s);
  ASSERT_TRUE(WaitFor([&] { return engine_->Incidents().size() == 2; }));
  EXPECT_EQ(engine_->Incidents().front().state, IncidentState::kOpen);
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 3; }));
}

TEST_F(EngineTest, AResolveByHandIsPersistedAndItsSetAsideSurvivesARestart) {
  Start(nullptr, {}, AlertingEngine::Threads::kRun);  // from another thread: handed off
  const Incident inc = FireAndWaitForFirstPage();
  ASSERT_TRUE(engine_->Resolve(inc.id, "carol", "known, CHG-7").ok());
  ASSERT_TRUE(PollFor([&] { return To("/alice").size() == 2; }));
  engine_->Stop();
  engine_.reset();
  Start(nullptr, Vouched({SourceDown()}));  // web-1 is still DOWN after the restart
  ASSERT_EQ(engine_->Incidents().size(), 1u);
  EXPECT_EQ(engine_->Incidents().front().resolved_by, "carol");
  EXPECT_EQ(engine_->Incidents().front().resolve_comment, "known, CHG-7");
  clock_.Advance(1min);
  LetItRun();
  EXPECT_EQ(engine_->Incidents().size(), 1u) << "the restart re-paged a hand-resolved alert";
  EXPECT_EQ(To("/alice").size(), 2u);
}

TEST_F(EngineTest, AResolveByHandReplicatesToPeers) {
  FakeGate gate;
  Start(&gate);
  const Incident inc = FireAndWaitForFirstPage();
  EXPECT_TRUE(engine_->incident_replica().Export().at(0).resolved_by.empty());
  PeerIncident theirs{
      inc.id, inc.group_key, "collector-a", IncidentState::kResolved, inc.started_ms, 0, ""};
  theirs.resolved_ms = inc.started_ms + 1000;
  theirs.resolved_by = "dave";
  theirs.resolve_comment = "rebooted";
  engine_->incident_replica().Merge("collector-b", {theirs});
  ASSERT_TRUE(
      WaitFor([&] { return engine_->Incidents().front().state == IncidentState::kResolved; }));
  EXPECT_EQ(engine_->Incidents().front().resolved_by, "dave (on collector-b)");
  EXPECT_EQ(engine_->Incidents().front().resolve_comment, "rebooted");
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 2; }));
  EXPECT_EQ(Event(To("/alice")[1]), "resolve");
  const PeerIncident out = engine_->incident_replica().Export().at(0);
  EXPECT_EQ(out.resolved_by, "dave (on collector-b)");
  EXPECT_EQ(out.resolve_comment, "rebooted");
  // A recovery on a peer is not a resolve here (this collector's alerts decide), and a
  // hand resolve of an older failure does not resolve a newer incident of the group.
  engine_->Submit(SourceDown(AlertStatus::kResolved));
  clock_.Advance(5min);
  LetItRun();
  engine_->Submit(SourceDown());
  ASSERT_TRUE(WaitFor([&] { return engine_->Incidents().size() == 2; }));
  const Incident next = engine_->Incidents().front();
  engine_->incident_replica().Merge("collector-b", {theirs});
  PeerIncident recovered{
      next.id, next.group_key, "collector-a", IncidentState::kResolved, next.started_ms, 0, ""};
  engine_->incident_replica().Merge("collector-b", {recovered});
  LetItRun();
  EXPECT_EQ(engine_->Incidents().front().state, IncidentState::kOpen);
}

// The peer's resolve arrives before its incident was adopted here (the operator was
// quicker than a sync): this collector takes the canonical id as it resolves, or the
// cluster would list the failure under two ids and never converge (resolved incidents are
// not adopted).
TEST_F(EngineTest, APeerResolveOfAnIncidentNotAdoptedYetAdoptsItsId) {
  FakeGate gate;
  Start(&gate);
  const Incident mine = FireAndWaitForFirstPage();
  PeerIncident theirs{
      "PEER23", mine.group_key, "collector-0", IncidentState::kResolved, mine.started_ms - 300, 0,
      ""};
  theirs.resolved_ms = mine.started_ms + 1000;
  theirs.resolved_by = "dave (on collector-b)";
  theirs.resolve_comment = "known";
  engine_->incident_replica().Merge("collector-0", {theirs});
  ASSERT_TRUE(
      WaitFor([&] { return engine_->Incidents().front().state == IncidentState::kResolved; }));
  ASSERT_EQ(engine_->Incidents().size(), 1u);
  const Incident now = engine_->Incidents().front();
  EXPECT_EQ(now.id, "PEER23");
  EXPECT_EQ(now.started_ms, mine.started_ms - 300);
  EXPECT_EQ(now.resolve_comment, "known");
  EXPECT_EQ(engine_->incident_replica().Export().at(0).origin, "collector-0");
  // A peer later in the order keeps our id: ours is the canonical one.
  engine_->Submit(SourceDown(AlertStatus::kResolved));
  clock_.Advance(5min);
  LetItRun();
  engine_->Submit(SourceDown());
  ASSERT_TRUE(WaitFor([&] { return engine_->Incidents().size() == 2; }));
  const Incident next = engine_->Incidents().front();
  PeerIncident later{
      "ZZZZZZ", next.group_key, "collector-z", IncidentState::kResolved, next.started_ms, 0, ""};
  later.resolved_ms = next.started_ms + 1000;
  later.resolved_by = "erin";
  engine_->incident_replica().Merge("collector-z", {later});
  ASSERT_TRUE(
      WaitFor([&] { return engine_->Incidents().front().state == IncidentState::kResolved; }));
  EXPECT_EQ(engine_->Incidents().front().id, next.id);
}

// The group fires here only after a peer's operator resolved the failure by hand (this
// collector had not opened its incident yet): it opens under the peer's id, resolved at
// once, and pages nobody; an alert that starts after the resolve is a new failure.
TEST_F(EngineTest, AGroupAPeerResolvedByHandBeforeItOpenedHereOpensResolved) {
  FakeGate gate;
  PeerIncident theirs{"PEER23", "", "collector-0", IncidentState::kResolved, 0, 0, ""};
  theirs.started_ms = ToUnixMillis(clock_.WallNow()) - 2000;
  theirs.resolved_ms = ToUnixMillis(clock_.WallNow()) + 1000;
  theirs.resolved_by = "dave";
  theirs.resolve_comment = "known";
  gate.resolved_by_peer.emplace("collector-b", theirs);
  Start(&gate);
  engine_->Submit(SourceDown());  // started now: before the peer's resolve
  ASSERT_TRUE(WaitFor([&] {
    return !engine_->Incidents().empty() &&
           engine_->Incidents().front().state == IncidentState::kResolved;
  }));
  const Incident inc = engine_->Incidents().front();
  EXPECT_EQ(inc.id, "PEER23");
  EXPECT_EQ(inc.resolved_by, "dave (on collector-b)");
  EXPECT_EQ(inc.resolve_comment, "known");
  clock_.Advance(5min + 1s);
  LetItRun();
  EXPECT_EQ(engine_->Incidents().size(), 1u) << "the failure opened again although set aside";
  EXPECT_TRUE(To("/alice").empty()) << "paged for a failure a peer's operator resolved";
  EXPECT_TRUE(To("/bob").empty());

  // Recovered, then failed again after the resolve: a new failure, paged.
  engine_->Submit(SourceDown(AlertStatus::kResolved));
  clock_.Advance(1min);
  LetItRun();
  engine_->Submit(SourceDown());
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 1; }))
      << "a failure after the peer's resolve was not paged";
  EXPECT_NE(engine_->Incidents().front().id, "PEER23");
}

TEST_F(EngineTest, ExportedLogHasClaimsAndDeliveries) {
  FakeGate gate;
  Start(&gate);
  const Incident inc = FireAndWaitForFirstPage();
  ASSERT_TRUE(WaitFor([&] { return engine_->Stats().outbox_depth["sent"] == 1; }));
  engine_->set_log_window(std::chrono::minutes(4));  // (the alerting thread never reads it)
  auto log = engine_->log_replica().Export();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].key.rfind(inc.id + "/0/0/alice/", 0), 0u);
  EXPECT_EQ(log[0].state, LogEntry::State::kDelivered);
}

TEST_F(EngineTest, PeerSilencesAreMergedAndPersisted) {
  Start();
  route::Silence s;
  s.id = "6a1f2c3e-0000-4000-8000-000000000001";
  auto m = route::ParseMatcher("source=web-1");  // NOLINT
  ASSERT_TRUE(m.ok());
  s.matchers = {*m};
  s.starts_at = clock_.WallNow();
  s.ends_at = clock_.WallNow() + 1h;
  s.created_by = "bob";
  s.comment = "maintenance";
  s.updated_at = clock_.WallNow();
  engine_->replicated_silences()->Merge("site-b", {{s}, 0, ""});
  ASSERT_EQ(engine_->Silences().size(), 1u);
  EXPECT_EQ(engine_->Stats().silences_refused["peer"], 0u);
  engine_->Stop();
  engine_.reset();
  Start();
  ASSERT_EQ(engine_->Silences().size(), 1u);
  EXPECT_EQ(engine_->Silences()[0].created_by, "bob");
  // Silenced: no page.
  engine_->Submit(SourceDown());
  LetItRun();
  EXPECT_TRUE(To("/alice").empty());
}

route::Silence PeerSilence(const FakeClock& clock, const std::string& id,
                           const std::string& matcher) {
  route::Silence s;
  s.id = id;
  auto m = route::ParseMatcher(matcher);
  EXPECT_TRUE(m.ok()) << matcher;
  if (m.ok()) s.matchers = {*m};
  s.starts_at = clock.WallNow();
  s.ends_at = clock.WallNow() + 1h;
  s.created_by = "bob";
  s.comment = "from a peer";
  s.updated_at = clock.WallNow();
  return s;
}

TEST_F(EngineTest, PeerSilencesAreValidatedAndRefusalsCounted) {
  Start();
  route::Silence good = PeerSilence(clock_, "good", "source=web-2");
  route::Silence broad = PeerSilence(clock_, "broad", R"(alertname=~".+")");
  route::Silence forced = PeerSilence(clock_, "forced", R"(source=~".+")");
  forced.force = true;
  engine_->replicated_silences()->Merge("site-b",
                                        {{broad, good, forced}, /*refused_on_parse=*/2, "x"});
  std::vector<std::string> ids;
  for (const auto& s : engine_->Silences()) ids.push_back(s.id);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"forced", "good"}));
  EXPECT_EQ(engine_->Stats().silences_refused["peer"], 3u);
  // Sent again (every sync does): counted again, still not taken.
  engine_->replicated_silences()->Merge("site-b", {{broad}, 0, ""});
  EXPECT_EQ(engine_->Stats().silences_refused["peer"], 4u);
  EXPECT_EQ(engine_->Silences().size(), 2u);
  EXPECT_EQ(engine_->Stats().silences["active"], 2u);
}

TEST_F(EngineTest, BadStoredSilencesAreSkippedAtStart) {
  // Rows as an older version, a bug or someone with the file could leave them.
  const std::string nested = std::string(24000, '(') + "a" + std::string(24000, ')');
  const route::Silence good = PeerSilence(clock_, "good", "source=web-1");
  // A stored row with matchers[0] replaced: {"name": name, "value": value, "isRegex": true}.
  auto with_regex = [&](const std::string& id, const std::string& name, const std::string& value) {
    auto j = nlohmann::json::parse(route::SilenceToJson(PeerSilence(clock_, id, "source=x")));
    j["matchers"][0] = {{"name", name}, {"value", value}, {"isRegex", true}, {"isEqual", true}};
    return j.dump();
  };
  const std::string broad_json = with_regex("broad", "alertname", ".*");
  const std::string nested_json = with_regex("nested", "source", nested);
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"good", route::SilenceToJson(good)},
      {"broad", broad_json},
      {"nested", nested_json},
      {"garbage", "{not json"},
      {"other-id", route::SilenceToJson(PeerSilence(clock_, "good2", "source=web-3"))},
  };
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/incidents.db").c_str(), &db), SQLITE_OK);
    // incidents.db as a release before schema versioning wrote it (adopted as schema 1).
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE incidents (id TEXT PRIMARY KEY, body TEXT NOT NULL);"
                           "CREATE TABLE silences (id TEXT PRIMARY KEY, body TEXT NOT NULL)",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    for (const auto& [id, body] : rows) {
      sqlite3_stmt* st = nullptr;
      sqlite3_prepare_v2(db, "INSERT INTO silences(id, body) VALUES(?1, ?2)", -1, &st, nullptr);
      sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 2, body.c_str(), -1, SQLITE_TRANSIENT);
      EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
      sqlite3_finalize(st);
    }
    sqlite3_close(db);
  }
  const auto t0 = std::chrono::steady_clock::now();
  Start();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  ASSERT_EQ(engine_->Silences().size(), 1u);
  EXPECT_EQ(engine_->Silences()[0].id, "good");
  EXPECT_EQ(engine_->Stats().silences_refused["store"], 4u);
  // Pages still go out for what no silence covers.
  Alert other = SourceDown();
  other.labels["source"] = "web-9";
  engine_->Submit(other);
  EXPECT_TRUE(WaitFor([&] { return To("/alice").size() == 1; })) << "nobody was paged";
}

TEST_F(EngineTest, SilenceWritesDoNotHoldUpPaging) {
  Start();
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0; i < 400 && !stop.load(); ++i) {
      route::Silence s =
          PeerSilence(clock_, "", "source=~\"never-" + std::to_string(i) + "(.*)*(.*)*x\"");
      s.id.clear();
      if (engine_->SetSilence(s).ok()) written.fetch_add(1);
    }
  });
  Alert a = SourceDown();
  engine_->Submit(a);
  const bool paged = WaitFor([&] { return To("/alice").size() == 1; });
  stop = true;
  writer.join();
  EXPECT_TRUE(paged) << "alice was not paged while silences were being written";
  EXPECT_GT(written.load(), 0);
}

// ---- configuration reload (engine/reload.h) ----

// What a reload gives the engine: Config()'s channels plus hook-new, and:
// `contacts` (YAML list items), and one policy `policy`, named by the route, whose one
// step pages `target` on `channel`. `drop` names a channel the file no longer has.
AlertingConfig ReloadedConfig(const std::string& url, const std::string& contacts,
                              const std::string& policy, const std::string& target,
                              const std::string& channel, const std::string& drop = "") {
  const std::string policies = "  - name: " + policy + "\n    steps:\n      - {targets: [" +
                               target + "], channels: [" + channel + "], wait: 5m}\n";
  const std::string& route_policy = policy;
  std::string channels;
  for (const char* name : {"hook-alice", "hook-bob", "hook-alice2", "hook-new"}) {
    if (name == drop) continue;
    const std::string path = std::string(name).substr(std::string("hook-").size());
    channels +=
        "  - {name: " + std::string(name) + ", type: webhook, url: \"" + url + "/" + path + "\"}\n";
  }
  const std::string yaml =
      "contacts:\n" + contacts + "channels:\n" + channels + "escalation_policies:\n" + policies +
      "route:\n  escalation_policy: " + route_policy + "\n" + kGroupingAndRetry;
  return testing::ParseAlertingConfig(yaml, "engine_reload.yml");
}

TEST_F(EngineTest, ReloadSendsNewIncidentsToTheNewReceiverAndKeepsOpenOnesGoing) {
  Start();
  const Incident first = FireAndWaitForFirstPage();
  // The file now pages alice on a new channel, bob not at all.
  auto lines = engine_->Reload(ReloadedConfig(server_->base_url(),
                                              "  - {name: alice, channels: [hook-new]}\n",
                                              "default", "alice", "hook-new"));
  ASSERT_TRUE(lines.ok()) << lines.status().ToString();
  EXPECT_NE(std::find(lines->begin(), lines->end(), "channels: +hook-new"), lines->end())
      << ::testing::PrintToString(*lines);
  // The open incident is regrouped under the same key: updated, not a second incident.
  Alert other = SourceDown();
  other.labels["source"] = "web-2";
  engine_->Submit(other);
  EXPECT_TRUE(WaitFor([&] { return To("/new").size() >= 2; }))
      << "the new receiver was not paged for both incidents";
  const auto incidents = engine_->Incidents();
  ASSERT_EQ(incidents.size(), 2u);
  EXPECT_TRUE(incidents[0].id == first.id || incidents[1].id == first.id);
  EXPECT_EQ(To("/alice").size(), 1u);  // the first page is not sent again
  clock_.Advance(5min + 1s);
  LetItRun();
  EXPECT_TRUE(To("/bob").empty());  // the new policy has no second step
}

TEST_F(EngineTest, IncidentWhosePolicyWasRemovedKeepsItsOldSteps) {
  Start();
  FireAndWaitForFirstPage();
  // "default" is gone from the file, and bob with it; new incidents go to "other".
  auto lines = engine_->Reload(ReloadedConfig(server_->base_url(),
                                              "  - {name: alice, channels: [hook-alice]}\n",
                                              "other", "alice", "hook-alice2"));
  ASSERT_TRUE(lines.ok()) << lines.status().ToString();
  EXPECT_NE(std::find_if(lines->begin(), lines->end(),
                         [](const std::string& l) {
                           return l.find("kept for incidents in flight") != std::string::npos &&
                                  l.find("policies default") != std::string::npos &&
                                  l.find("contacts bob") != std::string::npos;
                         }),
            lines->end())
      << ::testing::PrintToString(*lines);
  clock_.Advance(5min + 1s);
  EXPECT_TRUE(WaitFor([&] { return To("/bob").size() == 1; }))
      << "the in-flight incident lost its second step";
  EXPECT_TRUE(To("/alice2").empty());  // its own policy, not the new route's
}

TEST_F(EngineTest, PageQueuedForARemovedChannelFailsOverVisibly) {
  // alice fails over from hook-alice to hook-alice2; the step pages her on hook-alice.
  engine_ = std::make_unique<AlertingEngine>(
      clock_,
      ReloadedConfig(server_->base_url(),
                     "  - {name: alice, channels: [hook-alice, hook-alice2]}\n", "default", "alice",
                     "hook-alice"),
      dir_, "collector-a");
  ASSERT_TRUE(engine_->Start({}, AlertingEngine::Threads::kManual).ok());
  engine_->Submit(SourceDown());
  engine_->Step();  // written to the outbox for hook-alice, not sent yet
  ASSERT_EQ(engine_->Stats().outbox_depth["pending"], 1u);
  auto lines = engine_->Reload(ReloadedConfig(server_->base_url(),
                                              "  - {name: alice, channels: [hook-alice2]}\n"
                                              "  - {name: bob, channels: [hook-bob]}\n",
                                              "default", "bob", "hook-bob", "hook-alice"));
  ASSERT_TRUE(lines.ok()) << lines.status().ToString();
  EXPECT_TRUE(WaitFor([&] { return To("/alice2").size() == 1; }))
      << "the queued page was not failed over to the contact's next channel";
  EXPECT_TRUE(To("/alice").empty());
  // Counted as a permanent failure on the removed channel (firewatch_notifications_total).
  EXPECT_EQ(engine_->Stats().notifications["hook-alice"][2], 1u);
}

TEST_F(EngineTest, ReloadFromAnotherThreadIsAppliedByTheAlertingThread) {
  Start(nullptr, {}, AlertingEngine::Threads::kRun);
  auto lines = engine_->Reload(ReloadedConfig(server_->base_url(),
                                              "  - {name: alice, channels: [hook-new]}\n",
                                              "default", "alice", "hook-new"));
  ASSERT_TRUE(lines.ok()) << lines.status().ToString();
  engine_->Submit(SourceDown());
  EXPECT_TRUE(PollFor([&] { return To("/new").size() == 1; }));
  EXPECT_TRUE(To("/alice").empty());
  engine_->Stop();
  EXPECT_EQ(engine_->Reload(Config()).status().code(), Status::Code::kUnavailable);
}

// ---- kills between an ack or resolve and its cancel (AckNow, ResolveNow write first)

// The incident is on disk as resolved by hand, but the kill came before its pending pages
// were cancelled: the restart cancels them (bob is never paged) and tells alice.
TEST_F(EngineTest, AResolveByHandCutOffByAKillIsFinishedAtTheRestart) {
  Start();
  const Incident inc = FireAndWaitForFirstPage();
  engine_->Stop();
  engine_.reset();
  WrittenBeforeTheKill(inc, [&](Incident& i) {
    i.state = IncidentState::kResolved;
    i.resolved_ms = ToUnixMillis(clock_.WallNow());
    i.resolved_by = "carol";
  });
  clock_.Advance(2h);  // longer than the follow-up sweep looks back
  Start(nullptr, Vouched({SourceDown()}));  // web-1 still DOWN: only the hand resolved it
  ASSERT_TRUE(WaitFor([&] { return To("/alice").size() == 2; })) << "alice never heard RESOLVED";
  EXPECT_EQ(Event(To("/alice")[1]), "resolve");
  clock_.Advance(10min);
  LetItRun();
  EXPECT_TRUE(To("/bob").empty()) << "the next step paged for an incident resolved by hand";
  EXPECT_EQ(engine_->Incidents().front().state, IncidentState::kResolved);
}

// Alice's page is waiting for a retry (her endpoint failed) when the ack is written and
// the kill comes: the restart cancels it, so she is not paged for an incident she took.
TEST_F(EngineTest, APageWaitingForARetryWhenAnAckWasCutOffIsCancelledAtTheRestart) {
  server_->Respond(503, "{}");
  Start();
  engine_->Submit(SourceDown());
  ASSERT_TRUE(WaitFor([&] { return !To("/alice").empty(); })) << "no attempt at alice";
  ASSERT_EQ(engine_->Incidents().size(), 1u);
  const Incident inc = engine_->Incidents().front();
  engine_->Stop();
  engine_.reset();
  const size_t attempts = To("/alice").size();
  WrittenBeforeTheKill(inc, [&](Incident& i) {
    i.state = IncidentState::kAcked;
    i.acked_ms = ToUnixMillis(clock_.WallNow());
    i.acked_by = "alice";
  });
  server_->Respond(200, "{}");
  Start(nullptr, Vouched({SourceDown()}));
  clock_.Advance(10min);  // past every retry and bob's step
  LetItRun();
  EXPECT_EQ(To("/alice").size(), attempts) << "the retry paged alice after her ack";
  EXPECT_TRUE(To("/bob").empty()) << "the next step paged for an acked incident";
  EXPECT_EQ(engine_->Incidents().front().state, IncidentState::kAcked);
}

// A busy alerting thread: an ack waits at most the hand-off timeout, and one not taken
// by then is withdrawn (the operator is told nothing changed, and nothing did).
TEST_F(EngineTest, AnAckTheBusyAlertingThreadDidNotTakeInTimeIsWithdrawn) {
  FakeGate gate;
  threads_ = AlertingEngine::Threads::kRun;
  engine_ = std::make_unique<AlertingEngine>(clock_, Config(), dir_, "collector-a");
  engine_->SetPeerGate(&gate);
  engine_->SetHandOffTimeout(100ms);
  ASSERT_TRUE(engine_->Start({}, AlertingEngine::Threads::kRun).ok());
  const Incident inc = FireAndWaitForFirstPage();
  std::promise<void> release;
  HoldAPass(gate, release.get_future().share());
  auto r = engine_->Ack(inc.id, "alice");
  auto reload = engine_->Reload(Config());
  release.set_value();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(r.status().message().find("nothing changed"), std::string::npos)
      << r.status().message();
  ASSERT_FALSE(reload.ok());
  EXPECT_NE(reload.status().message().find("nothing was reloaded"), std::string::npos);
  // Withdrawn means gone from the queue: no pass can apply it later.
  for (const auto& i : engine_->Incidents()) {
    if (i.id == inc.id) {
      EXPECT_EQ(i.state, IncidentState::kOpen) << "a withdrawn ack applied";
    }
  }
  auto again = engine_->Ack(inc.id, "alice");  // the thread is free now: applied
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->state, IncidentState::kAcked);
}

}  // namespace
}  // namespace firewatch::alerting
