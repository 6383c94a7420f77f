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
  Incident first = book.Upsert("g1", "default", {}, {alert}, 1000).incident;
  Incident again = book.Upsert("g1", "default", {}, {alert, alert}, 2000).incident;
  EXPECT_EQ(first.id, again.id);
  EXPECT_EQ(again.alerts.size(), 2u);
  ASSERT_TRUE(book.Resolve("g1", 3000));
  EXPECT_FALSE(book.Resolve("g1", 3001));
  Incident next = book.Upsert("g1", "default", {}, {alert}, 4000).incident;
  EXPECT_NE(next.id, first.id);
  EXPECT_EQ(book.List().size(), 2u);
}

TEST(IncidentTest, FiringAgainWithinTheReopenWindowReopensTheSameIncident) {
  IncidentBook book;
  Alert alert;
  alert.labels = {{"alertname", "SourceDown"}, {"source", "web-01"}};
  const auto first = book.Upsert("g1", "default", {}, {alert}, 1000, "", std::nullopt, 60'000);
  EXPECT_EQ(first.kind, UpsertKind::kOpened);
  ASSERT_TRUE(book.Ack(first.incident.id, "alice", 1500).ok());
  ASSERT_TRUE(book.Resolve("g1", 2000));
  const auto again = book.Upsert("g1", "default", {}, {alert}, 62'000, "", std::nullopt, 60'000);
  EXPECT_EQ(again.kind, UpsertKind::kReopened);
  EXPECT_EQ(again.incident.id, first.incident.id);
  EXPECT_EQ(again.incident.started_ms, 1000);  // escalation resumes from the same start
  EXPECT_EQ(again.incident.state, IncidentState::kOpen);
  EXPECT_TRUE(again.incident.acked_by.empty());
  EXPECT_EQ(again.incident.reopened, 1u);
  EXPECT_EQ(book.List().size(), 1u);
  // Past the window (60 s after the resolve at 62.5 s): a new incident.
  ASSERT_TRUE(book.Resolve("g1", 62'500));
  const auto later = book.Upsert("g1", "default", {}, {alert}, 122'501, "", std::nullopt, 60'000);
  EXPECT_EQ(later.kind, UpsertKind::kOpened);
  EXPECT_NE(later.incident.id, first.incident.id);
  // A zero window never reopens.
  ASSERT_TRUE(book.Resolve("g1", 123'000));
  EXPECT_EQ(book.Upsert("g1", "default", {}, {alert}, 123'001).kind, UpsertKind::kOpened);
}

TEST(IncidentTest, ObserveAlertFollowsTheAlertsTruthInOpenIncidents) {
  IncidentBook book;
  Alert a, b;
  a.labels = {{"alertname", "SourceDown"}, {"source", "web-01"}};
  b.labels = {{"alertname", "SourceDown"}, {"source", "web-02"}};
  const Incident inc = book.Upsert("g1", "default", {}, {a, b}, 1000).incident;
  EXPECT_TRUE(AnyFiring(inc));
  Alert a_ok = a;
  a_ok.status = AlertStatus::kResolved;
  a_ok.ends_at_ms = 2000;
  auto changed = book.ObserveAlert(a_ok);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_TRUE(AnyFiring(changed[0]));  // web-02 still fires
  EXPECT_TRUE(book.ObserveAlert(a_ok).empty());  // no change the second time
  Alert b_ok = b;
  b_ok.status = AlertStatus::kResolved;
  changed = book.ObserveAlert(b_ok);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_FALSE(AnyFiring(changed[0]));
  // Firing again before anyone resolved the incident: it fires again.
  changed = book.ObserveAlert(a);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_TRUE(AnyFiring(changed[0]));
  // Resolved incidents are not touched.
  ASSERT_TRUE(book.Resolve("g1", 3000));
  EXPECT_TRUE(book.ObserveAlert(a_ok).empty());
}

TEST(IncidentTest, ResolveByIdRecordsWhoAndIsNeverReopened) {
  IncidentBook book;
  Alert alert;
  alert.labels = {{"alertname", "SourceDown"}, {"source", "web-01"}};
  const auto first = book.Upsert("g1", "default", {}, {alert}, 1000, "", std::nullopt, 60'000);
  ASSERT_TRUE(book.Ack(first.incident.id, "alice", 1500).ok());
  std::string lower = first.incident.id;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto r = book.ResolveById(lower, "carol", "replaced the PSU", 2000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(r->incident.state, IncidentState::kResolved);
  EXPECT_EQ(r->incident.resolved_ms, 2000);
  EXPECT_EQ(r->incident.resolved_by, "carol");
  EXPECT_EQ(r->incident.resolve_comment, "replaced the PSU");
  EXPECT_FALSE(book.OpenFor("g1"));
  auto again = book.ResolveById(first.incident.id, "dave", "", 2500);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(again->incident.resolved_by, "carol");
  EXPECT_EQ(book.ResolveById("NOSUCH", "carol", "", 1).status().code(), Status::Code::kNotFound);
  // Within the reopen window, and after a restart too: a new incident, not a reopen.
  const auto next = book.Upsert("g1", "default", {}, {alert}, 3000, "", std::nullopt, 60'000);
  EXPECT_EQ(next.kind, UpsertKind::kOpened);
  EXPECT_NE(next.incident.id, first.incident.id);
  IncidentBook restored;
  restored.Restore({book.Get(first.incident.id).value()});
  EXPECT_EQ(restored.Upsert("g1", "default", {}, {alert}, 3000, "", std::nullopt, 60'000).kind,
            UpsertKind::kOpened);
}

TEST(IncidentTest, AckIsCaseInsensitiveAndIdempotent) {
  IncidentBook book;
  Incident inc = book.Upsert("g", "p", {}, {}, 1000).incident;
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
