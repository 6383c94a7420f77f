#include "firewatch/protocol/keyring.h"

#include <gtest/gtest.h>

namespace firewatch::protocol {
namespace {

TEST(KeyringTest, ParsesHexWithCommentsAndWhitespace) {
  auto k = ParseKeyText("# demo key\n  00112233445566778899aabbccddeeff  \n");
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(k->size(), 16u);
  EXPECT_EQ((*k)[15], 0xff);
}

TEST(KeyringTest, RefusesShortOrNonHexKeys) {
  EXPECT_FALSE(ParseKeyText("0011").ok());
  EXPECT_FALSE(ParseKeyText("zz112233445566778899aabbccddeeff").ok());
  EXPECT_FALSE(ParseKeyText("0112233445566778899aabbccddeeff").ok());  // odd
}

TEST(KeyringTest, GeneratedKeysParseAndDiffer) {
  const std::string a = GenerateKeyText(), b = GenerateKeyText();
  EXPECT_NE(a, b);
  auto k = ParseKeyText(a);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->size(), 32u);
}

TEST(KeyringTest, FindsByIdAndReportsMissingFile) {
  Keyring ring;
  EXPECT_TRUE(ring.Add("a", Secret(16, 1)).ok());
  EXPECT_NE(ring.Find("a"), nullptr);
  EXPECT_EQ(ring.Find("b"), nullptr);
  Status s = ring.AddFromFile("c", "/nonexistent/key");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent/key"), std::string::npos);
}

TEST(KeyringTest, FindKeyHoldsTheSecretAndItsHmacKey) {
  Keyring ring;
  ASSERT_TRUE(ring.Add("a", Secret(32, 1)).ok());
  const Key* key = ring.FindKey("a");
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->secret, Secret(32, 1));
  EXPECT_EQ(ring.Find("a"), &key->secret);
  const std::vector<uint8_t> msg = {'h', 'b'};
  EXPECT_EQ(key->hmac.Sign(msg), crypto::HmacKey(Secret(32, 1)).Sign(msg));
  // Replacing a key replaces both.
  ASSERT_TRUE(ring.Add("a", Secret(32, 2)).ok());
  key = ring.FindKey("a");
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->secret, Secret(32, 2));
  EXPECT_EQ(key->hmac.Sign(msg), crypto::HmacKey(Secret(32, 2)).Sign(msg));
  EXPECT_EQ(ring.FindKey("b"), nullptr);
}

}  // namespace
}  // namespace firewatch::protocol
