PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
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
, replay_floor_ms INTEGER NOT NULL DEFAULT 0);
INSERT INTO sources VALUES('db-01','dc=dc1&role=test','DOWN',1796183615034,1796183615034,1796183619949,1000,'0.1.0','','',1,X'8a4f20de767dd2b879a0d41d3174984b',1,1796183615033,1,'udp',0);
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
INSERT INTO transitions VALUES(1,'db-01','UP','UP',1796183615034,'first heartbeat','dc=dc1&role=test',1);
INSERT INTO transitions VALUES(2,'db-01','UP','LATE',1796183617694,'heartbeat overdue, silent for 2.7s','dc=dc1&role=test',0);
INSERT INTO transitions VALUES(3,'db-01','LATE','DOWN',1796183619949,'silent for 4.9s (phi 8.6)','dc=dc1&role=test',0);
CREATE INDEX transitions_by_source ON transitions (source_id, at_ms);
CREATE INDEX transitions_by_time ON transitions (at_ms);
COMMIT;
PRAGMA application_id = 1180123987;
PRAGMA user_version = 2;
