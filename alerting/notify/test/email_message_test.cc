#include "notify/email_message.h"

#include <gtest/gtest.h>

#include "notify/text_util.h"

namespace firewatch::alerting::notify {
namespace {

TEST(EmailMessageTest, DateIsRfc5322InUtc) {
  EXPECT_EQ(FormatRfc5322Date(WallTime(std::chrono::seconds(1700000000))),
            "Tue, 14 Nov 2023 22:13:20 +0000");
}

TEST(EmailMessageTest, HeaderTextEncodesOnlyNonAscii) {
  EXPECT_EQ(EncodeHeaderText("DOWN: db1"), "DOWN: db1");
  EXPECT_EQ(EncodeHeaderText("a\r\nBcc: evil@x"), "a  Bcc: evil@x");
  EXPECT_EQ(EncodeHeaderText("é"), "=?UTF-8?B?w6k=?=");
  // Long text: several words, each <= 75 characters, folded with CRLF SP, no UTF-8
  // sequence split (each word decodes to whole characters).
  std::string long_text;
  for (int i = 0; i < 40; ++i) long_text += "ü";
  std::string enc = EncodeHeaderText(long_text);
  size_t start = 0;
  int words = 0;
  while (start < enc.size()) {
    size_t end = enc.find("\r\n ", start);
    if (end == std::string::npos) end = enc.size();
    std::string word = enc.substr(start, end - start);
    EXPECT_LE(word.size(), 75u);
    EXPECT_EQ(word.rfind("=?UTF-8?B?", 0), 0u);
    ++words;
    start = end + 3;
  }
  EXPECT_EQ(words, 2);  // 80 bytes: 44 + 36
}

TEST(EmailMessageTest, QuotedPrintableRules) {
  EXPECT_EQ(QuotedPrintable("a=b é\r\n"), "a=3Db =C3=A9\r\n");
  EXPECT_EQ(QuotedPrintable("trailing \r\n"), "trailing=20\r\n");
  std::string line(200, 'x');
  std::string qp = QuotedPrintable(line + "\r\n");
  size_t start = 0;
  while (start < qp.size()) {
    size_t eol = qp.find("\r\n", start);
    EXPECT_LE(eol - start, 76u);
    start = eol + 2;
  }
}

TEST(EmailMessageTest, LongLinesForceQuotedPrintableIn8BitMode) {
  EmailParts p{"fw@example.com", "", "a@example.org", "s", std::string(1200, 'y'),
               TransferEncoding::k8Bit};
  std::string m = BuildEmail(p, WallTime(std::chrono::seconds(1700000000)), "abc");
  EXPECT_NE(m.find("Content-Transfer-Encoding: quoted-printable\r\n"), std::string::npos);
  EXPECT_NE(m.find("Message-ID: <abc@example.com>\r\n"), std::string::npos);
  p.body = "short\nlines\r\nonly\r";
  m = BuildEmail(p, WallTime(std::chrono::seconds(1700000000)), "abc");
  EXPECT_NE(m.find("Content-Transfer-Encoding: 8bit\r\n"), std::string::npos);
  EXPECT_EQ(m.substr(m.find("\r\n\r\n") + 4), "short\r\nlines\r\nonly\r\n");
}

// Message-ID from the idempotency key: SHA-256, first 16 bytes, lowercase hex.
TEST(EmailMessageTest, MessageIdLocalPartIsTheKeysSha256Prefix) {
  // FIPS 180-2 example: SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a3...
  EXPECT_EQ(MessageIdLocalPart("abc"), "ba7816bf8f01cfea414140de5dae2223");
  const std::string key = "K7Q2/0/1/alice/ops-mail";
  EXPECT_EQ(MessageIdLocalPart(key), MessageIdLocalPart(key));
  EXPECT_EQ(MessageIdLocalPart(key).size(), 32u);
  EXPECT_NE(MessageIdLocalPart(key), MessageIdLocalPart("K7Q2/0/1/alice/ops-mail2"));
}

TEST(EmailMessageTest, AddressValidation) {
  EXPECT_TRUE(IsValidMailAddress("oncall+db@example.org"));
  EXPECT_FALSE(IsValidMailAddress("a@b@c"));
  EXPECT_FALSE(IsValidMailAddress("@b"));
  EXPECT_FALSE(IsValidMailAddress("a@"));
  EXPECT_FALSE(IsValidMailAddress("a@b>\r\n"));
  EXPECT_EQ(MailDomain("x@fw.example"), "fw.example");
}

}  // namespace
}  // namespace firewatch::alerting::notify
