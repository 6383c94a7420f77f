#include "store/store.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <thread>
#include <unordered_set>
#include <utility>

#include "firewatch/log.h"
#include "firewatch/sqlite/database.h"
#include "firewatch/sync/mutex.h"
#include "store/codec.h"
#include "store/schema.h"

namespace firewatch::collector {

namespace {

constexpr const char* kUpsertSource = R"sql(
INSERT INTO sources (source_id, labels, state, first_seen_ms, last_seen_ms, state_since_ms,
  interval_ms, agent_version, goodbye_reason, checks, replay_seen, boot_id, sequence,
  last_timestamp_ms, heartbeats, last_transport, replay_floor_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
ON CONFLICT (source_id) DO UPDATE SET
  labels = excluded.labels, state = excluded.state, first_seen_ms = excluded.first_seen_ms,
  last_seen_ms = excluded.last_seen_ms, state_since_ms = excluded.state_since_ms,
  interval_ms = excluded.interval_ms, agent_version = excluded.agent_version,
  goodbye_reason = excluded.goodbye_reason, checks = excluded.checks,
  replay_seen = excluded.replay_seen, boot_id = excluded.boot_id, sequence = excluded.sequence,
  last_timestamp_ms = excluded.last_timestamp_ms, heartbeats = excluded.heartbeats,
  last_transport = excluded.last_transport, replay_floor_ms = excluded.replay_floor_ms)sql";

// A heartbeat's progress (SourceProgress): only the columns every heartbeat changes, of
// a row that exists. No labels or checks to encode, fewer columns to bind.
constexpr const char* kUpdateProgress = R"sql(
UPDATE sources SET last_seen_ms = ?2, replay_seen = ?3, boot_id = ?4, sequence = ?5,
  last_timestamp_ms = ?6, heartbeats = ?7, last_transport = ?8, replay_floor_ms = ?9
WHERE source_id = ?1)sql";

constexpr const char* kDeleteSource = "DELETE FROM sources WHERE source_id = ?1";
constexpr const char* kDeleteTransitions = "DELETE FROM transitions WHERE source_id = ?1";

constexpr const char* kInsertTransition = R"sql(
INSERT INTO transitions (source_id, from_state, to_state, at_ms, reason, labels, new_source)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7))sql";

constexpr const char* kSelectSources = R"sql(
SELECT source_id, labels, state, first_seen_ms, last_seen_ms, state_since_ms, interval_ms,
  agent_version, goodbye_reason, checks, replay_seen, boot_id, sequence, last_timestamp_ms,
  heartbeats, last_transport, replay_floor_ms
FROM sources ORDER BY source_id)sql";

constexpr const char* kSelectTransitions = R"sql(
SELECT source_id, from_state, to_state, at_ms, reason, labels, new_source
FROM transitions WHERE source_id = ?1 ORDER BY at_ms DESC, id DESC LIMIT ?2)sql";

constexpr const char* kPruneOld = "DELETE FROM transitions WHERE at_ms < ?1";
constexpr const char* kOverfullSources =
    "SELECT source_id FROM transitions GROUP BY source_id HAVING count(*) > ?1";
constexpr const char* kPruneSource = R"sql(
DELETE FROM transitions WHERE id IN (
  SELECT id FROM transitions WHERE source_id = ?1 ORDER BY at_ms DESC, id DESC
  LIMIT -1 OFFSET ?2))sql";

// Applied in this order: upserts, progress, transitions, then deletions of forgotten
// sources.
struct Batch {
  std::vector<SourceSnapshot> sources;
  std::vector<Transition> transitions;
  std::vector<std::string> forgotten;
  std::vector<SourceProgress> progress;
};

std::optional<Transport> ParseTransport(std::string_view name) {
  if (name == TransportName(Transport::kUdp)) return Transport::kUdp;
  if (name == TransportName(Transport::kHttp)) return Transport::kHttp;
  return std::nullopt;
}

}  // namespace

class Store::Impl {
 public:
  Impl(std::string path, StoreOptions options)
      : path_(std::move(path)),
        opts_(std::move(options)),
        clock_(opts_.clock != nullptr ? *opts_.clock : SystemClock::Instance()),
        log_limiter_(clock_, std::chrono::seconds(30)) {}

  ~Impl() {
    if (writer_.joinable()) {
      {
        MutexLock lock(mu_);
        stop_ = true;
      }
      work_cv_.NotifyAll();
      writer_.join();
    }
  }

  Status Init() FW_EXCLUDES(read_mu_);
  Result<std::vector<SourceSnapshot>> LoadSources() FW_EXCLUDES(read_mu_);
  Result<std::vector<Transition>> LoadTransitions(const std::string& source_id, size_t limit)
      FW_EXCLUDES(read_mu_);
  void Write(Batch batch) FW_EXCLUDES(mu_);
  Status Sync() FW_EXCLUDES(mu_);

  std::atomic<uint64_t> write_errors{0};
  std::atomic<uint64_t> committed{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> enqueued{0};  // written under mu_
  std::atomic<uint64_t> resolved{0};  // committed or dropped; written under mu_

 private:
  void Run();
  bool Attempt(std::vector<Batch>& batches, bool last_try);
  Status Commit(const std::vector<Batch>& batches);
  Status WriteSource(const SourceSnapshot& s);
  Status WriteProgress(const SourceProgress& p);
  Status WriteTransition(const Transition& t);
  Status DeleteSource(const std::string& id);
  Status Prune(bool all_sources);
  void MaybePrune();
  Result<Transition> ReadTransition(sqlite3_stmt* s);
  // Steps a statement that returns no rows; on failure the message names `what` and `id`.
  Status StepDone(sqlite3_stmt* s, std::string_view what, std::string_view id = {});

  const std::string path_;
  const StoreOptions opts_;
  const Clock& clock_;
  RateLimiter log_limiter_;

  // Writer connection: used by Init, then only by the writer thread. Statements are
  // declared after their connection so they are finalized first.
  sqlite::Database wdb_;
  sqlite::Stmt upsert_, progress_, insert_, prune_old_, overfull_, prune_source_, delete_source_,
      delete_transitions_;
  std::string labels_buf_, checks_buf_;      // reused encode buffers (writer thread)
  std::unordered_set<std::string> touched_;  // sources with new transitions since the last prune
  MonoTime last_prune_{};

  Mutex read_mu_;
  sqlite::Database rdb_ FW_GUARDED_BY(read_mu_);
  sqlite::Stmt select_sources_ FW_GUARDED_BY(read_mu_);
  sqlite::Stmt select_transitions_ FW_GUARDED_BY(read_mu_);

  Mutex mu_;
  CondVar work_cv_;  // queue_ / stop_ / sync_target_ changed
  CondVar done_cv_;  // resolved changed
  std::vector<Batch> queue_ FW_GUARDED_BY(mu_);
  uint64_t sync_target_ FW_GUARDED_BY(mu_) = 0;
  Status first_error_ FW_GUARDED_BY(mu_);
  bool stop_ FW_GUARDED_BY(mu_) = false;
  std::thread writer_;
};

Status Store::Impl::Init() {
  auto wdb = sqlite::Database::Open(path_, schema::Store());
  if (!wdb.ok()) return wdb.status();
  wdb_ = std::move(wdb).value();

  using ToPrepare = std::initializer_list<std::pair<sqlite::Stmt*, const char*>>;
  for (auto [stmt, sql] : ToPrepare{{&upsert_, kUpsertSource},
                                    {&progress_, kUpdateProgress},
                                    {&insert_, kInsertTransition},
                                    {&prune_old_, kPruneOld},
                                    {&overfull_, kOverfullSources},
                                    {&prune_source_, kPruneSource},
                                    {&delete_source_, kDeleteSource},
                                    {&delete_transitions_, kDeleteTransitions}}) {
    auto prepared = sqlite::Prepare(wdb_.get(), sql);
    if (!prepared.ok()) return prepared.status();
    *stmt = std::move(prepared).value();
  }
  // Retention at open; failing to prune must not keep the collector from starting.
  if (auto st = Prune(/*all_sources=*/true); !st.ok()) {
    ++write_errors;
    spdlog::warn("store '{}': pruning transitions at open failed: {}", path_, st.ToString());
  }
  last_prune_ = clock_.Now();

  MutexLock lock(read_mu_);  // no reader yet; taken so the analysis sees the rule kept
  sqlite::OpenOptions reader;
  reader.migrate = false;
  reader.read_only = true;
  auto rdb = sqlite::Database::Open(path_, schema::Store(), reader);
  if (!rdb.ok()) return rdb.status();
  rdb_ = std::move(rdb).value();
  for (auto [stmt, sql] : ToPrepare{{&select_sources_, kSelectSources},
                                    {&select_transitions_, kSelectTransitions}}) {
    auto prepared = sqlite::Prepare(rdb_.get(), sql);
    if (!prepared.ok()) return prepared.status();
    *stmt = std::move(prepared).value();
  }
  try {
    writer_ = std::thread([this] { Run(); });
  } catch (const std::system_error& e) {
    return Status::IoError("store '" + path_ + "': cannot start writer thread: " + e.what());
  }
  return Status::Ok();
}

// ---- writing (writer thread) ----

void Store::Impl::Write(Batch batch) {
  if (batch.sources.empty() && batch.progress.empty() && batch.transitions.empty() &&
      batch.forgotten.empty()) {
    return;
  }
  {
    MutexLock lock(mu_);
    queue_.push_back(std::move(batch));
    enqueued.fetch_add(1);
  }
  work_cv_.NotifyOne();
}

Status Store::Impl::Sync() {
  MutexLock lock(mu_);
  const uint64_t target = enqueued.load();
  sync_target_ = std::max(sync_target_, target);
  work_cv_.NotifyOne();
  done_cv_.Wait(mu_, [&] { return resolved.load() >= target; });
  Status st = std::move(first_error_);
  first_error_ = Status::Ok();
  return st;
}

void Store::Impl::Run() {
  if (opts_.writer_nice != 0 &&
      setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), opts_.writer_nice) != 0) {
    spdlog::warn("store '{}': cannot lower the writer thread's priority: {}", path_,
                 std::strerror(errno));
  }
  std::vector<Batch> retry;  // failed once; retried before anything newer
  std::chrono::steady_clock::time_point retry_at{};
  for (;;) {
    std::vector<Batch> fresh;
    {
      MutexLock lock(mu_);
      auto ready = [&]() FW_REQUIRES(mu_) {
        return stop_ || !queue_.empty() || (!retry.empty() && sync_target_ > resolved.load());
      };
      if (retry.empty()) {
        work_cv_.Wait(mu_, ready);
      } else {
        work_cv_.WaitUntil(mu_, retry_at, ready);
      }
      if (stop_ && queue_.empty() && retry.empty()) return;
      fresh.swap(queue_);
    }
    if (!retry.empty()) {
      Attempt(retry, /*last_try=*/true);
      retry.clear();
    }
    if (!fresh.empty() && !Attempt(fresh, /*last_try=*/false)) {
      retry = std::move(fresh);
      retry_at = std::chrono::steady_clock::now() +
                 std::chrono::duration_cast<std::chrono::steady_clock::duration>(opts_.retry_delay);
    }
  }
}

bool Store::Impl::Attempt(std::vector<Batch>& batches, bool last_try) {
  const Status st = Commit(batches);
  // Before the batches count as resolved, so a Sync returns after this cycle's pruning.
  if (st.ok()) MaybePrune();
  const uint64_t n = batches.size();
  {
    MutexLock lock(mu_);
    if (st.ok()) {
      committed.fetch_add(n);
      resolved.fetch_add(n);
    } else {
      write_errors.fetch_add(1);
      if (first_error_.ok()) first_error_ = st;
      if (last_try) {
        dropped.fetch_add(n);
        resolved.fetch_add(n);
      }
    }
  }
  done_cv_.NotifyAll();
  if (st.ok()) return true;
  size_t rows = 0;
  for (const Batch& b : batches) {
    rows += b.sources.size() + b.progress.size() + b.transitions.size() + b.forgotten.size();
  }
  if (last_try) {
    // Data is lost: never rate-limited.
    spdlog::error("store '{}': retry failed, DROPPED {} batch(es) ({} rows): {}", path_, n, rows,
                  st.ToString());
  } else {
    uint64_t suppressed = 0;
    if (log_limiter_.Allow("commit", suppressed)) {
      spdlog::warn("store '{}': commit of {} batch(es) failed, will retry once: {} ({} similar suppressed)",
                   path_, n, st.ToString(), suppressed);
    }
  }
  return false;
}

Status Store::Impl::StepDone(sqlite3_stmt* s, std::string_view what, std::string_view id) {
  std::string context = wdb_.context() + ": " + std::string(what);
  if (!id.empty()) context += " '" + std::string(id) + "'";
  return sqlite::StepDone(s, context);
}

Status Store::Impl::WriteSource(const SourceSnapshot& s) {
  sqlite3_stmt* st = upsert_.get();
  codec::EncodeLabelsTo(s.labels, labels_buf_);
  codec::EncodeChecksTo(s.checks, checks_buf_);
  Status bound = sqlite::BindAll(
      st, s.source_id, labels_buf_, SourceStateName(s.state), s.first_seen_ms, s.last_seen_ms,
      s.state_since_ms, int64_t{s.interval_ms}, s.agent_version, s.goodbye_reason, checks_buf_,
      s.replay.seen, sqlite::Blob{s.replay.boot_id.data(), s.replay.boot_id.size()},
      static_cast<int64_t>(s.replay.sequence), s.replay.timestamp_ms,
      static_cast<int64_t>(s.heartbeats), TransportName(s.last_transport), s.replay.floor_ms);
  if (!bound.ok()) return bound;
  return StepDone(st, "upsert source", s.source_id);
}

Status Store::Impl::WriteProgress(const SourceProgress& p) {
  sqlite3_stmt* st = progress_.get();
  Status bound = sqlite::BindAll(st, p.source_id, p.last_seen_ms, p.replay.seen,
                                 sqlite::Blob{p.replay.boot_id.data(), p.replay.boot_id.size()},
                                 static_cast<int64_t>(p.replay.sequence), p.replay.timestamp_ms,
                                 static_cast<int64_t>(p.heartbeats),
                                 TransportName(p.last_transport), p.replay.floor_ms);
  if (!bound.ok()) return bound;
  // No row (its whole row was in a dropped batch, or it was forgotten since): nothing to
  // update. The collector rewrites every row whole after a drop (Tracker::MarkAllDirty).
  return StepDone(st, "update progress of", p.source_id);
}

Status Store::Impl::DeleteSource(const std::string& id) {
  if (Status st = sqlite::BindAll(delete_source_.get(), id); !st.ok()) return st;
  if (Status st = StepDone(delete_source_.get(), "delete source", id); !st.ok()) return st;
  if (Status st = sqlite::BindAll(delete_transitions_.get(), id); !st.ok()) return st;
  return StepDone(delete_transitions_.get(), "delete transitions of", id);
}

Status Store::Impl::WriteTransition(const Transition& t) {
  sqlite3_stmt* st = insert_.get();
  codec::EncodeLabelsTo(t.labels, labels_buf_);
  Status bound = sqlite::BindAll(st, t.source_id, SourceStateName(t.from), SourceStateName(t.to),
                                 t.at_ms, t.reason, labels_buf_, t.new_source);
  if (!bound.ok()) return bound;
  return StepDone(st, "insert transition of", t.source_id);
}

Status Store::Impl::Commit(const std::vector<Batch>& batches) {
  sqlite::Transaction txn = wdb_.NewTransaction("commit");
  if (auto st = txn.Begin(); !st.ok()) return st;
  Status st;
  for (const Batch& b : batches) {
    for (const SourceSnapshot& s : b.sources) {
      if (st = WriteSource(s); !st.ok()) break;
    }
    if (!st.ok()) break;
    for (const SourceProgress& p : b.progress) {
      if (st = WriteProgress(p); !st.ok()) break;
    }
    if (!st.ok()) break;
    for (const Transition& t : b.transitions) {
      if (st = WriteTransition(t); !st.ok()) break;
    }
    if (!st.ok()) break;
    for (const std::string& id : b.forgotten) {
      if (st = DeleteSource(id); !st.ok()) break;
    }
    if (!st.ok()) break;
  }
  if (st.ok() && opts_.before_commit) st = opts_.before_commit();
  if (st.ok()) st = txn.Commit();
  if (!st.ok()) return st;  // the Transaction rolls back
  for (const Batch& b : batches) {
    for (const Transition& t : b.transitions) touched_.insert(t.source_id);
    for (const std::string& id : b.forgotten) touched_.erase(id);
  }
  return Status::Ok();
}

Status Store::Impl::Prune(bool all_sources) {
  const std::string context = wdb_.context() + ": prune";
  const int64_t cutoff = ToUnixMillis(clock_.WallNow()) - opts_.max_transition_age.count();
  const auto keep = static_cast<sqlite3_int64>(
      std::min<size_t>(opts_.max_transitions_per_source, std::numeric_limits<int32_t>::max()));
  std::vector<std::string> sources;
  if (all_sources) {
    if (auto st = sqlite::BindAll(overfull_.get(), keep); !st.ok()) return st;
    Status st = sqlite::ForEachRow(overfull_.get(), context, [&](sqlite3_stmt* q) {
      sources.push_back(sqlite::ColumnText(q, 0));
      return Status::Ok();
    });
    if (!st.ok()) return st;
  } else {
    sources.assign(touched_.begin(), touched_.end());
  }
  sqlite::Transaction txn = wdb_.NewTransaction("prune");
  if (auto st = txn.Begin(); !st.ok()) return st;
  Status st = sqlite::BindAll(prune_old_.get(), cutoff);
  if (st.ok()) st = StepDone(prune_old_.get(), "prune old transitions");
  int64_t deleted = sqlite3_changes64(wdb_.get());
  for (size_t i = 0; st.ok() && i < sources.size(); ++i) {
    st = sqlite::BindAll(prune_source_.get(), sources[i], keep);
    if (st.ok()) st = StepDone(prune_source_.get(), "prune transitions of", sources[i]);
    deleted += sqlite3_changes64(wdb_.get());
  }
  if (st.ok()) st = txn.Commit();
  if (!st.ok()) return st;  // the Transaction rolls back
  touched_.clear();
  if (deleted > 0) spdlog::info("store '{}': pruned {} transitions past retention", path_, deleted);
  return Status::Ok();
}

void Store::Impl::MaybePrune() {
  const MonoTime now = clock_.Now();
  if (now - last_prune_ < opts_.prune_interval) return;
  last_prune_ = now;
  if (auto st = Prune(/*all_sources=*/false); !st.ok()) {
    write_errors.fetch_add(1);
    uint64_t suppressed = 0;
    if (log_limiter_.Allow("prune", suppressed)) {
      spdlog::warn("store '{}': pruning transitions failed: {} ({} similar suppressed)", path_,
                   st.ToString(), suppressed);
    }
  }
}

// ---- reading (any thread, read connection under read_mu_) ----

Result<std::vector<SourceSnapshot>> Store::Impl::LoadSources() {
  MutexLock lock(read_mu_);
  sqlite3_stmt* q = select_sources_.get();
  sqlite::ScopedReset reset(q);
  std::vector<SourceSnapshot> out;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    SourceSnapshot s;
    s.source_id = sqlite::ColumnText(q, 0);
    auto bad = [&](const std::string& what) {
      return Status::Corruption("store '" + path_ + "': source '" + s.source_id + "': " + what);
    };
    auto labels = codec::DecodeLabels(sqlite::ColumnText(q, 1));
    if (!labels.ok()) return bad(labels.status().message());
    s.labels = std::move(labels).value();
    const std::string state = sqlite::ColumnText(q, 2);
    auto parsed_state = ParseSourceState(state);
    if (!parsed_state) return bad("unknown state '" + state + "'");
    s.state = *parsed_state;
    s.first_seen_ms = sqlite3_column_int64(q, 3);
    s.last_seen_ms = sqlite3_column_int64(q, 4);
    s.state_since_ms = sqlite3_column_int64(q, 5);
    const int64_t interval = sqlite3_column_int64(q, 6);
    if (interval < 0 || interval > std::numeric_limits<uint32_t>::max()) {
      return bad("interval_ms out of range");
    }
    s.interval_ms = static_cast<uint32_t>(interval);
    s.agent_version = sqlite::ColumnText(q, 7);
    s.goodbye_reason = sqlite::ColumnText(q, 8);
    auto checks = codec::DecodeChecks(sqlite::ColumnText(q, 9));
    if (!checks.ok()) return bad(checks.status().message());
    s.checks = std::move(checks).value();
    s.replay.seen = sqlite3_column_int(q, 10) != 0;
    if (sqlite3_column_bytes(q, 11) != static_cast<int>(s.replay.boot_id.size())) {
      return bad("boot_id is not 16 bytes");
    }
    std::memcpy(s.replay.boot_id.data(), sqlite3_column_blob(q, 11), s.replay.boot_id.size());
    s.replay.sequence = static_cast<uint64_t>(sqlite3_column_int64(q, 12));
    s.replay.timestamp_ms = sqlite3_column_int64(q, 13);
    s.heartbeats = static_cast<uint64_t>(sqlite3_column_int64(q, 14));
    const std::string transport = sqlite::ColumnText(q, 15);
    auto parsed_transport = ParseTransport(transport);
    if (!parsed_transport) return bad("unknown transport '" + transport + "'");
    s.last_transport = *parsed_transport;
    s.replay.floor_ms = sqlite3_column_int64(q, 16);
    out.push_back(std::move(s));
  }
  if (rc != SQLITE_DONE) return rdb_.Error(rc, "load sources");
  return out;
}

Result<Transition> Store::Impl::ReadTransition(sqlite3_stmt* q) {
  Transition t;
  t.source_id = sqlite::ColumnText(q, 0);
  auto bad = [&](const std::string& what) {
    return Status::Corruption("store '" + path_ + "': transition of '" + t.source_id + "': " + what);
  };
  const std::string from = sqlite::ColumnText(q, 1);
  const std::string to = sqlite::ColumnText(q, 2);
  auto parsed_from = ParseSourceState(from);
  auto parsed_to = ParseSourceState(to);
  if (!parsed_from || !parsed_to) return bad("unknown state '" + (parsed_from ? to : from) + "'");
  t.from = *parsed_from;
  t.to = *parsed_to;
  t.at_ms = sqlite3_column_int64(q, 3);
  t.reason = sqlite::ColumnText(q, 4);
  auto labels = codec::DecodeLabels(sqlite::ColumnText(q, 5));
  if (!labels.ok()) return bad(labels.status().message());
  t.labels = std::move(labels).value();
  t.new_source = sqlite3_column_int(q, 6) != 0;
  return t;
}

Result<std::vector<Transition>> Store::Impl::LoadTransitions(const std::string& source_id,
                                                             size_t limit) {
  std::vector<Transition> out;
  if (limit == 0) return out;
  MutexLock lock(read_mu_);
  sqlite3_stmt* q = select_transitions_.get();
  sqlite::ScopedReset reset(q);
  if (Status st = sqlite::BindAll(
          q, source_id,
          static_cast<int64_t>(std::min<size_t>(limit, std::numeric_limits<int64_t>::max())));
      !st.ok()) {
    return st;
  }
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    auto t = ReadTransition(q);
    if (!t.ok()) return t.status();
    out.push_back(std::move(t).value());
  }
  if (rc != SQLITE_DONE) {
    return rdb_.Error(rc, "load transitions");
  }
  return out;
}

// ---- Store ----

Result<std::unique_ptr<Store>> Store::Open(const std::string& path) { return Open(path, {}); }

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, StoreOptions options) {
  auto impl = std::make_unique<Impl>(path, std::move(options));
  if (auto st = impl->Init(); !st.ok()) return st;
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Result<std::vector<SourceSnapshot>> Store::LoadSources() { return impl_->LoadSources(); }
Result<std::vector<Transition>> Store::LoadTransitions(const std::string& source_id,
                                                       size_t limit) {
  return impl_->LoadTransitions(source_id, limit);
}
void Store::Forget(std::vector<std::string> source_ids) {
  impl_->Write(Batch{{}, {}, std::move(source_ids), {}});
}

void Store::Write(std::vector<SourceSnapshot> sources, std::vector<Transition> transitions) {
  impl_->Write(Batch{std::move(sources), std::move(transitions), {}, {}});
}
void Store::Write(DirtyRows rows) {
  impl_->Write(Batch{std::move(rows.rows), {}, {}, std::move(rows.progress)});
}
Status Store::Sync() { return impl_->Sync(); }
uint64_t Store::write_errors() const { return impl_->write_errors.load(); }
uint64_t Store::batches_committed() const { return impl_->committed.load(); }
uint64_t Store::batches_dropped() const { return impl_->dropped.load(); }
uint64_t Store::queue_depth() const {
  const uint64_t resolved = impl_->resolved.load();  // first: resolved never passes enqueued
  return impl_->enqueued.load() - resolved;
}

}  // namespace firewatch::collector
