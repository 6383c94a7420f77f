// The alerting engine: alerts in, pages out, nothing lost.
//
//   Submit(alert) -> route::Dispatcher (grouping, group_wait/interval/repeat)
//                 -> muted by silences and inhibition rules
//                 -> IncidentBook (one incident per open group; persisted)
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

  // Opens the outbox and incident store under data_dir, restores incidents, starts the
  // threads. Fails naming the file when storage cannot be opened.
  Status Start();
  void Stop();

  // Queues an alert (firing or resolved) for the alerting thread.
  void Submit(Alert alert);
  // Acknowledges an incident: stops its escalation and cancels its pending pages.
  Result<Incident> Ack(const std::string& id, const std::string& by);
  std::vector<Incident> Incidents() const;
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
  void Escalate(const Incident& inc);
  void EnqueueResolve(const Incident& inc);
  void Enqueue(const Incident& inc, const std::string& kind, const std::string& contact,
               const std::string& channel, const std::string& key, int64_t due_ms);
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
  bool stopping_ = false;
  bool sender_kick_ = false;
  EngineStats stats_;
  std::thread alerting_thread_;
  std::thread sender_thread_;
};

}  // namespace firewatch::alerting
