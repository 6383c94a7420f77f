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
// Threading: Process() blocks in the send hook (SMTP, HTTP), so it runs on a dedicated
// worker thread (the "outbox sender"), never on the libuv loop. That thread calls it
// whenever an Enqueue wakes it, at the ProcessReport's next_due_ms, and at least once a
// second (held items wait for tokens, which no Enqueue signals). Calls are serialized
// by a mutex; Enqueue/CancelIncident/queries on the Outbox may run concurrently from
// other threads (the database mutex is never held during a send).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/status.h"
#include "model/alert.h"
#include "outbox/gate.h"
#include "outbox/outbox.h"
#include "outbox/retry_policy.h"
#include "outbox/token_bucket.h"

namespace firewatch::alerting::outbox {

// Delivers `n` over the named channel. Notifiers stay dumb: one try, report the kind.
// Must pass n.idempotency_key to providers that deduplicate (PagerDuty dedup_key, the
// email Message-ID), which turns a crash-induced resend into a no-op there. An exception
// thrown by the hook is caught and recorded as a Retryable result.
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
  // recomputed by idempotency key). Null: none.
  std::function<std::vector<std::string>()> prune_keep;
  // Cluster dedup (docs/cluster.md): asked before a due item is sent. kDefer moves its
  // due time to until_ms; kSkip cancels it (a peer delivered it). Null: always send.
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
  std::optional<int64_t> next_due_ms;  // earliest pending item after this call
};

class Dispatcher {
 public:
  // `outbox` must outlive the Dispatcher.
  Dispatcher(Outbox& outbox, SendHook send, DispatcherOptions options);

  // Sends what is due now (see the file comment). Returns the first storage error. An
  // outcome that could not be recorded (database locked, disk full) is kept in memory
  // and recorded first thing on the next call; the item stays `sending` meanwhile, and
  // if the process dies first, Open() requeues it (at-least-once). Send failures are not
  // errors: they are recorded as attempts and reported in the ProcessReport.
  Result<ProcessReport> Process();

  const RetryPolicy& PolicyFor(const std::string& channel) const;

 private:
  using Pair = std::pair<std::string, std::string>;  // (contact, channel)
  bool TokensAvailable(const std::string& contact, const std::string& channel, MonoTime now);
  void TakeTokens(const std::string& contact, const std::string& channel, MonoTime now);
  // Claims, sends and records `item` (pending); updates `report`.
  Status Deliver(const Item& item, ProcessReport& report);
  // The transition after `result` on the item's current channel.
  Transition Next(const Item& item, const SendResult& result, int64_t now_ms);
  // Moves to the next channel (or failed) without sending; the detail says why.
  Transition FailOver(const Item& item, const std::string& why, int64_t now_ms);
  Status ReleaseHeld(const HeldGroup& group, ProcessReport& report);
  // Records the outcomes that failed to commit earlier; stops at the first failure.
  Status RecordUnrecorded();
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
  DispatcherOptions opts_;
  const Clock& clock_;
  std::mutex mu_;  // serializes Process()
  BucketSet buckets_;
  std::vector<Unrecorded> unrecorded_;  // outcomes whose Record() failed, oldest first
  std::optional<MonoTime> last_prune_;  // last prune attempt (monotonic)
};

}  // namespace firewatch::alerting::outbox
