// FirstPageDelay (app/alerts.h): which delivered pages feed firewatch_page_delivery_seconds
// and with what value.
#include <gtest/gtest.h>

#include "app/alerts.h"
#include "schedule/escalation.h"

namespace firewatch::collector {
namespace {

alerting::Notification Page(const std::string& kind, uint32_t round, uint32_t step,
                            std::vector<int64_t> starts_ms) {
  alerting::Notification n;
  n.kind = kind;
  n.incident_id = "K7Q/2MX";  // escaped in the key: its '/' must not confuse the parser
  n.idempotency_key = alerting::schedule::IdempotencyKey(n.incident_id, round, step, "alice", "sms");
  for (int64_t s : starts_ms) {
    alerting::Alert a;
    a.starts_at_ms = s;
    n.alerts.push_back(a);
  }
  return n;
}

TEST(FirstPageDelay, FirstStepTriggerFromTheEarliestAlertStart) {
  auto d = FirstPageDelay(Page("trigger", 0, 0, {10'000, 4'000, 7'000}), 16'500);
  ASSERT_TRUE(d.has_value());
  EXPECT_DOUBLE_EQ(*d, 12.5);
}

TEST(FirstPageDelay, LaterStepsRoundsAndFollowUpsAreNotCounted) {
  EXPECT_FALSE(FirstPageDelay(Page("trigger", 0, 1, {1'000}), 9'000));
  EXPECT_FALSE(FirstPageDelay(Page("trigger", 1, 0, {1'000}), 9'000));
  EXPECT_FALSE(FirstPageDelay(Page("resolve", 0, 0, {1'000}), 9'000));
  EXPECT_FALSE(FirstPageDelay(Page("acknowledge", 0, 0, {1'000}), 9'000));
  alerting::Notification test_page = Page("test", 0, 0, {1'000});
  test_page.idempotency_key = "test/sms/9000";
  EXPECT_FALSE(FirstPageDelay(test_page, 9'000));
}

TEST(FirstPageDelay, NoStartNoValueAndNeverNegative) {
  EXPECT_FALSE(FirstPageDelay(Page("trigger", 0, 0, {}), 9'000));
  EXPECT_FALSE(FirstPageDelay(Page("trigger", 0, 0, {0}), 9'000));
  auto d = FirstPageDelay(Page("trigger", 0, 0, {9'500}), 9'000);  // clocks of two collectors
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, 0);
}

}  // namespace
}  // namespace firewatch::collector
