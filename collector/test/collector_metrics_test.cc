#include "metrics/collector_metrics.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "store/store.h"
#include "tracker/tracker.h"

namespace firewatch::collector {
namespace {

using std::chrono::seconds;

// The value of the exact series `series` (name plus rendered labels) in `text`.
std::optional<double> Sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
    }
  }
  return std::nullopt;
}

bool Mentions(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// Drives a real Tracker with a fake clock: heartbeats as the ingest path would pass them.
class FleetTest : public ::testing::Test {
 protected:
  FleetTest() : tracker_(clock_, DetectionConfig{}) {}

  void Beat(const std::string& id, protocol::FrameType type = protocol::FrameType::kHeartbeat,
            protocol::Labels labels = {{"dc", "dc1"}}) {
    Send(Next(id, type, std::move(labels)));
  }
  // The next heartbeat of `id`, for a test to change before Send.
  protocol::Heartbeat Next(const std::string& id,
                           protocol::FrameType type = protocol::FrameType::kHeartbeat,
                           protocol::Labels labels = {{"dc", "dc1"}}) {
    protocol::Heartbeat hb;
    hb.type = type;
    hb.key_id = "fleet";
    hb.source_id = id;
    hb.boot_id[0] = 7;
    hb.sequence = ++sequence_[id];
    hb.timestamp_ms = ToUnixMillis(clock_.WallNow());
    hb.interval_ms = 1000;
    hb.labels = std::move(labels);
    if (type == protocol::FrameType::kGoodbye) hb.goodbye_reason = "SIGTERM";
    return hb;
  }
  void Send(const protocol::Heartbeat& hb) {
    ObserveResult r = tracker_.Observe(hb, Transport::kUdp);
    ASSERT_FALSE(r.rejected.has_value());
  }

  // up: heard every second; down: silent after t=0; late: silent for the last 3 s;
  // stopped: said goodbye.
  void BuildFleet() {
    Beat("up");
    Beat("down");
    Beat("late");
    Beat("stopped");
    Beat("stopped", protocol::FrameType::kGoodbye);
    for (int t = 1; t <= 10; ++t) {
      clock_.Advance(seconds(1));
      Beat("up");
      if (t <= 7) Beat("late");
      (void)tracker_.Evaluate();
    }
    ASSERT_EQ(tracker_.Get("down")->state, SourceState::kDown);
    ASSERT_EQ(tracker_.Get("late")->state, SourceState::kLate);
    ASSERT_EQ(tracker_.Get("stopped")->state, SourceState::kStopped);
    ASSERT_EQ(tracker_.Get("up")->state, SourceState::kUp);
  }

  FakeClock clock_;
  Tracker tracker_;
  std::map<std::string, uint64_t> sequence_;
};

TEST_F(FleetTest, CountersAppearWithTheirLabels) {
  CollectorMetrics m("dc1-a", "0.1.0", /*per_source=*/false);
  m.HeartbeatsAccepted(Transport::kUdp);
  m.HeartbeatsAccepted(Transport::kUdp);
  m.HeartbeatsAccepted(Transport::kHttp);
  m.FrameRejected(protocol::RejectReason::kBadMac, Transport::kUdp);
  m.FrameRejected(protocol::RejectReason::kReplayed, Transport::kHttp);
  m.Transition(SourceState::kDown);
  m.HttpRequest("heartbeat", 204);
  m.HttpRequest("heartbeat", 204);
  m.HttpRequest("ping", 404);
  m.PageWritten("sms", true);
  m.PageWritten("email", false);
  const std::string out = m.Render(tracker_, nullptr);

  EXPECT_EQ(Sample(out, R"(firewatch_build_info{collector="dc1-a",version="0.1.0"})"), 1);
  EXPECT_EQ(Sample(out, R"(firewatch_heartbeats_received_total{transport="udp"})"), 2);
  EXPECT_EQ(Sample(out, R"(firewatch_heartbeats_received_total{transport="http"})"), 1);
  EXPECT_EQ(Sample(out, R"(firewatch_frames_rejected_total{reason="bad_mac",transport="udp"})"), 1);
  EXPECT_EQ(Sample(out, R"(firewatch_frames_rejected_total{reason="replayed",transport="http"})"),
            1);
  EXPECT_EQ(Sample(out, R"(firewatch_source_transitions_total{to="DOWN"})"), 1);
  EXPECT_EQ(Sample(out, R"(firewatch_source_transitions_total{to="UP"})"), 0);
  EXPECT_EQ(Sample(out, R"(firewatch_http_requests_total{code="204",handler="heartbeat"})"), 2);
  EXPECT_EQ(Sample(out, R"(firewatch_http_requests_total{code="404",handler="ping"})"), 1);
  EXPECT_EQ(Sample(out, R"(firewatch_pages_total{channel="sms",result="sent"})"), 1);
  EXPECT_EQ(Sample(out, R"(firewatch_pages_total{channel="sms",result="failed"})"), 0);
  EXPECT_EQ(Sample(out, R"(firewatch_pages_total{channel="email",result="failed"})"), 1);
  EXPECT_EQ(Sample(out, "firewatch_store_write_errors_total"), 0);
  EXPECT_EQ(Sample(out, "firewatch_store_queue_depth"), 0);
}

TEST_F(FleetTest, ConfigReloadsAreCountedAndTheLastGoodOneTimed) {
  CollectorMetrics m("dc1-a", "0.1.0", /*per_source=*/false);
  m.ConfigLoaded(1000);
  std::string out = m.Render(tracker_, nullptr);
  EXPECT_EQ(Sample(out, R"(firewatch_config_reloads_total{result="success"})"), 0);
  EXPECT_EQ(Sample(out, R"(firewatch_config_reloads_total{result="failure"})"), 0);
  EXPECT_EQ(Sample(out, "firewatch_config_last_reload_successful"), 1);
  EXPECT_EQ(Sample(out, "firewatch_config_last_reload_success_timestamp_seconds"), 1000);
  m.ConfigReload(false, 2000);  // refused: the timestamp stays at the config in force
  out = m.Render(tracker_, nullptr);
  EXPECT_EQ(Sample(out, R"(firewatch_config_reloads_total{result="failure"})"), 1);
  EXPECT_EQ(Sample(out, "firewatch_config_last_reload_successful"), 0);
  EXPECT_EQ(Sample(out, "firewatch_config_last_reload_success_timestamp_seconds"), 1000);
  m.ConfigReload(true, 3000);
  out = m.Render(tracker_, nullptr);
  EXPECT_EQ(Sample(out, R"(firewatch_config_reloads_total{result="success"})"), 1);
  EXPECT_EQ(Sample(out, "firewatch_config_last_reload_successful"), 1);
  EXPECT_EQ(Sample(out, "firewatch_config_last_reload_success_timestamp_seconds"), 3000);
}

TEST_F(FleetTest, EveryRejectReasonAndStateStartsAtZero) {
  CollectorMetrics m("c", "v", false);
  const std::string out = m.Render(tracker_, nullptr);
  for (int r = 0; r < protocol::kRejectReasonCount; ++r) {
    for (const char* t : {"udp", "http"}) {
      const std::string series =
          "firewatch_frames_rejected_total{reason=\"" +
          std::string(protocol::RejectReasonName(static_cast<protocol::RejectReason>(r))) +
          "\",transport=\"" + t + "\"}";
      EXPECT_EQ(Sample(out, series), 0) << series;
    }
  }
  for (int s = 0; s < kSourceStateCount; ++s) {
    const std::string state(SourceStateName(static_cast<SourceState>(s)));
    EXPECT_EQ(Sample(out, "firewatch_sources{state=\"" + state + "\"}"), 0) << state;
    EXPECT_EQ(Sample(out, "firewatch_source_transitions_total{to=\"" + state + "\"}"), 0) << state;
  }
  EXPECT_EQ(Sample(out, "firewatch_sources_checks_stale"), 0);
  EXPECT_EQ(Sample(out, "firewatch_check_output_truncated_total"), 0);
}

// Check messages past a source's budget (tracker/check_book.h) are counted.
TEST_F(FleetTest, CheckMessagesCutToTheBudgetAreCounted) {
  CollectorMetrics m("c", "v", /*per_source=*/false);
  protocol::Heartbeat hb = Next("db-01");
  for (int i = 0; i < 65; ++i) {  // one more than an agent sends, each 256 bytes
    hb.checks.push_back({"c" + std::to_string(i), protocol::CheckState::kWarning,
                         std::string(protocol::kMaxCheckOutput, 'x')});
  }
  Send(hb);
  EXPECT_EQ(Sample(m.Render(tracker_, nullptr), "firewatch_check_output_truncated_total"), 1);
}

TEST_F(FleetTest, SourceGaugesFollowTheTracker) {
  BuildFleet();
  for (bool per_source : {false, true}) {
    CollectorMetrics m("c", "v", per_source);
    const std::string out = m.Render(tracker_, nullptr);
    EXPECT_EQ(Sample(out, R"(firewatch_sources{state="UP"})"), 1);
    EXPECT_EQ(Sample(out, R"(firewatch_sources{state="LATE"})"), 1);
    EXPECT_EQ(Sample(out, R"(firewatch_sources{state="DOWN"})"), 1);
    EXPECT_EQ(Sample(out, R"(firewatch_sources{state="STOPPED"})"), 1);
  }
}

// firewatch_sources_checks_stale counts the sources whose last heartbeat named a full
// check state this collector did not get (tracker.cc), in both render paths, and drops
// when the full state arrives.
TEST_F(FleetTest, SourcesWithStaleChecksAreCounted) {
  BuildFleet();
  const std::vector<protocol::CheckResult> disk = {
      {"disk", protocol::CheckState::kCritical, "/var 99% full"}};
  auto send = [&](const std::string& id, protocol::ChecksMode mode, uint64_t digest) {
    protocol::Heartbeat hb = Next(id);
    hb.checks_mode = mode;
    hb.checks_digest = digest;
    if (mode == protocol::ChecksMode::kFull) hb.checks = disk;
    Send(hb);
  };
  const uint64_t digest = protocol::ChecksDigest(disk);
  send("up", protocol::ChecksMode::kUnchanged, digest);    // never got that full state
  send("late", protocol::ChecksMode::kUnchanged, 42);      // likewise
  for (bool per_source : {false, true}) {
    CollectorMetrics m("c", "v", per_source);
    EXPECT_EQ(Sample(m.Render(tracker_, nullptr), "firewatch_sources_checks_stale"), 2)
        << "per_source " << per_source;
  }
  send("up", protocol::ChecksMode::kFull, digest);  // the full state: no longer stale
  for (bool per_source : {false, true}) {
    CollectorMetrics m("c", "v", per_source);
    EXPECT_EQ(Sample(m.Render(tracker_, nullptr), "firewatch_sources_checks_stale"), 1)
        << "per_source " << per_source;
  }
}

TEST_F(FleetTest, PerSourceSeriesOnlyWhenEnabled) {
  BuildFleet();
  CollectorMetrics off("c", "v", /*per_source=*/false);
  const std::string quiet = off.Render(tracker_, nullptr);
  EXPECT_FALSE(Mentions(quiet, "firewatch_source_up")) << quiet;
  EXPECT_FALSE(Mentions(quiet, "firewatch_source_phi"));
  EXPECT_FALSE(Mentions(quiet, "firewatch_source_last_seen"));

  CollectorMetrics on("c", "v", /*per_source=*/true);
  const std::string out = on.Render(tracker_, nullptr);
  EXPECT_EQ(Sample(out, R"(firewatch_source_up{source="up"})"), 1);
  EXPECT_EQ(Sample(out, R"(firewatch_source_up{source="late"})"), 1);
  EXPECT_EQ(Sample(out, R"(firewatch_source_up{source="down"})"), 0);
  EXPECT_EQ(Sample(out, R"(firewatch_source_up{source="stopped"})"), 0);
  const double now_s = static_cast<double>(ToUnixMillis(clock_.WallNow())) / 1000.0;
  auto up_seen = Sample(out, R"(firewatch_source_last_seen_timestamp_seconds{source="up"})");
  ASSERT_TRUE(up_seen.has_value());
  EXPECT_NEAR(*up_seen, now_s, 0.001);
  auto down_seen = Sample(out, R"(firewatch_source_last_seen_timestamp_seconds{source="down"})");
  ASSERT_TRUE(down_seen.has_value());
  EXPECT_NEAR(*down_seen, now_s - 10, 0.001);
  auto late_phi = Sample(out, R"(firewatch_source_phi{source="late"})");
  auto up_phi = Sample(out, R"(firewatch_source_phi{source="up"})");
  ASSERT_TRUE(late_phi && up_phi);
  EXPECT_GT(*late_phi, 3.0);
  EXPECT_LT(*up_phi, 3.0);
  EXPECT_EQ(Sample(out, R"(firewatch_source_phi{source="stopped"})"), 0);
}

TEST_F(FleetTest, SeriesOfVanishedSourcesAreRemoved) {
  CollectorMetrics m("c", "v", true);
  Beat("a");
  Beat("b");
  std::string out = m.Render(tracker_, nullptr);
  EXPECT_TRUE(Sample(out, R"(firewatch_source_up{source="b"})").has_value());

  // A collector restarted with a smaller fleet: only "a" is known now.
  Tracker smaller(clock_, DetectionConfig{});
  smaller.Restore({*tracker_.Get("a")});
  out = m.Render(smaller, nullptr);
  EXPECT_TRUE(Sample(out, R"(firewatch_source_up{source="a"})").has_value());
  EXPECT_FALSE(Sample(out, R"(firewatch_source_up{source="b"})").has_value());
  EXPECT_FALSE(Mentions(out, R"(source="b")")) << out;
}

TEST_F(FleetTest, SourcesPerFailureDomainWithAndWithoutPerSourceSeries) {
  BuildFleet();  // up, down, late, stopped in dc1
  Beat("west-1", protocol::FrameType::kHeartbeat, {{"dc", "dc2"}, {"role", "db"}});
  Beat("bare", protocol::FrameType::kHeartbeat, {{"role", "db"}});
  for (bool per_source : {false, true}) {
    CollectorMetrics m("c", "v", per_source);
    const std::string out = m.Render(tracker_, nullptr);
    EXPECT_EQ(Sample(out, R"(firewatch_dc_sources{dc="dc1",state="UP"})"), 1) << per_source;
    EXPECT_EQ(Sample(out, R"(firewatch_dc_sources{dc="dc1",state="LATE"})"), 1);
    EXPECT_EQ(Sample(out, R"(firewatch_dc_sources{dc="dc1",state="DOWN"})"), 1);
    EXPECT_EQ(Sample(out, R"(firewatch_dc_sources{dc="dc1",state="STOPPED"})"), 1);
    EXPECT_EQ(Sample(out, R"(firewatch_dc_sources{dc="dc2",state="UP"})"), 1);
    EXPECT_EQ(Sample(out, R"(firewatch_dc_sources{dc="dc2",state="DOWN"})"), 0);
    EXPECT_EQ(Sample(out, R"(firewatch_dc_sources{dc="none",state="UP"})"), 1);
  }
}

TEST_F(FleetTest, SourceStateIsOneForTheCurrentStateAndCarriesTheDomain) {
  BuildFleet();
  CollectorMetrics off("c", "v", false);
  EXPECT_FALSE(Mentions(off.Render(tracker_, nullptr), "firewatch_source_state"));

  CollectorMetrics m("c", "v", true);
  std::string out = m.Render(tracker_, nullptr);
  EXPECT_EQ(Sample(out, R"(firewatch_source_state{dc="dc1",source="down",state="DOWN"})"), 1);
  EXPECT_EQ(Sample(out, R"(firewatch_source_state{dc="dc1",source="down",state="UP"})"), 0);
  EXPECT_EQ(Sample(out, R"(firewatch_source_state{dc="dc1",source="late",state="LATE"})"), 1);
  EXPECT_EQ(Sample(out, R"(firewatch_source_state{dc="dc1",source="stopped",state="STOPPED"})"),
            1);
  EXPECT_EQ(Sample(out, R"(firewatch_source_state{dc="dc1",source="up",state="UP"})"), 1);

  // The source moves to another domain: its series follow, the old ones are gone.
  Beat("up", protocol::FrameType::kHeartbeat, {{"dc", "dc9"}});
  out = m.Render(tracker_, nullptr);
  EXPECT_EQ(Sample(out, R"(firewatch_source_state{dc="dc9",source="up",state="UP"})"), 1);
  EXPECT_FALSE(Mentions(out, R"(firewatch_source_state{dc="dc1",source="up")")) << out;
  EXPECT_FALSE(Mentions(out, R"(firewatch_dc_sources{dc="dc1",state="UP"} 1)")) << out;
  EXPECT_EQ(Sample(out, R"(firewatch_dc_sources{dc="dc9",state="UP"})"), 1);

  // A restart without "up": its series and the emptied domain's go away.
  Tracker smaller(clock_, DetectionConfig{});
  smaller.Restore({*tracker_.Get("down")});
  out = m.Render(smaller, nullptr);
  EXPECT_FALSE(Mentions(out, R"(source="up")")) << out;
  EXPECT_FALSE(Mentions(out, R"(dc="dc9")")) << out;
}

TEST_F(FleetTest, DomainsPastTheCapCountAsOther) {
  for (size_t i = 0; i < CollectorMetrics::kMaxDomains + 10; ++i) {
    char dc[16];
    std::snprintf(dc, sizeof dc, "dc%04zu", i);
    Beat("h" + std::to_string(i), protocol::FrameType::kHeartbeat, {{"dc", dc}});
  }
  CollectorMetrics m("c", "v", false);
  const std::string out = m.Render(tracker_, nullptr);
  EXPECT_EQ(Sample(out, R"(firewatch_dc_sources{dc="dc0000",state="UP"})"), 1);
  EXPECT_FALSE(Mentions(out, R"(dc="dc0265")"));
  EXPECT_EQ(Sample(out, R"(firewatch_dc_sources{dc="other",state="UP"})"), 11);
}

TEST_F(FleetTest, PageDeliveryHistogramPerChannel) {
  CollectorMetrics m("c", "v", false);
  EXPECT_FALSE(Mentions(m.Render(tracker_, nullptr), "firewatch_page_delivery_seconds"));
  m.AlertingStats({{"sms", {0, 0, 0, 0}}, {"email", {0, 0, 0, 0}}}, {}, {});
  std::string out = m.Render(tracker_, nullptr);
  EXPECT_EQ(Sample(out, R"(firewatch_page_delivery_seconds_count{channel="email"})"), 0) << out;
  EXPECT_EQ(Sample(out, R"(firewatch_page_delivery_seconds_bucket{channel="sms",le="+Inf"})"), 0);
  m.PageDelivered("sms", 4.2);
  m.PageDelivered("sms", 75);
  m.PageDelivered("webhook", 1);  // first named by a delivery
  out = m.Render(tracker_, nullptr);
  EXPECT_EQ(Sample(out, R"(firewatch_page_delivery_seconds_count{channel="sms"})"), 2);
  EXPECT_DOUBLE_EQ(*Sample(out, R"(firewatch_page_delivery_seconds_sum{channel="sms"})"), 79.2);
  EXPECT_EQ(Sample(out, R"(firewatch_page_delivery_seconds_bucket{channel="sms",le="5"})"), 1);
  EXPECT_EQ(Sample(out, R"(firewatch_page_delivery_seconds_bucket{channel="sms",le="120"})"), 2);
  EXPECT_EQ(Sample(out, R"(firewatch_page_delivery_seconds_count{channel="webhook"})"), 1);
  EXPECT_EQ(Sample(out, R"(firewatch_page_delivery_seconds_count{channel="email"})"), 0);
}

TEST_F(FleetTest, PeerSyncAgeOnceSynced) {
  CollectorMetrics m("a", "v", false);
  CollectorMetrics::PeerNumbers self, b, c;
  self.id = "a";
  self.self = true;
  b.id = "b";
  b.up = true;
  b.last_sync_age_ms = 1500;
  b.sync_exchange_us = 250'000;
  c.id = "c";  // never synced
  m.ClusterStats({self, b, c}, false, false, {});
  b.sync_exchange_us = 2'250'000;  // two more seconds of exchanges: mirrored, in seconds
  m.ClusterStats({self, b, c}, false, false, {});
  const std::string out = m.Render(tracker_, nullptr);
  EXPECT_EQ(Sample(out, R"(firewatch_cluster_peer_sync_age_seconds{peer="b"})"), 1.5);
  EXPECT_EQ(Sample(out, R"(firewatch_cluster_sync_exchange_seconds_total{peer="b"})"), 2.25);
  EXPECT_FALSE(Mentions(out, R"(firewatch_cluster_peer_sync_age_seconds{peer="c"})"));
  EXPECT_FALSE(Mentions(out, R"(firewatch_cluster_peer_sync_age_seconds{peer="a"})"));
}

TEST_F(FleetTest, StoreCountersAreMirrored) {
  char tmpl[] = "/tmp/firewatch_metrics_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  {
    int commits = 0;
    StoreOptions opts;
    opts.before_commit = [&] { return ++commits == 2 ? Status::IoError("injected") : Status::Ok(); };
    auto store = Store::Open(dir + "/c.db", opts);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    CollectorMetrics m("c", "v", false);
    (*store)->Write({}, {Transition{}});
    ASSERT_TRUE((*store)->Sync().ok());
    std::string out = m.Render(tracker_, store->get());
    EXPECT_EQ(Sample(out, "firewatch_store_batches_committed_total"), 1);
    (*store)->Write({}, {Transition{}});  // fails once, then the retry commits it
    EXPECT_FALSE((*store)->Sync().ok());
    out = m.Render(tracker_, store->get());
    EXPECT_EQ(Sample(out, "firewatch_store_batches_committed_total"), 2);
    EXPECT_EQ(Sample(out, "firewatch_store_write_errors_total"), 1);
    EXPECT_EQ(Sample(out, "firewatch_store_batches_dropped_total"), 0);
    EXPECT_EQ(Sample(out, "firewatch_store_queue_depth"), 0);
    out = m.Render(tracker_, store->get());  // rendering twice does not double count
    EXPECT_EQ(Sample(out, "firewatch_store_batches_committed_total"), 2);
  }
  std::filesystem::remove_all(dir);
}

TEST_F(FleetTest, AlertingSeriesAreMirroredAndAbsentWithoutAlerting) {
  CollectorMetrics m("c", "v", false);
  std::string out = m.Render(tracker_, nullptr);
  EXPECT_EQ(out.find("firewatch_notifications_total"), std::string::npos);
  EXPECT_EQ(out.find("firewatch_outbox_items"), std::string::npos);
  EXPECT_EQ(out.find("firewatch_incidents"), std::string::npos);

  std::map<std::string, std::array<uint64_t, 4>> notifications = {{"sms", {2, 1, 0, 0}},
                                                                  {"email", {0, 0, 0, 0}}};
  std::map<std::string, uint64_t> outbox = {{"pending", 3}, {"sent", 2}, {"failed", 0}};
  std::map<std::string, uint64_t> incidents = {{"open", 1}, {"acked", 0}, {"resolved", 4}};
  m.AlertingStats(notifications, outbox, incidents);
  m.AlertingStats(notifications, outbox, incidents);  // mirrored: no double counting
  out = m.Render(tracker_, nullptr);
  EXPECT_EQ(Sample(out, R"(firewatch_notifications_total{channel="sms",result="delivered"})"), 2);
  EXPECT_EQ(Sample(out, R"(firewatch_notifications_total{channel="sms",result="retryable"})"), 1);
  EXPECT_EQ(Sample(out, R"(firewatch_notifications_total{channel="email",result="interrupted"})"), 0);
  EXPECT_EQ(Sample(out, R"(firewatch_outbox_items{state="pending"})"), 3);
  EXPECT_EQ(Sample(out, R"(firewatch_outbox_items{state="failed"})"), 0);
  EXPECT_EQ(Sample(out, R"(firewatch_incidents{state="resolved"})"), 4);

  notifications["sms"] = {5, 1, 1, 0};
  outbox["pending"] = 0;
  m.AlertingStats(notifications, outbox, incidents);
  out = m.Render(tracker_, nullptr);
  EXPECT_EQ(Sample(out, R"(firewatch_notifications_total{channel="sms",result="delivered"})"), 5);
  EXPECT_EQ(Sample(out, R"(firewatch_notifications_total{channel="sms",result="permanent"})"), 1);
  EXPECT_EQ(Sample(out, R"(firewatch_outbox_items{state="pending"})"), 0);
}

TEST_F(FleetTest, SilenceSeriesAreMirrored) {
  CollectorMetrics m("c", "v", false);
  EXPECT_EQ(m.Render(tracker_, nullptr).find("firewatch_silences"), std::string::npos);
  std::map<std::string, uint64_t> held = {{"active", 2}, {"pending", 1}, {"expired", 0}};
  std::map<std::string, uint64_t> refused = {{"peer", 3}, {"store", 1}};
  m.SilenceStats(held, refused);
  m.SilenceStats(held, refused);  // mirrored: no double counting
  std::string out = m.Render(tracker_, nullptr);
  EXPECT_EQ(Sample(out, R"(firewatch_silences{state="active"})"), 2);
  EXPECT_EQ(Sample(out, R"(firewatch_silences_refused_total{origin="peer"})"), 3);
  refused["peer"] = 5;
  held["active"] = 0;
  m.SilenceStats(held, refused);
  out = m.Render(tracker_, nullptr);
  EXPECT_EQ(Sample(out, R"(firewatch_silences{state="active"})"), 0);
  EXPECT_EQ(Sample(out, R"(firewatch_silences_refused_total{origin="peer"})"), 5);
  EXPECT_EQ(Sample(out, R"(firewatch_silences_refused_total{origin="store"})"), 1);
}

TEST_F(FleetTest, MaintenanceSeriesAreMirroredApartFromSilences) {
  CollectorMetrics m("c", "v", false);
  m.SilenceStats({{"active", 1}}, {{"peer", 0}, {"store", 0}});
  m.MaintenanceStats({{"active", 0}, {"waiting", 2}, {"pending", 1}, {"expired", 4}},
                     {{"peer", 2}, {"store", 0}});
  m.MaintenanceStats({{"active", 1}, {"waiting", 1}, {"pending", 1}, {"expired", 4}},
                     {{"peer", 2}, {"store", 0}});  // mirrored: no double counting
  const std::string out = m.Render(tracker_, nullptr);
  EXPECT_EQ(Sample(out, R"(firewatch_maintenance_windows{state="active"})"), 1);
  EXPECT_EQ(Sample(out, R"(firewatch_maintenance_windows{state="waiting"})"), 1);
  EXPECT_EQ(Sample(out, R"(firewatch_maintenance_windows_refused_total{origin="peer"})"), 2);
  EXPECT_EQ(Sample(out, R"(firewatch_silences{state="active"})"), 1);
}

TEST_F(FleetTest, HotPathCountsExactlyFromManyThreadsWhileRendering) {
  CollectorMetrics m("c", "v", true);
  Beat("a");
  constexpr int kPerThread = 200'000;
  std::atomic<bool> done{false};
  std::thread renderer([&] {
    while (!done) (void)m.Render(tracker_, nullptr);
  });
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> ingest;
  for (int t = 0; t < 2; ++t) {
    ingest.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        m.HeartbeatsAccepted(Transport::kUdp);
        m.FrameRejected(protocol::RejectReason::kBadMac, Transport::kUdp);
      }
    });
  }
  for (auto& t : ingest) t.join();
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start)
                        .count() / (4.0 * kPerThread);
  done = true;
  renderer.join();
  std::printf("[ timing ] hot-path counter increment, 2 threads + renderer: %.1f ns/call\n", ns);
  const std::string out = m.Render(tracker_, nullptr);
  EXPECT_EQ(Sample(out, R"(firewatch_heartbeats_received_total{transport="udp"})"), 2 * kPerThread);
  EXPECT_EQ(Sample(out, R"(firewatch_frames_rejected_total{reason="bad_mac",transport="udp"})"),
            2 * kPerThread);
}

TEST_F(FleetTest, SourceIdsThatAreNotUtf8ShareOneSafeSeries) {
  CollectorMetrics m("c", "v", true);
  Beat("x\xff");
  Beat("x\xfe");  // same label value once sanitized
  std::string out = m.Render(tracker_, nullptr);
  EXPECT_EQ(Sample(out, "firewatch_source_up{source=\"x\xEF\xBF\xBD\"}"), 1) << out;
  Tracker one(clock_, DetectionConfig{});
  one.Restore({*tracker_.Get("x\xff")});
  out = m.Render(one, nullptr);  // must neither crash nor drop the surviving series
  EXPECT_EQ(Sample(out, "firewatch_source_up{source=\"x\xEF\xBF\xBD\"}"), 1) << out;
}

// promtool is the reference for what Prometheus accepts: lint the full output.
TEST_F(FleetTest, PromtoolAcceptsTheOutput) {
  constexpr const char* kPromtool = "/usr/bin/promtool";
  if (access(kPromtool, X_OK) != 0) GTEST_SKIP() << kPromtool << " not installed";
  BuildFleet();
  Beat("hostile \"quoted\" back\\slash\nnewline \xc3\x28 \xff");
  CollectorMetrics m("dc1-a", "0.1.0", /*per_source=*/true);
  m.HeartbeatsAccepted(Transport::kUdp);
  m.FrameRejected(protocol::RejectReason::kClockSkew, Transport::kHttp);
  m.Transition(SourceState::kLate);
  m.HttpRequest("metrics", 200);
  m.PageWritten("sms", false);
  m.AlertingStats({{"sms", {1, 1, 0, 0}}}, {{"pending", 1}}, {{"open", 1}});
  m.PageDelivered("sms", 3.5);
  CollectorMetrics::PeerNumbers self, peer;
  self.id = "dc1-a";
  self.self = true;
  peer.id = "dc2-b";
  peer.last_sync_age_ms = 800;
  peer.sync_exchange_us = 1'500'000;
  m.ClusterStats({self, peer}, false, false, {{"bad_signature", 1}});
  const std::string out = m.Render(tracker_, nullptr);

  char tmpl[] = "/tmp/firewatch_promtool_XXXXXX";
  const int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(tmpl) << out;
  const std::string cmd = std::string(kPromtool) + " check metrics < " + tmpl + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string report;
  char buf[512];
  while (fgets(buf, sizeof buf, p) != nullptr) report += buf;
  const int status = pclose(p);
  std::remove(tmpl);
  ASSERT_TRUE(WIFEXITED(status)) << report;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "promtool check metrics failed:\n" << report << "\n" << out;
  EXPECT_EQ(report, "") << "promtool reported problems:\n" << report;
}

}  // namespace
}  // namespace firewatch::collector
