#include "firewatch/sqlite/database.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iterator>

namespace firewatch::sqlite {

namespace {

constexpr int64_t kJournalSizeLimit = 64 * 1024 * 1024;

// 0x46574353 'FWCS'
std::string DescribeId(int64_t id) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%08llX", static_cast<unsigned long long>(id & 0xffffffff));
  std::string out = hex;
  std::string ascii;
  for (int shift = 24; shift >= 0; shift -= 8) {
    const auto c = static_cast<char>((id >> shift) & 0xff);
    if (c < 0x20 || c > 0x7e) return out;
    ascii += c;
  }
  return out + " '" + ascii + "'";
}

// The file's tables (without SQLite's own), in name order, with their columns.
Result<std::vector<LegacyTable>> Tables(sqlite3* db, const std::string& context) {
  auto names = Prepare(db,
                       "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE "
                       "'sqlite_%' ORDER BY name");
  if (!names.ok()) return names.status();
  std::vector<LegacyTable> out;
  Status st = ForEachRow(names->get(), context, [&](sqlite3_stmt* s) {
    out.push_back(LegacyTable{ColumnText(s, 0), {}});
    return Status::Ok();
  });
  if (!st.ok()) return st;
  auto columns = Prepare(db, "SELECT name FROM pragma_table_info(?1) ORDER BY cid");
  if (!columns.ok()) return columns.status();
  for (LegacyTable& t : out) {
    if (st = BindAll(columns->get(), t.name); !st.ok()) return st;
    st = ForEachRow(columns->get(), context, [&](sqlite3_stmt* s) {
      t.columns.push_back(ColumnText(s, 0));
      return Status::Ok();
    });
    if (!st.ok()) return st;
  }
  return out;
}

bool SameTables(std::vector<LegacyTable> a, std::vector<LegacyTable> b) {
  auto by_name = [](const LegacyTable& x, const LegacyTable& y) { return x.name < y.name; };
  std::sort(a.begin(), a.end(), by_name);
  std::sort(b.begin(), b.end(), by_name);
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].columns != b[i].columns) return false;
  }
  return true;
}

Status Stamp(sqlite3* db, int32_t application_id, int version, std::string_view context) {
  const std::string sql = "PRAGMA application_id = " + std::to_string(application_id) +
                          "; PRAGMA user_version = " + std::to_string(version) + ";";
  return Exec(db, sql.c_str(), context);
}

// Where an existing file stands: its version, after checking it is ours (adopting an
// unversioned file of the right shape). Empty files are at version 0.
Result<int> Identify(sqlite3* db, const std::string& path, const Schema& schema,
                     const std::string& context) {
  auto app_id = QueryInt(db, "PRAGMA application_id", context);
  if (!app_id.ok()) return app_id.status();
  auto version = QueryInt(db, "PRAGMA user_version", context);
  if (!version.ok()) return version.status();
  if (*app_id == schema.application_id) return static_cast<int>(*version);
  auto objects = QueryInt(db, "SELECT count(*) FROM sqlite_schema", context);
  if (!objects.ok()) return objects.status();
  if (*app_id == 0 && *version == 0 && *objects == 0) return 0;
  if (*app_id == 0 && *version == 0 && !schema.adopt.tables.empty()) {
    auto tables = Tables(db, context);
    if (!tables.ok()) return tables.status();
    if (SameTables(*tables, schema.adopt.tables)) {
      Transaction txn(db, context + ": adopting an unversioned file");
      if (auto st = txn.Begin(); !st.ok()) return st;
      if (auto st = Stamp(db, schema.application_id, schema.adopt.version, context); !st.ok()) {
        return st;
      }
      if (auto st = txn.Commit(); !st.ok()) return st;
      spdlog::info("{}: adopted a file written before schema versioning as schema {}", context,
                   schema.adopt.version);
      return schema.adopt.version;
    }
  }
  return Status::Corruption(schema.kind + " '" + path + "' is an SQLite database but not a " +
                            "firewatch " + schema.kind + " (application_id " + DescribeId(*app_id) +
                            ", expected " + DescribeId(schema.application_id) + "; user_version " +
                            std::to_string(*version) + "); move it away or fix the path");
}

Status Migrate(sqlite3* db, const std::string& path, const Schema& schema,
               const std::string& context) {
  auto version = Identify(db, path, schema, context);
  if (!version.ok()) return version.status();
  const int latest = LatestVersion(schema);
  if (*version > latest) {
    return Status::Corruption(
        context + " was written by a newer firewatch (schema " + std::to_string(*version) +
        ", this binary knows " + std::to_string(latest) +
        "); upgrade firewatch or restore the backup taken before the upgrade");
  }
  for (const Migration& m : schema.migrations) {
    if (m.version <= *version) continue;
    const std::string what =
        context + ": migration to schema " + std::to_string(m.version) + " (" + m.what + ")";
    Transaction txn(db, what);
    if (auto st = txn.Begin(); !st.ok()) return st;
    // Another process may have migrated between our read and our BEGIN IMMEDIATE.
    auto now = QueryInt(db, "PRAGMA user_version", what);
    if (!now.ok()) return now.status();
    if (*now >= m.version) continue;
    if (auto st = Exec(db, m.sql, what); !st.ok()) return st;
    if (auto st = Stamp(db, schema.application_id, m.version, what); !st.ok()) return st;
    if (auto st = txn.Commit(); !st.ok()) return st;
    spdlog::info("{}: migrated to schema {} ({})", context, m.version, m.what);
  }
  return Status::Ok();
}

// A connection that has already been migrated by someone else: check only.
Status Check(sqlite3* db, const Schema& schema, const std::string& context) {
  auto app_id = QueryInt(db, "PRAGMA application_id", context);
  if (!app_id.ok()) return app_id.status();
  auto version = QueryInt(db, "PRAGMA user_version", context);
  if (!version.ok()) return version.status();
  if (*app_id != schema.application_id || *version != LatestVersion(schema)) {
    return Status::Corruption(context + " changed under us (application_id " + DescribeId(*app_id) +
                              ", schema " + std::to_string(*version) + ")");
  }
  return Status::Ok();
}

}  // namespace

Status Error(sqlite3* db, int rc, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg +=
      db != nullptr && sqlite3_errcode(db) != SQLITE_OK ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const int primary = rc & 0xff;
  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) return Status::Corruption(msg);
  return Status::IoError(msg);
}

Status Exec(sqlite3* db, const char* sql, std::string_view context) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::Ok() : Error(db, rc, context);
}

Result<Stmt> Prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  Stmt stmt(raw);
  if (rc != SQLITE_OK) return Error(db, rc, std::string("prepare \"") + sql + "\"");
  if (stmt == nullptr)
    return Status::InvalidArgument(std::string("no statement in \"") + sql + "\"");
  return stmt;
}

Result<int64_t> QueryInt(sqlite3* db, const char* sql, std::string_view context) {
  auto stmt = Prepare(db, sql);
  if (!stmt.ok()) return stmt.status();
  const int rc = sqlite3_step(stmt->get());
  if (rc != SQLITE_ROW) return Error(db, rc, context);
  return static_cast<int64_t>(sqlite3_column_int64(stmt->get(), 0));
}

namespace {
Status BindResult(sqlite3_stmt* s, int index, int rc) {
  if (rc == SQLITE_OK) return Status::Ok();
  const char* sql = sqlite3_sql(s);
  return Error(sqlite3_db_handle(s), rc,
               "bind parameter " + std::to_string(index) + " of \"" + (sql ? sql : "?") + "\"");
}
}  // namespace

Status BindOne(sqlite3_stmt* s, int index, int64_t v) {
  return BindResult(s, index, sqlite3_bind_int64(s, index, v));
}

Status BindOne(sqlite3_stmt* s, int index, std::string_view v) {
  return BindResult(s, index,
                    sqlite3_bind_text64(s, index, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}

Status BindOne(sqlite3_stmt* s, int index, Blob v) {
  // A null pointer would bind NULL; an empty blob must stay a (zero-length) blob.
  static const char kEmpty = 0;
  return BindResult(
      s, index,
      sqlite3_bind_blob64(s, index, v.data != nullptr ? v.data : &kEmpty, v.size, SQLITE_TRANSIENT));
}

Status StepDone(sqlite3_stmt* s, std::string_view context) {
  ScopedReset reset(s);
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return Status::Ok();
  if (rc == SQLITE_ROW) return Status::InvalidArgument(std::string(context) + ": unexpected row");
  return Error(sqlite3_db_handle(s), rc, context);
}

Status ForEachRow(sqlite3_stmt* s, std::string_view context,
                  const std::function<Status(sqlite3_stmt*)>& row) {
  ScopedReset reset(s);
  for (;;) {
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return Status::Ok();
    if (rc != SQLITE_ROW) return Error(sqlite3_db_handle(s), rc, context);
    if (auto st = row(s); !st.ok()) return st;
  }
}

std::string ColumnText(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  if (p == nullptr) return {};
  return std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, i)));
}

// ---- Transaction ----

Transaction::~Transaction() {
  if (Status st = Rollback(); !st.ok()) {
    spdlog::error("{} (the connection is closed or reused; SQLite rolls back)", st.ToString());
  }
}

Status Transaction::Begin() {
  Status st = Exec(db_, "BEGIN IMMEDIATE", context_);
  open_ = st.ok();
  return st;
}

Status Transaction::Commit() {
  Status st = Exec(db_, "COMMIT", context_);
  if (st.ok()) open_ = false;
  return st;
}

Status Transaction::Rollback() {
  if (!open_) return Status::Ok();
  open_ = false;
  // A failed COMMIT or statement may already have ended the transaction.
  if (sqlite3_get_autocommit(db_) != 0) return Status::Ok();
  return Exec(db_, "ROLLBACK", context_ + ": rollback");
}

// ---- Database ----

int LatestVersion(const Schema& schema) {
  return schema.migrations.empty() ? 0 : std::prev(schema.migrations.end())->version;
}

Status Database::Error(int rc, std::string_view what) const {
  return sqlite::Error(db_.get(), rc, context_ + ": " + std::string(what));
}

Status Database::Exec(const char* sql, std::string_view what) const {
  return sqlite::Exec(db_.get(), sql, context_ + ": " + std::string(what));
}

Transaction Database::NewTransaction(std::string_view what) const {
  return Transaction(db_.get(), context_ + ": " + std::string(what));
}

Result<Database> Database::Open(const std::string& path, const Schema& schema,
                                const OpenOptions& options) {
  if (path.empty()) return Status::InvalidArgument(schema.kind + " path is empty");
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return Status::IoError("cannot open " + schema.kind + " '" + path + "': directory '" +
                           dir.string() + "' does not exist (create the data directory first)");
  }
  Database out;
  out.path_ = path;
  out.context_ = schema.kind + " '" + path + "'";
  const std::string& context = out.context_;
  const int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (options.migrate ? SQLITE_OPEN_CREATE : 0);
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  out.db_.reset(raw);
  if (rc != SQLITE_OK) return sqlite::Error(raw, rc, "cannot open " + context);
  sqlite3* db = raw;
  if (int erc = sqlite3_extended_result_codes(db, 1); erc != SQLITE_OK) {
    return sqlite::Error(db, erc, context);
  }
  if (int brc = sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
      brc != SQLITE_OK) {
    return sqlite::Error(db, brc, context);
  }
  {
    // The first statement reads the header: a file that is not SQLite fails here.
    auto not_sqlite = [&](const Status& st) {
      if (st.code() != Status::Code::kCorruption) return st;
      return Status::Corruption(context + " is not an SQLite database (" + st.message() + ")");
    };
    auto mode = sqlite::Prepare(db, "PRAGMA journal_mode = WAL");
    if (!mode.ok()) return not_sqlite(mode.status());
    const int step = sqlite3_step(mode->get());
    if (step != SQLITE_ROW) return not_sqlite(sqlite::Error(db, step, context));
    const std::string journal = ColumnText(mode->get(), 0);
    if (journal != "wal") {
      return Status::IoError(context + ": cannot enable WAL mode (journal_mode is " + journal +
                             ")");
    }
  }
  const std::string pragmas =
      "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
      "PRAGMA journal_size_limit = " +
      std::to_string(kJournalSizeLimit) + ";";
  if (auto st = sqlite::Exec(db, pragmas.c_str(), context + ": pragmas"); !st.ok()) return st;
  Status st = options.migrate ? Migrate(db, path, schema, context) : Check(db, schema, context);
  if (!st.ok()) return st;
  if (options.read_only) {
    if (st = sqlite::Exec(db, "PRAGMA query_only = ON", context); !st.ok()) return st;
  }
  return out;
}

}  // namespace firewatch::sqlite
