#include "engine/engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/reload.h"
#include "firewatch/crash_point.h"
#include "incident/incident_store.h"
#include "notify/factory.h"
#include "notify/notifier.h"
#include "outbox/dispatcher.h"
#include "outbox/outbox.h"
#include "outbox/sender_pool.h"
#include "route/dispatcher.h"
#include "route/inhibit.h"
#include "route/replicated_maintenance.h"
#include "route/replicated_silences.h"
#include "route/silence.h"
#include "schedule/escalation.h"

namespace firewatch::alerting {

namespace {

bool IsSmsType(const std::string& type) {
  return type == "twilio" || type == "http_sms";
}

int64_t NowMs(const Clock& c) {
  return ToUnixMillis(c.WallNow());
}

int64_t Ms(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// Whether some of `alerts` fire and every firing one started at or before `when_ms`.
bool FiringSince(const std::vector<Alert>& alerts, int64_t when_ms) {
  bool any = false;
  for (const auto& a : alerts) {
    if (a.status != AlertStatus::kFiring) continue;
    if (a.starts_at_ms > when_ms) return false;
    any = true;
  }
  return any;
}

}  // namespace

AlertingEngine::AlertingEngine(const Clock& clock, AlertingConfig config, std::string data_dir,
                               std::string collector_id)
    : clock_(clock), data_dir_(std::move(data_dir)) {
  msg_ctx_.collector_id = std::move(collector_id);
  msg_ctx_.external_url = config.external_url;
  msg_ctx_.runbooks = config.runbooks;
  auto live = std::make_shared<Live>();
  live->config = std::move(config);
  live_ = std::move(live);
}

AlertingEngine::~AlertingEngine() {
  Stop();
}

void AlertingEngine::SetAckLinkMaker(std::function<std::string(const std::string&)> maker) {
  MutexLock lock(ctx_mu_);
  msg_ctx_.ack_link = std::move(maker);
}

MessageContext AlertingEngine::MsgCtx() const {
  MutexLock lock(ctx_mu_);
  return msg_ctx_;
}

std::shared_ptr<const AlertingEngine::Live> AlertingEngine::Current() const {
  MutexLock lock(ctx_mu_);
  return live_;
}

void AlertingEngine::SetOutboxLimits(const AlertingConfig& config) {
  outbox::RetryPolicy retry;
  retry.base = std::chrono::duration_cast<std::chrono::milliseconds>(config.retry_base);
  retry.max_delay = std::chrono::duration_cast<std::chrono::milliseconds>(config.retry_max_delay);
  retry.max_attempts = static_cast<int>(config.max_attempts);
  std::map<std::string, outbox::RateLimit> per_contact, per_channel;
  for (const auto& ch : config.channels) {
    if (IsSmsType(ch.type)) {
      per_contact[ch.name] = outbox::RateLimit{static_cast<int>(config.sms_per_contact_per_hour),
                                               std::chrono::hours(1)};
    }
    if (ch.rate_limit) {
      per_channel[ch.name] = outbox::RateLimit{ch.rate_limit->count, ch.rate_limit->per};
    }
  }
  sender_->SetLimits(retry, {}, std::move(per_contact), std::move(per_channel));
}

Status AlertingEngine::Start(StartupState startup, Threads threads) {
  incident_db_ = std::make_unique<IncidentStore>();
  if (Status s = incident_db_->Open(data_dir_ + "/incidents.db"); !s.ok()) return s;
  auto restored = incident_db_->LoadAll();
  if (!restored.ok()) return restored.status();
  incidents_.Restore(std::move(restored).value());

  outbox::OutboxOptions oopts;
  oopts.clock = &clock_;
  auto ob = outbox::Outbox::Open(data_dir_ + "/outbox.db", oopts);
  if (!ob.ok()) return ob.status();
  outbox_ = std::move(ob).value();
  if (outbox_->recovered_at_open() > 0) {
    spdlog::warn("outbox: {} page(s) were being sent when the collector stopped; retrying them",
                 outbox_->recovered_at_open());
  }
  auto live = std::make_shared<Live>(*Current());
  for (auto& n : notify::MakeNotifiers(live->config.channels, clock_)) {
    std::string name = n->name();
    live->notifiers[name] = std::move(n);
  }
  {
    MutexLock lock(ctx_mu_);
    live_ = live;
  }
  const AlertingConfig& config = live->config;
  outbox::DispatcherOptions dopts;
  dopts.clock = &clock_;
  dopts.retention = std::chrono::duration_cast<std::chrono::milliseconds>(config.outbox_retention);
  dopts.prune_keep = [this] {
    std::vector<std::string> unresolved;
    for (const auto& inc : incidents_.List()) {
      if (inc.state != IncidentState::kResolved) unresolved.push_back(inc.id);
    }
    return unresolved;
  };
  dopts.gate = [this](const outbox::Item& item, int64_t now_ms) {
    // Tests and summaries are this collector's own business.
    if (item.notification.kind == "test" || item.notification.kind == "summary") {
      return GateDecision::Send();
    }
    if (GateDecision local = LocalGate(item.notification);
        local.kind != GateDecision::Kind::kSend) {
      return local;
    }
    return gate_ != nullptr ? gate_->Decide(item.key(), item.due_ms, now_ms) : GateDecision::Send();
  };
  sender_ = std::make_unique<outbox::Dispatcher>(
      *outbox_, [this](const std::string& ch, const Notification& n) { return SendOn(ch, n); },
      std::move(dopts));
  SetOutboxLimits(config);
  std::vector<std::string> channel_names;
  for (const auto& ch : config.channels) channel_names.push_back(ch.name);
  outbox::SenderPoolOptions popts;
  popts.clock = &clock_;
  // Created now (Reconcile's Enqueues kick it: a no-op before Start), started after
  // Reconcile, so nothing is sent before restored incidents are reconciled.
  senders_ = std::make_unique<outbox::SenderPool>(*sender_, std::move(channel_names), popts);
  inhibitor_ = std::make_unique<route::Inhibitor>(config.routing.inhibit_rules);
  silences_ = std::make_unique<route::ReplicatedSilences>(clock_);
  if (Status st = silences_->Open(data_dir_ + "/incidents.db"); !st.ok()) return st;
  maintenance_ = std::make_unique<route::ReplicatedMaintenance>(clock_);
  if (Status st = maintenance_->Open(data_dir_ + "/incidents.db"); !st.ok()) return st;
  dispatcher_ = std::make_unique<route::Dispatcher>(
      *config.routing.route,
      std::vector<const route::Muter*>{inhibitor_.get(), silences_->muter(),
                                       maintenance_->muter()});
  Reconcile(startup);
  started_ = true;
  if (threads == Threads::kManual) return Status::Ok();  // Step() and Deliver() drive it
  threaded_ = true;
  alerting_thread_ = std::thread([this] {
    alerting_thread_id_.store(std::this_thread::get_id());
    AlertingLoop();
  });
  alerting_thread_id_.store(alerting_thread_.get_id());
  // An error (logged by the pool) only means leftover channels could not be listed; the
  // configured channels' senders run regardless.
  (void)senders_->Start();
  return Status::Ok();
}

namespace {
// How far back the start-up sweep re-announces closed incidents: longer than any outage
// of the collector worth planning for (an ack or resolve is written before its
// announcement, so a kill between them followed by a long stop is only finished here),
// shorter than the outbox keeps final rows (alerting.outbox_retention, at least 1 d), so
// a follow-up that was sent is found by its key and never sent twice.
constexpr int64_t kFollowUpSweepMs = 12 * 3600 * 1000;
}  // namespace

void AlertingEngine::Reconcile(const StartupState& startup) {
  const int64_t now_ms = NowMs(clock_);
  std::set<LabelSet> firing;
  for (const auto& a : startup.firing) firing.insert(a.labels);
  size_t restored_open = 0, resolved = 0, held = 0;
  const std::vector<Incident> restored = incidents_.List();
  // Hand-resolved incidents, oldest first (the newest of a group wins): what still fires
  // now stays set aside across the restart, what recovered meanwhile does not.
  for (auto it = restored.rbegin(); it != restored.rend(); ++it) {
    if (it->state != IncidentState::kResolved || it->resolved_by.empty()) continue;
    Incident still = *it;
    for (auto& a : still.alerts) {
      if (!firing.count(a.labels)) a.status = AlertStatus::kResolved;
    }
    by_hand_.Record(still);
  }
  // Incidents with escalation pages still waiting in the outbox. For an acked or resolved
  // one that means a kill came between writing the incident and cancelling its pages
  // (AckNow, ResolveNow): finish that here, before any sender runs.
  std::set<std::string> with_pending_triggers;
  if (auto ids = outbox_->IncidentsWithPending("trigger"); ids.ok()) {
    with_pending_triggers.insert(ids->begin(), ids->end());
  } else {
    spdlog::error("{}", ids.status().message());
  }
  for (const auto& inc : restored) {
    // A page delivered after its incident was resolved or acked is followed up by the
    // sender that delivered it (SendOn); a kill between the delivery and that enqueue
    // would lose the follow-up. Announcing again is idempotent (same keys), so every
    // recently closed incident's follow-ups are planned once more here.
    const int64_t closed_ms = inc.state == IncidentState::kResolved ? inc.resolved_ms
                              : inc.state == IncidentState::kAcked  ? inc.acked_ms
                                                                    : 0;
    const bool cut_off = closed_ms > 0 && with_pending_triggers.count(inc.id) > 0;
    if (cut_off) {
      auto cancelled = outbox_->CancelIncident(inc.id, {"trigger"});
      spdlog::info("incident {} was {} before the stop: {} pending page(s) cancelled now", inc.id,
                   IncidentStateName(inc.state), cancelled.ok() ? *cancelled : 0);
    }
    if (cut_off || (closed_ms > 0 && now_ms - closed_ms < kFollowUpSweepMs)) {
      Announce(inc, inc.state == IncidentState::kResolved ? "resolve" : "acknowledge");
    }
    if (inc.state == IncidentState::kResolved) continue;
    ++restored_open;
    std::vector<LabelSet> unconfirmed;
    for (const auto& a : inc.alerts) {
      if (a.status != AlertStatus::kFiring || firing.count(a.labels)) continue;
      if (startup.vouched_for && startup.vouched_for(a)) {
        Alert recovered = a;  // recovered while the collector was stopped
        recovered.status = AlertStatus::kResolved;
        recovered.ends_at_ms = now_ms;
        incidents_.ObserveAlert(recovered);
      } else {
        unconfirmed.push_back(a.labels);
      }
    }
    auto now_inc = incidents_.Get(inc.id);
    if (now_inc && !AnyFiring(*now_inc)) {
      ResolveIncident(inc.group_key, "recovered while the collector was stopped");
      ++resolved;
      continue;
    }
    if (!unconfirmed.empty()) {
      holds_.HoldUnconfirmed(inc.id, std::move(unconfirmed), now_ms + Ms(startup.confirm_within));
      ++held;
    }
    if (startup.settle > Duration::zero()) holds_.Settle(inc.id, now_ms + Ms(startup.settle));
  }
  // The alerts firing now rebuild their groups before the alerting thread runs.
  const MonoTime mono = clock_.Now();
  for (const auto& a : startup.firing) {
    inhibitor_->Insert(a);
    dispatcher_->Insert(a, mono);
  }
  spdlog::info(
      "alerting: {} channel(s), {} contact(s); {} incident(s) were open: {} still "
      "firing, {} resolved (recovered while stopped), {} held until confirmed",
      Current()->notifiers.size(), Current()->config.contacts.size(), restored_open,
      restored_open - resolved, resolved, held);
}

void AlertingEngine::Stop() {
  {
    MutexLock lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_alerting_.NotifyAll();
  if (senders_) senders_->RequestStop();  // senders and the alerting thread stop together
  if (alerting_thread_.joinable()) {
    alerting_thread_.join();
  } else if (started_) {
    Pass(/*last=*/true);  // manual mode: the last pass, as the thread would run it
  }
  if (senders_) senders_->Stop();  // waits for the sends in flight, each within its timeout
}

void AlertingEngine::Submit(Alert alert) {
  std::vector<Alert> one;
  one.push_back(std::move(alert));
  Submit(std::move(one));
}

void AlertingEngine::Submit(std::vector<Alert> alerts) {
  if (alerts.empty()) return;
  {
    MutexLock lock(mu_);
    if (pending_alerts_.empty()) {
      pending_alerts_ = std::move(alerts);
    } else {
      pending_alerts_.insert(pending_alerts_.end(), std::make_move_iterator(alerts.begin()),
                             std::make_move_iterator(alerts.end()));
    }
  }
  wake_alerting_.NotifyOne();
}

void AlertingEngine::AlertingLoop() {
  for (;;) {
    bool last = false;
    {
      MutexLock lock(mu_);
      wake_alerting_.WaitFor(mu_, std::chrono::milliseconds(250), [this]() FW_REQUIRES(mu_) {
        return stopping_ || !pending_alerts_.empty() || !pending_acks_.empty() ||
               !pending_reloads_.empty();
      });
      last = stopping_;
    }
    Pass(last);
    if (last) break;
  }
}

void AlertingEngine::Step() {
  // Only without the engine's threads: a second pass beside the alerting thread would
  // break "incidents change on one thread" (the ack hand-off relies on it).
  if (!started_ || threaded_) return;
  Pass(/*last=*/false);
}

Result<outbox::ProcessReport> AlertingEngine::Deliver() {
  if (!started_ || threaded_) {
    return Status::InvalidArgument("Deliver() is for an engine started with Threads::kManual");
  }
  return sender_->Process();
}

void AlertingEngine::Pass(bool last) {
  std::vector<Alert> alerts;
  std::vector<std::pair<std::string, PeerIncident>> peer_incidents;
  std::vector<std::unique_ptr<AckRequest>> acks;
  std::vector<std::unique_ptr<ReloadRequest>> reloads;
  {
    MutexLock lock(mu_);
    alerts.swap(pending_alerts_);
    peer_incidents.swap(pending_peer_incidents_);
    acks.swap(pending_acks_);
    reloads.swap(pending_reloads_);
  }
  // A reload first: everything after it in this pass runs under the new config.
  for (auto& req : reloads) {
    try {
      req->done.set_value(ApplyReload(std::move(req->next)));
    } catch (const std::exception& e) {
      req->done.set_value(Status::IoError(std::string("reload failed: ") + e.what()));
    }
  }
  // Acks and resolves first: a page due in this pass must not go out for an incident
  // already acked or resolved.
  for (auto& req : acks) {
    try {
      req->done.set_value(req->resolve ? ResolveNow(req->id, req->by, req->comment)
                                       : AckNow(req->id, req->by));
    } catch (const std::exception& e) {
      req->done.set_value(
          Status::IoError(std::string(req->resolve ? "resolve" : "ack") + " failed: " + e.what()));
    }
  }
  try {
    for (const auto& [peer, p] : peer_incidents) ApplyPeerIncident(peer, p);
    for (const auto& a : alerts) Take(a);
    // Stopping: what was submitted is applied (a recovery resolves its incident and
    // its all-clear is on disk), but no new page is started on the way out.
    if (!last) RunOnce();
  } catch (const std::exception& e) {
    spdlog::error("alerting: pipeline error: {}", e.what());
  }
}

void AlertingEngine::Take(const Alert& a) {
  inhibitor_->Insert(a);
  dispatcher_->Insert(a, clock_.Now());
  if (a.status == AlertStatus::kResolved && by_hand_.size() > 0) {
    // A set-aside alert recovered after a resolve by hand: nobody is told (its incident is
    // closed), and its group starts over, so that its next failure pages after group_wait
    // instead of waiting for the group's timers to notice a change.
    for (const auto& group : by_hand_.ObserveResolved(a.labels)) {
      dispatcher_->Reset(group, clock_.Now());
    }
  }
  ObserveTruth(a);
}

void AlertingEngine::ObserveTruth(const Alert& a) {
  if (a.status == AlertStatus::kFiring) holds_.ObserveFiring(a.labels);
  for (const auto& inc : incidents_.ObserveAlert(a)) {
    if (!AnyFiring(inc)) {
      ResolveIncident(inc.group_key, "every alert recovered");
    } else if (Status s = incident_db_->Put(inc); !s.ok()) {
      spdlog::error("{}", s.message());
    }
  }
}

void AlertingEngine::ResolveUnconfirmed() {
  const int64_t now_ms = NowMs(clock_);
  const auto expired = holds_.TakeExpired(now_ms);
  if (expired.empty()) return;
  spdlog::info("{} alert(s) not confirmed since the restart; taking them as recovered",
               expired.size());
  for (const auto& labels : expired) {
    Alert recovered;
    recovered.labels = labels;
    recovered.status = AlertStatus::kResolved;
    recovered.ends_at_ms = now_ms;
    ObserveTruth(recovered);
  }
}

void AlertingEngine::ResolveIncident(const std::string& group_key, const std::string& why) {
  auto inc = incidents_.Resolve(group_key, NowMs(clock_));
  if (!inc) return;
  holds_.Forget(inc->id);
  auto cancelled = outbox_->CancelIncident(inc->id, {"trigger"});
  // The all-clear is on disk before the incident is written resolved: a kill between the
  // two leaves it open on disk, and the restart's reconciliation resolves it again (same
  // keys, so nothing is sent twice); the other order could lose the all-clear.
  Announce(*inc, "resolve");
  if (Status s = incident_db_->Put(*inc); !s.ok()) spdlog::error("{}", s.message());
  spdlog::info("incident {} resolved ({}); {} pending page(s) cancelled", inc->id, why,
               cancelled.ok() ? *cancelled : 0);
  if (dispatcher_) dispatcher_->Reset(group_key, clock_.Now());
}

void AlertingEngine::RunOnce() {
  const int64_t now_ms = NowMs(clock_);
  const Duration reopen_window = Current()->config.reopen_window;
  if (holds_.held() > 0) ResolveUnconfirmed();
  std::vector<route::GroupNotification> notes;
  std::vector<PeerIncident> peer_acks;  // adopted incidents a peer acked already
  // Adopted incidents a peer resolved by hand already: (peer, its entry).
  std::vector<std::pair<std::string, PeerIncident>> peer_resolves;
  // The silencer is consulted during Tick through its published snapshot: no lock is
  // held while silences are matched, and writers never wait for this.
  notes = dispatcher_->Tick(clock_.Now(), clock_.WallNow());
  for (auto& gn : notes) {
    if (gn.status == route::GroupStatus::kFiring) {
      // Alerts an operator resolved by hand while they fired open nothing until they
      // recover, another alert joins them, or a repeat_interval passed (stages.h).
      if (by_hand_.size() > 0 && !incidents_.OpenFor(gn.group_key) &&
          by_hand_.Holds(gn.group_key, gn.alerts, now_ms, Ms(gn.route->repeat_interval()))) {
        continue;
      }
      // In a cluster, a peer may have opened this group's incident already: take its id,
      // so that every collector pages under one id. Whatever the peer's place in the
      // order: a member later in the order that decided first is still waiting its rank
      // turn, and this collector's page under the same id is one it then skips (a
      // member's own id would be a second page; bench/cluster_dark_bench.py measured two
      // when the last member decided 3.6 s before the first). Incidents opened at about
      // the same time converge on the first member's (AdoptPeerId).
      std::optional<std::pair<std::string, int64_t>> adopt;
      std::string origin = msg_ctx_.collector_id;
      if (gate_ != nullptr && !incidents_.OpenFor(gn.group_key)) {
        if (auto p = gate_->PeerIncidentFor(gn.group_key)) {
          adopt.emplace(p->id, p->started_ms);
          origin = p->origin;
          if (p->state == IncidentState::kAcked) peer_acks.push_back(*p);
        } else if (auto r = gate_->PeerResolvedFor(gn.group_key);
                   r && FiringSince(gn.alerts, r->second.resolved_ms) &&
                   !incidents_.Get(r->second.id)) {
          // A peer's operator resolved this failure by hand before it opened here (its
          // alerts fired here before the resolve): take the id and resolve it at once,
          // as the peer did, so that it sets these alerts aside and pages nobody.
          adopt.emplace(r->second.id, r->second.started_ms);
          origin = r->second.origin;
          peer_resolves.push_back(std::move(*r));
        }
      }
      CrashPoint("routed");
      auto up = incidents_.Upsert(gn.group_key, gn.escalation_policy, gn.group_labels, gn.alerts,
                                  now_ms, origin, adopt, Ms(reopen_window));
      const Incident& inc = up.incident;
      if (Status s = incident_db_->Put(inc); !s.ok()) spdlog::error("{}", s.message());
      CrashPoint("incident_written");
      if (up.kind == UpsertKind::kOpened) {
        spdlog::info("incident {} opened ({} alert(s), policy {})", inc.id, gn.alerts.size(),
                     inc.policy);
      } else if (up.kind == UpsertKind::kReopened) {
        spdlog::warn(
            "incident {} reopened: fired again within {} s of resolving (flap {}); "
            "escalation resumes, contacts already paged are not paged again",
            inc.id, Ms(reopen_window) / 1000, inc.reopened);
      } else if (gn.reason == route::NotifyReason::kChanged) {
        spdlog::info("incident {} updated ({} alert(s))", inc.id, gn.alerts.size());
      }
    } else if (incidents_.OpenFor(gn.group_key)) {
      ResolveIncident(gn.group_key, "the group resolved");
    }
  }
  for (const auto& p : peer_acks) ApplyPeerIncident(p.origin, p);
  for (const auto& [peer, p] : peer_resolves) ApplyPeerResolve(peer, p);
  for (const auto& inc : incidents_.List()) {
    if (inc.state != IncidentState::kResolved) Escalate(inc);
  }
}

void AlertingEngine::ApplyPeerIncident(const std::string& peer, const PeerIncident& p) {
  if (gate_ == nullptr) return;
  if (p.state == IncidentState::kResolved) {
    if (!p.resolved_by.empty()) ApplyPeerResolve(peer, p);
    return;  // a recovery: this collector's own alerts resolve its copy
  }
  auto local = incidents_.OpenFor(p.group_key);
  if (!local) return;  // this collector opens its own when its route fires (and adopts then)
  if (local->id != p.id && !AdoptPeerId(peer, p, *local)) return;  // ours is canonical
  if (p.state == IncidentState::kAcked) {
    auto inc = incidents_.Get(p.id);
    if (inc && inc->state == IncidentState::kOpen) {
      auto acked = AckNow(p.id, p.acked_by + " (on " + peer + ")");
      if (!acked.ok())
        spdlog::warn("replicated ack of {} failed: {}", p.id, acked.status().message());
    }
  }
}

bool AlertingEngine::AdoptPeerId(const std::string& peer, const PeerIncident& p,
                                 const Incident& local) {
  if (!gate_->Precedes(p.origin, local.origin.empty() ? msg_ctx_.collector_id : local.origin)) {
    return false;
  }
  auto old_id = incidents_.Adopt(p.group_key, p.id, p.started_ms, p.origin);
  if (!old_id) return false;
  if (Status s = incident_db_->Delete(*old_id); !s.ok()) spdlog::error("{}", s.message());
  auto cancelled = outbox_->CancelIncident(*old_id, {"trigger", "resolve", "acknowledge"});
  if (auto adopted = incidents_.Get(p.id)) {
    if (Status s = incident_db_->Put(*adopted); !s.ok()) spdlog::error("{}", s.message());
  }
  spdlog::info(
      "incident {} is {} on collector {} (first in the cluster order): adopted; {} "
      "pending page(s) under the old id cancelled",
      *old_id, p.id, peer, cancelled.ok() ? *cancelled : 0);
  return true;
}

void AlertingEngine::ApplyPeerResolve(const std::string& peer, const PeerIncident& p) {
  std::optional<Incident> local = incidents_.Get(p.id);
  if (!local || local->state == IncidentState::kResolved) {
    const bool id_known = local.has_value();
    // Not adopted yet (the operator was quick): the group's incident here is the same
    // failure when it was already open at the resolve. One opened later is a new one.
    local = incidents_.OpenFor(p.group_key);
    if (!local || local->started_ms > p.resolved_ms) return;
    // Take the canonical id first, as a later sync would have: once resolved here, the
    // incident is never adopted again, and the cluster would list one failure under two
    // ids (and a peer's later entries for it would find nothing here).
    if (!id_known && AdoptPeerId(peer, p, *local)) local = incidents_.Get(p.id);
    if (!local) return;
  }
  auto r = ResolveNow(local->id, p.resolved_by + " (on " + peer + ")", p.resolve_comment);
  if (!r.ok()) spdlog::warn("replicated resolve of {} failed: {}", p.id, r.status().message());
}

void AlertingEngine::SubmitPeerIncidents(const std::string& peer,
                                         std::vector<PeerIncident> incidents) {
  if (incidents.empty()) return;
  {
    MutexLock lock(mu_);
    for (auto& p : incidents) pending_peer_incidents_.emplace_back(peer, std::move(p));
  }
  wake_alerting_.NotifyOne();
}

std::vector<PeerIncident> AlertingEngine::ExportIncidents() const {
  const int64_t horizon = NowMs(clock_) - 3600 * 1000;
  std::vector<PeerIncident> out;
  for (const auto& inc : incidents_.List()) {
    if (inc.state == IncidentState::kResolved && inc.resolved_ms < horizon) continue;
    PeerIncident p;
    p.id = inc.id;
    p.group_key = inc.group_key;
    p.origin = inc.origin.empty() ? msg_ctx_.collector_id : inc.origin;
    p.state = inc.state;
    p.started_ms = inc.started_ms;
    p.acked_ms = inc.acked_ms;
    p.acked_by = inc.acked_by;
    if (!inc.resolved_by.empty()) {
      p.resolved_ms = inc.resolved_ms;
      p.resolved_by = inc.resolved_by;
      p.resolve_comment = inc.resolve_comment;
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<LogEntry> AlertingEngine::ExportLog() const {
  std::vector<LogEntry> out;
  if (!outbox_) return out;
  const int64_t now = NowMs(clock_);
  auto rows = outbox_->Log(
      now - std::chrono::duration_cast<std::chrono::milliseconds>(log_window_).count());
  if (!rows.ok()) {
    spdlog::error("outbox: {}", rows.status().message());
    return out;
  }
  for (const auto& r : *rows) {
    LogEntry e;
    e.key = r.key;
    e.state = (r.state == outbox::State::kSent || r.state == outbox::State::kSummarized)
                  ? LogEntry::State::kDelivered
                  : LogEntry::State::kClaimed;
    e.age_ms = std::max<int64_t>(0, now - r.updated_ms);
    e.updated_ms = r.updated_ms;
    out.push_back(std::move(e));
  }
  return out;
}

void AlertingEngine::Escalate(const Incident& inc) {
  // Only firing alerts escalate (PlanEscalation), and restored incidents only once their
  // restart holds allow it.
  if (!AnyFiring(inc) || !holds_.MayEscalate(inc, NowMs(clock_))) return;
  const EscalationOutcome plan = PlanEscalation(inc, Current()->config, clock_.WallNow());
  for (const auto& page : plan.pages) Enqueue(inc, page);
  if (plan.unresolved_targets > 0) {
    MutexLock lock(mu_);
    stats_.unresolved_targets = plan.unresolved_targets;
  }
}

std::vector<PagedContact> AlertingEngine::Paged(const std::string& id) const {
  if (!outbox_) return {};
  auto items = outbox_->ForIncident(id);
  if (!items.ok()) {
    spdlog::error("outbox: {}", items.status().message());
    return {};
  }
  auto attempts = [this](const std::string& key) {
    auto a = outbox_->Attempts(key);
    return a.ok() ? std::move(a).value() : std::vector<outbox::Attempt>{};
  };
  std::function<bool(const std::string&)> peer_handled;
  if (gate_ != nullptr) {
    peer_handled = [this](const std::string& key) { return gate_->PeerHandled(key).has_value(); };
  }
  return PagedFrom(*items, attempts, peer_handled);
}

void AlertingEngine::Announce(const Incident& inc, const std::string& kind) {
  const auto live = Current();
  for (const auto& page : PlanFollowUps(inc, kind, Paged(inc.id), live->config, NowMs(clock_))) {
    Enqueue(inc, page);
  }
}

GateDecision AlertingEngine::LocalGate(const Notification& n) const {
  if (n.kind != "trigger") return GateDecision::Send();
  return DecideLocally(n, incidents_.Get(n.incident_id));
}

void AlertingEngine::Enqueue(const Incident& inc, const PageRequest& page) {
  const std::string& kind = page.kind;
  const std::string& key = page.key;
  const std::vector<std::string>& chain = page.chain;
  const auto live = Current();
  const Contact* c = live->config.FindContact(page.contact);
  const notify::ChannelConfig* ch = chain.empty() ? nullptr : live->config.FindChannel(chain[0]);
  if (c == nullptr || ch == nullptr) {
    // Stages plan only from this config, so this means a reload removed one in between.
    spdlog::warn("page {} not written: {} '{}' is not in the running configuration", key,
                 c == nullptr ? "contact" : "channel", c == nullptr ? page.contact : chain[0]);
    return;
  }
  Notification n;
  n.idempotency_key = key;
  n.incident_id = inc.id;
  n.kind = kind;
  n.contact = page.contact;
  n.address = AddressFor(*c, ch->type);
  n.subject = RenderSubject(inc, kind);
  n.text =
      IsSmsType(ch->type) ? RenderSms(inc, kind, MsgCtx()) : RenderEmailBody(inc, kind, MsgCtx());
  n.alerts = inc.alerts;
  n.group_labels = inc.group_labels;
  auto r = outbox_->Enqueue(n, chain, page.due_ms);
  if (!r.ok()) {
    spdlog::error("outbox: cannot store page {}: {}", key, r.status().message());
    return;
  }
  if (*r == outbox::EnqueueOutcome::kEnqueued) {
    if (kind == "trigger") CrashPoint("enqueued");
    {
      MutexLock lock(mu_);
      ++stats_.notifications_enqueued;
    }
    if (senders_) senders_->Kick(chain[0]);  // the channel it goes out on first
  }
}

SendResult AlertingEngine::SendOn(const std::string& channel, const Notification& n) {
  const auto live = Current();
  auto it = live->notifiers.find(channel);
  if (it == live->notifiers.end()) {
    // Queued before a reload removed the channel: fail over, visibly (docs/configuration.md).
    return SendResult::Permanent("no channel '" + channel + "' in the running configuration");
  }
  const std::string& type = it->second->type();
  Notification out = n;
  // The item may have failed over from another kind of channel: address and text
  // follow the channel actually used.
  if (const Contact* c = live->config.FindContact(n.contact)) out.address = AddressFor(*c, type);
  const auto inc = incidents_.Get(n.incident_id);
  if (inc && (n.kind == "trigger" || n.kind == "resolve" || n.kind == "acknowledge")) {
    out.text = IsSmsType(type) ? RenderSms(*inc, n.kind, MsgCtx())
                               : RenderEmailBody(*inc, n.kind, MsgCtx());
  } else if (IsSmsType(type) && out.text.size() > 1600) {
    out.text.resize(1600);
  }
  SendResult r = it->second->Send(out);
  if (r.ok()) {
    spdlog::info("page {} delivered via {} to {}", n.idempotency_key, channel, n.contact);
    if (on_delivered_) on_delivered_(channel, n);
    // The incident was resolved or acked while this page was on its way: the contact
    // was paged after all, so they hear the follow-up too (keys make this idempotent).
    if (n.kind == "trigger") {
      if (auto now_inc = incidents_.Get(n.incident_id);
          now_inc && now_inc->state != IncidentState::kOpen) {
        const std::string kind =
            now_inc->state == IncidentState::kResolved ? "resolve" : "acknowledge";
        Enqueue(*now_inc, FollowUpTo(*now_inc, kind, n.contact, channel, {channel}, live->config,
                                     NowMs(clock_)));
      }
    }
  } else {
    spdlog::warn("page {} via {} to {} failed ({}): {}", n.idempotency_key, channel, n.contact,
                 r.kind == SendResult::Kind::kRetryable ? "will retry" : "permanent", r.detail);
  }
  return r;
}

Result<Incident> AlertingEngine::Ack(const std::string& id, const std::string& by) {
  return HandOff(id, by, /*resolve=*/false, "");
}

Result<Incident> AlertingEngine::Resolve(const std::string& id, const std::string& by,
                                         const std::string& comment) {
  return HandOff(id, by, /*resolve=*/true, comment);
}

Result<Incident> AlertingEngine::HandOff(const std::string& id, const std::string& by, bool resolve,
                                         const std::string& comment) {
  std::future<Result<Incident>> result;
  const AckRequest* queued = nullptr;
  // No alerting thread (manual mode, not started: nothing else changes incidents), or
  // already on it (a replicated ack or resolve): apply it here. Decided under mu_, done
  // without it (AckNow and ResolveNow take mu_ themselves when they enqueue).
  const bool here = !threaded_ || std::this_thread::get_id() == alerting_thread_id_.load();
  if (here) return resolve ? ResolveNow(id, by, comment) : AckNow(id, by);
  {
    MutexLock lock(mu_);
    if (stopping_) {
      return Status::Unavailable(std::string("the collector is stopping; ") +
                                 (resolve ? "resolve" : "ack") + " again after its restart");
    }
    auto req = std::make_unique<AckRequest>();
    req->id = id;
    req->by = by;
    req->resolve = resolve;
    req->comment = comment;
    result = req->done.get_future();
    queued = req.get();
    pending_acks_.push_back(std::move(req));
  }
  wake_alerting_.NotifyOne();
  // The alerting thread answers every request, also when stopping. A caller (an HTTP
  // worker, an SMS webhook) waits for it at most hand_off_timeout_; a request it has not
  // taken by then is withdrawn, so the answer "not done" is true.
  if (result.wait_for(hand_off_timeout_) != std::future_status::ready &&
      Withdraw(queued)) {
    return Status::Unavailable(std::string("the alerting thread is busy (no answer within ") +
                               std::to_string(hand_off_timeout_.count()) + " ms); nothing changed, " +
                               (resolve ? "resolve" : "ack") + " again");
  }
  return result.get();  // taken: it is being applied now
}

namespace {
template <typename Request>
bool EraseRequest(std::vector<std::unique_ptr<Request>>& queue, const Request* req) {
  auto it = std::find_if(queue.begin(), queue.end(),
                         [req](const std::unique_ptr<Request>& q) { return q.get() == req; });
  if (it == queue.end()) return false;
  queue.erase(it);
  return true;
}
}  // namespace

bool AlertingEngine::Withdraw(const AckRequest* req) {
  MutexLock lock(mu_);
  return EraseRequest(pending_acks_, req);
}

bool AlertingEngine::Withdraw(const ReloadRequest* req) {
  MutexLock lock(mu_);
  return EraseRequest(pending_reloads_, req);
}

Result<std::vector<std::string>> AlertingEngine::Reload(AlertingConfig next) {
  if (!started_) return Status::Unavailable("the alerting engine is not running");
  // Built here, off the alerting thread: MakeNotifier never fails (the config reader
  // validated the channels and read their secret files).
  auto live = std::make_shared<Live>();
  live->config = std::move(next);
  for (auto& n : notify::MakeNotifiers(live->config.channels, clock_)) {
    std::string name = n->name();
    live->notifiers[name] = std::move(n);
  }
  const bool here = !threaded_ || std::this_thread::get_id() == alerting_thread_id_.load();
  if (here) return ApplyReload(std::move(live));
  std::future<Result<std::vector<std::string>>> result;
  const ReloadRequest* queued = nullptr;
  {
    MutexLock lock(mu_);
    if (stopping_) return Status::Unavailable("the collector is stopping");
    auto req = std::make_unique<ReloadRequest>();
    req->next = std::move(live);
    result = req->done.get_future();
    queued = req.get();
    pending_reloads_.push_back(std::move(req));
  }
  wake_alerting_.NotifyOne();
  // Bounded like an ack (the caller is the event loop, on SIGHUP).
  if (result.wait_for(hand_off_timeout_) != std::future_status::ready &&
      Withdraw(queued)) {
    return Status::Unavailable("the alerting thread is busy (no answer within " +
                               std::to_string(hand_off_timeout_.count()) +
                               " ms); nothing was reloaded, send SIGHUP again");
  }
  return result.get();
}

std::vector<std::string> AlertingEngine::ApplyReload(std::shared_ptr<Live> next) {
  const std::shared_ptr<const Live> running = Current();
  std::vector<std::string> lines = DescribeChanges(running->config, next->config);
  for (const auto& key : RestartOnlyChanges(running->config, next->config)) {
    lines.push_back("needs a restart: " + key);
  }
  KeepRestartOnly(running->config, next->config);
  // Incidents in flight whose policy is gone keep it (engine/reload.h); a carried
  // channel keeps its running notifier.
  const CarriedForward carried = CarryForward(running->config, incidents_.List(), next->config);
  for (const auto& ch : carried.channels) {
    if (auto it = running->notifiers.find(ch); it != running->notifiers.end()) {
      next->notifiers[ch] = it->second;
    }
  }
  if (!carried.empty()) {
    auto join = [](const std::vector<std::string>& v) {
      std::string out;
      for (const auto& x : v) out += (out.empty() ? "" : ",") + x;
      return out.empty() ? "-" : out;
    };
    lines.push_back("kept for incidents in flight until they resolve: policies " +
                    join(carried.policies) + ", schedules " + join(carried.schedules) +
                    ", contacts " + join(carried.contacts) + ", channels " +
                    join(carried.channels));
  }
  // The new route tree and inhibition rules, with every firing alert regrouped: a group
  // whose key did not change finds its open incident again (updated, not reopened).
  auto inhibitor = std::make_unique<route::Inhibitor>(next->config.routing.inhibit_rules);
  auto dispatcher = std::make_unique<route::Dispatcher>(
      *next->config.routing.route,
      std::vector<const route::Muter*>{inhibitor.get(), silences_->muter(),
                                       maintenance_->muter()});
  const MonoTime mono = clock_.Now();
  for (const auto& a : dispatcher_->FiringAlerts()) {
    inhibitor->Insert(a);
    dispatcher->Insert(a, mono);
  }
  {
    MutexLock lock(ctx_mu_);
    live_ = next;
    msg_ctx_.runbooks = next->config.runbooks;
  }
  std::swap(dispatcher_, dispatcher);
  std::swap(inhibitor_, inhibitor);
  dispatcher.reset();  // the old dispatcher uses the old inhibitor: destroyed first
  inhibitor.reset();
  SetOutboxLimits(next->config);
  // New channels get their sender now; every sender looks at its queue again (a page
  // queued for a removed channel fails over from there).
  if (senders_) {
    for (const auto& ch : next->config.channels) senders_->Kick(ch.name);
    senders_->Kick();
  }
  if (lines.empty()) lines.push_back("route and channels rebuilt, nothing else changed");
  return lines;
}

Result<Incident> AlertingEngine::AckNow(const std::string& id, const std::string& by) {
  auto inc = incidents_.Ack(id, by, NowMs(clock_));
  if (!inc.ok()) return inc;
  // The ack is on disk first, then its pending pages are cancelled and everyone already
  // paged hears who took it (PagerDuty gets an acknowledge event). A kill anywhere after
  // the write is finished by the restart (Reconcile: a closed incident's pending triggers
  // are cancelled and its announcement planned again), so no later escalation step can go
  // out for an incident somebody took.
  if (Status s = incident_db_->Put(*inc); !s.ok()) spdlog::error("{}", s.message());
  CrashPoint("ack_written");
  auto cancelled = outbox_->CancelIncident(inc->id, {"trigger"});
  if (inc->state == IncidentState::kAcked) Announce(*inc, "acknowledge");
  spdlog::info("incident {} acknowledged by {}; {} pending page(s) cancelled", inc->id, by,
               cancelled.ok() ? *cancelled : 0);
  return inc;
}

Result<Incident> AlertingEngine::ResolveNow(const std::string& id, const std::string& by,
                                            const std::string& comment) {
  auto r = incidents_.ResolveById(id, by, comment, NowMs(clock_));
  if (!r.ok()) return r.status();
  const Incident& inc = r->incident;
  if (!r->changed) return inc;  // resolved already (recovered, or by someone else)
  holds_.Forget(inc.id);
  by_hand_.Record(inc);
  // Written first, as an ack is (AckNow): its alerts still fire, so a restart would not
  // resolve it again by itself; from the write on, Reconcile finishes what a kill cut off.
  if (Status s = incident_db_->Put(inc); !s.ok()) spdlog::error("{}", s.message());
  CrashPoint("resolve_written");
  auto cancelled = outbox_->CancelIncident(inc.id, {"trigger"});
  Announce(inc, "resolve");
  spdlog::info("incident {} resolved by {}{}; {} pending page(s) cancelled{}", inc.id, by,
               comment.empty() ? "" : " (" + comment + ")", cancelled.ok() ? *cancelled : 0,
               AnyFiring(inc) ? "; its alerts still fire and are set aside" : "");
  // The group starts over: its still-firing alerts are held by by_hand_, a new one is new.
  if (dispatcher_) dispatcher_->Reset(inc.group_key, clock_.Now());
  return inc;
}

std::vector<Incident> AlertingEngine::Incidents() const {
  return incidents_.List();
}

Result<std::vector<std::string>> AlertingEngine::PagedContacts(const std::string& id) const {
  const auto inc = incidents_.Get(id);
  if (!inc) return Status::NotFound("no incident " + id);
  std::vector<std::string> out;
  for (const auto& p : Paged(inc->id)) {
    if (std::find(out.begin(), out.end(), p.contact) == out.end()) out.push_back(p.contact);
  }
  return out;
}

Result<std::string> AlertingEngine::SetSilence(route::Silence silence) {
  if (!silences_) return Status::Unavailable("the alerting engine is not running");
  return silences_->Set(std::move(silence));
}

Status AlertingEngine::ExpireSilence(const std::string& id) {
  if (!silences_) return Status::Unavailable("the alerting engine is not running");
  return silences_->Expire(id);
}

std::vector<route::Silence> AlertingEngine::Silences() const {
  return silences_ ? silences_->List() : std::vector<route::Silence>{};
}

EngineStats AlertingEngine::Stats() const {
  EngineStats s;
  {
    MutexLock lock(mu_);
    s = stats_;
  }
  if (silences_) {
    s.silences = silences_->Counts();
    s.silences_refused = silences_->Refused();
  } else {
    s.silences_refused = {{"peer", 0}, {"store", 0}};
  }
  if (maintenance_) {
    s.maintenance = maintenance_->Counts();
    s.maintenance_refused = maintenance_->Refused();
  } else {
    s.maintenance_refused = {{"peer", 0}, {"store", 0}};
  }
  if (outbox_) {
    auto depth = outbox_->DepthByState();
    if (depth.ok()) {
      for (const auto& [state, n] : *depth) {
        s.outbox_depth[std::string(outbox::StateName(state))] = static_cast<uint64_t>(n);
      }
    }
    for (const auto& ch : Current()->config.channels) s.notifications[ch.name] = {0, 0, 0, 0};
    auto counts = outbox_->CountsByChannel();
    if (counts.ok()) {
      for (const auto& [channel, c] : *counts) {
        s.notifications[channel] = {c.delivered, c.retryable, c.permanent, c.interrupted};
      }
    }
  }
  for (auto st : {IncidentState::kOpen, IncidentState::kAcked, IncidentState::kResolved}) {
    s.incidents[std::string(IncidentStateName(st))] = 0;
  }
  for (const auto& inc : incidents_.List())
    ++s.incidents[std::string(IncidentStateName(inc.state))];
  return s;
}

SendResult AlertingEngine::TestPage(const std::string& channel, const std::string& contact) {
  const auto live = Current();
  auto it = live->notifiers.find(channel);
  if (it == live->notifiers.end()) return SendResult::Permanent("no channel '" + channel + "'");
  Notification n;
  n.kind = "test";
  n.incident_id = "TEST";
  n.idempotency_key = "test/" + channel + "/" + std::to_string(NowMs(clock_));
  n.contact = contact;
  if (const Contact* c = live->config.FindContact(contact))
    n.address = AddressFor(*c, it->second->type());
  n.subject = "[TEST] firewatch test page from " + msg_ctx_.collector_id;
  n.text = "This is a test page from firewatch collector " + msg_ctx_.collector_id +
           " through channel " + channel + ". No action needed.";
  return it->second->Send(n);
}

}  // namespace firewatch::alerting
