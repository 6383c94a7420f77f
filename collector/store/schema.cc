#include "store/schema.h"

namespace firewatch::collector::schema {

namespace {

// Append only. Never edit a migration that has shipped: add a new one instead.
constexpr sqlite::Migration kMigrations[] = {
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

}  // namespace

const sqlite::Schema& Store() {
  static const sqlite::Schema schema{"store", kApplicationId, kMigrations, {}};
  return schema;
}

}  // namespace firewatch::collector::schema
