#include "notify/pagerduty_notifier.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test/test_http_server.h"

namespace firewatch::alerting::notify {
namespace {

using nlohmann::json;
using testing::TestHttpServer;
using Kind = SendResult::Kind;

Notification Page(const std::string& kind) {
  Notification n;
  n.incident_id = "K7Q2";
  n.kind = kind;
  n.subject = "DOWN: db1 in dc1";
  n.text = "db1 silent since 22:13Z";
  Alert a;
  a.labels = {{"alertname", "SourceDown"}, {"source", "db1"}};
  a.starts_at_ms = 1700000000000;
  n.alerts = {a};
  return n;
}

PagerDutyConfig Config(const std::string& base) {
  PagerDutyConfig c;
  c.base_url = base;
  c.routing_key = "R0UTING";
  c.transport.connect_timeout = std::chrono::milliseconds(300);
  c.transport.timeout = std::chrono::milliseconds(300);
  return c;
}

class PagerDutyNotifierTest : public testing::HttpServerTest {};

TEST_F(PagerDutyNotifierTest, TriggerBody) {
  TestHttpServer& server = *server_;
  server.Respond(202, R"({"status":"success","message":"Event processed","dedup_key":"firewatch-K7Q2"})");
  FakeClock clock;
  PagerDutyNotifier notifier("pd", Config(server.base_url()), clock);
  EXPECT_EQ(notifier.type(), "pagerduty");
  ASSERT_TRUE(notifier.Send(Page("trigger")).ok());
  auto req = server.requests().at(0);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.path, "/v2/enqueue");
  EXPECT_EQ(req.Header("content-type"), "application/json");
  EXPECT_EQ(json::parse(req.body), json::parse(R"({
    "routing_key": "R0UTING", "event_action": "trigger", "dedup_key": "firewatch-K7Q2",
    "payload": {"summary": "DOWN: db1 in dc1", "source": "firewatch", "severity": "critical",
                "timestamp": "2023-11-14T22:13:20Z",
                "custom_details": {"text": "db1 silent since 22:13Z", "incident": "K7Q2",
                                   "alerts": [{"alertname": "SourceDown", "source": "db1"}]}}})"))
      << req.body;
}

TEST_F(PagerDutyNotifierTest, AcknowledgeAndResolveHaveNoPayloadSameDedupKey) {
  TestHttpServer& server = *server_;
  server.Respond(202, "{}");
  FakeClock clock;
  PagerDutyNotifier notifier("pd", Config(server.base_url()), clock);
  Notification ack = Page("acknowledge");
  ack.ack_url = "https://fw/ack/K7Q2";
  ASSERT_TRUE(notifier.Send(ack).ok());
  ASSERT_TRUE(notifier.Send(Page("resolve")).ok());
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(json::parse(reqs[0].body),
            json::parse(R"({"routing_key":"R0UTING","event_action":"acknowledge",
                            "dedup_key":"firewatch-K7Q2",
                            "links":[{"href":"https://fw/ack/K7Q2","text":"Acknowledge in firewatch"}]})"));
  EXPECT_EQ(json::parse(reqs[1].body),
            json::parse(R"({"routing_key":"R0UTING","event_action":"resolve","dedup_key":"firewatch-K7Q2"})"));
}

TEST_F(PagerDutyNotifierTest, Classification) {
  TestHttpServer& server = *server_;
  FakeClock clock;
  PagerDutyNotifier notifier("pd", Config(server.base_url()), clock);
  server.Respond(400, R"({"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect"]})");
  SendResult r = notifier.Send(Page("trigger"));
  EXPECT_EQ(r.kind, Kind::kPermanent);
  EXPECT_NE(r.detail.find("routing_key"), std::string::npos) << r.detail;
  server.Respond(429, "");
  EXPECT_EQ(notifier.Send(Page("trigger")).kind, Kind::kRetryable);
  server.Respond(502, "");
  EXPECT_EQ(notifier.Send(Page("trigger")).kind, Kind::kRetryable);
  PagerDutyNotifier down("pd", Config("http://127.0.0.1:" + std::to_string(testing::UnusedPort())),
                         clock);
  EXPECT_EQ(down.Send(Page("trigger")).kind, Kind::kRetryable);
  server.Stall();
  EXPECT_EQ(notifier.Send(Page("trigger")).kind, Kind::kRetryable);
}

}  // namespace
}  // namespace firewatch::alerting::notify
