#include "notify/text_util.h"

#include <gtest/gtest.h>

namespace firewatch::alerting::notify {
namespace {

TEST(TextUtilTest, UrlEncodeRoundTrips) {
  EXPECT_EQ(UrlEncode("a b&c=d+é~"), "a%20b%26c%3Dd%2B%C3%A9~");
  EXPECT_EQ(UrlDecode("a%20b%26c%3Dd%2B%C3%A9~", false), "a b&c=d+é~");
  EXPECT_EQ(UrlDecode("a+b%2", true), "a b%2");
}

TEST(TextUtilTest, Rfc3339) {
  EXPECT_EQ(FormatRfc3339(0), "0001-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(1700000000000), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatRfc3339(1700000000123), "2023-11-14T22:13:20.123Z");
}

TEST(TextUtilTest, Utf8Cuts) {
  EXPECT_EQ(Utf8Prefix("aé", 2), "a");
  EXPECT_EQ(Utf8Prefix("aé", 3), "aé");
  EXPECT_EQ(Utf8TruncateChars("äöü", 2), "äö");
  EXPECT_EQ(Utf8TruncateChars("ab", 5), "ab");
}

TEST(TextUtilTest, Base64Rfc4648Vectors) {
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("fo"), "Zm8=");
  EXPECT_EQ(Base64("foo"), "Zm9v");
  EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
}

TEST(TextUtilTest, LabelsAndOneLine) {
  EXPECT_EQ(LabelsString({{"dc", "dc1"}, {"q", "a\"b"}}), "{dc=\"dc1\", q=\"a\\\"b\"}");
  EXPECT_EQ(OneLine("a\r\nBcc: x\tz"), "a  Bcc: x\tz");
}

}  // namespace
}  // namespace firewatch::alerting::notify
