#include "incident/incidents_db.h"

namespace firewatch::alerting {

namespace {

// Append only. Never edit a migration that has shipped: add a new one instead.
// Schema 1 is exactly what firewatch wrote before versioning (CREATE TABLE IF NOT EXISTS
// at every start), so such files are adopted as schema 1 without a change.
constexpr sqlite::Migration kMigrations[] = {
    {1, "incidents and silences, one JSON body per id", R"sql(
CREATE TABLE incidents (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE silences (id TEXT PRIMARY KEY, body TEXT NOT NULL);
)sql"},
    {2, "maintenance windows (route/replicated_maintenance.h), one JSON body per id", R"sql(
CREATE TABLE maintenance (id TEXT PRIMARY KEY, body TEXT NOT NULL);
)sql"},
};

}  // namespace

const sqlite::Schema& IncidentsDbSchema() {
  static const sqlite::Schema schema = [] {
    sqlite::Schema s;
    s.kind = "incidents db";
    s.application_id = kIncidentsDbApplicationId;
    s.migrations = kMigrations;
    s.adopt.tables = {{"incidents", {"id", "body"}}, {"silences", {"id", "body"}}};
    s.adopt.version = 1;
    return s;
  }();
  return schema;
}

Result<sqlite::Database> OpenIncidentsDb(const std::string& path) {
  return sqlite::Database::Open(path, IncidentsDbSchema());
}

Status BodyTable::Open(const std::string& path) {
  auto db = OpenIncidentsDb(path);
  if (!db.ok()) return db.status();
  db_ = std::move(db).value();
  // The table name is one of ours (a constant of the two stores), never input.
  const std::string put = "INSERT INTO " + table_ +
                          " (id, body) VALUES (?1, ?2) "
                          "ON CONFLICT (id) DO UPDATE SET body = excluded.body";
  const std::string del = "DELETE FROM " + table_ + " WHERE id = ?1";
  const std::string rows = "SELECT id, body FROM " + table_ + " ORDER BY id";
  for (auto [stmt, sql] : {std::pair{&put_, &put}, {&delete_, &del}, {&rows_, &rows}}) {
    auto prepared = db_.Prepare(sql->c_str());
    if (!prepared.ok()) return prepared.status();
    *stmt = std::move(prepared).value();
  }
  return Status::Ok();
}

Status BodyTable::PutRow(const std::string& id, const std::string& body) {
  if (Status st = sqlite::BindAll(put_.get(), id, body); !st.ok()) return st;
  return sqlite::StepDone(put_.get(), db_.context() + ": " + table_ + ": put '" + id + "'");
}

Status BodyTable::DeleteRow(const std::string& id) {
  if (Status st = sqlite::BindAll(delete_.get(), id); !st.ok()) return st;
  return sqlite::StepDone(delete_.get(), db_.context() + ": " + table_ + ": delete '" + id + "'");
}

Status BodyTable::Put(const std::string& id, const std::string& body) {
  return PutRow(id, body);
}

Status BodyTable::Delete(const std::string& id) {
  return DeleteRow(id);
}

Result<std::vector<std::pair<std::string, std::string>>> BodyTable::Rows() {
  std::vector<std::pair<std::string, std::string>> out;
  Status st =
      sqlite::ForEachRow(rows_.get(), db_.context() + ": read " + table_, [&](sqlite3_stmt* s) {
        if (sqlite3_column_type(s, 0) != SQLITE_NULL && sqlite3_column_type(s, 1) != SQLITE_NULL) {
          out.emplace_back(sqlite::ColumnText(s, 0), sqlite::ColumnText(s, 1));
        }
        return Status::Ok();
      });
  if (!st.ok()) return st;
  return out;
}

Status BodyTable::Batch(const std::vector<std::pair<std::string, std::string>>& puts,
                        const std::vector<std::string>& deletes) {
  if (puts.empty() && deletes.empty()) return Status::Ok();
  sqlite::Transaction txn = db_.NewTransaction(table_);
  if (Status st = txn.Begin(); !st.ok()) return st;
  for (const auto& [id, body] : puts) {
    if (Status st = PutRow(id, body); !st.ok()) return st;
  }
  for (const auto& id : deletes) {
    if (Status st = DeleteRow(id); !st.ok()) return st;
  }
  return txn.Commit();
}

}  // namespace firewatch::alerting
