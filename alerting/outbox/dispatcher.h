// The outbox's delivery policy: picks due items, applies rate limits, calls the send
// hook, and turns each outcome into the item's next state (docs/outbox.md):
//
//   Delivered          -> sent
//   Retryable          -> pending again after BackoffDelayMs (full jitter), until the
//                         channel's max_attempts; then fail over
//   Permanent          -> fail over at once
//   fail over          -> the next channel in the chain, due now; past the last one ->
//                         failed (kept on disk, counted, logged as an error)
//   over a rate limit  -> held; when the (contact, channel) and channel buckets have a
//                         token again, the held items of that pair go out as ONE summary
//                         notification (or as themselves if only one is held) and are
//                         marked summarized. Every kind counts against the limits.
//
// Threading (docs/outbox.md, "Threading"): the send hook blocks (SMTP, HTTP), so
// Process runs on sender threads, never on the libuv loop. Process(channel) handles only
// the items whose current channel is `channel`: calls for one channel are serialized,
// calls for different channels run concurrently, so a channel whose sends hang until
// their timeout holds up only its own queue. SenderPool (sender_pool.h) runs one worker
// thread per channel that way. Process() handles every channel in one call and excludes
// every Process(channel) while it runs (tests, tools, single-threaded callers).
//
// The state the channels share -- the rate-limit buckets (each keyed by one channel, so
// a channel's check-then-take is never raced), outcomes not yet recorded, the prune
// schedule and the jitter source -- sits behind the Dispatcher's own mutexes, which are
// held only for in-memory work (and, for unrecorded outcomes, their Outbox::Record),
// never while a send hook, gate or prune_keep runs. Enqueue/CancelIncident/queries on
// the Outbox may run concurrently from other threads (the database mutex is never held
// during a send).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/status.h"
#include "firewatch/sync/mutex.h"
#include "model/alert.h"
#include "outbox/gate.h"
#include "outbox/outbox.h"
#include "outbox/retry_policy.h"
#include "outbox/token_bucket.h"

namespace firewatch::alerting::outbox {

// Delivers `n` over the named channel. Notifiers stay dumb: one try, report the kind.
// Must pass n.idempotency_key to providers that deduplicate (PagerDuty dedup_key, the
// email Message-ID), which turns a crash-induced resend into a no-op there. An exception
// thrown by the hook is caught and recorded as a Retryable result. Called from several
// threads at once for different channels (never twice at once for one channel), so it
// must be thread-safe; it should return within the channel's timeout.
using SendHook = std::function<SendResult(const std::string& channel, const Notification& n)>;

struct DispatcherOptions {
  RetryPolicy retry;                                    // every channel without an override
  std::map<std::string, RetryPolicy> retry_by_channel;  // channel name -> policy
  // channel name -> limit per (contact, channel), e.g. {"sms", {5, 10min}}.
  std::map<std::string, RateLimit> per_contact;
  // channel name -> limit for the whole channel, e.g. {"sms", {100, 1min}}.
  std::map<std::string, RateLimit> per_channel;
  // Jitter source. Null: std::mt19937_64 seeded from std::random_device.
  Rng rng;
  // Monotonic time for the buckets, wall time for due times. Null: the system clock.
  const Clock* clock = nullptr;
  // Most due items one Process() call sends; the rest wait for the next call.
  size_t batch_limit = 100;
  // Retention: Process() prunes final items (and their attempts) whose last change is
  // older than this, after its sends, at its first call and then at most once per
  // prune_interval (Outbox::Prune). Zero: keep everything.
  std::chrono::milliseconds retention{0};
  std::chrono::milliseconds prune_interval{std::chrono::hours(1)};
  // Incidents whose items must survive a prune (the unresolved ones: their escalation is
  // recomputed by idempotency key). Null: none. Thread-safe: called from whichever
  // sender thread prunes.
  std::function<std::vector<std::string>()> prune_keep;
  // Cluster dedup (docs/cluster.md): asked before a due item is sent. kDefer moves its
  // due time to until_ms; kSkip cancels it (a peer delivered it). Null: always send.
  // Thread-safe and non-blocking: every channel's sender thread asks it.
  std::function<GateDecision(const Item& item, int64_t now_ms)> gate;
};

// What one Process() call did.
struct ProcessReport {
  int sent = 0;         // delivered
  int retried = 0;      // retryable results rescheduled on the same channel
  int failed_over = 0;  // moved to the next channel
  int failed = 0;       // chain exhausted
  int held = 0;         // newly held over a rate limit
  int summaries = 0;    // summary notifications created
  int released = 0;     // lone held items sent as themselves
  int lost_claims = 0;  // due items cancelled between selection and claim
  int deferred = 0;     // due items a peer collector goes first for (cluster gate)
  int skipped = 0;      // due items a peer collector already delivered (cluster gate)
  // Earliest pending item after this call (of the channel, for Process(channel)).
  std::optional<int64_t> next_due_ms;
  // Channels that items failed over to in this call, now due there; sorted, unique.
  // Whoever runs that channel's Process(channel) must be woken (SenderPool kicks it).
  std::vector<std::string> handoffs;
};

class Dispatcher {
 public:
  // `outbox` must outlive the Dispatcher.
  Dispatcher(Outbox& outbox, SendHook send, DispatcherOptions options);

  // Sends what is due now on every channel (see the file comment), one item after the
  // other. Returns the first storage error. An outcome that could not be recorded
  // (database locked, disk full) is kept in memory and recorded first thing on the next
  // call (of any channel); the item stays `sending` meanwhile, and if the process dies
  // first, Open() requeues it (at-least-once). Send failures are not errors: they are
  // recorded as attempts and reported in the ProcessReport. An item whose channel is
  // used up fails over and is sent on its next channel in the same call; one that fails
  // over after a send goes out on the next call. When `stop` is requested, the call
  // returns before its next send (nothing in flight is interrupted; the rest waits).
  Result<ProcessReport> Process(std::stop_token stop = {});

  // The same for the items whose current channel is `channel` only: due items, held
  // items and their summaries, next_due_ms. An item that fails over leaves for another
  // channel and is named in ProcessReport::handoffs; it is not sent here. Serialized
  // with other calls for `channel` and with Process(); concurrent with other channels.
  Result<ProcessReport> Process(const std::string& channel, std::stop_token stop = {});

  // Channels with pending, sending or held items (Outbox::ActiveChannels): where a
  // sender is needed, configured or not.
  Result<std::vector<std::string>> ActiveChannels();

  const RetryPolicy& PolicyFor(const std::string& channel) const;

 private:
  using Pair = std::pair<std::string, std::string>;  // (contact, channel)
  // The body of both Process calls; `only`: one channel, or nullopt for every channel.
  // The caller holds process_mu_ (exclusive for every channel, shared plus the
  // channel's mutex for one).
  Result<ProcessReport> Run(const std::optional<std::string>& only, const std::stop_token& stop)
      FW_REQUIRES_SHARED(process_mu_);
  // The mutex serializing Process(channel) for `channel` (created on first use).
  Mutex& ChannelMutex(const std::string& channel) FW_EXCLUDES(channels_mu_);
  // Lock state_mu_.
  bool TokensAvailable(const std::string& contact, const std::string& channel, MonoTime now)
      FW_EXCLUDES(state_mu_);
  void TakeTokens(const std::string& contact, const std::string& channel, MonoTime now)
      FW_EXCLUDES(state_mu_);
  // Claims, sends and records `item` (pending); updates `report`.
  Status Deliver(const Item& item, ProcessReport& report);
  // The transition after `result` on the item's current channel.
  Transition Next(const Item& item, const SendResult& result, int64_t now_ms);
  // Moves to the next channel (or failed) without sending; the detail says why.
  Transition FailOver(const Item& item, const std::string& why, int64_t now_ms);
  Status ReleaseHeld(const HeldGroup& group, ProcessReport& report);
  // Records the outcomes that failed to commit earlier; stops at the first failure.
  Status RecordUnrecorded() FW_EXCLUDES(unrecorded_mu_);
  // Runs Outbox::Prune when retention is on and the last prune is prune_interval ago.
  // A failure is logged, not returned: pages go out regardless; the next call retries.
  void PruneIfDue(int64_t now_ms);

  struct Unrecorded {
    std::string key;
    Attempt attempt;
    Transition to;
  };

  Outbox& outbox_;
  SendHook send_;
  DispatcherOptions opts_;  // immutable after construction
  const Clock& clock_;
  Rng rng_;  // opts_.rng behind rng_mu_: every channel draws jitter

  // Lock order: process_mu_ -> a channel's mutex -> state_mu_ | unrecorded_mu_ | rng_mu_
  // (leaves; never two at once) -> the Outbox's own mutex. None is held during a send.
  SharedMutex process_mu_;  // Process(): exclusive; Process(channel): shared
  Mutex channels_mu_;
  // Per-channel mutexes. Entries are never removed, so a reference stays valid after
  // channels_mu_ is released.
  std::map<std::string, std::unique_ptr<Mutex>> channel_mu_ FW_GUARDED_BY(channels_mu_);
  Mutex state_mu_;
  BucketSet buckets_ FW_GUARDED_BY(state_mu_);
  std::optional<MonoTime> last_prune_ FW_GUARDED_BY(state_mu_);  // last prune attempt
  Mutex unrecorded_mu_;
  std::vector<Unrecorded> unrecorded_ FW_GUARDED_BY(unrecorded_mu_);  // oldest first
  Mutex rng_mu_;  // serializes opts_.rng (called only through rng_)
};

}  // namespace firewatch::alerting::outbox
