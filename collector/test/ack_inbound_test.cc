// Email ack link signing and Twilio inbound signatures. Expected values were computed
// independently once with Python's hmac/hashlib/base64 and are hard-coded here.
#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>
#include <unistd.h>
#include <vector>

#include "app/ack_links.h"
#include "app/collector_config.h"
#include "app/twilio_inbound.h"
#include "engine/message.h"
#include "firewatch/text/base64.h"

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

TEST(AckLinkSigner, PreviousKeysStillVerifyButNeverSign) {
  std::vector<uint8_t> old_key = Key32();
  std::vector<uint8_t> new_key(32, 7);
  AckLinkSigner before(old_key, "https://fw.example", 86400);
  AckLinkSigner after(new_key, "https://fw.example", 86400, {old_key});
  using C = AckLinkSigner::Check;
  const std::string old_sig = before.Signature("K7Q2MX", 1800000000);
  EXPECT_EQ(after.Verify("K7Q2MX", "1800000000", old_sig, 1799999999), C::kOk);
  EXPECT_EQ(after.Verify("K7Q2MX", "1800000000", old_sig, 1800000001), C::kExpired);
  EXPECT_NE(after.Signature("K7Q2MX", 1800000000), old_sig);  // signs with the new key
  AckLinkSigner rotated_out(new_key, "https://fw.example", 86400);
  EXPECT_EQ(rotated_out.Verify("K7Q2MX", "1800000000", old_sig, 1799999999), C::kBadSignature);
}

// The link key is the collector's own: made in data_dir on first start (0600), kept
// across restarts, never a heartbeat key; links signed with a fleet key are refused.
TEST(AckLinkKeys, OwnSecretInDataDirNeverTheFleetKey) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("fw-ack-" + std::to_string(getpid()));
  fs::remove_all(dir);
  CollectorConfig c;
  c.data_dir = dir.string();
  c.keys.push_back({"fleet", (dir / "fleet.key").string(), true, {}});
  c.alerting.external_url = "https://fw.example";
  auto keys = LoadKeys(c);
  ASSERT_TRUE(keys.ok());
  auto signer = MakeAckLinkSigner(c, **keys);
  ASSERT_TRUE(signer.ok()) << signer.status().message();
  EXPECT_EQ(fs::status(dir / "ack.key").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  auto again = MakeAckLinkSigner(c, **keys);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*signer)->Signature("K7Q2MX", 1800000000), (*again)->Signature("K7Q2MX", 1800000000));

  // A link an agent host could forge with the fleet key (directly, or derived as
  // earlier versions did) does not verify.
  const protocol::Secret& fleet = *(*keys)->Find("fleet");
  const std::string msg = "ack\nK7Q2MX\n1800000000";
  auto raw = crypto::HmacSha256(fleet, {reinterpret_cast<const uint8_t*>(msg.data()), msg.size()});
  const std::string derive_label = "firewatch ack links";
  auto derived = crypto::HmacSha256(
      fleet, {reinterpret_cast<const uint8_t*>(derive_label.data()), derive_label.size()});
  auto via_derived =
      crypto::HmacSha256(derived, {reinterpret_cast<const uint8_t*>(msg.data()), msg.size()});
  using C = AckLinkSigner::Check;
  EXPECT_EQ((*signer)->Verify("K7Q2MX", "1800000000", text::Base64Url(raw), 1700000000), C::kBadSignature);
  EXPECT_EQ((*signer)->Verify("K7Q2MX", "1800000000", text::Base64Url(via_derived), 1700000000),
            C::kBadSignature);

  // Pointing ack_secret_file at the fleet key is refused.
  c.alerting.ack_secret_file = c.keys[0].file;
  c.alerting.ack_secret = fleet;
  auto refused = MakeAckLinkSigner(c, **keys);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("heartbeat key"), std::string::npos);
  c.alerting.ack_secret.clear();
  c.alerting.ack_secret_file.clear();
  c.alerting.ack_previous_secrets = {fleet};
  c.alerting.ack_secret_previous_files = {c.keys[0].file};
  EXPECT_FALSE(MakeAckLinkSigner(c, **keys).ok());
  fs::remove_all(dir);
}

TEST(TwilioInbound, PhoneNumbersCompareNormalized) {
  EXPECT_EQ(NormalizePhone("+1 (555) 010-0001"), "+15550100001");
  EXPECT_EQ(NormalizePhone("+15550100001"), "+15550100001");
  EXPECT_EQ(NormalizePhone("+1555.010.0001"), "+15550100001");
  EXPECT_EQ(NormalizePhone("+1555x"), "");
  EXPECT_EQ(NormalizePhone("1+555"), "");
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

TEST(TwilioSignature, ARotationAcceptsTheOldAndTheNewTokenAndNothingElse) {
  const std::string url = "http://example.invalid/api/v1/twilio/inbound";
  const std::map<std::string, std::string> params{{"From", "+15550100001"}, {"Body", "ACK K7Q2MX"}};
  const std::string by_old = TwilioSignature("old-token", url, params);
  const std::string by_new = TwilioSignature("new-token", url, params);
  // Before the switch: only the old token.
  EXPECT_TRUE(TwilioSignatureValid({"old-token"}, url, params, by_old));
  EXPECT_FALSE(TwilioSignatureValid({"old-token"}, url, params, by_new));
  // auth_token_file = new, auth_token_previous_files = [old]: Twilio signs with its
  // primary (old until promoted, then new); both verify, so no reply is refused.
  const std::vector<std::string> rotating{"new-token", "old-token"};
  EXPECT_TRUE(TwilioSignatureValid(rotating, url, params, by_old));
  EXPECT_TRUE(TwilioSignatureValid(rotating, url, params, by_new));
  EXPECT_FALSE(TwilioSignatureValid(rotating, url, params, TwilioSignature("other", url, params)));
  EXPECT_FALSE(TwilioSignatureValid(rotating, url, params, ""));
  EXPECT_FALSE(TwilioSignatureValid(rotating, url, {{"From", "+15550100002"}}, by_old));
  // After the rotation the old one is refused again.
  EXPECT_FALSE(TwilioSignatureValid({"new-token"}, url, params, by_old));
  EXPECT_FALSE(TwilioSignatureValid({}, url, params, by_new));
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
  EXPECT_NE(without.find("Acknowledge: firewatchctl ack K7Q2MX --collector https://fw.example\n"),
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
