// incidents.db: IncidentStore and SilenceStore share one file through the SQLite
// foundation; files written before schema versioning are adopted.
#include "incident/incident_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>

#include "route/silence_store.h"
#include "sqlite/restore_dump.h"

namespace firewatch::alerting {
namespace {

class IncidentsDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/firewatch_incidents_db_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/incidents.db";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void RawExec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

  std::string dir_;
  std::string path_;
};

Incident MakeIncident(const std::string& id) {
  Incident i;
  i.id = id;
  i.group_key = "{}:{alertname=\"SourceDown\"}";
  i.origin = "collector";
  i.policy = "default";
  i.group_labels = {{"alertname", "SourceDown"}};
  Alert a;
  a.labels = {{"alertname", "SourceDown"}, {"source", "db-1"}};
  a.starts_at_ms = 1000;
  i.alerts.push_back(a);
  i.state = IncidentState::kAcked;
  i.started_ms = 1001;
  i.acked_ms = 2000;
  i.acked_by = "alice";
  return i;
}

TEST_F(IncidentsDbTest, BothStoresShareOneVersionedFile) {
  IncidentStore incidents;
  ASSERT_TRUE(incidents.Open(path_).ok());
  SilenceStore silences;
  ASSERT_TRUE(silences.Open(path_).ok());
  ASSERT_TRUE(incidents.Put(MakeIncident("AAAAAA")).ok());
  ASSERT_TRUE(incidents.Put(MakeIncident("BBBBBB")).ok());
  ASSERT_TRUE(incidents.Delete("BBBBBB").ok());
  ASSERT_TRUE(silences.Batch({{"s1", "{\"a\":1}"}, {"s2", "{}"}}, {}).ok());
  ASSERT_TRUE(silences.Batch({{"s1", "{\"a\":2}"}}, {"s2"}).ok());

  auto loaded = incidents.LoadAll();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->front().id, "AAAAAA");
  EXPECT_EQ(loaded->front().state, IncidentState::kAcked);
  EXPECT_EQ(loaded->front().acked_by, "alice");
  EXPECT_EQ(loaded->front().alerts.at(0).labels.at("source"), "db-1");
  EXPECT_EQ(silences.Rows(),
            (std::vector<std::pair<std::string, std::string>>{{"s1", "{\"a\":2}"}}));

  auto header = sqlite::testing::ReadHeader(path_);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->application_id, kIncidentsDbApplicationId);
  EXPECT_EQ(header->user_version, 2);  // 2: the maintenance table
}

TEST_F(IncidentsDbTest, WhoResolvedByHandAndWhyAreKept) {
  IncidentStore incidents;
  ASSERT_TRUE(incidents.Open(path_).ok());
  Incident inc = MakeIncident("CCCCCC");
  inc.state = IncidentState::kResolved;
  inc.resolved_ms = 5000;
  inc.resolved_by = "carol";
  inc.resolve_comment = "PSU replaced";
  ASSERT_TRUE(incidents.Put(inc).ok());
  auto loaded = incidents.LoadAll();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->front().resolved_by, "carol");
  EXPECT_EQ(loaded->front().resolve_comment, "PSU replaced");
  EXPECT_EQ(loaded->front().resolved_ms, 5000);
}

TEST_F(IncidentsDbTest, UnreadableIncidentRowIsSkipped) {
  {
    IncidentStore incidents;
    ASSERT_TRUE(incidents.Open(path_).ok());
    ASSERT_TRUE(incidents.Put(MakeIncident("AAAAAA")).ok());
  }
  RawExec("INSERT INTO incidents VALUES ('bad', '{not json'), ('worse', '{\"id\":\"worse\"}')");
  IncidentStore incidents;
  ASSERT_TRUE(incidents.Open(path_).ok());
  auto loaded = incidents.LoadAll();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->front().id, "AAAAAA");
}

// incidents.db as written by the release before versioning (application_id 0,
// user_version 0; tests/testdata/storage/README.md): adopted as schema 1, rows intact,
// then migrated to 2 (the maintenance windows' table).
TEST_F(IncidentsDbTest, OpensIncidentsDbFromBeforeVersioning) {
  ASSERT_TRUE(
      sqlite::testing::RestoreDump(sqlite::testing::StorageTestdata("incidents.sql"), path_).ok());
  IncidentStore incidents;
  ASSERT_TRUE(incidents.Open(path_).ok());
  SilenceStore silences;
  ASSERT_TRUE(silences.Open(path_).ok());
  auto loaded = incidents.LoadAll();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->size(), 1u);
  const Incident& inc = loaded->front();
  EXPECT_EQ(inc.id, "SHBR68");
  EXPECT_EQ(inc.state, IncidentState::kAcked);
  EXPECT_EQ(inc.acked_by, "tester");
  EXPECT_EQ(inc.policy, "default");
  ASSERT_EQ(inc.alerts.size(), 1u);
  EXPECT_EQ(inc.alerts[0].labels.at("source"), "db-01");
  const auto rows = silences.Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].first, "769f1c50-c13c-4d60-8389-ea555847a50f");
  EXPECT_NE(rows[0].second.find("db-02 maintenance"), std::string::npos);
  // New writes land in the adopted file.
  ASSERT_TRUE(incidents.Put(MakeIncident("CCCCCC")).ok());
  EXPECT_EQ(incidents.LoadAll()->size(), 2u);

  auto header = sqlite::testing::ReadHeader(path_);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->application_id, kIncidentsDbApplicationId);
  EXPECT_EQ(header->user_version, 2);  // 2: the maintenance table
}

TEST_F(IncidentsDbTest, UnversionedFileOfAnotherShapeIsRefused) {
  RawExec("CREATE TABLE incidents (id INTEGER PRIMARY KEY, title TEXT)");
  IncidentStore incidents;
  Status st = incidents.Open(path_);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find(path_), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("not a firewatch incidents db"), std::string::npos) << st.message();
}

TEST_F(IncidentsDbTest, AnotherFirewatchFileIsRefused) {
  RawExec("PRAGMA application_id = 1180123987");  // "FWCS": a collector store
  IncidentStore incidents;
  Status st = incidents.Open(path_);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("'FWCS'"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace firewatch::alerting
