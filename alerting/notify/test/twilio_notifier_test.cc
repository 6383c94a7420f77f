#include "notify/twilio_notifier.h"

#include <gtest/gtest.h>

#include "firewatch/text/url.h"
#include "test/test_http_server.h"

namespace firewatch::alerting::notify {
namespace {

using testing::TestHttpServer;
using Kind = SendResult::Kind;

Notification Sms() {
  Notification n;
  n.incident_id = "K7Q2";
  n.kind = "trigger";
  n.address = "+15558675310";
  n.text = "DOWN db1 (dc1) since 12:00Z. Reply ACK K7Q2 & check: 50% disk";
  return n;
}

TwilioConfig Config(const std::string& base_url) {
  TwilioConfig c;
  c.base_url = base_url;
  c.account_sid = "AC0123456789abcdef0123456789abcdef";
  c.auth_token = "tok3n";
  c.from = "+15017122661";
  c.transport.connect_timeout = std::chrono::milliseconds(300);
  c.transport.timeout = std::chrono::milliseconds(300);
  return c;
}

class TwilioNotifierTest : public testing::HttpServerTest {};

TEST_F(TwilioNotifierTest, PostsExactFormWithBasicAuth) {
  TestHttpServer& server = *server_;
  server.Respond(201, R"({"sid":"SM123","status":"queued"})");
  TwilioNotifier notifier("sms", Config(server.base_url()));
  EXPECT_EQ(notifier.type(), "twilio");
  SendResult r = notifier.Send(Sms());
  ASSERT_TRUE(r.ok()) << r.detail;
  EXPECT_NE(r.detail.find("SM123"), std::string::npos) << r.detail;

  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json");
  EXPECT_EQ(reqs[0].Header("authorization"),
            testing::BasicAuth("AC0123456789abcdef0123456789abcdef", "tok3n"));
  EXPECT_EQ(reqs[0].Header("content-type"), "application/x-www-form-urlencoded");
  auto form = text::ParseForm(reqs[0].body);
  EXPECT_EQ(form, (std::map<std::string, std::string>{
                      {"To", "+15558675310"},
                      {"From", "+15017122661"},
                      {"Body", "DOWN db1 (dc1) since 12:00Z. Reply ACK K7Q2 & check: 50% disk"}}));
  // '+' must be percent-encoded, or form decoding turns it into a space.
  EXPECT_NE(reqs[0].body.find("To=%2B15558675310"), std::string::npos) << reqs[0].body;
}

TEST_F(TwilioNotifierTest, LongTextIsCutTo1600Characters) {
  TestHttpServer& server = *server_;
  server.Respond(201, "{}");
  Notification n = Sms();
  n.text.clear();
  for (int i = 0; i < 2000; ++i) n.text += "ä";
  ASSERT_TRUE(TwilioNotifier("sms", Config(server.base_url())).Send(n).ok());
  auto form = text::ParseForm(server.requests().at(0).body);
  EXPECT_EQ(form["Body"].size(), 3200u);  // 1600 two-byte characters
}

TEST_F(TwilioNotifierTest, InvalidToIsPermanentWithTwilioCode) {
  TestHttpServer& server = *server_;
  server.Respond(400, R"({"code":21211,"message":"The 'To' number +1555 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400})");
  SendResult r = TwilioNotifier("sms", Config(server.base_url())).Send(Sms());
  EXPECT_EQ(r.kind, Kind::kPermanent);
  EXPECT_NE(r.detail.find("HTTP 400"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("21211"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("not a valid phone number"), std::string::npos) << r.detail;
}

TEST_F(TwilioNotifierTest, StatusClassification) {
  TestHttpServer& server = *server_;
  TwilioNotifier notifier("sms", Config(server.base_url()));
  server.Respond(429, R"({"code":20429,"message":"Too Many Requests"})");
  EXPECT_EQ(notifier.Send(Sms()).kind, Kind::kRetryable);
  server.Respond(500, "oops", "text/plain");
  EXPECT_EQ(notifier.Send(Sms()).kind, Kind::kRetryable);
  server.Respond(503, "");
  EXPECT_EQ(notifier.Send(Sms()).kind, Kind::kRetryable);
  server.Respond(401, R"({"code":20003,"message":"Authenticate"})");
  EXPECT_EQ(notifier.Send(Sms()).kind, Kind::kPermanent);
  server.Respond(200, "{}");
  EXPECT_EQ(notifier.Send(Sms()).kind, Kind::kDelivered);
}

TEST_F(TwilioNotifierTest, ConnectionRefusedIsRetryable) {
  TwilioNotifier notifier(
      "sms", Config("http://127.0.0.1:" + std::to_string(testing::UnusedPort())));
  SendResult r = notifier.Send(Sms());
  EXPECT_EQ(r.kind, Kind::kRetryable) << r.detail;
}

TEST_F(TwilioNotifierTest, TimeoutIsRetryableAndBounded) {
  TestHttpServer& server = *server_;
  server.Stall();
  TwilioNotifier notifier("sms", Config(server.base_url()));
  auto start = std::chrono::steady_clock::now();
  SendResult r = notifier.Send(Sms());
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.kind, Kind::kRetryable) << r.detail;
  EXPECT_NE(r.detail.find("imeout"), std::string::npos) << r.detail;
  EXPECT_LT(took, std::chrono::seconds(2));
}

}  // namespace
}  // namespace firewatch::alerting::notify
