// The one way firewatch opens an SQLite file (library firewatch_sqlite; docs/storage.md).
//
// Contract of Database::Open(path, schema):
//   - the directory must exist (the app owns the data dir): otherwise IoError naming it;
//   - every connection gets the same pragmas: journal_mode = WAL (IoError if the file
//     system cannot do WAL), synchronous = FULL, foreign_keys = ON, busy_timeout (default
//     5000 ms), journal_size_limit = 64 MiB, extended result codes;
//   - identity: PRAGMA application_id must be schema.application_id. A new (empty) file
//     gets it. A file with application_id 0 and user_version 0 whose tables and columns
//     are exactly schema.adopt.tables (what a release before versioning wrote) is adopted
//     at version schema.adopt.version. Anything else -- not SQLite, another program's
//     database, another kind of firewatch file -- is Corruption naming the file;
//   - versions: PRAGMA user_version is the schema version. A file newer than the last
//     migration is refused: Corruption "... written by a newer firewatch (schema N, this
//     binary knows M) ...". Missing migrations run in order, each in its own BEGIN
//     IMMEDIATE transaction together with the user_version bump, so a failed or killed
//     migration leaves the file at the previous version;
//   - errors are Status values: SQLITE_NOTADB / SQLITE_CORRUPT map to Corruption,
//     everything else to IoError; messages start with "<kind> '<path>'".
//
// Statements: Prepare() checks compilation, BindAll() checks every bind, StepDone() and
// ForEachRow() check every step; nothing here ignores a return code except the
// finalizers (sqlite3_finalize / sqlite3_close_v2 repeat errors already reported) and
// sqlite3_reset in ScopedReset (it repeats the last step's error, already reported).
//
// A connection is not thread-safe (SQLITE_OPEN_NOMUTEX): its owner serializes calls.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

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
Status Error(sqlite3* db, int rc, std::string_view context);

// Runs one or more statements that return no rows needed by the caller.
Status Exec(sqlite3* db, const char* sql, std::string_view context);

// Compiles one statement; the caller keeps it for reuse (see ScopedReset).
Result<Stmt> Prepare(sqlite3* db, const char* sql);

// Runs a statement that yields one integer (e.g. "PRAGMA user_version").
Result<int64_t> QueryInt(sqlite3* db, const char* sql, std::string_view context);

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

// A blob parameter, bound without copying.
struct Blob {
  const void* data;
  size_t size;
};

// Binds `args` to parameters 1..N: integers (and bool) as INTEGER, anything convertible
// to string_view as TEXT, Blob as BLOB. Text and blobs are copied (SQLITE_TRANSIENT), so a
// temporary argument is safe (binding without a copy made every caller prove its strings
// outlive the next step; the sanitizer build caught one that did not). The first failing
// bind is an error naming its parameter.
Status BindOne(sqlite3_stmt* s, int index, int64_t v);
Status BindOne(sqlite3_stmt* s, int index, std::string_view v);
Status BindOne(sqlite3_stmt* s, int index, Blob v);
template <typename... Args>
Status BindAll(sqlite3_stmt* s, const Args&... args) {
  Status st;
  int index = 0;
  auto one = [&](const auto& a) {
    ++index;
    if (!st.ok()) return;
    using T = std::decay_t<decltype(a)>;
    if constexpr (std::is_integral_v<T>) {
      st = BindOne(s, index, static_cast<int64_t>(a));
    } else if constexpr (std::is_same_v<T, Blob>) {
      st = BindOne(s, index, a);
    } else {
      st = BindOne(s, index, std::string_view(a));
    }
  };
  (one(args), ...);
  return st;
}

// Steps `s` once, expecting no row (INSERT/UPDATE/DELETE), then resets it. On failure
// the message is `context` plus SQLite's.
Status StepDone(sqlite3_stmt* s, std::string_view context);
// Steps `s` to the end, calling `row` for each row (a non-OK status stops and is
// returned), then resets it.
Status ForEachRow(sqlite3_stmt* s, std::string_view context,
                  const std::function<Status(sqlite3_stmt*)>& row);

// Column `i` as bytes (NULL reads as empty).
std::string ColumnText(sqlite3_stmt* s, int i);

// One write transaction (BEGIN IMMEDIATE). Rolls back when destroyed without a
// successful Commit(), so every early return leaves the database as it was.
class Transaction {
 public:
  Transaction(sqlite3* db, std::string context) : db_(db), context_(std::move(context)) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status Begin();
  Status Commit();
  // Rolls back now (also what the destructor does); OK when nothing was open.
  Status Rollback();

 private:
  sqlite3* db_;
  std::string context_;
  bool open_ = false;
};

// One step of a file's schema. Append only: a migration that has shipped is never
// edited, a change is a new migration with the next version.
struct Migration {
  int version;       // 1, 2, 3, ... in order, no gaps
  const char* what;  // for logs and errors
  const char* sql;   // run in the migration's transaction
};

// A table as a release before schema versioning made it: name and column names in order.
struct LegacyTable {
  std::string name;
  std::vector<std::string> columns;
};

// Everything that makes a file one kind of firewatch database.
struct Schema {
  std::string kind;  // "collector store", "outbox", "incidents db": names it in messages
  int32_t application_id = 0;
  std::span<const Migration> migrations;
  // An unversioned file (application_id 0, user_version 0) whose tables are exactly
  // these is adopted as being at `version`; empty: unversioned files are refused.
  struct {
    std::vector<LegacyTable> tables;
    int version = 0;
  } adopt;
};

struct OpenOptions {
  std::chrono::milliseconds busy_timeout{5000};
  // false: a further connection to a file already opened with migrate = true (e.g. a
  // read connection). The file must exist, be ours and at the latest version.
  bool migrate = true;
  // PRAGMA query_only = ON.
  bool read_only = false;
};

class Database {
 public:
  static Result<Database> Open(const std::string& path, const Schema& schema,
                               const OpenOptions& options = {});

  Database() = default;
  Database(Database&&) = default;
  Database& operator=(Database&&) = default;

  sqlite3* get() const { return db_.get(); }
  const std::string& path() const { return path_; }
  // "<kind> '<path>'": the prefix of every message about this file.
  const std::string& context() const { return context_; }

  // The Status for a failed call on this connection: "<kind> '<path>': what: <sqlite>".
  Status Error(int rc, std::string_view what) const;
  Status Exec(const char* sql, std::string_view what) const;
  Result<Stmt> Prepare(const char* sql) const { return sqlite::Prepare(db_.get(), sql); }
  // A Transaction whose messages name this file and `what`.
  Transaction NewTransaction(std::string_view what) const;

 private:
  Db db_;
  std::string path_;
  std::string context_;
};

// The newest version in `schema` (0 when it has no migrations).
int LatestVersion(const Schema& schema);

}  // namespace firewatch::sqlite
