#include "notify/webhook_notifier.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test/test_http_server.h"

namespace firewatch::alerting::notify {
namespace {

using nlohmann::json;
using testing::TestHttpServer;
using Kind = SendResult::Kind;

Notification Group() {
  Notification n;
  n.incident_id = "K7Q2";
  n.kind = "trigger";
  n.group_labels = {{"dc", "dc1"}};
  Alert a;
  a.labels = {{"alertname", "SourceDown"}, {"dc", "dc1"}, {"source", "db1"}};
  a.annotations = {{"summary", "db1 is silent"}, {"runbook", "restart"}};
  a.starts_at_ms = 1700000000000;
  a.generator_url = "http://fw:9760/sources/db1";
  Alert b;
  b.labels = {{"alertname", "SourceDown"}, {"dc", "dc1"}, {"source", "db2"}};
  b.annotations = {{"summary", "db2 is silent"}, {"runbook", "restart"}};
  b.starts_at_ms = 1700000000500;
  b.ends_at_ms = 1700000100000;
  b.status = AlertStatus::kResolved;
  n.alerts = {a, b};
  return n;
}

WebhookConfig Config(const std::string& url) {
  WebhookConfig c;
  c.url = url;
  c.external_url = "http://fw.example:9760/";
  c.transport.connect_timeout = std::chrono::milliseconds(300);
  c.transport.timeout = std::chrono::milliseconds(300);
  return c;
}

class WebhookNotifierTest : public testing::HttpServerTest {};

TEST_F(WebhookNotifierTest, PostsAlertmanagerV4Body) {
  TestHttpServer& server = *server_;
  server.Respond(200, "");
  WebhookConfig c = Config(server.base_url() + "/hooks/fw");
  c.bearer_token = "b34rer";
  WebhookNotifier notifier("hook", c);
  SendResult r = notifier.Send(Group());
  ASSERT_TRUE(r.ok()) << r.detail;
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/hooks/fw");
  EXPECT_EQ(reqs[0].Header("content-type"), "application/json");
  EXPECT_EQ(reqs[0].Header("authorization"), "Bearer b34rer");
  json want = json::parse(R"({
    "version": "4",
    "groupKey": "K7Q2:{dc=\"dc1\"}",
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "hook",
    "groupLabels": {"dc": "dc1"},
    "commonLabels": {"alertname": "SourceDown", "dc": "dc1"},
    "commonAnnotations": {"runbook": "restart"},
    "externalURL": "http://fw.example:9760/",
    "alerts": [
      {"status": "firing",
       "labels": {"alertname": "SourceDown", "dc": "dc1", "source": "db1"},
       "annotations": {"runbook": "restart", "summary": "db1 is silent"},
       "startsAt": "2023-11-14T22:13:20Z", "endsAt": "0001-01-01T00:00:00Z",
       "generatorURL": "http://fw:9760/sources/db1", "fingerprint": "FP1"},
      {"status": "resolved",
       "labels": {"alertname": "SourceDown", "dc": "dc1", "source": "db2"},
       "annotations": {"runbook": "restart", "summary": "db2 is silent"},
       "startsAt": "2023-11-14T22:13:20.500Z", "endsAt": "2023-11-14T22:15:00Z",
       "generatorURL": "", "fingerprint": "FP2"}
    ],
    "firewatchEvent": "trigger"})");
  want["alerts"][0]["fingerprint"] = FingerprintHex(Group().alerts[0].labels);
  want["alerts"][1]["fingerprint"] = FingerprintHex(Group().alerts[1].labels);
  EXPECT_EQ(json::parse(reqs[0].body), want) << reqs[0].body;
}

TEST_F(WebhookNotifierTest, ResolvedStatusAndBasicAuth) {
  TestHttpServer& server = *server_;
  server.Respond(204, "");
  WebhookConfig c = Config(server.base_url() + "/");
  c.receiver = "team-db";
  c.username = "am";
  c.password = "pw";
  Notification n = Group();
  n.kind = "resolve";
  ASSERT_TRUE(WebhookNotifier("hook", c).Send(n).ok());
  auto req = server.requests().at(0);
  EXPECT_EQ(req.Header("authorization"), testing::BasicAuth("am", "pw"));
  json body = json::parse(req.body);
  EXPECT_EQ(body["status"], "resolved");
  EXPECT_EQ(body["receiver"], "team-db");
}

TEST_F(WebhookNotifierTest, StatusClassification) {
  TestHttpServer& server = *server_;
  WebhookNotifier notifier("hook", Config(server.base_url()));
  server.Respond(202, "");
  EXPECT_EQ(notifier.Send(Group()).kind, Kind::kDelivered);
  server.Respond(429, "");
  EXPECT_EQ(notifier.Send(Group()).kind, Kind::kRetryable);
  server.Respond(500, "");
  EXPECT_EQ(notifier.Send(Group()).kind, Kind::kRetryable);
  server.Respond(400, "bad payload", "text/plain");
  SendResult r = notifier.Send(Group());
  EXPECT_EQ(r.kind, Kind::kPermanent);
  EXPECT_EQ(r.detail, "HTTP 400: bad payload");
  server.Respond(404, "");
  EXPECT_EQ(notifier.Send(Group()).kind, Kind::kPermanent);
}

TEST_F(WebhookNotifierTest, RefusedAndTimeoutAreRetryable) {
  WebhookNotifier refused("hook", Config("http://127.0.0.1:" + std::to_string(testing::UnusedPort())));
  EXPECT_EQ(refused.Send(Group()).kind, Kind::kRetryable);
  TestHttpServer& server = *server_;
  server.Stall();
  auto start = std::chrono::steady_clock::now();
  SendResult r = WebhookNotifier("hook", Config(server.base_url())).Send(Group());
  EXPECT_EQ(r.kind, Kind::kRetryable) << r.detail;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(WebhookNotifierTest, RedirectIsNotFollowed) {
  TestHttpServer& server = *server_;
  server.Respond(302, "");
  EXPECT_EQ(WebhookNotifier("hook", Config(server.base_url())).Send(Group()).kind, Kind::kPermanent);
  EXPECT_EQ(server.requests().size(), 1u);
}

}  // namespace
}  // namespace firewatch::alerting::notify
