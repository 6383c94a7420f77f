#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "firewatch/sqlite/database.h"

namespace firewatch::sqlite {
namespace {

constexpr Migration kTwo[] = {
    {1, "table t", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);"},
    {2, "column w", "ALTER TABLE t ADD COLUMN w INTEGER NOT NULL DEFAULT 7;"},
};

Schema TestSchema(std::span<const Migration> migrations = kTwo) {
  Schema s;
  s.kind = "test db";
  s.application_id = 0x46575453;  // "FWTS"
  s.migrations = migrations;
  return s;
}

class SqliteDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("sqlite_db_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "x.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  int64_t Int(const Database& db, const char* sql) {
    auto v = QueryInt(db.get(), sql, "test");
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : -1;
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(SqliteDatabaseTest, FreshFileGetsIdVersionAndPragmas) {
  auto db = Database::Open(path_, TestSchema());
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(Int(*db, "PRAGMA application_id"), 0x46575453);
  EXPECT_EQ(Int(*db, "PRAGMA user_version"), 2);
  EXPECT_EQ(Int(*db, "PRAGMA synchronous"), 2);  // FULL
  EXPECT_EQ(Int(*db, "PRAGMA foreign_keys"), 1);
  EXPECT_EQ(Int(*db, "PRAGMA busy_timeout"), 5000);
  EXPECT_EQ(Int(*db, "SELECT count(*) FROM pragma_table_info('t') WHERE name = 'w'"), 1);
  EXPECT_EQ(db->context(), "test db '" + path_ + "'");
}

TEST_F(SqliteDatabaseTest, OlderFileIsMigratedForward) {
  {
    auto db = Database::Open(path_, TestSchema(std::span(kTwo).first(1)));
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE(db->Exec("INSERT INTO t (v) VALUES ('kept')", "insert").ok());
  }
  auto db = Database::Open(path_, TestSchema());
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(Int(*db, "PRAGMA user_version"), 2);
  EXPECT_EQ(Int(*db, "SELECT w FROM t WHERE v = 'kept'"), 7);
}

TEST_F(SqliteDatabaseTest, OtherApplicationIdIsRefusedNamingTheFile) {
  {
    auto db = Database::Open(path_, TestSchema());
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->Exec("PRAGMA application_id = 1180127042", "retag").ok());  // "FWOB"
  }
  auto db = Database::Open(path_, TestSchema());
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Status::Code::kCorruption);
  EXPECT_NE(db.status().message().find(path_), std::string::npos) << db.status().message();
  EXPECT_NE(db.status().message().find("not a firewatch test db"), std::string::npos);
  EXPECT_NE(db.status().message().find("'FWOB'"), std::string::npos) << db.status().message();
}

TEST_F(SqliteDatabaseTest, UnversionedFileWithOtherTablesIsRefused) {
  {
    auto raw = Database::Open(path_, Schema{"plain", 0, {}, {}});
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    ASSERT_TRUE(raw->Exec("CREATE TABLE notes (x)", "create").ok());
  }
  Schema s = TestSchema();
  s.adopt.tables = {{"t", {"id", "v"}}};
  s.adopt.version = 1;
  auto db = Database::Open(path_, s);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Status::Code::kCorruption);
  EXPECT_NE(db.status().message().find("not a firewatch test db"), std::string::npos)
      << db.status().message();
}

TEST_F(SqliteDatabaseTest, UnversionedFileOfTheRightShapeIsAdoptedAndMigrated) {
  {
    auto raw = Database::Open(path_, Schema{"plain", 0, {}, {}});
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE(raw->Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);"
                          "INSERT INTO t (v) VALUES ('old');",
                          "create")
                    .ok());
  }
  Schema s = TestSchema();
  s.adopt.tables = {{"t", {"id", "v"}}};
  s.adopt.version = 1;
  auto db = Database::Open(path_, s);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(Int(*db, "PRAGMA application_id"), 0x46575453);
  EXPECT_EQ(Int(*db, "PRAGMA user_version"), 2);
  EXPECT_EQ(Int(*db, "SELECT w FROM t WHERE v = 'old'"), 7);
}

TEST_F(SqliteDatabaseTest, NewerSchemaIsRefused) {
  {
    auto db = Database::Open(path_, TestSchema());
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->Exec("PRAGMA user_version = 5", "bump").ok());
  }
  auto db = Database::Open(path_, TestSchema());
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Status::Code::kCorruption);
  EXPECT_NE(
      db.status().message().find("written by a newer firewatch (schema 5, this binary knows 2)"),
      std::string::npos)
      << db.status().message();
  EXPECT_NE(db.status().message().find(path_), std::string::npos);
}

TEST_F(SqliteDatabaseTest, FailedMigrationRollsBackAndLeavesTheVersion) {
  {
    auto db = Database::Open(path_, TestSchema(std::span(kTwo).first(1)));
    ASSERT_TRUE(db.ok());
  }
  // The first statement succeeds, the second fails: neither may stay.
  constexpr Migration kBroken[] = {
      kTwo[0],
      {2, "half broken", "CREATE TABLE u (x); INSERT INTO missing VALUES (1);"},
  };
  auto broken = Database::Open(path_, TestSchema(kBroken));
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("migration to schema 2 (half broken)"),
            std::string::npos)
      << broken.status().message();
  auto db = Database::Open(path_, TestSchema(std::span(kTwo).first(1)));
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(Int(*db, "PRAGMA user_version"), 1);
  EXPECT_EQ(Int(*db, "SELECT count(*) FROM sqlite_schema WHERE name = 'u'"), 0);
}

TEST_F(SqliteDatabaseTest, NotAnSqliteFileIsCorruption) {
  std::ofstream(path_) << "collector:\n  id: a\n" << std::string(200, '#') << "\n";
  auto db = Database::Open(path_, TestSchema());
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Status::Code::kCorruption);
  EXPECT_NE(db.status().message().find("is not an SQLite database"), std::string::npos)
      << db.status().message();
}

TEST_F(SqliteDatabaseTest, MissingDirectoryIsNamed) {
  auto db = Database::Open((dir_ / "nope" / "x.db").string(), TestSchema());
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Status::Code::kIoError);
  EXPECT_NE(db.status().message().find("does not exist"), std::string::npos);
}

TEST_F(SqliteDatabaseTest, TransactionRollsBackWithoutCommit) {
  auto db = Database::Open(path_, TestSchema());
  ASSERT_TRUE(db.ok());
  {
    Transaction txn = db->NewTransaction("test");
    ASSERT_TRUE(txn.Begin().ok());
    ASSERT_TRUE(db->Exec("INSERT INTO t (v) VALUES ('gone')", "insert").ok());
  }
  EXPECT_EQ(Int(*db, "SELECT count(*) FROM t"), 0);
  EXPECT_NE(sqlite3_get_autocommit(db->get()), 0);
  {
    Transaction txn = db->NewTransaction("test");
    ASSERT_TRUE(txn.Begin().ok());
    ASSERT_TRUE(db->Exec("INSERT INTO t (v) VALUES ('kept')", "insert").ok());
    ASSERT_TRUE(txn.Commit().ok());
  }
  EXPECT_EQ(Int(*db, "SELECT count(*) FROM t"), 1);
}

TEST_F(SqliteDatabaseTest, SecondConnectionChecksWithoutMigrating) {
  auto db = Database::Open(path_, TestSchema());
  ASSERT_TRUE(db.ok());
  OpenOptions reader;
  reader.migrate = false;
  reader.read_only = true;
  auto r = Database::Open(path_, TestSchema(), reader);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->Exec("INSERT INTO t (v) VALUES ('x')", "insert").ok());
  // A reader of an older file is refused: only the owner migrates.
  auto stale = Database::Open(path_, TestSchema(std::span(kTwo).first(1)), reader);
  EXPECT_FALSE(stale.ok());
}

TEST_F(SqliteDatabaseTest, StatementsCheckBindsAndSteps) {
  auto db = Database::Open(path_, TestSchema());
  ASSERT_TRUE(db.ok());
  auto ins = db->Prepare("INSERT INTO t (v, w) VALUES (?1, ?2)");
  ASSERT_TRUE(ins.ok());
  ASSERT_TRUE(BindAll(ins->get(), std::string("a"), 3).ok());
  ASSERT_TRUE(StepDone(ins->get(), "insert").ok());
  // A third parameter does not exist: the bind fails with a message naming it.
  Status st = BindAll(ins->get(), "b", 4, 5);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("bind parameter 3"), std::string::npos) << st.message();
  // NOT NULL violated: the step fails.
  ASSERT_EQ(sqlite3_clear_bindings(ins->get()), SQLITE_OK);
  EXPECT_FALSE(StepDone(ins->get(), "insert").ok());
  auto sel = db->Prepare("SELECT v, w FROM t ORDER BY id");
  ASSERT_TRUE(sel.ok());
  std::vector<std::string> rows;
  ASSERT_TRUE(ForEachRow(sel->get(), "select", [&](sqlite3_stmt* s) {
                rows.push_back(ColumnText(s, 0) + std::to_string(sqlite3_column_int(s, 1)));
                return Status::Ok();
              }).ok());
  EXPECT_EQ(rows, (std::vector<std::string>{"a3"}));
  EXPECT_FALSE(db->Prepare("SELECT nope FROM t").ok());
}

}  // namespace
}  // namespace firewatch::sqlite
