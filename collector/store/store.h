// The collector's local state in SQLite: sources (with labels, checks and replay state)
// and the history of their state transitions. No other site is needed to read it back
// (DESIGN principle 1). Schema: docs/storage.md.
//
// Writes are asynchronous: Write() queues a batch for a dedicated writer thread that
// commits it in one transaction, so the libuv loop never waits on the disk. Read
// methods run on the caller's thread with their own connection (WAL mode lets readers
// and the writer proceed together). A crash (kill -9) loses at most the batches queued
// but not yet committed -- about one flush period of last_seen updates, never a row.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "firewatch/status.h"
#include "tracker/source.h"

namespace firewatch::collector {

class Store {
 public:
  // Opens (creating if needed) the database at `path`, applies the schema / migrations
  // and starts the writer thread. Fails with IoError naming the path when the file
  // cannot be opened, or Corruption when it is not a firewatch database.
  static Result<std::unique_ptr<Store>> Open(const std::string& path);
  ~Store();  // drains the queue, commits, stops the writer

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Every persisted source, for Tracker::Restore at startup.
  Result<std::vector<SourceSnapshot>> LoadSources();
  // Newest first, at most `limit` transitions of one source.
  Result<std::vector<Transition>> LoadTransitions(const std::string& source_id, size_t limit);

  // Queues upserts of sources and appends of transitions. Never blocks on disk.
  void Write(std::vector<SourceSnapshot> sources, std::vector<Transition> transitions);
  // Blocks until every batch queued before this call is committed; returns the first
  // write error since the last Sync, if any.
  Status Sync();

  // Counters for metrics (monotonic).
  uint64_t write_errors() const;
  uint64_t batches_committed() const;
  uint64_t queue_depth() const;  // batches waiting

 private:
  class Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace firewatch::collector
