#include "engine/engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "firewatch/crash_point.h"
#include "incident/incident_store.h"
#include "notify/factory.h"
#include "notify/notifier.h"
#include "outbox/dispatcher.h"
#include "outbox/outbox.h"
#include "outbox/sender_pool.h"
#include "route/dispatcher.h"
#include "route/inhibit.h"
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

}  // namespace

AlertingEngine::AlertingEngine(const Clock& clock, AlertingConfig config, std::string data_dir,
                               std::string collector_id)
    : clock_(clock), config_(std::move(config)), data_dir_(std::move(data_dir)) {
  msg_ctx_.collector_id = std::move(collector_id);
  msg_ctx_.external_url = config_.external_url;
  msg_ctx_.runbooks = config_.runbooks;
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
  for (auto& n : notify::MakeNotifiers(config_.channels, clock_)) {
    std::string name = n->name();
    notifiers_[name] = std::move(n);
  }
  outbox::DispatcherOptions dopts;
  dopts.clock = &clock_;
  dopts.retry.base = std::chrono::duration_cast<std::chrono::milliseconds>(config_.retry_base);
  dopts.retry.max_delay =
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.retry_max_delay);
  dopts.retry.max_attempts = static_cast<int>(config_.max_attempts);
  dopts.retention = std::chrono::duration_cast<std::chrono::milliseconds>(config_.outbox_retention);
  dopts.prune_keep = [this] {
    std::vector<std::string> unresolved;
    for (const auto& inc : incidents_.List()) {
      if (inc.state != IncidentState::kResolved) unresolved.push_back(inc.id);
    }
    return unresolved;
  };
  for (const auto& ch : config_.channels) {
    if (IsSmsType(ch.type)) {
      dopts.per_contact[ch.name] = outbox::RateLimit{
          static_cast<int>(config_.sms_per_contact_per_hour), std::chrono::hours(1)};
    }
    if (ch.rate_limit) {
      dopts.per_channel[ch.name] = outbox::RateLimit{ch.rate_limit->count, ch.rate_limit->per};
    }
  }
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
  std::vector<std::string> channel_names;
  for (const auto& ch : config_.channels) channel_names.push_back(ch.name);
  outbox::SenderPoolOptions popts;
  popts.clock = &clock_;
  // Created now (Reconcile's Enqueues kick it: a no-op before Start), started after
  // Reconcile, so nothing is sent before restored incidents are reconciled.
  senders_ = std::make_unique<outbox::SenderPool>(*sender_, std::move(channel_names), popts);
  inhibitor_ = std::make_unique<route::Inhibitor>(config_.routing.inhibit_rules);
  silences_ = std::make_unique<route::ReplicatedSilences>(clock_);
  if (Status st = silences_->Open(data_dir_ + "/incidents.db"); !st.ok()) return st;
  dispatcher_ = std::make_unique<route::Dispatcher>(
      *config_.routing.route,
      std::vector<const route::Muter*>{inhibitor_.get(), silences_->muter()});
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
// How far back the start-up sweep re-announces closed incidents: longer than any restart,
// shorter than the outbox keeps final rows (alerting.outbox_retention, at least 1 d), so a
// follow-up that was sent is found by its key and never sent twice.
constexpr int64_t kFollowUpSweepMs = 3600 * 1000;
}  // namespace

void AlertingEngine::Reconcile(const StartupState& startup) {
  const int64_t now_ms = NowMs(clock_);
  std::set<LabelSet> firing;
  for (const auto& a : startup.firing) firing.insert(a.labels);
  size_t restored_open = 0, resolved = 0, held = 0;
  for (const auto& inc : incidents_.List()) {
    // A page delivered after its incident was resolved or acked is followed up by the
    // sender that delivered it (SendOn); a kill between the delivery and that enqueue
    // would lose the follow-up. Announcing again is idempotent (same keys), so every
    // recently closed incident's follow-ups are planned once more here.
    const int64_t closed_ms = inc.state == IncidentState::kResolved ? inc.resolved_ms
                              : inc.state == IncidentState::kAcked  ? inc.acked_ms
                                                                    : 0;
    if (closed_ms > 0 && now_ms - closed_ms < kFollowUpSweepMs) {
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
      notifiers_.size(), config_.contacts.size(), restored_open, restored_open - resolved, resolved,
      held);
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
  {
    MutexLock lock(mu_);
    pending_alerts_.push_back(std::move(alert));
  }
  wake_alerting_.NotifyOne();
}

void AlertingEngine::AlertingLoop() {
  for (;;) {
    bool last = false;
    {
      MutexLock lock(mu_);
      wake_alerting_.WaitFor(mu_, std::chrono::milliseconds(250), [this]() FW_REQUIRES(mu_) {
        return stopping_ || !pending_alerts_.empty() || !pending_acks_.empty();
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
  {
    MutexLock lock(mu_);
    alerts.swap(pending_alerts_);
    peer_incidents.swap(pending_peer_incidents_);
    acks.swap(pending_acks_);
  }
  // Acks first: a page due in this pass must not go out for an incident already acked.
  for (auto& req : acks) {
    try {
      req->done.set_value(AckNow(req->id, req->by));
    } catch (const std::exception& e) {
      req->done.set_value(Status::IoError(std::string("ack failed: ") + e.what()));
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
  if (holds_.held() > 0) ResolveUnconfirmed();
  std::vector<route::GroupNotification> notes;
  std::vector<PeerIncident> peer_acks;  // adopted incidents a peer acked already
  // The silencer is consulted during Tick through its published snapshot: no lock is
  // held while silences are matched, and writers never wait for this.
  notes = dispatcher_->Tick(clock_.Now(), clock_.WallNow());
  for (auto& gn : notes) {
    if (gn.status == route::GroupStatus::kFiring) {
      // In a cluster, a peer may have opened this group's incident already: take its id
      // when it comes first in the stable order, so every collector pages under one id.
      std::optional<std::pair<std::string, int64_t>> adopt;
      std::string origin = msg_ctx_.collector_id;
      if (gate_ != nullptr && !incidents_.OpenFor(gn.group_key)) {
        if (auto p = gate_->PeerIncidentFor(gn.group_key);
            p && gate_->Precedes(p->origin, msg_ctx_.collector_id)) {
          adopt.emplace(p->id, p->started_ms);
          origin = p->origin;
          if (p->state == IncidentState::kAcked) peer_acks.push_back(*p);
        }
      }
      CrashPoint("routed");
      auto up = incidents_.Upsert(gn.group_key, gn.escalation_policy, gn.group_labels, gn.alerts,
                                  now_ms, origin, adopt, Ms(config_.reopen_window));
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
            inc.id, Ms(config_.reopen_window) / 1000, inc.reopened);
      } else if (gn.reason == route::NotifyReason::kChanged) {
        spdlog::info("incident {} updated ({} alert(s))", inc.id, gn.alerts.size());
      }
    } else if (incidents_.OpenFor(gn.group_key)) {
      ResolveIncident(gn.group_key, "the group resolved");
    }
  }
  for (const auto& p : peer_acks) ApplyPeerIncident(p.origin, p);
  for (const auto& inc : incidents_.List()) {
    if (inc.state != IncidentState::kResolved) Escalate(inc);
  }
}

void AlertingEngine::ApplyPeerIncident(const std::string& peer, const PeerIncident& p) {
  if (p.state == IncidentState::kResolved || gate_ == nullptr) return;
  auto local = incidents_.OpenFor(p.group_key);
  if (!local) return;  // this collector opens its own when its route fires (and adopts then)
  if (local->id != p.id) {
    if (!gate_->Precedes(p.origin, local->origin.empty() ? msg_ctx_.collector_id : local->origin)) {
      return;  // ours is the canonical one; the peer adopts it
    }
    auto old_id = incidents_.Adopt(p.group_key, p.id, p.started_ms, p.origin);
    if (!old_id) return;
    if (Status s = incident_db_->Delete(*old_id); !s.ok()) spdlog::error("{}", s.message());
    auto cancelled = outbox_->CancelIncident(*old_id, {"trigger", "resolve", "acknowledge"});
    if (auto adopted = incidents_.Get(p.id)) {
      if (Status s = incident_db_->Put(*adopted); !s.ok()) spdlog::error("{}", s.message());
    }
    spdlog::info(
        "incident {} is {} on collector {} (first in the cluster order): adopted; {} "
        "pending page(s) under the old id cancelled",
        *old_id, p.id, peer, cancelled.ok() ? *cancelled : 0);
  }
  if (p.state == IncidentState::kAcked) {
    auto inc = incidents_.Get(p.id);
    if (inc && inc->state == IncidentState::kOpen) {
      auto acked = AckNow(p.id, p.acked_by + " (on " + peer + ")");
      if (!acked.ok())
        spdlog::warn("replicated ack of {} failed: {}", p.id, acked.status().message());
    }
  }
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
    out.push_back(std::move(e));
  }
  return out;
}

void AlertingEngine::Escalate(const Incident& inc) {
  // Only firing alerts escalate (PlanEscalation), and restored incidents only once their
  // restart holds allow it.
  if (!AnyFiring(inc) || !holds_.MayEscalate(inc, NowMs(clock_))) return;
  const EscalationOutcome plan = PlanEscalation(inc, config_, clock_.WallNow());
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
  for (const auto& page : PlanFollowUps(inc, kind, Paged(inc.id), config_, NowMs(clock_))) {
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
  const Contact* c = config_.FindContact(page.contact);
  const notify::ChannelConfig* ch = chain.empty() ? nullptr : config_.FindChannel(chain[0]);
  if (c == nullptr || ch == nullptr) return;
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
  auto it = notifiers_.find(channel);
  if (it == notifiers_.end()) return SendResult::Permanent("no channel '" + channel + "'");
  const std::string& type = it->second->type();
  Notification out = n;
  // The item may have failed over from another kind of channel: address and text
  // follow the channel actually used.
  if (const Contact* c = config_.FindContact(n.contact)) out.address = AddressFor(*c, type);
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
        Enqueue(*now_inc,
                FollowUpTo(*now_inc, kind, n.contact, channel, {channel}, config_, NowMs(clock_)));
      }
    }
  } else {
    spdlog::warn("page {} via {} to {} failed ({}): {}", n.idempotency_key, channel, n.contact,
                 r.kind == SendResult::Kind::kRetryable ? "will retry" : "permanent", r.detail);
  }
  return r;
}

Result<Incident> AlertingEngine::Ack(const std::string& id, const std::string& by) {
  std::future<Result<Incident>> result;
  // No alerting thread (manual mode, not started: nothing else changes incidents), or
  // already on it (a replicated ack): apply it here. Decided under mu_, done without it
  // (AckNow takes mu_ itself when it enqueues).
  const bool here = !threaded_ || std::this_thread::get_id() == alerting_thread_id_.load();
  if (here) return AckNow(id, by);
  {
    MutexLock lock(mu_);
    if (stopping_) {
      return Status::Unavailable("the collector is stopping; ack again after its restart");
    }
    auto req = std::make_unique<AckRequest>();
    req->id = id;
    req->by = by;
    result = req->done.get_future();
    pending_acks_.push_back(std::move(req));
  }
  wake_alerting_.NotifyOne();
  return result.get();  // the alerting thread answers every request, also when stopping
}

Result<Incident> AlertingEngine::AckNow(const std::string& id, const std::string& by) {
  auto inc = incidents_.Ack(id, by, NowMs(clock_));
  if (!inc.ok()) return inc;
  auto cancelled = outbox_->CancelIncident(inc->id, {"trigger"});
  // Everyone already paged hears who took it (PagerDuty gets an acknowledge event). Written
  // before the ack itself, as for resolves: a kill in between loses no announcement (the
  // ack is then not on disk either, and the caller got no answer, so it acks again).
  if (inc->state == IncidentState::kAcked) Announce(*inc, "acknowledge");
  if (Status s = incident_db_->Put(*inc); !s.ok()) spdlog::error("{}", s.message());
  spdlog::info("incident {} acknowledged by {}; {} pending page(s) cancelled", inc->id, by,
               cancelled.ok() ? *cancelled : 0);
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
  if (outbox_) {
    auto depth = outbox_->DepthByState();
    if (depth.ok()) {
      for (const auto& [state, n] : *depth) {
        s.outbox_depth[std::string(outbox::StateName(state))] = static_cast<uint64_t>(n);
      }
    }
    for (const auto& ch : config_.channels) s.notifications[ch.name] = {0, 0, 0, 0};
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
  auto it = notifiers_.find(channel);
  if (it == notifiers_.end()) return SendResult::Permanent("no channel '" + channel + "'");
  Notification n;
  n.kind = "test";
  n.incident_id = "TEST";
  n.idempotency_key = "test/" + channel + "/" + std::to_string(NowMs(clock_));
  n.contact = contact;
  if (const Contact* c = config_.FindContact(contact))
    n.address = AddressFor(*c, it->second->type());
  n.subject = "[TEST] firewatch test page from " + msg_ctx_.collector_id;
  n.text = "This is a test page from firewatch collector " + msg_ctx_.collector_id +
           " through channel " + channel + ". No action needed.";
  return it->second->Send(n);
}

}  // namespace firewatch::alerting
