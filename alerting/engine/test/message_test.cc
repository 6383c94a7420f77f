#include "engine/message.h"

#include <gtest/gtest.h>

namespace firewatch::alerting {
namespace {

Alert Firing(LabelSet labels) {
  Alert a;
  a.labels = std::move(labels);
  a.status = AlertStatus::kFiring;
  return a;
}

Incident Inc(std::vector<Alert> alerts) {
  Incident inc;
  inc.id = "K7Q2MX";
  inc.started_ms = 1'764'000'000'000;
  inc.group_labels = {{"dc", "site-a"}};
  inc.alerts = std::move(alerts);
  return inc;
}

TEST(MessageTest, SmsSaysWhatWhereSinceAndTheAckCode) {
  const std::string sms =
      RenderSms(Inc({Firing({{"alertname", "SourceDown"}, {"source", "web-1"}, {"dc", "site-a"}})}),
                "trigger", {});
  EXPECT_EQ(sms, "FIRING web-1 DOWN in site-a since 11-24 16:00Z. Ack: reply ACK K7Q2MX");
  EXPECT_LE(sms.size(), 160u);
}

TEST(MessageTest, AResolveByHandSaysWhoAndWhyAndThatItStillFails) {
  Incident inc =
      Inc({Firing({{"alertname", "SourceDown"}, {"source", "web-1"}, {"dc", "site-a"}})});
  inc.state = IncidentState::kResolved;
  inc.resolved_ms = inc.started_ms + 60'000;
  inc.resolved_by = "carol";
  inc.resolve_comment = "decommissioned, CHG-9";
  EXPECT_EQ(RenderSms(inc, "resolve", {}), "RESOLVED web-1 DOWN in site-a by carol (K7Q2MX)");
  const std::string body = RenderEmailBody(inc, "resolve", {});
  EXPECT_NE(body.find("Resolved by carol at 2025-11-24T16:01:00Z: decommissioned, CHG-9"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("still failing when resolved"), std::string::npos) << body;
  inc.resolved_by.clear();  // its alerts recovered: no name
  EXPECT_EQ(RenderSms(inc, "resolve", {}).find(" by "), std::string::npos);
}

TEST(MessageTest, AGroupedSiteLossLeadsWithTheCollector) {
  // A burned site: its collector and its hosts in one incident (group_by: [dc]).
  Incident inc =
      Inc({Firing({{"alertname", "SourceDown"}, {"source", "web-1"}, {"dc", "site-a"}}),
           Firing({{"alertname", "CollectorDown"}, {"collector", "site-a"}, {"dc", "site-a"}}),
           Firing({{"alertname", "SourceDown"}, {"source", "web-2"}, {"dc", "site-a"}})});
  EXPECT_EQ(RenderSubject(inc, "trigger"),
            "[FIRING] collector site-a DOWN +2 more in site-a - incident K7Q2MX");
  const std::string body = RenderEmailBody(inc, "trigger", {});
  EXPECT_NE(body.find("web-1"), std::string::npos);
  EXPECT_NE(body.find("web-2"), std::string::npos);
}

TEST(MessageTest, IsolationAndOtherAlertsNameTheirSubject) {
  EXPECT_EQ(RenderSubject(Inc({Firing({{"alertname", "CollectorIsolated"}, {"collector", "b"}})}),
                          "trigger"),
            "[FIRING] collector b ISOLATED in site-a - incident K7Q2MX");
  EXPECT_EQ(
      RenderSubject(Inc({Firing({{"alertname", "CheckFailing"}, {"source", "db-1"}})}), "trigger"),
      "[FIRING] db-1 CheckFailing in site-a - incident K7Q2MX");
}

TEST(MessageTest, SmsIsNeverOver1600Characters) {
  std::vector<Alert> many;
  for (int i = 0; i < 50; ++i) {
    many.push_back(Firing({{"alertname", "SourceDown"}, {"source", std::string(200, 'x')}}));
  }
  EXPECT_LE(RenderSms(Inc(many), "trigger", {}).size(), 1600u);
}

}  // namespace
}  // namespace firewatch::alerting
