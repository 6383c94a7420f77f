// The alerting engine: alerts in, pages out, nothing lost. The engine is the pipeline's
// runner: it owns the threads, the stores and the outbox; each stage after routing is a
// small pure unit in engine/stages.h (escalation planning, restart holds, who was paged,
// follow-ups, the local send gate), unit-tested on its own.
//
//   Submit(alert) -> route::Dispatcher (grouping, group_wait/interval/repeat)
//                 -> muted by silences and inhibition rules
//                 -> IncidentBook (one incident per open group; persisted). Each alert's
//                    status also goes straight to the incidents holding it: an incident
//                    whose alerts have all recovered resolves at once, whatever the group
//                    timers say, and no later escalation step fires for it
//                 -> schedule::Evaluate (escalation steps, on-call resolution)
//                 -> outbox::Outbox::Enqueue (on disk before anything is sent;
//                    idempotency keys make recomputation after a restart a no-op)
//                 -> outbox::Dispatcher (retries, failover, rate limits) -> notifiers
//
// Threads: the "alerting" thread owns the route dispatcher and inhibitor and runs the
// pipeline up to Enqueue; the outbox's SenderPool runs one sender thread per channel
// (outbox/sender_pool.h), so a hung SMTP server never delays an SMS. SendOn, the outbox
// gate and prune_keep run on those threads, at most once at a time per channel.
// Submit/Ack/Resolve/Incidents/Reload may be called from any thread.
// Configuration: the running config and its notifiers are one immutable snapshot
// (Live) that every thread reads through Current(); Reload builds a new one and the
// alerting thread publishes it between passes, with the route tree and inhibition
// rebuilt there (the route dispatcher is the alerting thread's alone).
// Silences live in route::ReplicatedSilences (route/replicated_silences.h): the alerting thread
// evaluates its immutable snapshot without any lock; API and peer-sync writers change it
// copy-on-write under its own writer lock, which the alerting thread never takes.
// Replication (docs/cluster.md): the cluster sees only model/replicated.h, through
// incident_replica(), log_replica() and replicated_silences(); it never calls the engine.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/alerting_config.h"
#include "engine/message.h"
#include "engine/peer_gate.h"
#include "engine/stages.h"
#include "firewatch/clock.h"
#include "firewatch/status.h"
#include "firewatch/sync/mutex.h"
#include "incident/incident.h"
#include "model/alert.h"
#include "model/replicated.h"
#include "outbox/dispatcher.h"

namespace firewatch::alerting {

namespace outbox {
class Outbox;
class Dispatcher;
class SenderPool;
}  // namespace outbox
namespace notify {
class Notifier;
}
namespace route {
class Dispatcher;
class Inhibitor;
struct Silence;
class ReplicatedSilences;
class ReplicatedMaintenance;
}  // namespace route
class IncidentStore;

// What the collector knows at start-up, before any escalation step may run.
struct StartupState {
  // Every alert firing now according to the restored state (DOWN sources, failing
  // checks). They rebuild their groups; a restored open incident keeps escalating only
  // for alerts in this list.
  std::vector<Alert> firing;
  // Whether `firing` is the whole truth for an alert (true for source and check alerts,
  // whose state was restored; false for alerts only a live cluster can confirm). A
  // restored alert that is vouched for and not firing recovered while the collector was
  // stopped: it is resolved at start. One not vouched for must be re-confirmed (submitted
  // firing again) within `confirm_within`, escalation held meanwhile, or it is resolved.
  std::function<bool(const Alert&)> vouched_for;
  Duration confirm_within = std::chrono::seconds(60);
  // Restored incidents escalate no earlier than this long after start: a host that kept
  // sending while the collector was down is heard UP again first.
  Duration settle = std::chrono::seconds(0);
};

struct EngineStats {
  uint64_t notifications_enqueued = 0;
  uint64_t unresolved_targets = 0;
  std::map<std::string, uint64_t> outbox_depth;  // state -> items (every state present)
  // channel -> attempt outcomes {delivered, retryable, permanent, interrupted} since the
  // outbox file was created; every configured channel is present (zeros included).
  std::map<std::string, std::array<uint64_t, 4>> notifications;
  std::map<std::string, uint64_t> incidents;  // "open"/"acked"/"resolved" -> count
  std::map<std::string, uint64_t> silences;   // "active"/"pending"/"expired" -> held now
  // Silences refused since start, by where they came from: "peer" (failed validation or
  // over a limit when merged from a peer) and "store" (incidents.db rows skipped at
  // start). Both keys always present.
  std::map<std::string, uint64_t> silences_refused;
  // Maintenance windows the same way: "pending"/"active"/"waiting"/"expired" held now,
  // and refusals by origin ("peer", "store"; both always present).
  std::map<std::string, uint64_t> maintenance;
  std::map<std::string, uint64_t> maintenance_refused;
};

class AlertingEngine {
 public:
  AlertingEngine(const Clock& clock, AlertingConfig config, std::string data_dir,
                 std::string collector_id);
  ~AlertingEngine();  // stops the alerting thread and the senders

  // Opens the outbox and incident store under data_dir, restores incidents, reconciles
  // every restored open incident with `startup` (resolving what recovered while stopped,
  // and sending its resolve notifications), then starts the threads. Fails naming the
  // file when storage cannot be opened.
  //
  // Threads::kManual (tests, tools): no thread is started; Step() runs one alerting pass
  // and Deliver() sends what is due, on the caller's thread, so a test on a fake clock
  // sees exactly what one pass does, without waiting. Acks then apply at once.
  enum class Threads : uint8_t { kRun, kManual };
  Status Start(StartupState startup = {}, Threads threads = Threads::kRun);
  // Threads::kManual only (elsewhere Step does nothing and Deliver fails): one pass of the alerting
  // pipeline (queued acks, peer incidents and alerts, then routing, incidents and escalation), and
  // one delivery round over every channel (outbox::Dispatcher::Process).
  void Step();
  Result<outbox::ProcessReport> Deliver();
  // Processes the alerts already submitted (a recovery observed before a stop resolves
  // its incident and writes its resolve notifications to the outbox), then stops the
  // alerting thread and the senders (each waits for its send in flight, within the
  // channel's timeout). Pages not yet sent stay in the outbox for the next start.
  void Stop() FW_EXCLUDES(mu_);

  // Queues an alert (firing or resolved) for the alerting thread.
  void Submit(Alert alert) FW_EXCLUDES(mu_);
  // Queues several, in order, with one lock and one wake-up (a datacenter going dark is
  // 100,000 alerts from one evaluate tick).
  void Submit(std::vector<Alert> alerts) FW_EXCLUDES(mu_);
  // Acknowledges an incident: stops its escalation, cancels its pending pages, and tells
  // everyone already paged for it (on the channels they were paged on) who acked it.
  // Incidents change only on the alerting thread (the change and its write to
  // incidents.db in one place, so an escalation pass can never write back a copy from
  // before the ack): a call from another thread hands the ack to it and waits for the
  // result. Unavailable while the engine is stopping.
  Result<Incident> Ack(const std::string& id, const std::string& by) FW_EXCLUDES(mu_);
  // An operator resolves an incident by hand (docs/routing.md, "Resolved by hand"):
  // open or acked becomes resolved with `by` and `comment` recorded and persisted, its
  // pending pages are cancelled, everyone already paged hears RESOLVED ("resolved by
  // NAME"), and peers resolve it too (incident_replica). Alerts still firing are set
  // aside: no new incident for them until they recover and fail again, another alert
  // of the group fires, or they still fire a repeat_interval later. Handed to the
  // alerting thread exactly as Ack is. NotFound for an unknown id; resolving a resolved
  // incident changes nothing and returns it. Unavailable while the engine is stopping.
  Result<Incident> Resolve(const std::string& id, const std::string& by,
                           const std::string& comment = "") FW_EXCLUDES(mu_);
  std::vector<Incident> Incidents() const;
  // Who was paged for incident `id`, in enqueue order (status page, API). Thread-safe.
  std::vector<PagedContact> Paged(const std::string& id) const;
  // The contacts who were paged for incident `id` (case-insensitive, as Ack): those with
  // a trigger page that went out from here, was covered by a summary, or was delivered
  // by a peer collector (the same rule as who hears RESOLVED and ACKED). NotFound for an
  // unknown id. Thread-safe (reads the outbox).
  Result<std::vector<std::string>> PagedContacts(const std::string& id) const;
  // Sets the maker of signed ack links rendered into emails (thread-safe; may be called
  // after Start()). See collector/app/ack_links.h.
  void SetAckLinkMaker(std::function<std::string(const std::string& incident_id)> maker)
      FW_EXCLUDES(ctx_mu_);
  EngineStats Stats() const FW_EXCLUDES(mu_);

  // A reloaded configuration (SIGHUP; engine/reload.h has the rules, and
  // docs/configuration.md the table). The notifiers are built on the caller's thread;
  // the rest is handed to the alerting thread like an ack and applied between two
  // passes: the route tree and inhibition are rebuilt with every firing alert regrouped,
  // policies that in-flight incidents still need are carried forward, retry policy and
  // rate limits change in the outbox, and new channels get their sender. Pages queued
  // for a channel the new config lacks fail over to the contact's next channel (or fail,
  // logged). Returns one line per change for the log (restart-only settings prefixed
  // "needs a restart: "), once applied. Unavailable while the engine is stopping;
  // FailedPrecondition before Start().
  Result<std::vector<std::string>> Reload(AlertingConfig next) FW_EXCLUDES(mu_);
  // How long Ack, Resolve and Reload wait for the alerting thread (busy with a slow disk,
  // say) before they answer Unavailable; the request stays queued and is applied later.
  // Default kHandOffTimeout; tests shorten it. Before Start().
  static constexpr std::chrono::milliseconds kHandOffTimeout{10000};
  void SetHandOffTimeout(std::chrono::milliseconds t) { hand_off_timeout_ = t; }
  // Before Start(): called on a sender thread after each delivered send, with the
  // channel it went out on (the collector's detection-to-delivery metric). Thread-safe.
  using DeliveryObserver = std::function<void(const std::string& channel, const Notification&)>;
  void SetDeliveryObserver(DeliveryObserver f) { on_delivered_ = std::move(f); }

  // Silences (Alertmanager semantics, route/silence.h), held by replicated_silences(). Persisted
  // in incidents.db; every call is thread-safe and none waits for the alerting thread. Set
  // creates (empty id) or changes one and returns its id; InvalidArgument names the field
  // or limit refused (validation, broad without force, route::SilenceLimits), NotFound an
  // unknown id. Unavailable before Start().
  Result<std::string> SetSilence(route::Silence silence);
  Status ExpireSilence(const std::string& id);
  std::vector<route::Silence> Silences() const;

  // ---- cluster (docs/cluster.md); standalone collectors never call these ----
  // Before Start(): consulted before every send (dedup) and when an incident opens
  // (adopt a peer's canonical id). Must outlive the engine.
  void SetPeerGate(PeerGate* gate) { gate_ = gate; }
  // The replicated pieces of state the engine owns (model/replicated.h), valid for the
  // engine's lifetime (replicated_silences() from Start() on):
  //  - incidents: exports the unresolved ones and those resolved in the last hour; a
  //    peer's incidents are queued for the alerting thread (adopt canonical ids, apply
  //    acks: adoption must not race escalation);
  //  - the notification log: exports claims, and deliveries of the last `log_window`
  //    (set_log_window); nothing merges into it (what peers sent is kept by the
  //    cluster's PeerGate);
  //  - silences: route::ReplicatedSilences;
  //  - maintenance windows: route::ReplicatedMaintenance (also what the API creates,
  //    lists and expires windows through; thread-safe, never waits for this engine).
  Replicated<std::vector<PeerIncident>>& incident_replica() { return incident_replica_; }
  Replicated<std::vector<LogEntry>>& log_replica() { return log_replica_; }
  void set_log_window(Duration window) { log_window_ = window; }  // before Start()
  route::ReplicatedSilences* replicated_silences() { return silences_.get(); }
  route::ReplicatedMaintenance* replicated_maintenance() { return maintenance_.get(); }

  // Sends one test notification through `channel` to `contact` (or the channel's own
  // endpoint) synchronously, bypassing the outbox: `firewatchctl test-page`.
  SendResult TestPage(const std::string& channel, const std::string& contact);

 private:
  void AlertingLoop();
  // One pass: takes what was queued, applies it, and (unless `last`) runs RunOnce.
  void Pass(bool last);
  void RunOnce();  // one pass of the pipeline (alerting thread)
  // Applies a submitted alert (alerting thread): routing, and its truth to incidents.
  void Take(const Alert& a);
  // An alert's status reaches the incidents holding it; an incident left with no firing
  // alert resolves now (alerting thread, or Start before the threads run).
  void ObserveTruth(const Alert& a);
  void Reconcile(const StartupState& startup);
  void ResolveUnconfirmed();  // alerts a restart could not vouch for, past their deadline
  // Resolves the group's open incident: persisted, pending triggers cancelled, the
  // resolve notification queued for everyone paged, the route group reset.
  void ResolveIncident(const std::string& group_key, const std::string& why);
  void Escalate(const Incident& inc);
  // Queues a follow-up (`kind` "resolve" or "acknowledge") to everyone paged for `inc`.
  void Announce(const Incident& inc, const std::string& kind);
  // Writes one page a stage asked for to the outbox (rendered for its first channel).
  void Enqueue(const Incident& inc, const PageRequest& page);
  // Whether a due page of `item`'s kind may still go out (its incident's state).
  GateDecision LocalGate(const Notification& n) const;
  void PersistIncident(const Incident& inc);
  void ApplyPeerIncident(const std::string& peer, const PeerIncident& p);
  // Takes the id of `p` (a peer's incident for the group of `local`, this collector's
  // open one) when its origin comes first in the cluster order: the old id's row and
  // pending pages go. False when ours is the canonical one (or nothing was adopted).
  bool AdoptPeerId(const std::string& peer, const PeerIncident& p, const Incident& local);
  // Ack's work (alerting thread, or before the thread runs).
  Result<Incident> AckNow(const std::string& id, const std::string& by);
  // Resolve's work (alerting thread, or before the thread runs).
  Result<Incident> ResolveNow(const std::string& id, const std::string& by,
                              const std::string& comment);
  // Ack and Resolve from any thread: applied here when there is no alerting thread or
  // this is it, else queued for it and waited for.
  Result<Incident> HandOff(const std::string& id, const std::string& by, bool resolve,
                           const std::string& comment) FW_EXCLUDES(mu_);
  // A peer's incident resolved by hand: resolve ours for the same failure.
  void ApplyPeerResolve(const std::string& peer, const PeerIncident& p);
  void SubmitPeerIncidents(const std::string& peer, std::vector<PeerIncident> incidents);
  std::vector<PeerIncident> ExportIncidents() const;
  std::vector<LogEntry> ExportLog() const;
  SendResult SendOn(const std::string& channel, const Notification& n);

  // The configuration in force and the notifiers of its channels (immutable; replaced
  // whole by a reload). A send in flight keeps its snapshot, and so its notifier, alive.
  struct Live {
    AlertingConfig config;
    std::map<std::string, std::shared_ptr<notify::Notifier>> notifiers;
  };
  std::shared_ptr<const Live> Current() const FW_EXCLUDES(ctx_mu_);
  struct ReloadRequest {
    std::shared_ptr<Live> next;
    std::promise<Result<std::vector<std::string>>> done;
  };
  // Reload's work (alerting thread, or before the thread runs).
  std::vector<std::string> ApplyReload(std::shared_ptr<Live> next);
  // The outbox limits of `config` (retry policy, per-contact SMS and per-channel limits).
  void SetOutboxLimits(const AlertingConfig& config);

  const Clock& clock_;
  std::shared_ptr<const Live> live_ FW_GUARDED_BY(ctx_mu_);  // read through Current()
  std::string data_dir_;
  // ack_link changes under ctx_mu_ (SetAckLinkMaker) and is read through MsgCtx(); the
  // other fields are set by the constructor and only read, with or without the lock, so
  // the struct is not FW_GUARDED_BY as a whole.
  MessageContext msg_ctx_;
  mutable Mutex ctx_mu_;
  MessageContext MsgCtx() const FW_EXCLUDES(ctx_mu_);
  IncidentBook incidents_;
  std::unique_ptr<outbox::Outbox> outbox_;
  std::unique_ptr<outbox::Dispatcher> sender_;
  // One sender thread per channel over sender_ (declared after it: destroyed first).
  std::unique_ptr<outbox::SenderPool> senders_;
  std::unique_ptr<route::Inhibitor> inhibitor_;
  // Internally synchronized; its own connection to incidents.db.
  std::unique_ptr<route::ReplicatedSilences> silences_;
  // Maintenance windows: the same, in incidents.db's maintenance table.
  std::unique_ptr<route::ReplicatedMaintenance> maintenance_;
  std::unique_ptr<route::Dispatcher> dispatcher_;
  std::unique_ptr<IncidentStore> incident_db_;
  Duration log_window_ = std::chrono::seconds(60);

  // The engine's replicated pieces, as the cluster sees them.
  class IncidentReplica final : public Replicated<std::vector<PeerIncident>> {
   public:
    explicit IncidentReplica(AlertingEngine& e) : e_(e) {}
    std::vector<PeerIncident> Export() const override { return e_.ExportIncidents(); }
    void Merge(const std::string& peer, std::vector<PeerIncident> part) override {
      e_.SubmitPeerIncidents(peer, std::move(part));
    }

   private:
    AlertingEngine& e_;
  };
  class LogReplica final : public Replicated<std::vector<LogEntry>> {
   public:
    explicit LogReplica(AlertingEngine& e) : e_(e) {}
    std::vector<LogEntry> Export() const override { return e_.ExportLog(); }
    void Merge(const std::string&, std::vector<LogEntry>) override {}

   private:
    AlertingEngine& e_;
  };
  IncidentReplica incident_replica_{*this};
  LogReplica log_replica_{*this};

  mutable Mutex mu_;
  CondVar wake_alerting_;
  std::vector<Alert> pending_alerts_ FW_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, PeerIncident>> pending_peer_incidents_ FW_GUARDED_BY(mu_);
  struct AckRequest {  // an ack, or a resolve by hand
    std::string id, by;
    bool resolve = false;
    std::string comment;  // resolve only
    std::promise<Result<Incident>> done;
  };
  std::vector<std::unique_ptr<AckRequest>> pending_acks_ FW_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<ReloadRequest>> pending_reloads_ FW_GUARDED_BY(mu_);
  // Ack/Resolve/Reload after hand_off_timeout_: true when the alerting thread had not
  // taken the request yet and it is now withdrawn (not applied).
  bool Withdraw(const AckRequest* req) FW_EXCLUDES(mu_);
  bool Withdraw(const ReloadRequest* req) FW_EXCLUDES(mu_);
  ResolvedByHand by_hand_;  // alerts set aside by manual resolves (alerting thread)
  PeerGate* gate_ = nullptr;
  std::chrono::milliseconds hand_off_timeout_ = kHandOffTimeout;
  DeliveryObserver on_delivered_;
  RestartHolds holds_;  // restored incidents' settle times and unconfirmed alerts (alerting thread)
  bool stopping_ FW_GUARDED_BY(mu_) = false;
  bool started_ = false;  // Start() succeeded
  // Set by Start() before any other thread may call in; read by Ack from any thread.
  bool threaded_ = false;
  std::atomic<std::thread::id> alerting_thread_id_{};
  EngineStats stats_ FW_GUARDED_BY(mu_);
  std::thread alerting_thread_;
};

}  // namespace firewatch::alerting
