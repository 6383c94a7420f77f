// The /ping endpoints (checks/ping_api.h) through HttpServer::Dispatch: healthchecks.io's
// URL forms, the answers for hostile input, the per-check rate limit and /api/v1/checks.
#include "checks/ping_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tracker/tracker.h"

namespace firewatch::collector {
namespace {

using namespace std::chrono_literals;

constexpr const char* kUuid = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278";
constexpr const char* kKey = "abcdefghijklmnop1234";

class PingApiTest : public ::testing::Test {
 protected:
  PingApiTest()
      : tracker_(clock_, DetectionConfig{}),
        api_(clock_, tracker_,
             [this](std::vector<Transition> ts) {
               for (auto& t : ts) sunk_.push_back(std::move(t));
             }),
        server_(HttpServerOptions{}) {
    ChecksConfig c;
    c.ping_key = kKey;
    c.pings_per_minute = 5;
    CheckSpec s;
    s.name = "backup";
    s.uuid = kUuid;
    s.slug = "nightly";
    s.period = 1h;
    c.jobs.push_back(s);
    // The policy comes from the config reader in production; a fixed period here.
    struct Period final : DeadlinePolicy {
      std::optional<int64_t> NextDueMs(int64_t last) const override { return last + 3'600'000; }
      int64_t grace_ms() const override { return 60'000; }
      uint32_t period_ms() const override { return 3'600'000; }
    };
    c.jobs[0].policy = std::make_shared<Period>();
    tracker_.SetDeadlines(DeadlineSourcesOf(c));
    api_.SetPersist([this](const std::string& id) { persisted_.push_back(id); });
    api_.SetChecks(c);
    api_.Register(server_);
  }

  HttpResponse Send(const std::string& method, const std::string& path,
                    const std::string& query = "", std::string body = "") {
    HttpRequest req;
    req.method = method;
    req.path = path;
    req.query = query;
    req.body = std::move(body);
    req.remote = "192.0.2.7:5000";
    return server_.Dispatch(req);
  }
  std::string Base() { return std::string("/ping/") + kUuid; }

  FakeClock clock_;
  Tracker tracker_;
  std::vector<Transition> sunk_;
  std::vector<std::string> persisted_;  // ids the app would write at once
  PingApi api_;
  HttpServer server_;
};

// A ping that changes no state still moves the schedule: its row is written at once
// (Persist), so a kill -9 cannot restore the previous success. One with a transition
// goes to the sink, which writes its row with the transition.
TEST_F(PingApiTest, APingWithoutATransitionIsPersistedAtOnce) {
  ASSERT_EQ(Send("GET", Base()).status, 200);  // first ping: new source, a transition
  EXPECT_EQ(sunk_.size(), 1u);
  EXPECT_TRUE(persisted_.empty());
  clock_.Advance(10min);
  ASSERT_EQ(Send("GET", Base()).status, 200);  // still UP: no transition
  EXPECT_EQ(sunk_.size(), 1u);
  ASSERT_EQ(persisted_.size(), 1u);
  EXPECT_EQ(Send("GET", "/ping/00000000-0000-0000-0000-000000000000").status, 404);
  EXPECT_EQ(persisted_.size(), 1u) << "an unknown check persists nothing";
}

TEST_F(PingApiTest, HealthchecksUrlForms) {
  EXPECT_EQ(Send("GET", Base()).status, 200);
  EXPECT_EQ(Send("GET", Base()).body, "OK");
  ASSERT_EQ(sunk_.size(), 1u);
  EXPECT_TRUE(sunk_[0].new_source);
  EXPECT_EQ(sunk_[0].source_id, "check/backup");
  EXPECT_EQ(Send("HEAD", Base()).status, 200);
  EXPECT_EQ(Send("POST", Base() + "/start").status, 200);
  EXPECT_EQ(Send("GET", Base() + "/log").status, 200);
  clock_.Advance(1min);  // pings_per_minute is 5 here
  // Upper-case uuids are the same check.
  EXPECT_EQ(Send("GET", "/ping/5BF66975-D4C7-4BF5-BCC8-B8D8A82EA278/0").status, 200);
  EXPECT_EQ(Send("POST", Base() + "/fail", "", "exit 1: disk full").status, 200);
  ASSERT_EQ(sunk_.back().to, SourceState::kDown);
  EXPECT_TRUE(sunk_.back().reported);
  EXPECT_EQ(tracker_.Get("check/backup")->ping->last_message, "exit 1: disk full");
  // By slug under the ping key.
  clock_.Advance(1min);  // refill the rate limit
  EXPECT_EQ(Send("GET", std::string("/ping/") + kKey + "/nightly").status, 200);
  EXPECT_EQ(sunk_.back().to, SourceState::kUp);
  EXPECT_EQ(Send("GET", std::string("/ping/") + kKey + "/nightly/7").status, 200);
  EXPECT_EQ(sunk_.back().to, SourceState::kDown);
  EXPECT_EQ(tracker_.Get("check/backup")->ping->last_kind, "exit 7");
}

TEST_F(PingApiTest, HostileAndUnknownInput) {
  EXPECT_EQ(Send("GET", "/ping/6bf66975-d4c7-4bf5-bcc8-b8d8a82ea278").status, 404);
  EXPECT_EQ(Send("GET", "/ping/not-a-uuid").status, 404);
  EXPECT_EQ(Send("GET", Base() + "/bogus").status, 404);
  EXPECT_EQ(Send("GET", Base() + "/start/extra").status, 404);
  EXPECT_EQ(Send("GET", std::string("/ping/") + kKey + "X/nightly").status, 404);  // wrong key
  EXPECT_EQ(Send("GET", std::string("/ping/") + kKey + "/nosuch").status, 404);
  EXPECT_EQ(Send("GET", Base() + "/256").status, 400);
  EXPECT_EQ(Send("GET", Base() + "/99999999999999999999").status, 400);
  EXPECT_EQ(Send("GET", Base(), "rid=not-a-uuid").status, 400);
  EXPECT_EQ(Send("POST", Base(), "", std::string(kMaxPingBody + 1, 'x')).status, 413);
  EXPECT_EQ(Send("GET", "/ping").status, 404);
  EXPECT_EQ(Send("DELETE", Base()).status, 405);
  const auto st = api_.stats();
  EXPECT_EQ(st.unknown, 6u);
  EXPECT_EQ(st.bad_request, 3u);
  EXPECT_EQ(st.accepted, 0u);
  EXPECT_EQ(tracker_.size(), 0u);
}

TEST_F(PingApiTest, RunTimeByRidAndPerCheckRateLimit) {
  const std::string rid = "rid=11111111-2222-3333-4444-555555555555";
  EXPECT_EQ(Send("GET", Base() + "/start", rid).status, 200);
  clock_.Advance(42s);
  EXPECT_EQ(Send("GET", Base(), rid).status, 200);
  EXPECT_EQ(tracker_.Get("check/backup")->ping->last_duration_ms, 42'000);
  // pings_per_minute is 5 and the bucket refilled by 42 s * 5/min = 3.5 tokens.
  int ok = 0, limited = 0;
  for (int i = 0; i < 20; ++i) {
    const int status = Send("GET", Base()).status;
    ok += status == 200;
    limited += status == 429;
  }
  EXPECT_EQ(ok + limited, 20);
  EXPECT_GE(limited, 15);
  EXPECT_EQ(api_.stats().rate_limited, static_cast<uint64_t>(limited));
}

TEST_F(PingApiTest, ChecksEndpointNeverShowsTheUuid) {
  auto before = nlohmann::json::parse(Send("GET", "/api/v1/checks").body);
  EXPECT_EQ(before["checks"][0]["state"], "NEW");
  Send("POST", Base(), "", "all good");
  auto r = Send("GET", "/api/v1/checks");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find(kUuid), std::string::npos);
  EXPECT_EQ(r.body.find(kKey), std::string::npos);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["checks"][0]["name"], "backup");
  EXPECT_EQ(j["checks"][0]["state"], "UP");
  EXPECT_EQ(j["checks"][0]["ping"]["last_message"], "all good");
  EXPECT_EQ(j["pings"]["accepted"], 1);
}

}  // namespace
}  // namespace firewatch::collector
