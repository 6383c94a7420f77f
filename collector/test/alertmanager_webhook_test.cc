#include "watch/alertmanager_webhook.h"

#include <gtest/gtest.h>

namespace firewatch::collector {
namespace {

// What Alertmanager 0.25 posts for the Watchdog (captured from a real one, trimmed).
const char* kWatchdog = R"({"receiver":"firewatch","status":"firing","alerts":[{"status":"firing",
"labels":{"alertname":"Watchdog","severity":"none"},"annotations":{"summary":"dead man's switch"},
"startsAt":"2026-12-02T07:00:00.000Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://p/graph",
"fingerprint":"e0c1a0c1a0c1a0c1"}],"groupLabels":{"alertname":"Watchdog"},"commonLabels":{},
"commonAnnotations":{},"externalURL":"http://am:9093","version":"4","groupKey":"{}:{alertname=\"Watchdog\"}",
"truncatedAlerts":0})";

TEST(AlertmanagerWebhookTest, ParsesAWatchdogDelivery) {
  auto d = ParseAlertmanagerWebhook(kWatchdog);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->receiver, "firewatch");
  EXPECT_EQ(d->status, "firing");
  EXPECT_EQ(d->alerts, 1u);
  EXPECT_EQ(d->firing, 1u);
  EXPECT_EQ(d->first_alertname, "Watchdog");
}

TEST(AlertmanagerWebhookTest, ResolvedDeliveryHasNothingFiring) {
  auto d = ParseAlertmanagerWebhook(
      R"({"version":"4","status":"resolved","alerts":[{"status":"resolved","labels":{}}]})");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->firing, 0u);
}

TEST(AlertmanagerWebhookTest, RefusesWhatIsNotVersion4) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "not valid JSON"},
      {"[]", "expected a JSON object"},
      {R"({"status":"firing","alerts":[]})", "\"version\" must be \"4\""},
      {R"({"version":4,"status":"firing","alerts":[]})", "\"version\" must be \"4\""},
      {R"({"version":"4","status":"burning","alerts":[]})", "\"status\""},
      {R"({"version":"4","status":"firing"})", "\"alerts\" must be an array"},
      {R"({"version":"4","status":"firing","alerts":[1]})", "alerts[0] must be an object"},
      {R"({"version":"4","status":"firing","alerts":[{"labels":{}}]})", "alerts[0].status"},
      {R"({"version":"4","status":"firing","alerts":[{"status":"firing"}]})", "alerts[0].labels"},
      {R"({"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"a":1}}]})",
       "alerts[0].labels.a must be a string"},
      {R"({"version":"4","status":"firing","receiver":7,"alerts":[]})", "\"receiver\""},
      {"{\"version\":\"4\",\"status\":\"firing\",\"receiver\":\"\xff\",\"alerts\":[]}",
       "not valid JSON"},
  };
  for (const auto& [body, expect] : cases) {
    auto d = ParseAlertmanagerWebhook(body);
    ASSERT_FALSE(d.ok()) << body;
    EXPECT_NE(d.status().message().find(expect), std::string::npos)
        << body << " -> " << d.status().message();
  }
}

TEST(AlertmanagerWebhookTest, LimitsAlertsDepthAndSize) {
  std::string many = R"({"version":"4","status":"firing","alerts":[)";
  for (size_t i = 0; i <= kMaxWebhookAlerts; ++i) {
    many += std::string(i ? "," : "") + R"({"status":"firing","labels":{}})";
  }
  many += "]}";
  auto d = ParseAlertmanagerWebhook(many);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("more than 1000 alerts"), std::string::npos);

  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  d = ParseAlertmanagerWebhook(deep);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("nested deeper"), std::string::npos);

  d = ParseAlertmanagerWebhook(std::string(kMaxWebhookBody + 1, ' '));
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("over"), std::string::npos);
}

TEST(AlertmanagerWebhookTest, DepthSkipsBracketsInStrings) {
  EXPECT_EQ(JsonDepth(R"({"a":"[[[{{{\"[[["})", 16), 1u);
  EXPECT_EQ(JsonDepth(R"([[{}]])", 16), 3u);
  EXPECT_EQ(JsonDepth("]]]]", 16), 0u);
  EXPECT_EQ(JsonDepth(std::string(50, '['), 4), 5u);  // stops past the cap
}

}  // namespace
}  // namespace firewatch::collector
