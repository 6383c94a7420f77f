#include "heartbeat_builder.h"

#include <gtest/gtest.h>

#include "version.h"

namespace firewatch::agent {
namespace {

using namespace std::chrono_literals;

class FixedChecks final : public CheckProvider {
 public:
  std::vector<protocol::CheckResult> results;
  std::vector<protocol::CheckResult> Current() override { return results; }
};

class HeartbeatBuilderTest : public ::testing::Test {
 protected:
  HeartbeatBuilderTest() {
    config_.source_id = "web-01";
    config_.key_id = "fleet";
    config_.interval = 5s;
    config_.labels = {{"dc", "dc1"}, {"role", "web"}};
    boot_id_.fill(0xab);
    EXPECT_TRUE(keys_.Add("fleet", secret_).ok());
  }

  // The frame as HTTP carries it (up to kMaxHttpFrameSize).
  protocol::Heartbeat Decode(const OutgoingFrame& f) {
    auto out = protocol::Decode(f.bytes, keys_, protocol::kMaxHttpFrameSize);
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().detail);
    return out.heartbeat();
  }
  // The frame as UDP carries it: the cut copy of one too big for a datagram.
  protocol::Heartbeat DecodeDatagram(const OutgoingFrame& f) {
    auto out = protocol::Decode(f.needs_http() ? f.datagram : f.bytes, keys_);
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().detail);
    return out.heartbeat();
  }

  AgentConfig config_;
  protocol::Secret secret_ = protocol::Secret(32, 0x42);
  protocol::Keyring keys_;
  protocol::BootId boot_id_{};
  FakeClock clock_{FromUnixMillis(1'700'000'000'123)};
  FixedChecks checks_;
};

TEST_F(HeartbeatBuilderTest, HeartbeatsCarryEveryFieldAndCountFromOne) {
  HeartbeatBuilder b(config_, secret_, boot_id_, clock_, checks_);
  auto f1 = b.NextHeartbeat();
  ASSERT_TRUE(f1.ok()) << f1.status().ToString();
  EXPECT_EQ(f1->sequence, 1u);
  protocol::Heartbeat hb = Decode(*f1);
  EXPECT_EQ(hb.type, protocol::FrameType::kHeartbeat);
  EXPECT_EQ(hb.key_id, "fleet");
  EXPECT_EQ(hb.source_id, "web-01");
  EXPECT_EQ(hb.boot_id, boot_id_);
  EXPECT_EQ(hb.sequence, 1u);
  EXPECT_EQ(hb.timestamp_ms, 1'700'000'000'123);
  EXPECT_EQ(hb.interval_ms, 5000u);
  EXPECT_EQ(hb.agent_version, AgentVersion());
  EXPECT_EQ(hb.labels, config_.labels);
  EXPECT_TRUE(hb.checks.empty());
  EXPECT_TRUE(hb.goodbye_reason.empty());

  clock_.Advance(5s);
  auto f2 = b.NextHeartbeat();
  ASSERT_TRUE(f2.ok());
  EXPECT_EQ(Decode(*f2).sequence, 2u);
  EXPECT_EQ(Decode(*f2).timestamp_ms, 1'700'000'005'123);
  EXPECT_EQ(b.last_sequence(), 2u);
}

TEST_F(HeartbeatBuilderTest, GoodbyeTakesTheNextSequenceAndTheReason) {
  HeartbeatBuilder b(config_, secret_, boot_id_, clock_, checks_);
  ASSERT_TRUE(b.NextHeartbeat().ok());
  ASSERT_TRUE(b.NextHeartbeat().ok());
  ASSERT_TRUE(b.NextHeartbeat().ok());
  clock_.Advance(1200ms);
  auto bye = b.Goodbye("SIGTERM");
  ASSERT_TRUE(bye.ok()) << bye.status().ToString();
  EXPECT_EQ(bye->type, protocol::FrameType::kGoodbye);
  protocol::Heartbeat hb = Decode(*bye);
  EXPECT_EQ(hb.type, protocol::FrameType::kGoodbye);
  EXPECT_EQ(hb.goodbye_reason, "SIGTERM");
  EXPECT_EQ(hb.sequence, 4u);
  EXPECT_EQ(hb.boot_id, boot_id_);
  EXPECT_EQ(hb.source_id, "web-01");
  EXPECT_EQ(hb.timestamp_ms, 1'700'000'001'323);
  EXPECT_EQ(hb.interval_ms, 5000u);
  EXPECT_EQ(hb.labels, config_.labels);
  EXPECT_TRUE(hb.checks.empty());
}

TEST_F(HeartbeatBuilderTest, GoodbyeAsFirstFrameIsSequenceOne) {
  HeartbeatBuilder b(config_, secret_, boot_id_, clock_, checks_);
  auto bye = b.Goodbye("SIGINT");
  ASSERT_TRUE(bye.ok());
  EXPECT_EQ(Decode(*bye).sequence, 1u);
  EXPECT_EQ(Decode(*bye).goodbye_reason, "SIGINT");
}

TEST_F(HeartbeatBuilderTest, ChecksFromTheProviderAreSent) {
  checks_.results = {{"disk", protocol::CheckState::kWarning, "91% used"}};
  HeartbeatBuilder b(config_, secret_, boot_id_, clock_, checks_);
  auto f = b.NextHeartbeat();
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(Decode(*f).checks, checks_.results);
}

TEST_F(HeartbeatBuilderTest, WhenChecksDoNotFitWhatIsWrongGoesFirst) {
  // OK checks lose their messages first; the CRITICAL one keeps its whole message.
  for (int i = 0; i < 5; ++i) {
    checks_.results.push_back(
        {"ok" + std::to_string(i), protocol::CheckState::kOk, std::string(200, 'o')});
  }
  checks_.results.push_back({"bad", protocol::CheckState::kCritical, std::string(200, 'x')});
  HeartbeatBuilder b(config_, secret_, boot_id_, clock_, checks_);
  auto f = b.NextHeartbeat();
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  protocol::Heartbeat hb = DecodeDatagram(*f);
  ASSERT_EQ(hb.checks.size(), 6u);
  EXPECT_EQ(hb.checks[0].output, "");
  EXPECT_EQ(hb.checks[5].output, std::string(200, 'x'));

  // Ten failing checks with long messages: kept, messages cut to 32 bytes.
  checks_.results.clear();
  for (int i = 0; i < 10; ++i) {
    checks_.results.push_back(
        {"check" + std::to_string(i), protocol::CheckState::kCritical, std::string(200, 'x')});
  }
  f = b.NextHeartbeat();
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  hb = DecodeDatagram(*f);
  ASSERT_EQ(hb.checks.size(), 10u);
  EXPECT_EQ(hb.checks[9].output, std::string(32, 'x'));
}

TEST_F(HeartbeatBuilderTest, ChecksThatDoNotFitAreDroppedNotTheHeartbeat) {
  for (int i = 0; i < 40; ++i) {
    checks_.results.push_back({"check" + std::to_string(i) + std::string(100, 'n'),
                               protocol::CheckState::kCritical, std::string(200, 'x')});
  }
  HeartbeatBuilder b(config_, secret_, boot_id_, clock_, checks_);
  auto f = b.NextHeartbeat();
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  protocol::Heartbeat hb = DecodeDatagram(*f);
  EXPECT_TRUE(hb.checks.empty());
  EXPECT_EQ(hb.sequence, 1u);
}

TEST_F(HeartbeatBuilderTest, BootIdsDifferBetweenRuns) {
  EXPECT_NE(protocol::NewBootId(), protocol::NewBootId());
}

// ---- compact check state (protocol version 2) ----

TEST_F(HeartbeatBuilderTest, UnchangedChecksTravelAsTheDigestOfTheLastFullState) {
  checks_.results = {{"disk", protocol::CheckState::kOk, "12% used"},
                     {"load", protocol::CheckState::kOk, "0.1"}};
  HeartbeatBuilder b(config_, secret_, boot_id_, clock_, checks_);
  // The first heartbeat is full; the state is new, so the next two repeat it.
  uint64_t digest = 0;
  for (int i = 0; i < HeartbeatBuilder::kChangeRepeats; ++i) {
    auto f = b.NextHeartbeat();
    ASSERT_TRUE(f.ok());
    EXPECT_TRUE(f->full_checks) << i;
    protocol::Heartbeat hb = Decode(*f);
    EXPECT_EQ(hb.version, 2);
    EXPECT_EQ(hb.checks_mode, protocol::ChecksMode::kFull);
    EXPECT_EQ(hb.checks, checks_.results);
    EXPECT_EQ(hb.checks_digest, protocol::ChecksDigest(checks_.results));
    digest = hb.checks_digest;
    clock_.Advance(5s);
  }
  auto f = b.NextHeartbeat();
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->full_checks);
  protocol::Heartbeat hb = Decode(*f);
  EXPECT_EQ(hb.checks_mode, protocol::ChecksMode::kUnchanged);
  EXPECT_TRUE(hb.checks.empty());
  EXPECT_EQ(hb.checks_digest, digest);

  // A changed message alone is no change of state: it waits for the periodic full one.
  checks_.results[1].output = "0.2";
  clock_.Advance(5s);
  hb = Decode(*b.NextHeartbeat());
  EXPECT_EQ(hb.checks_mode, protocol::ChecksMode::kUnchanged);
  EXPECT_EQ(hb.checks_digest, digest);
}

TEST_F(HeartbeatBuilderTest, AChangeIsSentInFullInTheNextHeartbeats) {
  checks_.results = {{"web", protocol::CheckState::kOk, ""}};
  HeartbeatBuilder b(config_, secret_, boot_id_, clock_, checks_);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(b.NextHeartbeat().ok());
  ASSERT_EQ(Decode(*b.NextHeartbeat()).checks_mode, protocol::ChecksMode::kUnchanged);
  checks_.results[0] = {"web", protocol::CheckState::kCritical, "connection refused"};
  for (int i = 0; i < HeartbeatBuilder::kChangeRepeats; ++i) {
    protocol::Heartbeat hb = Decode(*b.NextHeartbeat());
    EXPECT_EQ(hb.checks_mode, protocol::ChecksMode::kFull) << i;
    EXPECT_EQ(hb.checks, checks_.results);
  }
  protocol::Heartbeat hb = Decode(*b.NextHeartbeat());
  EXPECT_EQ(hb.checks_mode, protocol::ChecksMode::kUnchanged);
  EXPECT_EQ(hb.checks_digest, protocol::ChecksDigest(checks_.results));
  // A check that appears is a change too.
  checks_.results.push_back({"disk", protocol::CheckState::kOk, ""});
  EXPECT_EQ(Decode(*b.NextHeartbeat()).checks_mode, protocol::ChecksMode::kFull);
}

TEST_F(HeartbeatBuilderTest, TheFullStateIsSentAtLeastEveryChecksFullInterval) {
  config_.checks_full_interval = 30s;
  checks_.results = {{"load", protocol::CheckState::kOk, "0.1"}};
  HeartbeatBuilder b(config_, secret_, boot_id_, clock_, checks_);
  for (int i = 0; i < HeartbeatBuilder::kChangeRepeats; ++i) ASSERT_TRUE(b.NextHeartbeat().ok());
  const MonoTime last_full = clock_.Now();
  checks_.results[0].output = "0.7";  // rides on the periodic full state
  for (;;) {
    clock_.Advance(5s);
    protocol::Heartbeat hb = Decode(*b.NextHeartbeat());
    if (hb.checks_mode == protocol::ChecksMode::kFull) {
      EXPECT_EQ(clock_.Now() - last_full, 30s);
      EXPECT_EQ(hb.checks, checks_.results);
      EXPECT_EQ(hb.checks_digest, protocol::ChecksDigest(checks_.results));
      break;
    }
    ASSERT_LT(clock_.Now() - last_full, 30s);
  }
  // The markers after it name the new full state.
  clock_.Advance(5s);
  EXPECT_EQ(Decode(*b.NextHeartbeat()).checks_digest, protocol::ChecksDigest(checks_.results));
}

TEST_F(HeartbeatBuilderTest, AFullStateOverADatagramIsWholeForHttpAndCutForUdp) {
  for (int i = 0; i < 20; ++i) {
    checks_.results.push_back({"check" + std::to_string(i), protocol::CheckState::kOk,
                               std::string(200, 'o')});
  }
  checks_.results[7].state = protocol::CheckState::kCritical;
  HeartbeatBuilder b(config_, secret_, boot_id_, clock_, checks_);
  auto f = b.NextHeartbeat();
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE(f->needs_http());
  EXPECT_GT(f->bytes.size(), protocol::kMaxFrameSize);
  EXPECT_LE(f->datagram.size(), protocol::kMaxFrameSize);
  protocol::Heartbeat whole = Decode(*f);
  protocol::Heartbeat cut = DecodeDatagram(*f);
  EXPECT_EQ(whole.checks, checks_.results);
  EXPECT_EQ(whole.sequence, cut.sequence);  // one frame: a collector takes one of them
  EXPECT_EQ(whole.checks_digest, cut.checks_digest);
  ASSERT_FALSE(cut.checks.empty());
  EXPECT_EQ(cut.checks[7].state, protocol::CheckState::kCritical);
  // Markers are small again.
  for (int i = 0; i < HeartbeatBuilder::kChangeRepeats; ++i) f = b.NextHeartbeat();
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->needs_http());
  EXPECT_LT(f->bytes.size(), 200u);
}

TEST_F(HeartbeatBuilderTest, ProtocolVersionOneSendsEveryCheckEveryTime) {
  config_.protocol_version = 1;
  checks_.results = {{"disk", protocol::CheckState::kOk, "12% used"}};
  HeartbeatBuilder b(config_, secret_, boot_id_, clock_, checks_);
  for (int i = 0; i < 6; ++i) {
    auto f = b.NextHeartbeat();
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->bytes[2], 1);
    protocol::Heartbeat hb = Decode(*f);
    EXPECT_EQ(hb.checks, checks_.results);
    EXPECT_EQ(hb.checks_digest, 0u);
  }
  for (int i = 0; i < 20; ++i) {
    checks_.results.push_back({"c" + std::to_string(i), protocol::CheckState::kOk, "xxxxxxxxxx"});
  }
  checks_.results.push_back({"long", protocol::CheckState::kWarning, std::string(250, 'w')});
  for (int i = 0; i < 4; ++i) checks_.results.push_back({"l" + std::to_string(i), protocol::CheckState::kOk, std::string(250, 'w')});
  auto f = b.NextHeartbeat();
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->needs_http());  // cut to fit, as before version 2
  EXPECT_LE(f->bytes.size(), protocol::kMaxFrameSize);
  auto bye = b.Goodbye("SIGTERM");
  ASSERT_TRUE(bye.ok());
  EXPECT_EQ(bye->bytes[2], 1);
}

}  // namespace
}  // namespace firewatch::agent
