#include "outbox/schema.h"

#include <spdlog/spdlog.h>

#include <iterator>

#include "outbox/sqlite_util.h"

namespace firewatch::alerting::outbox::schema {

namespace {

struct Migration {
  int version;
  const char* what;
  const char* sql;
};

// Append only. Never edit a migration that has shipped: add a new one instead.
constexpr Migration kMigrations[] = {
    {1, "notifications and attempts", R"sql(
CREATE TABLE notifications (
  seq              INTEGER PRIMARY KEY,      -- enqueue order
  key              TEXT NOT NULL UNIQUE,     -- Notification.idempotency_key
  incident_id      TEXT NOT NULL,
  kind             TEXT NOT NULL,            -- trigger | resolve | acknowledge | test | summary
  contact          TEXT NOT NULL,
  subject          TEXT NOT NULL,
  payload          BLOB NOT NULL,            -- the whole Notification, CBOR
  channel_chain    TEXT NOT NULL,            -- JSON array of channel names, failover order
  channel_index    INTEGER NOT NULL,         -- position in channel_chain
  channel          TEXT NOT NULL,            -- channel_chain[channel_index] ('' once exhausted)
  channel_attempts INTEGER NOT NULL,         -- attempts on the current channel
  attempts         INTEGER NOT NULL,         -- attempts on all channels
  state            TEXT NOT NULL CHECK (state IN
                     ('pending','sending','sent','failed','cancelled','held','summarized')),
  due_ms           INTEGER NOT NULL,         -- Unix ms; meaningful while pending
  enqueued_ms      INTEGER NOT NULL,
  claimed_ms       INTEGER NOT NULL,         -- when the last claim (sending) began; 0 never
  updated_ms       INTEGER NOT NULL,         -- last state change
  detail           TEXT NOT NULL,            -- why it is in its state (last error, hold reason)
  summary_key      TEXT NOT NULL             -- summarized: the summary that covered it
);
CREATE INDEX notifications_due ON notifications (state, due_ms, seq);
CREATE INDEX notifications_incident ON notifications (incident_id, state);
CREATE TABLE attempts (
  id       INTEGER PRIMARY KEY,
  key      TEXT NOT NULL REFERENCES notifications (key),
  attempt  INTEGER NOT NULL,                 -- 1-based, over all channels
  channel  TEXT NOT NULL,
  at_ms    INTEGER NOT NULL,                 -- Unix ms when the outcome was recorded
  result   TEXT NOT NULL CHECK (result IN ('delivered','retryable','permanent','interrupted')),
  detail   TEXT NOT NULL
);
CREATE INDEX attempts_by_key ON attempts (key, attempt);
)sql"},
    {2, "tally of pruned rows", R"sql(
CREATE TABLE pruned_counts (
  channel  TEXT NOT NULL,
  what     TEXT NOT NULL,                    -- an attempt result, or 'failed_items'
  n        INTEGER NOT NULL,
  PRIMARY KEY (channel, what)
);
)sql"},
};

Result<int64_t> Pragma(sqlite3* db, const char* sql, const std::string& path) {
  return sqlite::QueryInt(db, sql, "outbox '" + path + "'");
}

Status Apply(sqlite3* db, const Migration& m, const std::string& path) {
  const std::string context = "outbox '" + path + "': migration to schema " +
                              std::to_string(m.version) + " (" + m.what + ")";
  sqlite::Txn txn(db, context);
  if (auto st = txn.Begin(); !st.ok()) return st;
  if (auto st = sqlite::Exec(db, m.sql, context); !st.ok()) return st;
  const std::string bump = "PRAGMA application_id = " + std::to_string(kApplicationId) +
                           "; PRAGMA user_version = " + std::to_string(m.version) + ";";
  if (auto st = sqlite::Exec(db, bump.c_str(), context); !st.ok()) return st;
  if (auto st = txn.Commit(); !st.ok()) return st;
  spdlog::info("outbox '{}': migrated to schema {} ({})", path, m.version, m.what);
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
    return Status::Corruption("outbox '" + path +
                              "' is an SQLite database but not a firewatch outbox (application_id " +
                              std::to_string(*app_id) + ", user_version " +
                              std::to_string(*version) + ")");
  }
  if (*version > LatestVersion()) {
    return Status::Corruption("outbox '" + path + "' was created by a newer firewatch (schema " +
                              std::to_string(*version) + "; this build knows up to " +
                              std::to_string(LatestVersion()) + ")");
  }
  for (const Migration& m : kMigrations) {
    if (m.version <= *version) continue;
    if (auto st = Apply(db, m, path); !st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace firewatch::alerting::outbox::schema
