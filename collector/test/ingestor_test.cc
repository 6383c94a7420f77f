#include "ingest/ingestor.h"

#include <gtest/gtest.h>

#include <random>

#include "metrics/collector_metrics.h"
#include "tracker/tracker.h"

namespace firewatch::collector {
namespace {

using protocol::RejectReason;

class IngestorTest : public ::testing::Test {
 protected:
  IngestorTest() {
    auto ring = std::make_shared<protocol::Keyring>();
    EXPECT_TRUE(ring->Add("fleet", key_).ok());
    keys_ = ring;
    ingestor_ = std::make_unique<Ingestor>(clock_, keys_, tracker_, metrics_,
                                           [this](std::vector<Transition> ts) {
                                             for (auto& t : ts) seen_.push_back(std::move(t));
                                           });
  }
  protocol::Heartbeat Beat(uint64_t seq, const std::string& id = "web-01") {
    protocol::Heartbeat hb;
    hb.key_id = "fleet";
    hb.source_id = id;
    hb.boot_id = boot_;
    hb.sequence = seq;
    hb.timestamp_ms = ToUnixMillis(clock_.WallNow());
    hb.interval_ms = 1000;
    return hb;
  }
  std::vector<uint8_t> Frame(uint64_t seq, const std::string& id = "web-01") {
    return protocol::Encode(Beat(seq, id), key_).value();
  }
  double Rejected(RejectReason r, Transport t) {
    std::string text = metrics_.Render(tracker_, nullptr);
    std::string needle = "firewatch_frames_rejected_total{reason=\"" +
                         std::string(protocol::RejectReasonName(r)) + "\",transport=\"" +
                         std::string(TransportName(t)) + "\"} ";
    auto pos = text.find(needle);
    if (pos == std::string::npos) return -1;
    return std::stod(text.substr(pos + needle.size()));
  }

  FakeClock clock_;
  protocol::Secret key_ = protocol::Secret(32, 7);
  protocol::BootId boot_ = protocol::NewBootId();
  std::shared_ptr<const protocol::Keyring> keys_;
  Tracker tracker_{clock_, DetectionConfig{}};
  CollectorMetrics metrics_{"test", "0", true};
  std::unique_ptr<Ingestor> ingestor_;
  std::vector<Transition> seen_;
};

TEST_F(IngestorTest, AcceptsAndReportsNewSource) {
  auto r = ingestor_->Ingest(Frame(1), Transport::kUdp, "127.0.0.1:1");
  EXPECT_FALSE(r.rejected);
  EXPECT_EQ(r.source_id, "web-01");
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_TRUE(seen_[0].new_source);
  EXPECT_EQ(tracker_.size(), 1u);
}

TEST_F(IngestorTest, CountsEveryRejectionByReasonAndTransport) {
  auto f = Frame(1);
  ASSERT_FALSE(ingestor_->Ingest(f, Transport::kUdp, "p").rejected);
  EXPECT_EQ(ingestor_->Ingest(f, Transport::kHttp, "p").rejected, RejectReason::kReplayed);
  std::vector<uint8_t> junk = {1, 2, 3};
  EXPECT_EQ(ingestor_->Ingest(junk, Transport::kUdp, "p").rejected, RejectReason::kBadMagic);
  auto tampered = Frame(2);
  tampered.back() ^= 1;
  EXPECT_EQ(ingestor_->Ingest(tampered, Transport::kUdp, "p").rejected, RejectReason::kBadMac);
  EXPECT_EQ(Rejected(RejectReason::kReplayed, Transport::kHttp), 1);
  EXPECT_EQ(Rejected(RejectReason::kBadMagic, Transport::kUdp), 1);
  EXPECT_EQ(Rejected(RejectReason::kBadMac, Transport::kUdp), 1);
  EXPECT_EQ(Rejected(RejectReason::kReplayed, Transport::kUdp), 0);
  EXPECT_EQ(tracker_.Get("web-01")->heartbeats, 1u);
}

// The UDP path: one recvmmsg batch at a time. Good frames in a batch are applied in
// order under one lock (a replay of an earlier frame of the same batch is caught), bad
// ones are counted like single frames, and what changed reaches the sinks once.
TEST_F(IngestorTest, DatagramBatchAppliesInOrderAndCountsRejections) {
  sockaddr_storage from{};
  from.ss_family = AF_INET;
  std::vector<std::vector<uint8_t>> frames = {Frame(1, "web-01"), Frame(1, "web-02"),
                                              {1, 2, 3},          Frame(2, "web-01"),
                                              Frame(2, "web-01"), Frame(3, "web-01")};
  frames[5].back() ^= 1;  // tampered MAC
  std::vector<UdpReceiver::Datagram> batch;
  for (const auto& f : frames) batch.push_back({f, &from});
  ingestor_->IngestDatagrams(batch);

  EXPECT_EQ(tracker_.size(), 2u);
  EXPECT_EQ(tracker_.Get("web-01")->heartbeats, 2u) << "seq 1 and 2; the second seq 2 is a replay";
  EXPECT_EQ(tracker_.Get("web-02")->heartbeats, 1u);
  ASSERT_EQ(seen_.size(), 2u) << "one new-source transition per source";
  EXPECT_EQ(seen_[0].source_id, "web-01");
  EXPECT_EQ(seen_[1].source_id, "web-02");
  EXPECT_EQ(Rejected(RejectReason::kBadMagic, Transport::kUdp), 1);
  EXPECT_EQ(Rejected(RejectReason::kReplayed, Transport::kUdp), 1);
  EXPECT_EQ(Rejected(RejectReason::kBadMac, Transport::kUdp), 1);
  const std::string text = metrics_.Render(tracker_, nullptr);
  EXPECT_NE(text.find("firewatch_heartbeats_received_total{transport=\"udp\"} 3"),
            std::string::npos);

  // The next batch reuses the per-thread scratch: smaller, and fully rejected.
  std::vector<uint8_t> junk = {9};
  std::vector<UdpReceiver::Datagram> bad = {{junk, &from}};
  ingestor_->IngestDatagrams(bad);
  EXPECT_EQ(Rejected(RejectReason::kTruncated, Transport::kUdp), 1);
  EXPECT_EQ(tracker_.Get("web-01")->heartbeats, 2u);
}

// Check state changes found in a batch reach the check sink.
TEST_F(IngestorTest, DatagramBatchReportsCheckChanges) {
  std::vector<CheckChange> changes;
  ingestor_->SetCheckSink([&](std::vector<CheckChange> c) {
    for (auto& x : c) changes.push_back(std::move(x));
  });
  auto with_check = [&](uint64_t seq, protocol::CheckState st) {
    protocol::Heartbeat hb = Beat(seq, "db-01");
    hb.checks.push_back({"disk", st, "DISK " + std::string(protocol::CheckStateName(st))});
    return protocol::Encode(hb, key_).value();
  };
  sockaddr_storage from{};
  auto a = with_check(1, protocol::CheckState::kOk);
  auto b = with_check(2, protocol::CheckState::kCritical);
  std::vector<UdpReceiver::Datagram> batch = {{a, &from}, {b, &from}};
  ingestor_->IngestDatagrams(batch);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].check, "disk");
  EXPECT_EQ(changes[0].to, protocol::CheckState::kCritical);
  EXPECT_EQ(changes[0].output, "DISK CRITICAL");
}

TEST_F(IngestorTest, KeyRotationTakesEffect) {
  auto other = std::make_shared<protocol::Keyring>();
  ASSERT_TRUE(other->Add("new", protocol::Secret(32, 9)).ok());
  ingestor_->SetKeys(other);
  EXPECT_EQ(ingestor_->Ingest(Frame(1), Transport::kUdp, "p").rejected, RejectReason::kUnknownKey);
}

// docs/security.md, "Rotating secrets": add the new key id beside the old and reload;
// agents move one by one (each sends under one key id); then the old id is removed. At
// no step is a frame from an agent that has not moved yet, or has, refused.
TEST_F(IngestorTest, HeartbeatKeyRotationAcceptsBothKeysInBetween) {
  const protocol::Secret next(32, 9);
  auto under = [&](const std::string& key_id, const protocol::Secret& key, uint64_t seq) {
    protocol::Heartbeat hb;
    hb.key_id = key_id;
    hb.source_id = "web-01";
    hb.boot_id = boot_;
    hb.sequence = seq;
    hb.timestamp_ms = ToUnixMillis(clock_.WallNow());
    hb.interval_ms = 1000;
    return protocol::Encode(hb, key).value();
  };
  auto both = std::make_shared<protocol::Keyring>();
  ASSERT_TRUE(both->Add("fleet", key_).ok());
  ASSERT_TRUE(both->Add("fleet-2", next).ok());
  ingestor_->SetKeys(both);
  EXPECT_FALSE(ingestor_->Ingest(under("fleet", key_, 1), Transport::kUdp, "p").rejected);
  EXPECT_FALSE(ingestor_->Ingest(under("fleet-2", next, 2), Transport::kUdp, "p").rejected);
  EXPECT_EQ(tracker_.Get("web-01")->heartbeats, 2u);
  auto only_new = std::make_shared<protocol::Keyring>();
  ASSERT_TRUE(only_new->Add("fleet-2", next).ok());
  ingestor_->SetKeys(only_new);
  EXPECT_FALSE(ingestor_->Ingest(under("fleet-2", next, 3), Transport::kUdp, "p").rejected);
  EXPECT_EQ(ingestor_->Ingest(under("fleet", key_, 4), Transport::kUdp, "p").rejected,
            RejectReason::kUnknownKey);
}

TEST_F(IngestorTest, BoundKeySpeaksOnlyForItsSources) {
  auto bindings = std::make_shared<KeyBindings>();
  ASSERT_TRUE(bindings->Bind("fleet", {"web-*", "db-7"}).ok());
  ingestor_->SetKeys(keys_, bindings);
  EXPECT_FALSE(ingestor_->Ingest(Frame(1, "web-01"), Transport::kUdp, "p").rejected);
  EXPECT_FALSE(ingestor_->Ingest(Frame(1, "db-7"), Transport::kUdp, "p").rejected);
  IngestResult r = ingestor_->Ingest(Frame(1, "db-8"), Transport::kHttp, "p");
  EXPECT_EQ(r.rejected, RejectReason::kKeyNotAllowed);
  EXPECT_NE(r.detail.find("db-8"), std::string::npos) << r.detail;
  // The batch path applies the same rule.
  sockaddr_storage from{};
  from.ss_family = AF_INET;
  std::vector<std::vector<uint8_t>> frames = {Frame(1, "mail-1"), Frame(2, "web-01")};
  std::vector<UdpReceiver::Datagram> batch;
  for (const auto& f : frames) batch.push_back({f, &from});
  ingestor_->IngestDatagrams(batch);
  EXPECT_EQ(Rejected(RejectReason::kKeyNotAllowed, Transport::kHttp), 1);
  EXPECT_EQ(Rejected(RejectReason::kKeyNotAllowed, Transport::kUdp), 1);
  EXPECT_FALSE(tracker_.Get("db-8"));
  EXPECT_FALSE(tracker_.Get("mail-1"));
  EXPECT_EQ(tracker_.Get("web-01")->heartbeats, 2u);
  // A reload without bindings makes it a fleet key again.
  ingestor_->SetKeys(keys_);
  EXPECT_FALSE(ingestor_->Ingest(Frame(2, "db-8"), Transport::kUdp, "p").rejected);
}

TEST_F(IngestorTest, LimitRefusalsAreCountedByReason) {
  tracker_.SetLimits({.max_sources = 1, .new_sources_per_key_per_minute = 0});
  EXPECT_FALSE(ingestor_->Ingest(Frame(1, "a"), Transport::kUdp, "p").rejected);
  IngestResult r = ingestor_->Ingest(Frame(1, "b"), Transport::kUdp, "p");
  EXPECT_EQ(r.rejected, RejectReason::kSourceLimit);
  EXPECT_NE(r.detail.find("key 'fleet'"), std::string::npos) << r.detail;
  EXPECT_EQ(Rejected(RejectReason::kSourceLimit, Transport::kUdp), 1);
}

TEST_F(IngestorTest, SurvivesRandomInput) {
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> buf(rng() % 1400);
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    if (buf.size() > 2 && i % 2 == 0) {  // get past the magic and version checks too
      buf[0] = 'F';
      buf[1] = 'W';
      buf[2] = 1;
    }
    EXPECT_TRUE(ingestor_->Ingest(buf, Transport::kUdp, "fuzz").rejected.has_value());
  }
  EXPECT_EQ(tracker_.size(), 0u);
}

// ---- compact check state (protocol version 2): full state, digest markers ----

class CompactChecksTest : public IngestorTest {
 protected:
  CompactChecksTest() {
    ingestor_->SetCheckSink([this](std::vector<CheckChange> c) {
      for (auto& x : c) changes_.push_back(std::move(x));
    });
  }
  protocol::Heartbeat Full(uint64_t seq, std::vector<protocol::CheckResult> checks) {
    protocol::Heartbeat hb = Beat(seq, "db-01");
    hb.checks_digest = protocol::ChecksDigest(checks);
    hb.checks = std::move(checks);
    return hb;
  }
  protocol::Heartbeat Unchanged(uint64_t seq, uint64_t digest) {
    protocol::Heartbeat hb = Beat(seq, "db-01");
    hb.checks_mode = protocol::ChecksMode::kUnchanged;
    hb.checks_digest = digest;
    return hb;
  }
  IngestResult Send(const protocol::Heartbeat& hb, Transport t = Transport::kUdp) {
    return ingestor_->Ingest(protocol::Encode(hb, key_, protocol::kMaxHttpFrameSize).value(), t,
                             "p");
  }
  SourceSnapshot Source() { return *tracker_.Get("db-01"); }

  std::vector<CheckChange> changes_;
  const std::vector<protocol::CheckResult> critical_ = {
      {"disk", protocol::CheckState::kCritical, "/var 99% full"},
      {"load", protocol::CheckState::kOk, "0.1"}};
};

TEST_F(CompactChecksTest, AMatchingMarkerKeepsTheFullState) {
  ASSERT_FALSE(Send(Full(1, critical_)).rejected);
  ASSERT_EQ(changes_.size(), 1u);
  const uint64_t digest = protocol::ChecksDigest(critical_);
  for (uint64_t seq = 2; seq < 6; ++seq) {
    clock_.Advance(std::chrono::seconds(1));
    ASSERT_FALSE(Send(Unchanged(seq, digest)).rejected);
  }
  EXPECT_EQ(Source().checks, critical_);
  EXPECT_FALSE(Source().checks_stale);
  EXPECT_EQ(changes_.size(), 1u);  // a marker is no change, and missing checks are not OK
}

// check_alerts counts heartbeats: a marker naming the state held is one more report of
// it, so `consecutive: 3` fires on the third heartbeat although only the first carried
// the checks (the agent repeats a change in full only twice).
TEST_F(CompactChecksTest, AMatchingMarkerCountsTowardsConsecutiveFailures) {
  CheckAlertPolicy p;
  p.rules.push_back({"disk", {}, 4, 0, 0});
  tracker_.SetCheckAlerts(p);
  ASSERT_FALSE(Send(Full(1, critical_)).rejected);
  const uint64_t digest = protocol::ChecksDigest(critical_);
  ASSERT_FALSE(Send(Unchanged(2, digest)).rejected);
  ASSERT_FALSE(Send(Unchanged(3, digest)).rejected);
  EXPECT_TRUE(changes_.empty()) << "alerted before the fourth report";
  ASSERT_FALSE(Send(Unchanged(4, digest)).rejected);
  ASSERT_EQ(changes_.size(), 1u) << "the fourth heartbeat in a row reporting CRITICAL";
  EXPECT_EQ(changes_[0].to, protocol::CheckState::kCritical);
  // A marker naming another state counts for nothing (stale, kept).
  ASSERT_FALSE(Send(Unchanged(5, digest + 1)).rejected);
  EXPECT_EQ(changes_.size(), 1u);
}

TEST_F(CompactChecksTest, AMismatchedMarkerKeepsTheLastStateFlaggedStale) {
  ASSERT_FALSE(Send(Full(1, critical_)).rejected);
  // The agent sent a newer full state we never got (the datagram was lost).
  ASSERT_FALSE(Send(Unchanged(5, protocol::ChecksDigest(critical_) + 1)).rejected);
  SourceSnapshot s = Source();
  EXPECT_EQ(s.checks, critical_);  // kept, not guessed at: never OK by default
  EXPECT_TRUE(s.checks_stale);
  EXPECT_EQ(changes_.size(), 1u);
  // The next full state is taken and clears the flag.
  auto ok = critical_;
  ok[0].state = protocol::CheckState::kOk;
  ASSERT_FALSE(Send(Full(6, ok)).rejected);
  EXPECT_EQ(Source().checks, ok);
  EXPECT_FALSE(Source().checks_stale);
  ASSERT_EQ(changes_.size(), 2u);
  EXPECT_EQ(changes_[1].to, protocol::CheckState::kOk);
}

TEST_F(CompactChecksTest, AMarkerBeforeAnyFullStateIsStale) {
  // A collector that restarted (digests are not persisted) or a first frame lost.
  ASSERT_FALSE(Send(Unchanged(1, 42)).rejected);
  EXPECT_TRUE(Source().checks.empty());
  EXPECT_TRUE(Source().checks_stale);
  EXPECT_TRUE(changes_.empty());
}

TEST_F(CompactChecksTest, VersionOneFramesAreStillAccepted) {
  protocol::Heartbeat old = Beat(1, "db-01");
  old.version = 1;
  old.checks = critical_;
  ASSERT_FALSE(Send(old).rejected);
  EXPECT_EQ(Source().checks, critical_);
  EXPECT_FALSE(Source().checks_stale);
  // A marker after version 1 frames names a digest this collector never got.
  ASSERT_FALSE(Send(Unchanged(2, protocol::ChecksDigest(critical_))).rejected);
  EXPECT_TRUE(Source().checks_stale);  // version 1 named no digest: unknown, kept
  EXPECT_EQ(Source().checks, critical_);
}

TEST_F(CompactChecksTest, AFullStateOverADatagramIsTakenOverHttpOnly) {
  std::vector<protocol::CheckResult> many;
  for (int i = 0; i < 20; ++i) {
    many.push_back({"c" + std::to_string(i), protocol::CheckState::kOk, std::string(200, 'o')});
  }
  auto big = protocol::Encode(Full(1, many), key_, protocol::kMaxHttpFrameSize).value();
  ASSERT_GT(big.size(), protocol::kMaxFrameSize);
  EXPECT_EQ(ingestor_->Ingest(big, Transport::kUdp, "p").rejected, RejectReason::kOversize);
  EXPECT_FALSE(ingestor_->Ingest(big, Transport::kHttp, "p").rejected);
  EXPECT_EQ(Source().checks, many);
}

}  // namespace
}  // namespace firewatch::collector

#include "app/alerts.h"

namespace firewatch::collector {
namespace {

TEST(CheckAlertsTest, SeverityChangesResolveOneAndFireTheOther) {
  CheckChange c{"web-01", {{"dc", "dc1"}}, "disk", protocol::CheckState::kWarning,
                protocol::CheckState::kCritical, "99%", 1000};
  auto alerts = AlertsFor(c, "");
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].labels.at("severity"), "warning");
  EXPECT_EQ(alerts[0].status, alerting::AlertStatus::kResolved);
  EXPECT_EQ(alerts[1].labels.at("severity"), "critical");
  EXPECT_EQ(alerts[1].status, alerting::AlertStatus::kFiring);
  EXPECT_EQ(alerts[1].labels.at("alertname"), "CheckFailing");
  EXPECT_EQ(alerts[1].labels.at("dc"), "dc1");
  c.from = protocol::CheckState::kCritical;
  c.to = protocol::CheckState::kOk;
  alerts = AlertsFor(c, "");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].status, alerting::AlertStatus::kResolved);
}

TEST(CheckAlertsTest, DownAndRecoveryMapToSourceDown) {
  Transition t;
  t.source_id = "db-01";
  t.labels = {{"source", "spoofed"}, {"dc", "dc2"}};
  t.from = SourceState::kLate;
  t.to = SourceState::kDown;
  auto a = AlertFor(t, "http://c:9760");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->labels.at("source"), "db-01") << "identity labels win over agent labels";
  EXPECT_EQ(a->status, alerting::AlertStatus::kFiring);
  t.from = SourceState::kDown;
  t.to = SourceState::kUp;
  EXPECT_EQ(AlertFor(t, "")->status, alerting::AlertStatus::kResolved);
  t.from = SourceState::kUp;
  t.to = SourceState::kLate;
  EXPECT_FALSE(AlertFor(t, ""));
}

}  // namespace
}  // namespace firewatch::collector
