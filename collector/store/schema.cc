#include "store/schema.h"

#include <spdlog/spdlog.h>

#include <iterator>

#include "store/sqlite_util.h"

namespace firewatch::collector::schema {

namespace {

struct Migration {
  int version;
  const char* what;
  const char* sql;
};

// Append only. Never edit a migration that has shipped: add a new one instead.
constexpr Migration kMigrations[] = {
    {1, "sources and transitions", R"sql(
CREATE TABLE sources (
  source_id         TEXT PRIMARY KEY NOT NULL,
  labels            TEXT NOT NULL,     -- codec list: key=value&...
  state             TEXT NOT NULL,     -- UP | LATE | DOWN | STOPPED
  first_seen_ms     INTEGER NOT NULL,
  last_seen_ms      INTEGER NOT NULL,
  state_since_ms    INTEGER NOT NULL,
  interval_ms       INTEGER NOT NULL,
  agent_version     TEXT NOT NULL,
  goodbye_reason    TEXT NOT NULL,
  checks            TEXT NOT NULL,     -- codec list: name=STATE=output&...
  replay_seen       INTEGER NOT NULL,  -- 0 | 1
  boot_id           BLOB NOT NULL CHECK (length(boot_id) = 16),
  sequence          INTEGER NOT NULL,  -- uint64 stored as its two's-complement int64
  last_timestamp_ms INTEGER NOT NULL,
  heartbeats        INTEGER NOT NULL,  -- uint64 stored as its two's-complement int64
  last_transport    TEXT NOT NULL      -- udp | http
);
CREATE TABLE transitions (
  id          INTEGER PRIMARY KEY,
  source_id   TEXT NOT NULL,
  from_state  TEXT NOT NULL,
  to_state    TEXT NOT NULL,
  at_ms       INTEGER NOT NULL,
  reason      TEXT NOT NULL,
  labels      TEXT NOT NULL,
  new_source  INTEGER NOT NULL       -- 0 | 1
);
CREATE INDEX transitions_by_source ON transitions (source_id, at_ms);
CREATE INDEX transitions_by_time ON transitions (at_ms);
)sql"},
    {2, "replay floor (boot succession, issue #10)", R"sql(
ALTER TABLE sources ADD COLUMN replay_floor_ms INTEGER NOT NULL DEFAULT 0;
)sql"},
};

Result<int64_t> Pragma(sqlite3* db, const char* sql, const std::string& path) {
  return sqlite::QueryInt(db, sql, "store '" + path + "'");
}

Status Apply(sqlite3* db, const Migration& m, const std::string& path) {
  const std::string context =
      "store '" + path + "': migration to schema " + std::to_string(m.version) + " (" + m.what + ")";
  if (auto st = sqlite::Exec(db, "BEGIN IMMEDIATE", context); !st.ok()) return st;
  Status st = sqlite::Exec(db, m.sql, context);
  if (st.ok()) {
    const std::string bump = "PRAGMA application_id = " + std::to_string(kApplicationId) +
                             "; PRAGMA user_version = " + std::to_string(m.version) + ";";
    st = sqlite::Exec(db, bump.c_str(), context);
  }
  if (st.ok()) st = sqlite::Exec(db, "COMMIT", context);
  if (!st.ok()) {
    (void)sqlite::Exec(db, "ROLLBACK", context);
    return st;
  }
  spdlog::info("store '{}': migrated to schema {} ({})", path, m.version, m.what);
  return Status::Ok();
}

}  // namespace

int LatestVersion() { return std::prev(std::end(kMigrations))->version; }

Status Migrate(sqlite3* db, const std::string& path) {
  auto app_id = Pragma(db, "PRAGMA application_id", path);
  if (!app_id.ok()) return app_id.status();
  auto version = Pragma(db, "PRAGMA user_version", path);
  if (!version.ok()) return version.status();
  auto tables = Pragma(db, "SELECT count(*) FROM sqlite_schema", path);
  if (!tables.ok()) return tables.status();

  const bool ours = *app_id == kApplicationId;
  const bool empty = *app_id == 0 && *version == 0 && *tables == 0;
  if (!ours && !empty) {
    return Status::Corruption("store '" + path +
                              "' is an SQLite database but not a firewatch store (application_id " +
                              std::to_string(*app_id) + ", user_version " +
                              std::to_string(*version) + ")");
  }
  if (*version > LatestVersion()) {
    return Status::Corruption("store '" + path + "' was created by a newer firewatch (schema " +
                              std::to_string(*version) + "; this build knows up to " +
                              std::to_string(LatestVersion()) +
                              "); upgrade firewatch or move the file away");
  }
  for (const Migration& m : kMigrations) {
    if (m.version <= *version) continue;
    if (auto st = Apply(db, m, path); !st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace firewatch::collector::schema
