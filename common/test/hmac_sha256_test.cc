#include "firewatch/crypto/hmac_sha256.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "firewatch/protocol/keyring.h"
#include "firewatch/text/hex.h"

namespace firewatch::crypto {
namespace {

using internal::Sha256Impl;
using Bytes = std::vector<uint8_t>;

Bytes B(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

std::string Hex(std::span<const uint8_t> b) {
  return text::ToHex(b);
}

Bytes RandomBytes(std::mt19937& rng, size_t n) {
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

// OpenSSL as the reference.
std::string OpenSslSha256(const Bytes& m) {
  uint8_t out[32];
  unsigned len = 0;
  EXPECT_EQ(EVP_Digest(m.data(), m.size(), out, &len, EVP_sha256(), nullptr), 1);
  return Hex({out, len});
}

std::string OpenSslHmac(const Bytes& key, const Bytes& m) {
  uint8_t out[32];
  unsigned len = 0;
  static const uint8_t kNoKey = 0;  // OpenSSL wants a pointer even for an empty key
  EXPECT_NE(HMAC(EVP_sha256(), key.empty() ? &kNoKey : key.data(), static_cast<int>(key.size()),
                 m.data(), m.size(), out, &len),
            nullptr);
  return Hex({out, len});
}

// Every test in this suite runs once per block-function implementation (portable and,
// when this CPU has it, SHA-NI), and restores the default afterwards.
class Sha256ImplTest : public ::testing::TestWithParam<Sha256Impl> {
 protected:
  void SetUp() override {
    saved_ = internal::ActiveSha256Impl();
    if (!internal::SetSha256ImplForTesting(GetParam())) {
      GTEST_SKIP() << "implementation not available on this CPU/build";
    }
    ASSERT_EQ(internal::ActiveSha256Impl(), GetParam());
  }
  void TearDown() override { ASSERT_TRUE(internal::SetSha256ImplForTesting(saved_)); }

 private:
  Sha256Impl saved_{};
};

// FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA2_Additional").
TEST_P(Sha256ImplTest, NistVectors) {
  EXPECT_EQ(Hex(Sha256::Hash(B(""))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256::Hash(B("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256::Hash(B("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Hex(Sha256::Hash(B("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                               "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"))),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(Hex(Sha256::Hash(Bytes(1'000'000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_P(Sha256ImplTest, MillionAInUnevenChunks) {
  Sha256 h;
  const Bytes chunk(997, 'a');  // prime, so chunks straddle every block offset
  size_t left = 1'000'000;
  while (left > 0) {
    size_t n = std::min(left, chunk.size());
    h.Update(std::span(chunk).first(n));
    left -= n;
  }
  EXPECT_EQ(Hex(h.Finish()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_P(Sha256ImplTest, AnySplitGivesTheOneShotDigest) {
  std::mt19937 rng(1);
  const Bytes m = RandomBytes(rng, 200);
  const std::string want = Hex(Sha256::Hash(m));
  EXPECT_EQ(want, OpenSslSha256(m));
  Sha256 h;
  for (size_t i = 0; i <= m.size(); ++i) {
    for (size_t j = i; j <= m.size(); j += 13) {
      h.Update(std::span(m).first(i)).Update(std::span(m).subspan(i, j - i));
      h.Update(std::span(m).subspan(j));
      ASSERT_EQ(Hex(h.Finish()), want) << "split at " << i << " and " << j;
    }
  }
}

TEST_P(Sha256ImplTest, FinishResetsTheHasher) {
  Sha256 h;
  h.Update(B("abc"));
  auto first = h.Finish();
  h.Update(B("abc"));
  EXPECT_EQ(h.Finish(), first);
  EXPECT_EQ(Hex(h.Finish()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  h.Update(B("junk"));
  h.Reset();
  EXPECT_EQ(Hex(h.Finish()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_P(Sha256ImplTest, EveryLengthUpTo300MatchesOpenSsl) {
  // Covers every padding case: 55 (one block), 56..63 (length spills to a second block),
  // 64 (exact block), and multi-block messages.
  std::mt19937 rng(2);
  for (size_t n = 0; n <= 300; ++n) {
    Bytes m = RandomBytes(rng, n);
    ASSERT_EQ(Hex(Sha256::Hash(m)), OpenSslSha256(m)) << "length " << n;
  }
}

struct Rfc4231Case {
  const char* name;
  Bytes key;
  Bytes data;
  const char* mac_hex;  // case 5 gives only the first 128 bits
};

std::vector<Rfc4231Case> Rfc4231() {
  Bytes key4;
  for (uint8_t i = 1; i <= 25; ++i) key4.push_back(i);
  return {
      {"1", Bytes(20, 0x0b), B("Hi There"),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"2 (key shorter than the output)", B("Jefe"), B("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"3", Bytes(20, 0xaa), Bytes(50, 0xdd),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"4", key4, Bytes(50, 0xcd),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {"5 (truncated to 128 bits)", Bytes(20, 0x0c), B("Test With Truncation"),
       "a3b6167473100ee06e0c796c2955552b"},
      {"6 (131-byte key)", Bytes(131, 0xaa),
       B("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {"7 (131-byte key, 152-byte data)", Bytes(131, 0xaa),
       B("This is a test using a larger than block-size key and a larger than block-size data. "
         "The key needs to be hashed before being used by the HMAC algorithm."),
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
}

TEST_P(Sha256ImplTest, Rfc4231Vectors) {
  for (const auto& c : Rfc4231()) {
    SCOPED_TRACE(std::string("RFC 4231 test case ") + c.name);
    const std::string want = c.mac_hex;
    const HmacKey key(c.key);
    const Sha256Digest mac = key.Sign(c.data);
    // Truncated MACs compare on their length only (case 5: the first 16 bytes).
    EXPECT_EQ(Hex(std::span(mac).first(want.size() / 2)), want);
    EXPECT_EQ(HmacSha256(c.key, c.data), mac);
    if (want.size() == 64) {
      EXPECT_TRUE(key.Verify(c.data, mac));
    }
  }
}

TEST_P(Sha256ImplTest, RandomKeysAndMessagesMatchOpenSsl) {
  // Lengths 0..300 at random, with the block-boundary lengths forced regularly for both
  // the key (hashing kicks in above 64) and the message (padding edges at 55/56, 63/64).
  static constexpr size_t kEdges[] = {0, 1, 31, 32, 55, 56, 63, 64, 65, 119, 120, 128, 129, 300};
  constexpr size_t kEdgeCount = std::size(kEdges);
  std::mt19937 rng(4231);
  std::uniform_int_distribution<size_t> len(0, 300);
  for (int i = 0; i < 2000; ++i) {
    size_t key_len = i % 3 == 0 ? kEdges[(i / 3) % kEdgeCount] : len(rng);
    size_t msg_len = i % 3 == 1 ? kEdges[(i / 3) % kEdgeCount] : len(rng);
    if (i < static_cast<int>(kEdgeCount * kEdgeCount)) {  // every pair of edges first
      key_len = kEdges[i / kEdgeCount];
      msg_len = kEdges[i % kEdgeCount];
    }
    const Bytes key = RandomBytes(rng, key_len);
    const Bytes msg = RandomBytes(rng, msg_len);
    ASSERT_EQ(Hex(HmacKey(key).Sign(msg)), OpenSslHmac(key, msg))
        << "iteration " << i << ": key " << key_len << " bytes, message " << msg_len << " bytes";
  }
}

TEST_P(Sha256ImplTest, KeyIsReusableAndCopyable) {
  std::mt19937 rng(5);
  const Bytes secret = RandomBytes(rng, 32);
  const HmacKey key(secret);
  HmacKey copy = key;
  HmacKey assigned;
  assigned = key;
  for (size_t n : {0, 1, 150, 55, 56, 64, 1200}) {
    const Bytes msg = RandomBytes(rng, n);
    const std::string want = OpenSslHmac(secret, msg);
    EXPECT_EQ(Hex(key.Sign(msg)), want);
    EXPECT_EQ(Hex(key.Sign(msg)), want);  // Sign leaves no state behind
    EXPECT_EQ(Hex(copy.Sign(msg)), want);
    EXPECT_EQ(Hex(assigned.Sign(msg)), want);
  }
}

TEST_P(Sha256ImplTest, DefaultKeyIsTheEmptyKey) {
  EXPECT_EQ(Hex(HmacKey().Sign(B("abc"))), OpenSslHmac({}, B("abc")));
  // A 64-byte key is used as is; a 65-byte one is hashed first.
  EXPECT_NE(HmacKey(Bytes(64, 1)).Sign(B("m")), HmacKey(Bytes(65, 1)).Sign(B("m")));
}

TEST_P(Sha256ImplTest, VerifyRefusesAnyChangeAndWrongLengths) {
  const HmacKey key(Bytes(32, 0x42));
  const Bytes msg = B("heartbeat");
  const Sha256Digest mac = key.Sign(msg);
  EXPECT_TRUE(key.Verify(msg, mac));
  for (size_t bit = 0; bit < 256; ++bit) {
    Sha256Digest bad = mac;
    bad[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
    EXPECT_FALSE(key.Verify(msg, bad)) << "bit " << bit;
  }
  EXPECT_FALSE(key.Verify(msg, std::span(mac).first(31)));
  EXPECT_FALSE(key.Verify(msg, {}));
  Bytes longer(mac.begin(), mac.end());
  longer.push_back(0);
  EXPECT_FALSE(key.Verify(msg, longer));
  EXPECT_FALSE(key.Verify(B("heartbeaT"), mac));
}

std::string ImplName(const ::testing::TestParamInfo<Sha256Impl>& info) {
  return info.param == Sha256Impl::kPortable ? "Portable" : "ShaNi";
}

INSTANTIATE_TEST_SUITE_P(Impls, Sha256ImplTest,
                         ::testing::Values(Sha256Impl::kPortable, Sha256Impl::kShaNi), ImplName);

TEST(Sha256DispatchTest, ImplementationsAgreeOnLongInput) {
  if (!internal::Sha256ImplAvailable(Sha256Impl::kShaNi)) GTEST_SKIP() << "no SHA-NI here";
  const Sha256Impl saved = internal::ActiveSha256Impl();
  std::mt19937 rng(6);
  const Bytes m = RandomBytes(rng, 64 * 1024 + 17);
  ASSERT_TRUE(internal::SetSha256ImplForTesting(Sha256Impl::kPortable));
  const Sha256Digest portable = Sha256::Hash(m);
  ASSERT_TRUE(internal::SetSha256ImplForTesting(Sha256Impl::kShaNi));
  const Sha256Digest shani = Sha256::Hash(m);
  ASSERT_TRUE(internal::SetSha256ImplForTesting(saved));
  EXPECT_EQ(portable, shani);
}

TEST(Sha256DispatchTest, DefaultIsTheFastestAvailable) {
  // The choice made on first use (Sha256ImplTest restores it after each test).
  const bool shani = internal::Sha256ImplAvailable(Sha256Impl::kShaNi);
  EXPECT_EQ(internal::ActiveSha256Impl(), shani ? Sha256Impl::kShaNi : Sha256Impl::kPortable);
  EXPECT_TRUE(internal::Sha256ImplAvailable(Sha256Impl::kPortable));
}

TEST(ConstantTimeEqualTest, ComparesLengthAndEveryByte) {
  const Bytes a = B("0123456789abcdef0123456789abcdef");
  Bytes b = a;
  EXPECT_TRUE(ConstantTimeEqual(a, b));
  EXPECT_TRUE(ConstantTimeEqual({}, {}));
  for (size_t i = 0; i < a.size(); ++i) {
    b = a;
    b[i] ^= 0x80;
    EXPECT_FALSE(ConstantTimeEqual(a, b)) << "byte " << i;
  }
  EXPECT_FALSE(ConstantTimeEqual(a, std::span(a).first(31)));
  EXPECT_FALSE(ConstantTimeEqual(std::span(a).first(0), a));
}

}  // namespace
}  // namespace firewatch::crypto
