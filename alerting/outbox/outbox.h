// The durable outbox (DESIGN principle 4, "every page is durable"): every notification
// is written to SQLite, keyed by its idempotency key, before any channel sees it, and
// every delivery attempt is recorded. Schema, states and crash semantics:
// docs/outbox.md. This class is the storage and its state machine; the policy (which
// item goes when, backoff, failover, rate limits) lives in Dispatcher (dispatcher.h).
//
// States of an item:
//   pending    waiting for due_ms, then sent on channel_chain[channel_index]
//   sending    claimed: a send is in progress (claimed_ms says since when)
//   sent       delivered (final)
//   failed     every channel in the chain gave up (final, kept on disk)
//   cancelled  the incident was acked/resolved before it went out (final)
//   held       over a rate limit; waits to be summarized (or released, if alone)
//   summarized covered by a rate-limit summary notification (final; summary_key names it)
//
// Crash safety: Claim() commits `sending` before the send hook runs and Record()
// commits the outcome after it. Open() returns every item left in `sending` to
// `pending` (recording an `interrupted` attempt), so a page is never lost; it may be
// sent twice if the process died after the provider accepted it and before Record
// committed (at-least-once). Providers that deduplicate get the idempotency key.
//
// Threading: every method is thread-safe (one connection behind a mutex; calls are
// short, single statements or one transaction). Only one Outbox may have a file open:
// Open's recovery assumes no other process is sending from it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/status.h"
#include "model/alert.h"

namespace firewatch::alerting::outbox {

enum class State : uint8_t { kPending, kSending, kSent, kFailed, kCancelled, kHeld, kSummarized };
// "pending", "sending", ... as stored in the `state` column.
std::string_view StateName(State s);
std::optional<State> ParseState(std::string_view name);

// The outcome of one attempt as recorded. kInterrupted: the process stopped while the
// attempt was in flight (found at Open); the outcome is unknown.
enum class AttemptResult : uint8_t { kDelivered, kRetryable, kPermanent, kInterrupted };
std::string_view AttemptResultName(AttemptResult r);
AttemptResult FromSendResult(SendResult::Kind kind);

// One row of `notifications`.
struct Item {
  int64_t seq = 0;  // enqueue order
  Notification notification;
  std::vector<std::string> channel_chain;
  size_t channel_index = 0;  // == channel_chain.size() once the chain is exhausted
  int channel_attempts = 0;  // attempts on the current channel
  int attempts = 0;          // attempts on all channels
  State state = State::kPending;
  int64_t due_ms = 0;
  int64_t enqueued_ms = 0;
  int64_t claimed_ms = 0;
  int64_t updated_ms = 0;
  std::string detail;       // last error, hold reason, ...
  std::string summary_key;  // set when summarized
  const std::string& key() const { return notification.idempotency_key; }
  // The current channel, or "" once the chain is exhausted.
  std::string channel() const {
    return channel_index < channel_chain.size() ? channel_chain[channel_index] : std::string();
  }
};

// One row of `attempts`.
struct Attempt {
  int number = 0;  // 1-based over all channels
  std::string channel;
  int64_t at_ms = 0;
  AttemptResult result = AttemptResult::kDelivered;
  std::string detail;
};

// Where an item goes after an attempt or a policy decision (see Dispatcher).
struct Transition {
  State state = State::kPending;
  size_t channel_index = 0;
  int channel_attempts = 0;
  int64_t due_ms = 0;
  std::string detail;
};

// Per channel, from the attempts table: the numbers behind the per-channel metrics.
struct ChannelCounts {
  uint64_t delivered = 0;
  uint64_t retryable = 0;
  uint64_t permanent = 0;
  uint64_t interrupted = 0;
  uint64_t failed_items = 0;  // items that gave up on this channel as their last one
};

// A (contact, channel) pair with held items, oldest first.
struct HeldGroup {
  std::string contact;
  std::string channel;
  std::vector<Item> items;
};

enum class EnqueueOutcome : uint8_t { kEnqueued, kAlreadyKnown };

struct OutboxOptions {
  // Wall time for enqueued/claimed/updated stamps and recovery. Null: the system clock.
  // Must outlive the Outbox.
  const Clock* clock = nullptr;
  // How long a statement waits for a lock held by another connection (e.g. an operator's
  // sqlite3 shell in a write transaction) before failing with IoError.
  std::chrono::milliseconds busy_timeout{5000};
};

class Outbox {
 public:
  // Opens (creating if needed) the outbox at `path`, applies migrations, then recovers:
  // every item left in `sending` goes back to `pending`, due now, with an `interrupted`
  // attempt recorded (it counts as an attempt on its channel, so a page that crashes the
  // notifier every time still fails over instead of looping). The directory must exist.
  // Fails with IoError (naming the path) when the file cannot be opened or written,
  // Corruption when it is not an SQLite file, another application's database, or from a
  // newer firewatch.
  static Result<std::unique_ptr<Outbox>> Open(const std::string& path, OutboxOptions options = {});
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Number of items Open() returned from `sending` to `pending`.
  int recovered_at_open() const { return recovered_at_open_; }

  // Writes `n` as a pending item due at `due_ms` (Unix ms; the past means now), to be
  // sent on channel_chain[0] first. Committed when this returns OK. If an item with the
  // same idempotency key exists (in any state), nothing changes and kAlreadyKnown is
  // returned: a restarted collector recomputing its escalation does not page twice.
  // InvalidArgument: empty key, empty chain, or a channel name that is empty or not
  // printable ASCII. IoError/Corruption: the database.
  Result<EnqueueOutcome> Enqueue(const Notification& n, const std::vector<std::string>& channel_chain,
                                 int64_t due_ms);

  // Cancels the pending and held notifications of `incident_id` whose kind is in `kinds`
  // (e.g. {"trigger"} when the incident is acked). Items already sending, sent or failed
  // are not touched. Returns how many were cancelled.
  Result<int> CancelIncident(const std::string& incident_id, const std::vector<std::string>& kinds);
  // The incidents that have a pending or held notification of `kind`, sorted (at start-up:
  // an acked or resolved incident among them was cut off by a kill before its cancel).
  Result<std::vector<std::string>> IncidentsWithPending(const std::string& kind);

  // ---- used by the Dispatcher ----
  // `channel`, where a method takes one: only the items whose current channel it is
  // (what one per-channel sender handles); nullopt: every channel.

  // Pending items with due_ms <= now_ms, by due_ms then enqueue order, at most `limit`.
  Result<std::vector<Item>> Due(int64_t now_ms, size_t limit,
                                const std::optional<std::string>& channel = std::nullopt);
  // The earliest due_ms of a pending item, or nullopt when none is pending.
  Result<std::optional<int64_t>> NextDueMs(const std::optional<std::string>& channel = std::nullopt);
  // The current channels of the pending, sending and held items, sorted: where work is
  // waiting (a SenderPool starts a worker for each, configured or not).
  Result<std::vector<std::string>> ActiveChannels();
  // pending -> sending, committed, stamped claimed_ms = now. False (and no change) when
  // the item is no longer pending (cancelled meanwhile): the caller must not send it.
  Result<bool> Claim(const std::string& key);
  // sending -> `to`, with `attempt` appended to the attempts table, in one transaction.
  // The attempt number is assigned here (attempts + 1). NotFound when the item is not
  // sending (a bug in the caller).
  Status Record(const std::string& key, Attempt attempt, const Transition& to);
  // `from` -> `to` without an attempt: failover of an item whose channel is used up,
  // holding over a rate limit (pending -> held), releasing a lone held item (held ->
  // pending). False (and no change) when the item is no longer in `from`.
  Result<bool> Move(const std::string& key, State from, const Transition& to);
  // Held items grouped by (contact, channel), groups and items oldest first.
  Result<std::vector<HeldGroup>> Held(const std::optional<std::string>& channel = std::nullopt);
  // In one transaction: enqueues `summary` (pending, due now, chain `chain`) and marks
  // every item of `covered` that is still held as summarized by it. Returns how many
  // were covered; if none still are, the summary is not written and 0 is returned.
  Result<int> Summarize(const Notification& summary, const std::vector<std::string>& chain,
                        const std::vector<std::string>& covered);

  // ---- queries (metrics, API) ----

  Result<std::optional<Item>> Get(const std::string& key);
  // Number of items per state; every state is present (0 when empty).
  Result<std::map<State, int64_t>> DepthByState();
  // Items not final (pending, sending, held), by due_ms then enqueue order.
  Result<std::vector<Item>> Pending();
  // Every item of one incident (any state, any kind), in enqueue order.
  Result<std::vector<Item>> ForIncident(const std::string& incident_id);
  // Attempts of one item, in order; empty for an unknown key.
  Result<std::vector<Attempt>> Attempts(const std::string& key);
  // The cluster's view of this outbox (docs/cluster.md, "Page dedup"): every item that is
  // being worked on (sending, held, or pending after an attempt: a claim) or that went out
  // (sent, summarized: delivered), final ones only if they changed at or after
  // `final_since_ms`. Oldest change first.
  struct LogRow {
    std::string key;
    State state = State::kPending;
    int64_t updated_ms = 0;
  };
  Result<std::vector<LogRow>> Log(int64_t final_since_ms);

  // Attempt outcomes per channel since the file was created (pruned rows included).
  Result<std::map<std::string, ChannelCounts>> CountsByChannel();

  // ---- retention ----

  struct PruneReport {
    int64_t items = 0;
    int64_t attempts = 0;
  };
  // In one transaction, deletes the final items (sent, failed, cancelled, summarized)
  // whose last change is before `older_than_ms`, with their attempts, except the items
  // of the incidents in `keep_incidents` (an unresolved incident's escalation is
  // recomputed by key, and a pruned key would page again). Their attempt outcomes and
  // failed items are first added to a per-channel tally, so CountsByChannel() never
  // goes down.
  Result<PruneReport> Prune(int64_t older_than_ms,
                            const std::vector<std::string>& keep_incidents = {});

  int64_t NowMs() const;

 private:
  class Impl;
  Outbox(std::unique_ptr<Impl> impl, int recovered);
  std::unique_ptr<Impl> impl_;
  int recovered_at_open_ = 0;
};

}  // namespace firewatch::alerting::outbox
