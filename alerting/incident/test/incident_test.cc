#include "incident/incident.h"

#include <gtest/gtest.h>

namespace firewatch::alerting {
namespace {

TEST(IncidentTest, IdsAreShortStableAndTypeable) {
  std::string a = IncidentId("{}:{alertname=\"SourceDown\"}", 1000);
  EXPECT_EQ(a.size(), 6u);
  EXPECT_EQ(a, IncidentId("{}:{alertname=\"SourceDown\"}", 1000));
  EXPECT_NE(a, IncidentId("{}:{alertname=\"SourceDown\"}", 1001));
  EXPECT_EQ(a.find_first_of("0O1IL"), std::string::npos);
}

TEST(IncidentTest, OneOpenIncidentPerGroupUntilResolved) {
  IncidentBook book;
  Alert alert;
  alert.labels = {{"alertname", "SourceDown"}, {"source", "web-01"}};
  Incident first = book.Upsert("g1", "default", {}, {alert}, 1000);
  Incident again = book.Upsert("g1", "default", {}, {alert, alert}, 2000);
  EXPECT_EQ(first.id, again.id);
  EXPECT_EQ(again.alerts.size(), 2u);
  ASSERT_TRUE(book.Resolve("g1", 3000));
  EXPECT_FALSE(book.Resolve("g1", 3001));
  Incident next = book.Upsert("g1", "default", {}, {alert}, 4000);
  EXPECT_NE(next.id, first.id);
  EXPECT_EQ(book.List().size(), 2u);
}

TEST(IncidentTest, AckIsCaseInsensitiveAndIdempotent) {
  IncidentBook book;
  Incident inc = book.Upsert("g", "p", {}, {}, 1000);
  std::string lower = inc.id;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto acked = book.Ack(lower, "alice", 2000);
  ASSERT_TRUE(acked.ok());
  EXPECT_EQ(acked->state, IncidentState::kAcked);
  EXPECT_EQ(acked->acked_by, "alice");
  auto twice = book.Ack(inc.id, "bob", 3000);
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->acked_by, "alice");
  EXPECT_FALSE(book.Ack("ZZZZZZ", "x", 1).ok());
}

}  // namespace
}  // namespace firewatch::alerting
