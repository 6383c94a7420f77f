#include "notify/text_util.h"

#include <gtest/gtest.h>

namespace firewatch::alerting::notify {
namespace {

TEST(TextUtilTest, AlertmanagerTime) {
  EXPECT_EQ(AlertmanagerTime(0), "0001-01-01T00:00:00Z");
  EXPECT_EQ(AlertmanagerTime(1700000000000), "2023-11-14T22:13:20Z");
  EXPECT_EQ(AlertmanagerTime(1700000000123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(AlertmanagerTime(-1), "1969-12-31T23:59:59.999Z");
}

TEST(TextUtilTest, Utf8Cuts) {
  EXPECT_EQ(Utf8Prefix("aé", 2), "a");
  EXPECT_EQ(Utf8Prefix("aé", 3), "aé");
  EXPECT_EQ(Utf8TruncateChars("äöü", 2), "äö");
  EXPECT_EQ(Utf8TruncateChars("ab", 5), "ab");
}

TEST(TextUtilTest, LabelsAndOneLine) {
  EXPECT_EQ(LabelsString({{"dc", "dc1"}, {"q", "a\"b"}}), "{dc=\"dc1\", q=\"a\\\"b\"}");
  EXPECT_EQ(OneLine("a\r\nBcc: x\tz"), "a  Bcc: x\tz");
}

}  // namespace
}  // namespace firewatch::alerting::notify
