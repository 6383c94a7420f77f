// The collector's local state in SQLite: sources (with labels, checks and replay state)
// and the history of their state transitions. No other site is needed to read it back
// (DESIGN principle 1). Schema: docs/storage.md.
//
// Writes are asynchronous: Write() queues a batch for a dedicated writer thread that
// commits it in one transaction, so the libuv loop never waits on the disk. Read
// methods run on the caller's thread with their own connection (WAL mode lets readers
// and the writer proceed together). A process crash (kill -9) loses at most the
// batches queued but not yet committed -- the app queues transitions at once and
// heartbeats' changes every collector.last_seen_every (docs/storage.md); committed
// transactions survive it, and a power loss too (synchronous = FULL, docs/storage.md).
//
// Threading: one writer thread owns the write connection; Write/Sync/counters/reads
// may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/status.h"
#include "tracker/source.h"

namespace firewatch::collector {

// Tuning and test hooks. The defaults are what the collector runs with.
struct StoreOptions {
  // Retention of the transitions table: per source at most this many (the newest by
  // at_ms), and none older than max_transition_age. Enforced at Open and then by the
  // writer thread at most once per prune_interval (after a commit).
  size_t max_transitions_per_source = 1000;
  std::chrono::milliseconds max_transition_age = std::chrono::hours(24 * 90);
  Duration prune_interval = std::chrono::hours(1);
  // A failed commit is retried once, on the next write or Sync or after this long
  // (real time: it is a condition-variable wait), whichever comes first.
  Duration retry_delay = std::chrono::seconds(1);
  // The writer thread's nice value (setpriority on the thread; 0: as the process). When
  // the CPUs are busy, the event loop that receives heartbeats comes first and the
  // writer takes what is left: at a million sources a period's rows are seconds of CPU,
  // and a writer competing as an equal squeezed the loop until the socket overflowed
  // (docs/benchmarks.md, section 8). Rows wait a little longer instead; a failure to set
  // it is logged and ignored.
  int writer_nice = 10;
  // Wall time for retention, monotonic time for the prune interval. Null: the system
  // clock. Must outlive the Store.
  const Clock* clock = nullptr;
  // Fault injection for tests: called on the writer thread inside every write
  // transaction just before COMMIT; a non-OK status rolls the transaction back and is
  // handled exactly like a failed commit.
  std::function<Status()> before_commit;
};

class Store {
 public:
  // Opens (creating if needed) the database at `path`, applies the schema / migrations,
  // prunes transitions past retention and starts the writer thread. The directory must
  // exist (the app creates the data dir). Fails with:
  //   IoError     naming the path when the directory is missing or the file cannot be
  //               opened or put in WAL mode;
  //   Corruption  when the file is not an SQLite database, is another application's
  //               database, or was created by a newer firewatch (schema too new).
  static Result<std::unique_ptr<Store>> Open(const std::string& path);
  static Result<std::unique_ptr<Store>> Open(const std::string& path, StoreOptions options);
  // Drains the queue (including one retry of a failed batch), commits, stops the
  // writer and closes the database. Must not race with Write/Sync on other threads.
  ~Store();

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Reads see committed data only (call Sync first to read your own writes). They use
  // their own connection under a mutex: safe from any thread, concurrently with writes.
  // Errors: IoError, or Corruption naming the row when a stored value does not decode.

  // Every persisted source (phi is 0), in source_id order, for Tracker::Restore.
  Result<std::vector<SourceSnapshot>> LoadSources();
  // Newest first (by at_ms, then insertion order), at most `limit` transitions of one
  // source; an unknown source gives an empty list.
  Result<std::vector<Transition>> LoadTransitions(const std::string& source_id, size_t limit);

  // Queues one batch: upserts of sources (the snapshot replaces the stored row; later
  // batches win) and appends of transitions. Never blocks on disk; any thread. A batch
  // with nothing in it is ignored. The writer commits all batches queued by the time it
  // wakes in one transaction. A failed commit is counted, logged (rate-limited) and
  // retried once; if the retry fails too the batches are dropped, counted in
  // batches_dropped() and logged as an error.
  void Write(std::vector<SourceSnapshot> sources, std::vector<Transition> transitions);
  // Queues one batch of Tracker::TakeDirty's chunk, with the same rules: whole rows are
  // upserted, progress updates only the heartbeat columns of a stored row (a source
  // without a row is skipped: its whole row comes with the next whole write).
  void Write(DirtyRows rows);
  // Queues the deletion of sources (a forgotten source: its row and all its
  // transitions), as one batch after everything queued before it, with the same
  // commit, retry and drop rules as Write(). An empty list is ignored. Unknown ids are
  // not an error.
  void Forget(std::vector<std::string> source_ids);
  // Blocks until every batch queued before this call is committed or dropped; returns
  // the first write error since the last Sync (OK if none), then forgets it. A failed
  // batch pending its retry is retried at once. With concurrent Syncs, one of them
  // receives the error.
  Status Sync();

  // Counters for metrics; any thread.
  uint64_t write_errors() const;       // failed commit attempts and prunes (monotonic)
  uint64_t batches_committed() const;  // Write() batches committed (monotonic)
  uint64_t batches_dropped() const;    // Write() batches lost after their retry failed (monotonic)
  uint64_t queue_depth() const;        // Write() batches not yet committed or dropped

 private:
  class Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace firewatch::collector
