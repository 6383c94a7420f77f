// Email ack link signing and Twilio inbound signatures. Expected values were computed
// independently once with Python's hmac/hashlib/base64 and are hard-coded here.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "app/ack_links.h"
#include "app/twilio_inbound.h"
#include "engine/message.h"

namespace firewatch::collector {
namespace {

std::vector<uint8_t> Key32() {
  std::vector<uint8_t> k(32);
  std::iota(k.begin(), k.end(), uint8_t{0});
  return k;
}

TEST(AckLinkSigner, SignatureMatchesIndependentVector) {
  AckLinkSigner s(Key32(), "https://fw.example/", 86400);
  EXPECT_EQ(s.Signature("K7Q2MX", 1800000000), "MKSNygJpm_D5Ofu2ZvOD9JhbUBqkyoDVcG-y_gXqvRc");
  EXPECT_EQ(s.Link("K7Q2MX", 1800000000 - 86400),
            "https://fw.example/ack?i=K7Q2MX&e=1800000000&s=MKSNygJpm_D5Ofu2ZvOD9JhbUBqkyoDVcG-y_gXqvRc");
}

TEST(AckLinkSigner, VerifyAcceptsValidRefusesTamperedAndExpired) {
  AckLinkSigner s(Key32(), "https://fw.example", 86400);
  const std::string sig = s.Signature("K7Q2MX", 1800000000);
  using C = AckLinkSigner::Check;
  EXPECT_EQ(s.Verify("K7Q2MX", "1800000000", sig, 1799999999), C::kOk);
  EXPECT_EQ(s.Verify("K7Q2MX", "1800000000", sig, 1800000000), C::kOk);
  EXPECT_EQ(s.Verify("K7Q2MX", "1800000000", sig, 1800000001), C::kExpired);
  EXPECT_EQ(s.Verify("K7Q2MY", "1800000000", sig, 1700000000), C::kBadSignature);
  EXPECT_EQ(s.Verify("K7Q2MX", "1800000001", sig, 1700000000), C::kBadSignature);
  EXPECT_EQ(s.Verify("K7Q2MX", "1800000000", sig.substr(1), 1700000000), C::kBadSignature);
  EXPECT_EQ(s.Verify("K7Q2MX", "18e8", sig, 1700000000), C::kMalformed);
  EXPECT_EQ(s.Verify("K7Q2MX", "", sig, 1700000000), C::kMalformed);
  EXPECT_EQ(s.Verify("", "1800000000", sig, 1700000000), C::kMalformed);
  // Another key never verifies.
  std::vector<uint8_t> other = Key32();
  other[0] ^= 1;
  AckLinkSigner s2(other, "https://fw.example", 86400);
  EXPECT_EQ(s2.Verify("K7Q2MX", "1800000000", sig, 1700000000), C::kBadSignature);
}

TEST(AckLinkSigner, DerivedKeyMatchesIndependentVector) {
  const std::string hb = "0123456789abcdef";
  auto k = AckLinkSigner::DeriveKey({reinterpret_cast<const uint8_t*>(hb.data()), hb.size()});
  EXPECT_EQ(protocol::ToHex(k), "ae851b4a7daac78f766c8c4ec0fbe7723e07f9b690d2c9d23ba6a56a779043b1");
}

TEST(Base64Url, PaddingFreeAndUrlSafe) {
  auto b = [](std::string s) {
    return Base64Url({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  };
  EXPECT_EQ(b(""), "");
  EXPECT_EQ(b("f"), "Zg");
  EXPECT_EQ(b("fo"), "Zm8");
  EXPECT_EQ(b("foo"), "Zm9v");
  EXPECT_EQ(b("\xfb\xff"), "-_8");
}

TEST(ParseFormBody, DecodesPlusAndPercent) {
  auto f = ParseFormBody("i=K7Q2MX&by=Alice+B%C3%B6hm&e=&x");
  EXPECT_EQ(f["i"], "K7Q2MX");
  EXPECT_EQ(f["by"], "Alice B\xc3\xb6hm");
  EXPECT_EQ(f["e"], "");
  EXPECT_TRUE(f.count("x"));
}

TEST(TwilioSignature, MatchesIndependentVectors) {
  EXPECT_EQ(TwilioSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2",
                            {{"CallSid", "CA1234567890ABCDE"},
                             {"Caller", "+12349013030"},
                             {"Digits", "1234"},
                             {"From", "+12349013030"},
                             {"To", "+18005551212"}}),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  EXPECT_EQ(TwilioSignature("demo-token", "http://example.invalid/api/v1/twilio/inbound",
                            {{"From", "+15550100001"}, {"Body", "ack k7q2mx "}, {"To", "+15550100000"}}),
            "zYXpMfTXTzOj6ruejdZ9MGfMhgI=");
}

TEST(TwiML, EscapesText) {
  EXPECT_EQ(TwiMLMessage("Reply ACK <code> & go"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>Reply ACK &lt;code&gt; "
            "&amp; go</Message></Response>");
}

TEST(EmailBody, CarriesTheSignedAckLinkWhenAvailable) {
  alerting::Incident inc;
  inc.id = "K7Q2MX";
  alerting::Alert a;
  a.labels = {{"alertname", "SourceDown"}, {"source", "db-01"}};
  inc.alerts.push_back(a);
  alerting::MessageContext ctx;
  ctx.collector_id = "c1";
  ctx.external_url = "https://fw.example";
  std::string without = alerting::RenderEmailBody(inc, "trigger", ctx);
  EXPECT_NE(without.find("Acknowledge: curl -X POST https://fw.example/api/v1/ack/K7Q2MX\n"),
            std::string::npos)
      << without;
  AckLinkSigner signer(Key32(), ctx.external_url, 3600);
  ctx.ack_link = [&](const std::string& id) { return signer.Link(id, 1800000000 - 3600); };
  std::string with = alerting::RenderEmailBody(inc, "trigger", ctx);
  EXPECT_NE(with.find("Acknowledge: https://fw.example/ack?i=K7Q2MX&e=1800000000&s=" +
                      signer.Signature("K7Q2MX", 1800000000) + "\n"),
            std::string::npos)
      << with;
  // Resolve emails have nothing to acknowledge.
  EXPECT_EQ(alerting::RenderEmailBody(inc, "resolve", ctx).find("/ack"), std::string::npos);
}

}  // namespace
}  // namespace firewatch::collector
