// Small RAII helpers over the SQLite C API, shared by the collector store and the outbox.
// Header-only: include it only from code that links SQLite::SQLite3.
//
// Errors become Status values: SQLITE_NOTADB / SQLITE_CORRUPT map to Corruption,
// everything else to IoError; the message carries the context and sqlite3_errmsg().
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "firewatch/status.h"

namespace firewatch::sqlite {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// The Status for a failed SQLite call `rc` on `db`, prefixed with `context`.
inline Status Error(sqlite3* db, int rc, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const int primary = rc & 0xff;
  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) return Status::Corruption(msg);
  return Status::IoError(msg);
}

// Runs one or more statements that return no rows needed by the caller.
inline Status Exec(sqlite3* db, const char* sql, std::string_view context) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::Ok() : Error(db, rc, context);
}

// Compiles one statement; the caller keeps it for reuse (sqlite3_reset between uses).
inline Result<Stmt> Prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  Stmt stmt(raw);
  if (rc != SQLITE_OK) return Error(db, rc, std::string("prepare \"") + sql + "\"");
  return stmt;
}

// Resets and clears a reusable statement when the scope ends, so no read transaction
// stays open (an open reader would stop WAL checkpoints).
class ScopedReset {
 public:
  explicit ScopedReset(sqlite3_stmt* s) : s_(s) {}
  ~ScopedReset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;

 private:
  sqlite3_stmt* s_;
};

// Binds `text` without copying: it must outlive the statement's next sqlite3_step.
inline int BindText(sqlite3_stmt* s, int index, std::string_view text) {
  return sqlite3_bind_text64(s, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
}

// Column `i` as bytes (NULL reads as empty).
inline std::string ColumnText(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  if (p == nullptr) return {};
  return std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, i)));
}

// Runs a statement that yields one integer (e.g. "PRAGMA user_version").
inline Result<int64_t> QueryInt(sqlite3* db, const char* sql, std::string_view context) {
  auto stmt = Prepare(db, sql);
  if (!stmt.ok()) return stmt.status();
  const int rc = sqlite3_step(stmt->get());
  if (rc != SQLITE_ROW) return Error(db, rc, context);
  return static_cast<int64_t>(sqlite3_column_int64(stmt->get(), 0));
}

// One write transaction (BEGIN IMMEDIATE). Rolls back when destroyed without Commit(),
// so every early return leaves the database as it was.
class Txn {
 public:
  Txn(sqlite3* db, std::string context) : db_(db), context_(std::move(context)) {}
  ~Txn() {
    if (open_ && sqlite3_get_autocommit(db_) == 0) (void)Exec(db_, "ROLLBACK", context_);
  }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  Status Begin() {
    Status st = Exec(db_, "BEGIN IMMEDIATE", context_);
    open_ = st.ok();
    return st;
  }
  Status Commit() {
    Status st = Exec(db_, "COMMIT", context_);
    if (st.ok()) open_ = false;
    return st;
  }

 private:
  sqlite3* db_;
  std::string context_;
  bool open_ = false;
};

}  // namespace firewatch::sqlite
