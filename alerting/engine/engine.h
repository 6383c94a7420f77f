// The alerting engine: alerts in, pages out, nothing lost.
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
// Threads: the "alerting" thread owns the route dispatcher, inhibitor and silencer and
// runs the pipeline up to Enqueue; the "outbox sender" thread runs the outbox dispatcher
// (it blocks in notifiers). Submit/Ack/Incidents may be called from any thread.
#pragma once

#include <array>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/alerting_config.h"
#include "engine/message.h"
#include "engine/peer_gate.h"
#include "firewatch/clock.h"
#include "firewatch/status.h"
#include "incident/incident.h"
#include "model/alert.h"

namespace firewatch::alerting {

namespace outbox {
class Outbox;
class Dispatcher;
}  // namespace outbox
namespace notify {
class Notifier;
}
namespace route {
class Dispatcher;
class Inhibitor;
class Silencer;
struct Silence;
}  // namespace route

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
};

class AlertingEngine {
 public:
  AlertingEngine(const Clock& clock, AlertingConfig config, std::string data_dir,
                 std::string collector_id);
  ~AlertingEngine();  // stops both threads

  // Opens the outbox and incident store under data_dir, restores incidents, reconciles
  // every restored open incident with `startup` (resolving what recovered while stopped,
  // and sending its resolve notifications), then starts the threads. Fails naming the
  // file when storage cannot be opened.
  Status Start(StartupState startup = {});
  // Processes the alerts already submitted (a recovery observed before a stop resolves
  // its incident and writes its resolve notifications to the outbox), then stops both
  // threads. Pages not yet sent stay in the outbox for the next start.
  void Stop();

  // Queues an alert (firing or resolved) for the alerting thread.
  void Submit(Alert alert);
  // Acknowledges an incident: stops its escalation, cancels its pending pages, and tells
  // everyone already paged for it (on the channels they were paged on) who acked it.
  Result<Incident> Ack(const std::string& id, const std::string& by);
  std::vector<Incident> Incidents() const;
  // The contacts who were paged for incident `id` (case-insensitive, as Ack): those with
  // a trigger page that went out from here, was covered by a summary, or was delivered
  // by a peer collector (the same rule as who hears RESOLVED and ACKED). NotFound for an
  // unknown id. Thread-safe (reads the outbox).
  Result<std::vector<std::string>> PagedContacts(const std::string& id) const;
  // Sets the maker of signed ack links rendered into emails (thread-safe; may be called
  // after Start()). See collector/app/ack_links.h.
  void SetAckLinkMaker(std::function<std::string(const std::string& incident_id)> maker);
  EngineStats Stats() const;

  // Silences (Alertmanager semantics, route/silence.h). Persisted in incidents.db; every
  // call is thread-safe. Set creates (empty id) or changes one and returns its id.
  Result<std::string> SetSilence(route::Silence silence);
  Status ExpireSilence(const std::string& id);
  std::vector<route::Silence> Silences() const;

  // ---- cluster (docs/cluster.md); standalone collectors never call these ----
  // Before Start(): consulted before every send (dedup) and when an incident opens
  // (adopt a peer's canonical id). Must outlive the engine.
  void SetPeerGate(PeerGate* gate) { gate_ = gate; }
  // Incidents to replicate: unresolved ones and those resolved in the last hour.
  std::vector<PeerIncident> ExportIncidents() const;
  // This collector's notification log: claims, and deliveries of the last `window`.
  std::vector<LogEntry> ExportLog(Duration window) const;
  // Incidents a peer sent: adopt canonical ids, apply acks. Queued for the alerting
  // thread (adoption must not race escalation).
  void SubmitPeerIncidents(const std::string& peer, std::vector<PeerIncident> incidents);
  // Silences a peer sent; the newest version of each wins and is persisted here.
  void MergeSilences(const std::vector<route::Silence>& silences);

  // Sends one test notification through `channel` to `contact` (or the channel's own
  // endpoint) synchronously, bypassing the outbox: `firewatchctl test-page`.
  SendResult TestPage(const std::string& channel, const std::string& contact);

 private:
  void AlertingLoop();
  void SenderLoop();
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
  // Who was paged for an incident: (contact, channel) pairs of trigger pages that went
  // out (delivered here, covered by a summary, or delivered by a peer collector).
  std::vector<std::pair<std::string, std::string>> PagedRecipients(const std::string& id) const;
  void AnnounceTo(const Incident& inc, const std::string& kind, const std::string& contact,
                  const std::string& channel, const std::vector<std::string>& also_paged_on);
  // Writes one notification to the outbox; `chain` is the channel failover order.
  void Enqueue(const Incident& inc, const std::string& kind, const std::string& contact,
               const std::vector<std::string>& chain, const std::string& key, int64_t due_ms);
  // Whether a due page of `item`'s kind may still go out (its incident's state).
  GateDecision LocalGate(const Notification& n) const;
  void PersistIncident(const Incident& inc);
  void ApplyPeerIncident(const std::string& peer, const PeerIncident& p);
  void PersistSilence(const route::Silence& s);
  SendResult SendOn(const std::string& channel, const Notification& n);

  const Clock& clock_;
  AlertingConfig config_;
  std::string data_dir_;
  MessageContext msg_ctx_;  // guarded by ctx_mu_; read through MsgCtx()
  mutable std::mutex ctx_mu_;
  MessageContext MsgCtx() const;
  IncidentBook incidents_;
  std::unique_ptr<outbox::Outbox> outbox_;
  std::unique_ptr<outbox::Dispatcher> sender_;
  std::map<std::string, std::unique_ptr<notify::Notifier>> notifiers_;
  std::unique_ptr<route::Inhibitor> inhibitor_;
  std::unique_ptr<route::Silencer> silencer_;  // guarded by silence_mu_
  mutable std::mutex silence_mu_;
  std::unique_ptr<route::Dispatcher> dispatcher_;
  struct IncidentDb;
  std::unique_ptr<IncidentDb> incident_db_;

  mutable std::mutex mu_;
  std::condition_variable wake_alerting_;
  std::condition_variable wake_sender_;
  std::vector<Alert> pending_alerts_;
  std::vector<std::pair<std::string, PeerIncident>> pending_peer_incidents_;
  PeerGate* gate_ = nullptr;
  // Restored incidents with alerts a restart could not vouch for (alerting thread only):
  // id -> (deadline Unix ms, labels of the alerts still unconfirmed).
  struct Unconfirmed {
    int64_t deadline_ms = 0;
    std::vector<LabelSet> alerts;
  };
  std::map<std::string, Unconfirmed> unconfirmed_;
  std::map<std::string, int64_t> settling_;  // restored incident id -> no escalation before
  bool stopping_ = false;
  bool sender_kick_ = false;
  EngineStats stats_;
  std::thread alerting_thread_;
  std::thread sender_thread_;
};

}  // namespace firewatch::alerting
