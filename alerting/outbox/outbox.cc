#include "outbox/outbox.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

#include "firewatch/sqlite/database.h"
#include "firewatch/sync/mutex.h"
#include "outbox/codec.h"
#include "outbox/schema.h"

namespace firewatch::alerting::outbox {

namespace {

constexpr const char* kItemColumns =
    "seq, key, payload, channel_chain, channel_index, channel_attempts, attempts, state, due_ms, "
    "enqueued_ms, claimed_ms, updated_ms, detail, summary_key";

constexpr State kAllStates[] = {State::kPending, State::kSending,   State::kSent,
                                State::kFailed,  State::kCancelled, State::kHeld,
                                State::kSummarized};

std::optional<AttemptResult> ParseAttemptResult(std::string_view name) {
  for (AttemptResult r : {AttemptResult::kDelivered, AttemptResult::kRetryable,
                          AttemptResult::kPermanent, AttemptResult::kInterrupted}) {
    if (AttemptResultName(r) == name) return r;
  }
  return std::nullopt;
}

void AddCount(ChannelCounts& c, AttemptResult r, uint64_t n) {
  switch (r) {
    case AttemptResult::kDelivered: c.delivered += n; break;
    case AttemptResult::kRetryable: c.retryable += n; break;
    case AttemptResult::kPermanent: c.permanent += n; break;
    case AttemptResult::kInterrupted: c.interrupted += n; break;
  }
}

bool ValidChannelName(const std::string& name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// Binds the i-th argument by type: integers, strings (views must outlive the step).
using Arg = std::variant<int64_t, std::string_view>;

}  // namespace

std::string_view StateName(State s) {
  switch (s) {
    case State::kPending: return "pending";
    case State::kSending: return "sending";
    case State::kSent: return "sent";
    case State::kFailed: return "failed";
    case State::kCancelled: return "cancelled";
    case State::kHeld: return "held";
    case State::kSummarized: return "summarized";
  }
  return "?";
}

std::optional<State> ParseState(std::string_view name) {
  for (State s : kAllStates) {
    if (StateName(s) == name) return s;
  }
  return std::nullopt;
}

std::string_view AttemptResultName(AttemptResult r) {
  switch (r) {
    case AttemptResult::kDelivered: return "delivered";
    case AttemptResult::kRetryable: return "retryable";
    case AttemptResult::kPermanent: return "permanent";
    case AttemptResult::kInterrupted: return "interrupted";
  }
  return "?";
}

AttemptResult FromSendResult(SendResult::Kind kind) {
  switch (kind) {
    case SendResult::Kind::kDelivered: return AttemptResult::kDelivered;
    case SendResult::Kind::kRetryable: return AttemptResult::kRetryable;
    case SendResult::Kind::kPermanent: return AttemptResult::kPermanent;
  }
  return AttemptResult::kRetryable;
}

class Outbox::Impl {
 public:
  Impl(std::string path, OutboxOptions opts)
      : path_(std::move(path)),
        opts_(opts),
        clock_(opts.clock != nullptr ? *opts.clock : SystemClock::Instance()),
        context_("outbox '" + path_ + "'") {}

  Status Init(int& recovered) FW_REQUIRES(mu);
  int64_t NowMs() const { return ToUnixMillis(clock_.WallNow()); }

  // Runs `sql` with `args`; calls `row` for every result row. The caller holds mu_.
  Status Run(const char* sql, std::initializer_list<Arg> args,
             const std::function<Status(sqlite3_stmt*)>& row = {}) FW_REQUIRES(mu);
  // The first column of every row, as text.
  Result<std::vector<std::string>> Texts(const char* sql, std::initializer_list<Arg> args)
      FW_REQUIRES(mu) {
    std::vector<std::string> out;
    Status st = Run(sql, args, [&](sqlite3_stmt* s) {
      out.push_back(sqlite::ColumnText(s, 0));
      return Status::Ok();
    });
    if (!st.ok()) return st;
    return out;
  }
  // Same as Run, returning sqlite3_changes() of the statement.
  Result<int64_t> Change(const char* sql, std::initializer_list<Arg> args) FW_REQUIRES(mu);
  Result<Item> ReadItem(sqlite3_stmt* s);
  Result<std::vector<Item>> Items(const std::string& where, std::initializer_list<Arg> args)
      FW_REQUIRES(mu);
  Status Insert(const Notification& n, const std::vector<std::string>& chain, int64_t due_ms,
                int64_t now_ms, bool& inserted) FW_REQUIRES(mu);
  Status Recover(int& recovered) FW_REQUIRES(mu);

  Mutex mu;  // one SQLite connection: every use of db
  sqlite::Database db FW_GUARDED_BY(mu);
  const std::string path_;
  const OutboxOptions opts_;
  const Clock& clock_;
  const std::string context_;
};

Status Outbox::Impl::Init(int& recovered) {
  // synchronous = FULL (the foundation's default): a page acknowledged to the escalation
  // engine must survive a power loss too, not only a process crash.
  sqlite::OpenOptions options;
  options.busy_timeout = opts_.busy_timeout;
  auto opened = sqlite::Database::Open(path_, schema::Outbox(), options);
  if (!opened.ok()) return opened.status();
  db = std::move(opened).value();
  return Recover(recovered);
}

Status Outbox::Impl::Run(const char* sql, std::initializer_list<Arg> args,
                         const std::function<Status(sqlite3_stmt*)>& row) {
  auto stmt = sqlite::Prepare(db.get(), sql);
  if (!stmt.ok()) return Status(stmt.status());
  sqlite3_stmt* s = stmt->get();
  int i = 1;
  for (const Arg& a : args) {
    Status bound = std::visit([&](const auto& v) { return sqlite::BindOne(s, i, v); }, a);
    if (!bound.ok()) return bound;
    ++i;
  }
  return sqlite::ForEachRow(s, context_,
                            [&](sqlite3_stmt* r) { return row ? row(r) : Status::Ok(); });
}

Result<int64_t> Outbox::Impl::Change(const char* sql, std::initializer_list<Arg> args) {
  if (auto st = Run(sql, args); !st.ok()) return st;
  return static_cast<int64_t>(sqlite3_changes64(db.get()));
}

Result<Item> Outbox::Impl::ReadItem(sqlite3_stmt* s) {
  Item it;
  it.seq = sqlite3_column_int64(s, 0);
  const std::string key = sqlite::ColumnText(s, 1);
  const auto* blob = static_cast<const char*>(sqlite3_column_blob(s, 2));
  const std::string payload(blob != nullptr ? blob : "", static_cast<size_t>(sqlite3_column_bytes(s, 2)));
  auto n = codec::DecodeNotification(payload, key);
  if (!n.ok()) return n.status();
  it.notification = std::move(n).value();
  auto chain = codec::DecodeChain(sqlite::ColumnText(s, 3), key);
  if (!chain.ok()) return chain.status();
  it.channel_chain = std::move(chain).value();
  it.channel_index = static_cast<size_t>(sqlite3_column_int64(s, 4));
  it.channel_attempts = sqlite3_column_int(s, 5);
  it.attempts = sqlite3_column_int(s, 6);
  auto state = ParseState(sqlite::ColumnText(s, 7));
  if (!state) return Status::Corruption(context_ + ": notification '" + key + "': unknown state");
  it.state = *state;
  it.due_ms = sqlite3_column_int64(s, 8);
  it.enqueued_ms = sqlite3_column_int64(s, 9);
  it.claimed_ms = sqlite3_column_int64(s, 10);
  it.updated_ms = sqlite3_column_int64(s, 11);
  it.detail = sqlite::ColumnText(s, 12);
  it.summary_key = sqlite::ColumnText(s, 13);
  if (it.channel_index > it.channel_chain.size()) {
    return Status::Corruption(context_ + ": notification '" + key + "': channel_index out of range");
  }
  return it;
}

Result<std::vector<Item>> Outbox::Impl::Items(const std::string& where,
                                              std::initializer_list<Arg> args) {
  const std::string sql = std::string("SELECT ") + kItemColumns + " FROM notifications " + where;
  std::vector<Item> out;
  Status st = Run(sql.c_str(), args, [&](sqlite3_stmt* s) {
    auto it = ReadItem(s);
    if (!it.ok()) return it.status();
    out.push_back(std::move(it).value());
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

Status Outbox::Impl::Insert(const Notification& n, const std::vector<std::string>& chain,
                            int64_t due_ms, int64_t now_ms, bool& inserted) {
  const std::string payload = codec::EncodeNotification(n);
  const std::string chain_text = codec::EncodeChain(chain);
  auto stmt = sqlite::Prepare(db.get(), R"sql(
INSERT INTO notifications (key, incident_id, kind, contact, subject, payload, channel_chain,
  channel_index, channel, channel_attempts, attempts, state, due_ms, enqueued_ms, claimed_ms,
  updated_ms, detail, summary_key)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, 0, 0, 'pending', ?9, ?10, 0, ?10, '', '')
ON CONFLICT (key) DO NOTHING)sql");
  if (!stmt.ok()) return stmt.status();
  sqlite3_stmt* s = stmt->get();
  Status st = sqlite::BindAll(s, n.idempotency_key, n.incident_id, n.kind, n.contact, n.subject,
                              sqlite::Blob{payload.data(), payload.size()}, chain_text,
                              chain.front(), due_ms, now_ms);
  if (st.ok()) st = sqlite::StepDone(s, context_ + ": enqueue '" + n.idempotency_key + "'");
  if (!st.ok()) return st;
  inserted = sqlite3_changes64(db.get()) > 0;
  return Status::Ok();
}

Status Outbox::Impl::Recover(int& recovered) {
  const int64_t now = NowMs();
  sqlite::Transaction txn(db.get(), context_ + ": recovery");
  if (auto st = txn.Begin(); !st.ok()) return st;
  std::vector<std::pair<std::string, int64_t>> claimed;
  Status st = Run("SELECT key, claimed_ms FROM notifications WHERE state = 'sending'", {},
                  [&](sqlite3_stmt* s) {
                    claimed.emplace_back(sqlite::ColumnText(s, 0), sqlite3_column_int64(s, 1));
                    return Status::Ok();
                  });
  if (!st.ok()) return st;
  for (const auto& [key, claimed_ms] : claimed) {
    const std::string detail = "process stopped while sending (claimed at " +
                               std::to_string(claimed_ms) +
                               " ms); outcome unknown, will be sent again";
    st = Run(R"sql(
INSERT INTO attempts (key, attempt, channel, at_ms, result, detail)
SELECT key, attempts + 1, channel, ?2, 'interrupted', ?3 FROM notifications WHERE key = ?1)sql",
             {key, now, detail});
    if (!st.ok()) return st;
    st = Run(R"sql(
UPDATE notifications SET state = 'pending', attempts = attempts + 1,
  channel_attempts = channel_attempts + 1, due_ms = ?2, updated_ms = ?2, detail = ?3
WHERE key = ?1)sql",
             {key, now, detail});
    if (!st.ok()) return st;
  }
  if (st = txn.Commit(); !st.ok()) return st;
  recovered = static_cast<int>(claimed.size());
  if (recovered > 0) {
    spdlog::warn("outbox '{}': {} notification(s) were being sent when the process stopped; "
                 "they will be sent again (a provider may see one duplicate)",
                 path_, recovered);
  }
  return Status::Ok();
}

// ---- Outbox ----

Outbox::Outbox(std::unique_ptr<Impl> impl, int recovered)
    : impl_(std::move(impl)), recovered_at_open_(recovered) {}
Outbox::~Outbox() = default;

Result<std::unique_ptr<Outbox>> Outbox::Open(const std::string& path, OutboxOptions options) {
  auto impl = std::make_unique<Impl>(path, options);
  int recovered = 0;
  {
    MutexLock lock(impl->mu);  // not shared yet; taken so the analysis sees db's rule kept
    if (auto st = impl->Init(recovered); !st.ok()) return st;
  }
  return std::unique_ptr<Outbox>(new Outbox(std::move(impl), recovered));
}

int64_t Outbox::NowMs() const { return impl_->NowMs(); }

Result<EnqueueOutcome> Outbox::Enqueue(const Notification& n,
                                       const std::vector<std::string>& channel_chain,
                                       int64_t due_ms) {
  if (n.idempotency_key.empty()) return Status::InvalidArgument("outbox: notification without idempotency key");
  if (channel_chain.empty()) {
    return Status::InvalidArgument("outbox: notification '" + n.idempotency_key + "' has no channel");
  }
  for (const std::string& c : channel_chain) {
    if (!ValidChannelName(c)) {
      return Status::InvalidArgument("outbox: notification '" + n.idempotency_key +
                                     "': bad channel name '" + c + "'");
    }
  }
  MutexLock lock(impl_->mu);
  bool inserted = false;
  if (auto st = impl_->Insert(n, channel_chain, due_ms, impl_->NowMs(), inserted); !st.ok()) {
    return st;
  }
  return inserted ? EnqueueOutcome::kEnqueued : EnqueueOutcome::kAlreadyKnown;
}

Result<int> Outbox::CancelIncident(const std::string& incident_id,
                                   const std::vector<std::string>& kinds) {
  MutexLock lock(impl_->mu);
  const int64_t now = impl_->NowMs();
  sqlite::Transaction txn(impl_->db.get(), impl_->context_ + ": cancel");
  if (auto st = txn.Begin(); !st.ok()) return st;
  int64_t total = 0;
  for (const std::string& kind : kinds) {
    auto n = impl_->Change(R"sql(
UPDATE notifications SET state = 'cancelled', updated_ms = ?3, detail = 'incident acknowledged or resolved'
WHERE incident_id = ?1 AND kind = ?2 AND state IN ('pending', 'held'))sql",
                           {incident_id, kind, now});
    if (!n.ok()) return n.status();
    total += *n;
  }
  if (auto st = txn.Commit(); !st.ok()) return st;
  return static_cast<int>(total);
}

Result<std::vector<Item>> Outbox::Due(int64_t now_ms, size_t limit,
                                      const std::optional<std::string>& channel) {
  MutexLock lock(impl_->mu);
  if (channel) {
    return impl_->Items(
        "WHERE state = 'pending' AND due_ms <= ?1 AND channel = ?3 ORDER BY due_ms, seq LIMIT ?2",
        {now_ms, static_cast<int64_t>(limit), *channel});
  }
  return impl_->Items("WHERE state = 'pending' AND due_ms <= ?1 ORDER BY due_ms, seq LIMIT ?2",
                      {now_ms, static_cast<int64_t>(limit)});
}

Result<std::optional<int64_t>> Outbox::NextDueMs(const std::optional<std::string>& channel) {
  MutexLock lock(impl_->mu);
  std::optional<int64_t> next;
  auto row = [&](sqlite3_stmt* s) {
    if (sqlite3_column_type(s, 0) != SQLITE_NULL) next = sqlite3_column_int64(s, 0);
    return Status::Ok();
  };
  Status st = channel ? impl_->Run("SELECT min(due_ms) FROM notifications "
                                   "WHERE state = 'pending' AND channel = ?1",
                                   {*channel}, row)
                      : impl_->Run("SELECT min(due_ms) FROM notifications WHERE state = 'pending'",
                                   {}, row);
  if (!st.ok()) return st;
  return next;
}

Result<std::vector<std::string>> Outbox::ActiveChannels() {
  MutexLock lock(impl_->mu);
  return impl_->Texts(
      "SELECT DISTINCT channel FROM notifications "
      "WHERE state IN ('pending', 'sending', 'held') AND channel != '' ORDER BY channel",
      {});
}

Result<std::vector<std::string>> Outbox::IncidentsWithPending(const std::string& kind) {
  MutexLock lock(impl_->mu);
  return impl_->Texts(
      "SELECT DISTINCT incident_id FROM notifications "
      "WHERE state IN ('pending', 'held') AND kind = ?1 AND incident_id != '' ORDER BY incident_id",
      {kind});
}

Result<bool> Outbox::Claim(const std::string& key) {
  MutexLock lock(impl_->mu);
  auto n = impl_->Change(R"sql(
UPDATE notifications SET state = 'sending', claimed_ms = ?2, updated_ms = ?2
WHERE key = ?1 AND state = 'pending')sql",
                         {key, impl_->NowMs()});
  if (!n.ok()) return n.status();
  return *n > 0;
}

namespace {
std::string ChannelAt(const Item& it, size_t index) {
  return index < it.channel_chain.size() ? it.channel_chain[index] : std::string();
}
}  // namespace

Status Outbox::Record(const std::string& key, Attempt attempt, const Transition& to) {
  MutexLock lock(impl_->mu);
  const int64_t now = impl_->NowMs();
  sqlite::Transaction txn(impl_->db.get(), impl_->context_ + ": record attempt of '" + key + "'");
  if (auto st = txn.Begin(); !st.ok()) return st;
  auto items = impl_->Items("WHERE key = ?1 AND state = 'sending'", {key});
  if (!items.ok()) return items.status();
  if (items->empty()) return Status::NotFound(impl_->context_ + ": '" + key + "' is not being sent");
  const Item& it = items->front();
  const int64_t at = attempt.at_ms != 0 ? attempt.at_ms : now;
  Status st = impl_->Run(R"sql(
INSERT INTO attempts (key, attempt, channel, at_ms, result, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6))sql",
                         {key, static_cast<int64_t>(it.attempts + 1), attempt.channel, at,
                          AttemptResultName(attempt.result), attempt.detail});
  if (!st.ok()) return st;
  const std::string channel = ChannelAt(it, to.channel_index);
  st = impl_->Run(R"sql(
UPDATE notifications SET state = ?2, channel_index = ?3, channel = ?4, channel_attempts = ?5,
  attempts = attempts + 1, due_ms = ?6, updated_ms = ?7, detail = ?8
WHERE key = ?1)sql",
                  {key, StateName(to.state), static_cast<int64_t>(to.channel_index), channel,
                   static_cast<int64_t>(to.channel_attempts), to.due_ms, now, to.detail});
  if (!st.ok()) return st;
  return txn.Commit();
}

Result<bool> Outbox::Move(const std::string& key, State from, const Transition& to) {
  MutexLock lock(impl_->mu);
  const int64_t now = impl_->NowMs();
  sqlite::Transaction txn(impl_->db.get(), impl_->context_ + ": move '" + key + "'");
  if (auto st = txn.Begin(); !st.ok()) return st;
  auto items = impl_->Items("WHERE key = ?1 AND state = ?2", {key, StateName(from)});
  if (!items.ok()) return items.status();
  if (items->empty()) return false;
  const std::string channel = ChannelAt(items->front(), to.channel_index);
  Status st = impl_->Run(R"sql(
UPDATE notifications SET state = ?2, channel_index = ?3, channel = ?4, channel_attempts = ?5,
  due_ms = ?6, updated_ms = ?7, detail = ?8
WHERE key = ?1)sql",
                         {key, StateName(to.state), static_cast<int64_t>(to.channel_index), channel,
                          static_cast<int64_t>(to.channel_attempts), to.due_ms, now, to.detail});
  if (!st.ok()) return st;
  if (st = txn.Commit(); !st.ok()) return st;
  return true;
}

Result<std::vector<Outbox::LogRow>> Outbox::Log(int64_t final_since_ms) {
  MutexLock lock(impl_->mu);
  std::vector<LogRow> out;
  Status st = impl_->Run(R"sql(
SELECT key, state, updated_ms FROM notifications
WHERE state IN ('sending', 'held') OR (state = 'pending' AND attempts > 0)
   OR (state IN ('sent', 'summarized') AND updated_ms >= ?1)
ORDER BY updated_ms, seq)sql",
                         {final_since_ms}, [&out](sqlite3_stmt* s) {
                           LogRow r;
                           r.key = sqlite::ColumnText(s, 0);
                           auto state = ParseState(sqlite::ColumnText(s, 1));
                           r.state = state.value_or(State::kPending);
                           r.updated_ms = sqlite3_column_int64(s, 2);
                           out.push_back(std::move(r));
                           return Status::Ok();
                         });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<HeldGroup>> Outbox::Held(const std::optional<std::string>& channel) {
  MutexLock lock(impl_->mu);
  auto items = channel ? impl_->Items("WHERE state = 'held' AND channel = ?1 ORDER BY seq", {*channel})
                       : impl_->Items("WHERE state = 'held' ORDER BY seq", {});
  if (!items.ok()) return items.status();
  std::vector<HeldGroup> groups;
  for (Item& it : *items) {
    const std::string item_channel = it.channel();
    auto g = std::find_if(groups.begin(), groups.end(), [&](const HeldGroup& h) {
      return h.contact == it.notification.contact && h.channel == item_channel;
    });
    if (g == groups.end()) {
      groups.push_back(HeldGroup{it.notification.contact, item_channel, {}});
      g = std::prev(groups.end());
    }
    g->items.push_back(std::move(it));
  }
  return groups;
}

Result<int> Outbox::Summarize(const Notification& summary, const std::vector<std::string>& chain,
                              const std::vector<std::string>& covered) {
  if (summary.idempotency_key.empty() || chain.empty()) {
    return Status::InvalidArgument("outbox: summary without key or channel");
  }
  MutexLock lock(impl_->mu);
  const int64_t now = impl_->NowMs();
  sqlite::Transaction txn(impl_->db.get(), impl_->context_ + ": summarize");
  if (auto st = txn.Begin(); !st.ok()) return st;
  int64_t n = 0;
  for (const std::string& key : covered) {
    auto changed = impl_->Change(R"sql(
UPDATE notifications SET state = 'summarized', summary_key = ?2, updated_ms = ?3,
  detail = 'held back by rate limit; covered by a summary'
WHERE key = ?1 AND state = 'held')sql",
                                 {key, summary.idempotency_key, now});
    if (!changed.ok()) return changed.status();
    n += *changed;
  }
  if (n == 0) return 0;  // rolled back by the Transaction
  bool inserted = false;
  if (auto st = impl_->Insert(summary, chain, now, now, inserted); !st.ok()) return st;
  if (!inserted) {
    return Status::InvalidArgument("outbox: summary key '" + summary.idempotency_key +
                                   "' already exists");
  }
  if (auto st = txn.Commit(); !st.ok()) return st;
  return static_cast<int>(n);
}

Result<std::optional<Item>> Outbox::Get(const std::string& key) {
  MutexLock lock(impl_->mu);
  auto items = impl_->Items("WHERE key = ?1", {key});
  if (!items.ok()) return items.status();
  if (items->empty()) return std::optional<Item>();
  return std::optional<Item>(std::move(items->front()));
}

Result<std::map<State, int64_t>> Outbox::DepthByState() {
  MutexLock lock(impl_->mu);
  std::map<State, int64_t> out;
  for (State s : kAllStates) out[s] = 0;
  Status st = impl_->Run("SELECT state, count(*) FROM notifications GROUP BY state", {},
                         [&](sqlite3_stmt* s) {
                           auto state = ParseState(sqlite::ColumnText(s, 0));
                           if (!state) return Status::Corruption(impl_->context_ + ": unknown state");
                           out[*state] = sqlite3_column_int64(s, 1);
                           return Status::Ok();
                         });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<Item>> Outbox::Pending() {
  MutexLock lock(impl_->mu);
  return impl_->Items("WHERE state IN ('pending', 'sending', 'held') ORDER BY due_ms, seq", {});
}

Result<std::vector<Item>> Outbox::ForIncident(const std::string& incident_id) {
  MutexLock lock(impl_->mu);
  return impl_->Items("WHERE incident_id = ?1 ORDER BY seq", {incident_id});
}

Result<std::vector<Attempt>> Outbox::Attempts(const std::string& key) {
  MutexLock lock(impl_->mu);
  std::vector<Attempt> out;
  Status st = impl_->Run(
      "SELECT attempt, channel, at_ms, result, detail FROM attempts WHERE key = ?1 ORDER BY attempt, id",
      {key}, [&](sqlite3_stmt* s) {
        Attempt a;
        a.number = sqlite3_column_int(s, 0);
        a.channel = sqlite::ColumnText(s, 1);
        a.at_ms = sqlite3_column_int64(s, 2);
        auto r = ParseAttemptResult(sqlite::ColumnText(s, 3));
        if (!r) return Status::Corruption(impl_->context_ + ": attempt of '" + key + "': unknown result");
        a.result = *r;
        a.detail = sqlite::ColumnText(s, 4);
        out.push_back(std::move(a));
        return Status::Ok();
      });
  if (!st.ok()) return st;
  return out;
}

Result<std::map<std::string, ChannelCounts>> Outbox::CountsByChannel() {
  MutexLock lock(impl_->mu);
  std::map<std::string, ChannelCounts> out;
  Status st = impl_->Run("SELECT channel, result, count(*) FROM attempts GROUP BY channel, result", {},
                         [&](sqlite3_stmt* s) {
                           auto r = ParseAttemptResult(sqlite::ColumnText(s, 1));
                           if (!r) return Status::Corruption(impl_->context_ + ": unknown attempt result");
                           AddCount(out[sqlite::ColumnText(s, 0)], *r,
                                    static_cast<uint64_t>(sqlite3_column_int64(s, 2)));
                           return Status::Ok();
                         });
  if (!st.ok()) return st;
  // A failed item's last channel is the last one in its chain.
  st = impl_->Run(R"sql(
SELECT json_extract(channel_chain, '$[#-1]'), count(*) FROM notifications
WHERE state = 'failed' GROUP BY 1)sql",
                  {}, [&](sqlite3_stmt* s) {
                    out[sqlite::ColumnText(s, 0)].failed_items +=
                        static_cast<uint64_t>(sqlite3_column_int64(s, 1));
                    return Status::Ok();
                  });
  if (!st.ok()) return st;
  // Rows deleted by Prune() still count.
  st = impl_->Run("SELECT channel, what, n FROM pruned_counts", {}, [&](sqlite3_stmt* s) {
    ChannelCounts& c = out[sqlite::ColumnText(s, 0)];
    const std::string what = sqlite::ColumnText(s, 1);
    const auto n = static_cast<uint64_t>(sqlite3_column_int64(s, 2));
    if (what == "failed_items") {
      c.failed_items += n;
      return Status::Ok();
    }
    auto r = ParseAttemptResult(what);
    if (!r) return Status::Corruption(impl_->context_ + ": unknown pruned count '" + what + "'");
    AddCount(c, *r, n);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

Result<Outbox::PruneReport> Outbox::Prune(int64_t older_than_ms,
                                          const std::vector<std::string>& keep_incidents) {
  // Incident ids are ASCII (IncidentId); `replace` only keeps a stray byte from throwing.
  const std::string keep = nlohmann::json(keep_incidents)
                               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // The rows to delete, as a condition on `notifications` (?1 cutoff, ?2 kept incidents).
  const std::string prunable =
      "state IN ('sent', 'failed', 'cancelled', 'summarized') AND updated_ms < ?1 "
      "AND incident_id NOT IN (SELECT value FROM json_each(?2))";
  // Fold what is about to go into the tally first. (ON CONFLICT after INSERT ... SELECT
  // needs a WHERE in the SELECT: SQLite's parser.)
  const std::string tally_attempts =
      "INSERT INTO pruned_counts (channel, what, n) "
      "SELECT channel, result, count(*) FROM attempts "
      "WHERE key IN (SELECT key FROM notifications WHERE " + prunable + ") "
      "GROUP BY channel, result "
      "ON CONFLICT (channel, what) DO UPDATE SET n = n + excluded.n";
  const std::string tally_failed =
      "INSERT INTO pruned_counts (channel, what, n) "
      "SELECT json_extract(channel_chain, '$[#-1]'), 'failed_items', count(*) "
      "FROM notifications WHERE state = 'failed' AND " + prunable + " GROUP BY 1 "
      "ON CONFLICT (channel, what) DO UPDATE SET n = n + excluded.n";
  const std::string delete_attempts =
      "DELETE FROM attempts WHERE key IN (SELECT key FROM notifications WHERE " + prunable + ")";
  const std::string delete_items = "DELETE FROM notifications WHERE " + prunable;

  MutexLock lock(impl_->mu);
  sqlite::Transaction txn(impl_->db.get(), impl_->context_ + ": prune");
  if (auto st = txn.Begin(); !st.ok()) return st;
  for (const std::string* sql : {&tally_attempts, &tally_failed}) {
    if (auto st = impl_->Run(sql->c_str(), {older_than_ms, keep}); !st.ok()) return st;
  }
  PruneReport report;
  auto attempts = impl_->Change(delete_attempts.c_str(), {older_than_ms, keep});
  if (!attempts.ok()) return attempts.status();
  report.attempts = *attempts;
  auto items = impl_->Change(delete_items.c_str(), {older_than_ms, keep});
  if (!items.ok()) return items.status();
  report.items = *items;
  if (auto st = txn.Commit(); !st.ok()) return st;
  return report;
}

}  // namespace firewatch::alerting::outbox
