#include "outbox/schema.h"

namespace firewatch::alerting::outbox::schema {

namespace {

// Append only. Never edit a migration that has shipped: add a new one instead.
constexpr sqlite::Migration kMigrations[] = {
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

}  // namespace

const sqlite::Schema& Outbox() {
  static const sqlite::Schema schema{"outbox", kApplicationId, kMigrations, {}};
  return schema;
}

}  // namespace firewatch::alerting::outbox::schema
