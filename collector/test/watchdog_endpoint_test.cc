#include "watch/watchdog_endpoint.h"

#include <gtest/gtest.h>

#include "app/alerts.h"
#include "ingest/ingestor.h"
#include "metrics/collector_metrics.h"
#include "tracker/tracker.h"
#include "watch/own_source_feed.h"
#include "watch/own_sources.h"

namespace firewatch::collector {
namespace {

using namespace std::chrono_literals;

const char* kFiring =
    R"({"version":"4","status":"firing","receiver":"fw","alerts":[{"status":"firing","labels":{"alertname":"Watchdog"}}]})";
const char* kResolved =
    R"({"version":"4","status":"resolved","receiver":"fw","alerts":[{"status":"resolved","labels":{"alertname":"Watchdog"}}]})";
const std::string kToken = "s3cret-watchdog-token-0123456789";
const std::string kPrevious = "older-watchdog-token-0123456789";

crypto::Sha256Digest Hash(const std::string& s) {
  return crypto::Sha256::Hash({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

class WatchdogEndpointTest : public ::testing::Test {
 protected:
  WatchdogEndpointTest() {
    WatchdogConfig w;
    w.name = "main";
    w.token_file = "/unused";
    w.interval = 10s;
    w.labels = {{"kind", "watchdog"}, {"severity", "critical"}, {"watchdog", "main"}};
    config_.watchdogs.push_back(w);
    watch_metrics_ = std::make_unique<WatchMetrics>(metrics_.registry(), config_);
    endpoint_ = std::make_unique<WatchdogEndpoint>(
        clock_, config_, std::vector<WatchdogCredential>{{"main", {Hash(kToken), Hash(kPrevious)}}},
        feed_, *watch_metrics_);
  }

  HttpResponse Post(const std::string& name, const std::string& body,
                    const std::string& bearer = kToken, const std::string& query = "") {
    HttpRequest r;
    r.method = "POST";
    r.path = "/api/v1/watchdog/" + name;
    r.param = name;
    r.query = query;
    r.body = body;
    r.remote = "127.0.0.1:5000";
    if (!bearer.empty()) r.headers["authorization"] = "Bearer " + bearer;
    return endpoint_->Handle(r);
  }

  double Count(const std::string& watchdog, const std::string& result) {
    const std::string text = metrics_.Render(tracker_, nullptr);
    const std::string needle = "firewatch_watchdog_deliveries_total{result=\"" + result +
                               "\",watchdog=\"" + watchdog + "\"} ";
    auto pos = text.find(needle);
    if (pos == std::string::npos) return -1;
    return std::stod(text.substr(pos + needle.size()));
  }

  // Delivers every `every` for `n` times, evaluating the tracker every 250 ms between.
  void Run(int n, Duration every, bool deliver) {
    for (int i = 0; i < n; ++i) {
      if (deliver) {
        EXPECT_EQ(Post("main", kFiring).status, 200);
      }
      for (Duration d = 0s; d < every; d += 250ms) {
        clock_.Advance(250ms);
        for (auto& t : tracker_.Evaluate()) transitions_.push_back(std::move(t));
      }
    }
  }

  FakeClock clock_;
  Tracker tracker_{clock_, DetectionConfig{}};
  CollectorMetrics metrics_{"test", "0", false};
  std::vector<Transition> transitions_;
  OwnSourceFeed feed_{clock_, tracker_, [this](std::vector<Transition> ts) {
                        for (auto& t : ts) transitions_.push_back(std::move(t));
                      }};
  WatchConfig config_;
  std::unique_ptr<WatchMetrics> watch_metrics_;
  std::unique_ptr<WatchdogEndpoint> endpoint_;
};

TEST_F(WatchdogEndpointTest, AFiringDeliveryIsAHeartbeatOfTheWatchdogSource) {
  HttpResponse r = Post("main", kFiring);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"heartbeat\":true"), std::string::npos) << r.body;
  auto s = tracker_.Get("watchdog/main");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, SourceState::kUp);
  EXPECT_EQ(s->heartbeats, 1u);
  EXPECT_EQ(s->interval_ms, 10'000u);
  EXPECT_EQ(Count("main", "accepted"), 1);
  ASSERT_EQ(transitions_.size(), 1u);
  EXPECT_TRUE(transitions_[0].new_source);
}

TEST_F(WatchdogEndpointTest, TokenByBearerOrQueryElseRefused) {
  EXPECT_EQ(Post("main", kFiring, "", "token=" + kToken).status, 200);
  EXPECT_EQ(Post("main", kFiring, kPrevious).status, 200);  // a rotation in progress
  HttpResponse none = Post("main", kFiring, "");
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.Header("WWW-Authenticate"), nullptr);
  EXPECT_EQ(Post("main", kFiring, "wrong-token-wrong-token").status, 403);
  EXPECT_EQ(Post("main", kFiring, "", "token=nope").status, 403);
  EXPECT_EQ(Post("main", kFiring, kToken + "x").status, 403);
  EXPECT_EQ(Count("main", "no_token"), 1);
  EXPECT_EQ(Count("main", "bad_token"), 3);
  // Refused requests are no sign of life.
  EXPECT_EQ(tracker_.Get("watchdog/main")->heartbeats, 2u);
}

TEST_F(WatchdogEndpointTest, UnknownNameMalformedAndResolvedBodies) {
  HttpResponse unknown = Post("other", kFiring);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Count("-", "unknown_watchdog"), 1);
  HttpResponse bad = Post("main", R"({"version":"3"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("version"), std::string::npos) << bad.body;
  EXPECT_EQ(Count("main", "malformed"), 1);
  HttpResponse resolved = Post("main", kResolved);
  EXPECT_EQ(resolved.status, 200);
  EXPECT_NE(resolved.body.find("\"heartbeat\":false"), std::string::npos);
  EXPECT_EQ(Count("main", "resolved"), 1);
  EXPECT_FALSE(tracker_.Get("watchdog/main"));  // never heard
}

TEST_F(WatchdogEndpointTest, ATrackerRefusalIs503AndCounted) {
  tracker_.SetLimits(SourceLimits{0, 0});  // no room for a new source
  HttpResponse r = Post("main", kFiring);
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("source_limit"), std::string::npos) << r.body;
  EXPECT_EQ(Count("main", "refused"), 1);
  EXPECT_EQ(Count("main", "accepted"), 0);
}

TEST_F(WatchdogEndpointTest, DeliveriesStoppingIsDownAndPagesAsABrokenAlertingPath) {
  Run(6, 10s, true);
  ASSERT_EQ(tracker_.Get("watchdog/main")->state, SourceState::kUp);
  transitions_.clear();
  // Alertmanager stops: DOWN within two intervals plus detection (phi with one missed
  // interval of pause; the backstop is 3 x 10 s + 2 s).
  const MonoTime stopped = clock_.Now();
  Run(4, 10s, false);
  ASSERT_FALSE(transitions_.empty());
  const Transition& down = transitions_.back();
  EXPECT_EQ(down.to, SourceState::kDown);
  EXPECT_EQ(tracker_.Get("watchdog/main")->state, SourceState::kDown);
  EXPECT_LE(clock_.Now() - stopped, 40s);
  auto alert = AlertFor(down, "");
  ASSERT_TRUE(alert);
  EXPECT_NE(alert->annotations["summary"].find(
                "primary alerting path Prometheus -> Alertmanager -> notifications is broken"),
            std::string::npos);
  EXPECT_EQ(alert->labels["source"], "watchdog/main");
  EXPECT_EQ(alert->labels["kind"], "watchdog");
  EXPECT_EQ(alert->labels["severity"], "critical");
  // It comes back: UP after the recovery heartbeats.
  transitions_.clear();
  Run(3, 10s, true);
  EXPECT_EQ(tracker_.Get("watchdog/main")->state, SourceState::kUp);
  ASSERT_FALSE(transitions_.empty());
  EXPECT_EQ(transitions_.back().from, SourceState::kDown);
}

TEST_F(WatchdogEndpointTest, AConfiguredWatchdogThatNeverDeliversGoesDown) {
  RegisterOwnSources(config_, tracker_, clock_);
  ASSERT_TRUE(tracker_.Get("watchdog/main"));
  EXPECT_EQ(tracker_.Get("watchdog/main")->heartbeats, 0u);
  RegisterOwnSources(config_, tracker_, clock_);  // idempotent
  Run(4, 10s, false);                             // backstop: 3 x 10 s + 2 s
  EXPECT_EQ(tracker_.Get("watchdog/main")->state, SourceState::kDown);
}

TEST_F(WatchdogEndpointTest, AFeedRestartIsLivenessAtOnce) {
  Run(3, 10s, true);
  // A collector restart: a new feed (new boot id, sequence from 1 again).
  OwnSourceFeed restarted(clock_, tracker_, nullptr);
  EXPECT_FALSE(restarted.Heard("watchdog/main", 10s, config_.watchdogs[0].labels));
  EXPECT_EQ(tracker_.Get("watchdog/main")->heartbeats, 4u);
}

TEST_F(WatchdogEndpointTest, TheFeedRunsThroughItsExecutor) {
  int ran = 0;
  OwnSourceFeed on_loop(
      clock_, tracker_, nullptr,
      [&ran](std::function<OwnSourceFeed::Outcome()> work) -> Result<OwnSourceFeed::Outcome> {
        ++ran;
        return work();
      });
  EXPECT_FALSE(on_loop.Heard("watchdog/main", 10s, config_.watchdogs[0].labels));
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(tracker_.Get("watchdog/main")->heartbeats, 1u);
  OwnSourceFeed stopping(
      clock_, tracker_, nullptr,
      [](std::function<OwnSourceFeed::Outcome()>) -> Result<OwnSourceFeed::Outcome> {
        return Status::Unavailable("stopping");
      });
  auto why = stopping.Heard("watchdog/main", 10s, config_.watchdogs[0].labels);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("stopping"), std::string::npos) << *why;
  EXPECT_EQ(tracker_.Get("watchdog/main")->heartbeats, 1u);  // not heard
}

TEST(OwnSourcesTest, AgentsCannotSpeakForWatchdogsOrProbes) {
  FakeClock clock;
  Tracker tracker(clock, DetectionConfig{});
  CollectorMetrics metrics("test", "0", false);
  protocol::Secret key(32, 7);
  auto ring = std::make_shared<protocol::Keyring>();
  ASSERT_TRUE(ring->Add("fleet", key).ok());
  Ingestor ingestor(clock, ring, tracker, metrics, nullptr);
  for (const std::string id : {"watchdog/main", "probe/prometheus"}) {
    protocol::Heartbeat hb;
    hb.key_id = "fleet";
    hb.source_id = id;
    hb.boot_id = protocol::NewBootId();
    hb.sequence = 1;
    hb.timestamp_ms = ToUnixMillis(clock.WallNow());
    hb.interval_ms = 1000;
    auto frame = protocol::Encode(hb, key).value();
    IngestResult r = ingestor.Ingest(frame, Transport::kHttp, "127.0.0.1:1");
    ASSERT_TRUE(r.rejected) << id;
    EXPECT_EQ(*r.rejected, protocol::RejectReason::kKeyNotAllowed);
    EXPECT_FALSE(tracker.Get(id));
  }
  EXPECT_TRUE(IsCollectorOwnSource("watchdog/x"));
  EXPECT_FALSE(IsCollectorOwnSource("watchdogs/x"));
  EXPECT_EQ(OwnSourceSummary("web-01"), "");
}

}  // namespace
}  // namespace firewatch::collector
