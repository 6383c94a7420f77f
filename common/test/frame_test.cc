#include "firewatch/protocol/frame.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <limits>
#include <set>

namespace firewatch::protocol {
namespace {

Secret TestKey() { return Secret(32, 0x42); }

Keyring TestRing() {
  Keyring k;
  EXPECT_TRUE(k.Add("fleet", TestKey()).ok());
  return k;
}

Heartbeat Sample() {
  Heartbeat hb;
  hb.key_id = "fleet";
  hb.source_id = "web-01.dc1";
  hb.boot_id = NewBootId();
  hb.sequence = 7;
  hb.timestamp_ms = 1'700'000'000'123;
  hb.interval_ms = 5000;
  hb.agent_version = "0.1.0";
  hb.labels = {{"role", "web"}, {"dc", "dc1"}};
  hb.checks = {{"disk", CheckState::kWarning, "/var 91% full"}, {"ntp", CheckState::kOk, ""}};
  return hb;
}

std::vector<uint8_t> Encoded(const Heartbeat& hb) {
  auto r = Encode(hb, TestKey());
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.value();
}

RejectReason ReasonOf(const std::vector<uint8_t>& bytes, const Keyring& ring = TestRing()) {
  auto out = Decode(bytes, ring);
  EXPECT_FALSE(out.ok());
  return out.ok() ? RejectReason::kMalformed : out.error().reason;
}

TEST(FrameTest, RoundTripsEveryField) {
  Heartbeat hb = Sample();
  auto bytes = Encoded(hb);
  auto out = Decode(bytes, TestRing());
  ASSERT_TRUE(out.ok()) << out.error().detail;
  std::sort(hb.labels.begin(), hb.labels.end());  // encoded sorted by key
  EXPECT_EQ(out.heartbeat(), hb);
}

// The ingest path reuses one view for frames of every shape: a smaller frame after a
// larger one must not keep the larger one's labels or checks, and every field must
// point into the new frame's bytes.
TEST(FrameTest, ReusedViewDecodesEachFrameExactly) {
  const Keyring ring = TestRing();
  Heartbeat big = Sample();
  std::sort(big.labels.begin(), big.labels.end());
  Heartbeat small;
  small.key_id = "fleet";
  small.source_id = "db-02";
  small.boot_id = NewBootId();
  small.sequence = 1;
  small.timestamp_ms = 1'700'000'000'999;
  small.interval_ms = 1000;
  small.type = FrameType::kGoodbye;
  small.goodbye_reason = "SIGTERM";
  small.labels = {{"dc", "dc2"}};
  const auto big_bytes = Encoded(big);
  const auto small_bytes = Encoded(small);
  HeartbeatView view;
  ASSERT_FALSE(DecodeView(big_bytes, ring, view));
  EXPECT_EQ(ToHeartbeat(view), big);
  ASSERT_FALSE(DecodeView(small_bytes, ring, view));
  EXPECT_EQ(ToHeartbeat(view), small);
  const auto* begin = reinterpret_cast<const char*>(small_bytes.data());
  EXPECT_GE(view.source_id.data(), begin);
  EXPECT_LT(view.source_id.data(), begin + small_bytes.size()) << "a view, not a copy";
  HeartbeatView of;
  ViewOf(small, of);
  EXPECT_EQ(ToHeartbeat(of), small);
}

TEST(FrameTest, GoodbyeCarriesReason) {
  Heartbeat hb = Sample();
  hb.type = FrameType::kGoodbye;
  hb.goodbye_reason = "SIGTERM";
  auto out = Decode(Encoded(hb), TestRing());
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out.heartbeat().type, FrameType::kGoodbye);
  EXPECT_EQ(out.heartbeat().goodbye_reason, "SIGTERM");
}

TEST(FrameTest, TypicalFrameIsSmall) {
  EXPECT_LT(Encoded(Sample()).size(), 200u);
}

TEST(FrameTest, EncodeRefusesFramesOverTheLimit) {
  Heartbeat hb = Sample();
  for (int i = 0; i < 6; ++i) hb.checks.push_back({"c" + std::to_string(i), CheckState::kOk, std::string(250, 'x')});
  auto r = Encode(hb, TestKey());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("limit is 1200"), std::string::npos);
}

TEST(FrameTest, EncodeNamesTheFieldThatIsTooLong) {
  Heartbeat hb = Sample();
  hb.source_id = std::string(65, 'a');
  auto r = Encode(hb, TestKey());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("source id"), std::string::npos);
}

TEST(FrameTest, EncodeRefusesDuplicateLabels) {
  Heartbeat hb = Sample();
  hb.labels.push_back({"dc", "dc2"});
  EXPECT_FALSE(Encode(hb, TestKey()).ok());
}

TEST(FrameTest, RejectsBadMac) {
  auto bytes = Encoded(Sample());
  bytes[bytes.size() - 1] ^= 1;
  EXPECT_EQ(ReasonOf(bytes), RejectReason::kBadMac);
}

TEST(FrameTest, RejectsTamperedBody) {
  auto bytes = Encoded(Sample());
  bytes[30] ^= 0x80;  // inside the boot id
  EXPECT_EQ(ReasonOf(bytes), RejectReason::kBadMac);
}

TEST(FrameTest, RejectsWrongKeyMaterial) {
  Keyring other;
  ASSERT_TRUE(other.Add("fleet", Secret(32, 0x43)).ok());
  EXPECT_EQ(ReasonOf(Encoded(Sample()), other), RejectReason::kBadMac);
}

TEST(FrameTest, RejectsUnknownKey) {
  Keyring other;
  ASSERT_TRUE(other.Add("another", TestKey()).ok());
  EXPECT_EQ(ReasonOf(Encoded(Sample()), other), RejectReason::kUnknownKey);
}

TEST(FrameTest, RejectsTruncatedAtEveryLength) {
  auto bytes = Encoded(Sample());
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
    EXPECT_EQ(ReasonOf(cut), RejectReason::kTruncated) << "length " << n;
  }
}

TEST(FrameTest, RejectsOversize) {
  std::vector<uint8_t> big(kMaxFrameSize + 1, 0);
  big[0] = 'F';
  big[1] = 'W';
  EXPECT_EQ(ReasonOf(big), RejectReason::kOversize);
}

TEST(FrameTest, RejectsWrongVersion) {
  auto bytes = Encoded(Sample());
  bytes[2] = kVersion + 1;  // a newer version than this build speaks: never misread
  EXPECT_EQ(ReasonOf(bytes), RejectReason::kBadVersion);
  bytes[2] = 0;
  EXPECT_EQ(ReasonOf(bytes), RejectReason::kBadVersion);
}

TEST(FrameTest, RejectsGarbage) {
  std::vector<uint8_t> junk = {'G', 'E', 'T', ' ', '/'};
  EXPECT_EQ(ReasonOf(junk), RejectReason::kBadMagic);
}

TEST(FrameTest, RejectsTrailingBytes) {
  auto bytes = Encoded(Sample());
  bytes.push_back(0);
  EXPECT_EQ(ReasonOf(bytes), RejectReason::kMalformed);
}

TEST(FrameTest, RejectsSignedButStructurallyBadFrame) {
  // A key holder that signs nonsense is still refused, as malformed.
  Heartbeat hb = Sample();
  hb.checks.clear();
  hb.labels.clear();
  auto bytes = Encoded(hb);
  // labels(1) checks mode(1) digest(8) checks(1) reason(1)
  size_t label_count_at = bytes.size() - kMacSize - 12;
  bytes[label_count_at] = 5;                            // claims 5 labels that are not there
  unsigned len = kMacSize;
  auto key = TestKey();
  HMAC(EVP_sha256(), key.data(), 32, bytes.data(), bytes.size() - kMacSize,
       bytes.data() + bytes.size() - kMacSize, &len);
  EXPECT_EQ(ReasonOf(bytes), RejectReason::kMalformed);
}

// Re-signs `bytes` (whose MAC is at the end) with the test key, as a key holder would.
void Resign(std::vector<uint8_t>& bytes) {
  unsigned len = kMacSize;
  auto key = TestKey();
  HMAC(EVP_sha256(), key.data(), 32, bytes.data(), bytes.size() - kMacSize,
       bytes.data() + bytes.size() - kMacSize, &len);
}

TEST(FrameTest, HeartbeatWithAGoodbyeReasonIsMalformed) {
  // protocol.md: the reason is "empty for heartbeats". A signed goodbye whose type byte
  // says heartbeat carries one and is refused.
  Heartbeat hb = Sample();
  hb.type = FrameType::kGoodbye;
  hb.goodbye_reason = "SIGTERM";
  auto bytes = Encoded(hb);
  ASSERT_TRUE(Decode(bytes, TestRing()).ok());
  bytes[3] = static_cast<uint8_t>(FrameType::kHeartbeat);
  Resign(bytes);
  auto out = Decode(bytes, TestRing());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().reason, RejectReason::kMalformed);
  EXPECT_NE(out.error().detail.find("goodbye reason"), std::string::npos) << out.error().detail;
  // The encoder never writes one for a heartbeat, whatever the struct holds.
  Heartbeat plain = Sample();
  plain.goodbye_reason = "stray";
  auto decoded = Decode(Encoded(plain), TestRing());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded.heartbeat().goodbye_reason, "");
}

TEST(FrameTest, ExtremeTimestampsAndIntervalsDecode) {
  // The decoder carries any i64 timestamp and u32 interval through; the receiver's
  // window and interval bounds refuse them (replay_test, tracker_test), without overflow.
  for (int64_t ts : {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(),
                     int64_t{-1}}) {
    Heartbeat hb = Sample();
    hb.timestamp_ms = ts;
    hb.interval_ms = std::numeric_limits<uint32_t>::max();
    auto out = Decode(Encoded(hb), TestRing());
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out.heartbeat().timestamp_ms, ts);
    EXPECT_EQ(out.heartbeat().interval_ms, std::numeric_limits<uint32_t>::max());
  }
}

TEST(FrameTest, EveryReasonHasADistinctName) {
  std::set<std::string_view> names;
  for (int i = 0; i < kRejectReasonCount; ++i) names.insert(RejectReasonName(static_cast<RejectReason>(i)));
  EXPECT_EQ(names.size(), static_cast<size_t>(kRejectReasonCount));
}

TEST(FrameTest, SurvivesEveryBitFlip) {
  // Cheap stand-in for the fuzzer (bench/fuzz): flipping any bit never crashes, and
  // never yields a frame that verifies.
  auto bytes = Encoded(Sample());
  for (size_t i = 0; i < bytes.size() * 8; ++i) {
    auto copy = bytes;
    copy[i / 8] ^= static_cast<uint8_t>(1 << (i % 8));
    EXPECT_FALSE(Decode(copy, TestRing()).ok()) << "bit " << i;
  }
}

}  // namespace
}  // namespace firewatch::protocol

namespace firewatch::protocol {
namespace {

// ---- version 2: the checks mode and digest (docs/protocol.md, "Checks") ----

TEST(FrameV2Test, FullAndUnchangedRoundTrip) {
  Heartbeat full = Sample();
  std::sort(full.labels.begin(), full.labels.end());
  full.checks_digest = ChecksDigest(full.checks);
  auto out = Decode(Encoded(full), TestRing());
  ASSERT_TRUE(out.ok()) << out.error().detail;
  EXPECT_EQ(out.heartbeat(), full);
  EXPECT_EQ(out.heartbeat().version, 2);

  Heartbeat marker = full;
  marker.checks.clear();
  marker.checks_mode = ChecksMode::kUnchanged;
  auto bytes = Encoded(marker);
  auto m = Decode(bytes, TestRing());
  ASSERT_TRUE(m.ok()) << m.error().detail;
  EXPECT_EQ(m.heartbeat(), marker);
  // The marker is a byte smaller than a full state of no checks (it has no count),
  // whatever the checks hold.
  Heartbeat none = full;
  none.checks.clear();
  EXPECT_EQ(bytes.size() + 1, Encoded(none).size());
}

TEST(FrameV2Test, VersionOneFramesStillDecode) {
  // An agent of before version 2: every check in full, no mode, no digest.
  Heartbeat old = Sample();
  std::sort(old.labels.begin(), old.labels.end());
  old.version = 1;
  auto bytes = Encoded(old);
  EXPECT_EQ(bytes[2], 1);
  auto out = Decode(bytes, TestRing());
  ASSERT_TRUE(out.ok()) << out.error().detail;
  EXPECT_EQ(out.heartbeat(), old);
  EXPECT_EQ(out.heartbeat().checks_mode, ChecksMode::kFull);
  EXPECT_EQ(out.heartbeat().checks_digest, 0u);
  // Version 2 frames are 9 bytes longer (mode and digest).
  Heartbeat now = old;
  now.version = 2;
  EXPECT_EQ(Encoded(now).size(), bytes.size() + 9);
}

TEST(FrameV2Test, EncodeRefusesInconsistentFrames) {
  Heartbeat hb = Sample();
  hb.checks_mode = ChecksMode::kUnchanged;  // with checks
  EXPECT_FALSE(Encode(hb, TestKey()).ok());
  hb = Sample();
  hb.version = 1;
  hb.checks_digest = 7;  // version 1 has no digest
  EXPECT_FALSE(Encode(hb, TestKey()).ok());
  hb = Sample();
  hb.version = 3;
  EXPECT_FALSE(Encode(hb, TestKey()).ok());
}

TEST(FrameV2Test, UnknownChecksModeIsMalformed) {
  Heartbeat hb = Sample();
  hb.checks.clear();
  hb.labels.clear();
  auto bytes = Encoded(hb);
  bytes[bytes.size() - kMacSize - 11] = 7;  // mode(1) digest(8) checks(1) reason(1)
  Resign(bytes);
  auto out = Decode(bytes, TestRing());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().reason, RejectReason::kMalformed);
  EXPECT_NE(out.error().detail.find("checks mode"), std::string::npos) << out.error().detail;
}

TEST(FrameV2Test, UnchangedFrameWithACheckCountIsMalformed) {
  // An unchanged-checks frame has no count: a stray byte there is unparsed.
  Heartbeat hb = Sample();
  hb.checks.clear();
  auto bytes = Encoded(hb);
  bytes[bytes.size() - kMacSize - 11] = static_cast<uint8_t>(ChecksMode::kUnchanged);
  Resign(bytes);
  EXPECT_EQ(ReasonOf(bytes), RejectReason::kMalformed);
}

TEST(FrameV2Test, FramesOverADatagramOnlyUnderTheHttpLimit) {
  Heartbeat hb = Sample();
  for (int i = 0; i < 20; ++i) {
    hb.checks.push_back({"c" + std::to_string(i), CheckState::kOk, std::string(200, 'y')});
  }
  EXPECT_FALSE(Encode(hb, TestKey()).ok());
  auto big = Encode(hb, TestKey(), kMaxHttpFrameSize);
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_GT(big->size(), kMaxFrameSize);
  EXPECT_EQ(ReasonOf(*big), RejectReason::kOversize);  // the datagram limit
  auto out = Decode(*big, TestRing(), kMaxHttpFrameSize);
  ASSERT_TRUE(out.ok()) << out.error().detail;
  EXPECT_EQ(out.heartbeat().checks.size(), hb.checks.size());
  // Nothing is over the u16 length, whatever the caller asks for.
  std::vector<uint8_t> huge(kMaxHttpFrameSize + 1, 0);
  huge[0] = 'F';
  huge[1] = 'W';
  EXPECT_EQ(Decode(huge, TestRing(), 1 << 20).error().reason, RejectReason::kOversize);
}

TEST(FrameV2Test, DigestNamesTheWholeState) {
  std::vector<CheckResult> a = {{"disk", CheckState::kOk, "ok"}, {"load", CheckState::kOk, ""}};
  const uint64_t d = ChecksDigest(a);
  EXPECT_NE(d, 0u);
  EXPECT_EQ(ChecksDigest(a), d);  // deterministic
  auto b = a;
  b[1].state = CheckState::kCritical;
  EXPECT_NE(ChecksDigest(b), d);
  b = a;
  b[0].output = "ok!";
  EXPECT_NE(ChecksDigest(b), d);
  b = a;
  b[0].name = "disk2";
  EXPECT_NE(ChecksDigest(b), d);
  // Field boundaries count: ("ab", "") differs from ("a", "b").
  EXPECT_NE(ChecksDigest(std::vector<CheckResult>{{"ab", CheckState::kOk, ""}}),
            ChecksDigest(std::vector<CheckResult>{{"a", CheckState::kOk, "b"}}));
  EXPECT_NE(ChecksDigest({}), 0u);
}

}  // namespace
}  // namespace firewatch::protocol
