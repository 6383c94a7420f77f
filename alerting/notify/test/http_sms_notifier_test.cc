#include "notify/http_sms_notifier.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "firewatch/text/url.h"
#include "test/test_http_server.h"

namespace firewatch::alerting::notify {
namespace {

using nlohmann::json;
using testing::TestHttpServer;
using Kind = SendResult::Kind;

Notification Sms() {
  Notification n;
  n.incident_id = "K7&Q2";
  n.address = "+4915112345678";
  n.text = "DOWN \"db1\" & db2\nACK: K7Q2";
  return n;
}

HttpSmsConfig Config(const std::string& url) {
  HttpSmsConfig c;
  c.url = url;
  c.transport.connect_timeout = std::chrono::milliseconds(300);
  c.transport.timeout = std::chrono::milliseconds(300);
  return c;
}

class HttpSmsNotifierTest : public testing::HttpServerTest {};

TEST_F(HttpSmsNotifierTest, FormBodyAndHeaders) {
  TestHttpServer& server = *server_;
  server.Respond(200, "OK", "text/plain");
  HttpSmsConfig c = Config(server.base_url() + "/send?ref={incident}");
  c.body_template = "number={to}&message={text}&keep={unknown}";
  c.headers = {{"X-Api-Key", "k1"}, {"X-Incident", "{incident}"}};
  c.username = "gw";
  c.password = "pw";
  ASSERT_TRUE(HttpSmsNotifier("gw", c).Send(Sms()).ok());
  auto req = server.requests().at(0);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.path, "/send");
  EXPECT_EQ(req.query, "ref=K7%26Q2");
  EXPECT_EQ(req.Header("x-api-key"), "k1");
  EXPECT_EQ(req.Header("x-incident"), "K7&Q2");
  EXPECT_EQ(req.Header("authorization"), testing::BasicAuth("gw", "pw"));
  EXPECT_EQ(req.Header("content-type"), "application/x-www-form-urlencoded");
  auto form = text::ParseForm(req.body);
  EXPECT_EQ(form["number"], "+4915112345678");
  EXPECT_EQ(form["message"], "DOWN \"db1\" & db2\nACK: K7Q2");
  EXPECT_EQ(form["keep"], "{unknown}");
}

TEST_F(HttpSmsNotifierTest, JsonBodyIsEscaped) {
  TestHttpServer& server = *server_;
  server.Respond(201, "");
  HttpSmsConfig c = Config(server.base_url() + "/v1/sms");
  c.method = "PUT";
  c.body_encoding = HttpSmsConfig::BodyEncoding::kJson;
  c.body_template = R"({"to":"{to}","text":"{text}","tag":"{incident}"})";
  c.bearer_token = "t0k";
  ASSERT_TRUE(HttpSmsNotifier("gw", c).Send(Sms()).ok());
  auto req = server.requests().at(0);
  EXPECT_EQ(req.method, "PUT");
  EXPECT_EQ(req.Header("content-type"), "application/json");
  EXPECT_EQ(req.Header("authorization"), "Bearer t0k");
  EXPECT_EQ(json::parse(req.body),
            (json{{"to", "+4915112345678"}, {"text", "DOWN \"db1\" & db2\nACK: K7Q2"}, {"tag", "K7&Q2"}}));
}

TEST_F(HttpSmsNotifierTest, GetWithUrlPlaceholders) {
  TestHttpServer& server = *server_;
  server.Respond(200, "");
  HttpSmsConfig c = Config(server.base_url() + "/sms?to={to}&msg={text}");
  c.method = "GET";
  ASSERT_TRUE(HttpSmsNotifier("gw", c).Send(Sms()).ok());
  auto req = server.requests().at(0);
  EXPECT_EQ(req.method, "GET");
  EXPECT_TRUE(req.body.empty());
  auto q = text::ParseForm(req.query);
  EXPECT_EQ(q["to"], "+4915112345678");
  EXPECT_EQ(q["msg"], "DOWN \"db1\" & db2\nACK: K7Q2");
}

TEST_F(HttpSmsNotifierTest, SuccessStatusListAndClassification) {
  TestHttpServer& server = *server_;
  HttpSmsConfig c = Config(server.base_url() + "/");
  c.body_template = "{text}";
  c.success_status = {200};
  HttpSmsNotifier notifier("gw", c);
  server.Respond(200, "");
  EXPECT_EQ(notifier.Send(Sms()).kind, Kind::kDelivered);
  server.Respond(202, "");  // 2xx but not listed
  EXPECT_EQ(notifier.Send(Sms()).kind, Kind::kPermanent);
  server.Respond(429, "");
  EXPECT_EQ(notifier.Send(Sms()).kind, Kind::kRetryable);
  server.Respond(500, "");
  EXPECT_EQ(notifier.Send(Sms()).kind, Kind::kRetryable);
  server.Respond(403, "");
  EXPECT_EQ(notifier.Send(Sms()).kind, Kind::kPermanent);
  server.Stall();
  EXPECT_EQ(notifier.Send(Sms()).kind, Kind::kRetryable);
}

}  // namespace
}  // namespace firewatch::alerting::notify
