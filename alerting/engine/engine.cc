#include "engine/engine.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "notify/factory.h"
#include "notify/notifier.h"
#include "outbox/dispatcher.h"
#include "outbox/outbox.h"
#include "route/dispatcher.h"
#include "route/inhibit.h"
#include "route/silence.h"
#include "schedule/escalation.h"

namespace firewatch::alerting {

namespace {

bool IsSmsType(const std::string& type) { return type == "twilio" || type == "http_sms"; }

int64_t NowMs(const Clock& c) { return ToUnixMillis(c.WallNow()); }

}  // namespace

// Incidents persisted in <data_dir>/incidents.db so that after a restart the same group
// reopens the same incident (same id, same start) and escalation recomputes the same
// idempotency keys.
struct AlertingEngine::IncidentDb {
  sqlite3* db = nullptr;
  ~IncidentDb() {
    if (db) sqlite3_close(db);
  }
  Status Open(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
      return Status::IoError("cannot open " + path + ": " + sqlite3_errmsg(db));
    }
    const char* schema =
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
        "CREATE TABLE IF NOT EXISTS incidents (id TEXT PRIMARY KEY, body TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS silences (id TEXT PRIMARY KEY, body TEXT NOT NULL);";
    char* err = nullptr;
    if (sqlite3_exec(db, schema, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      return Status::IoError(path + ": " + msg);
    }
    return Status::Ok();
  }
  static nlohmann::json ToJson(const Incident& i) {
    nlohmann::json alerts = nlohmann::json::array();
    for (const auto& a : i.alerts) {
      alerts.push_back({{"labels", a.labels},
                        {"annotations", a.annotations},
                        {"starts_at_ms", a.starts_at_ms},
                        {"ends_at_ms", a.ends_at_ms},
                        {"firing", a.status == AlertStatus::kFiring}});
    }
    return {{"id", i.id},
            {"group_key", i.group_key},
            {"origin", i.origin},
            {"policy", i.policy},
            {"group_labels", i.group_labels},
            {"alerts", alerts},
            {"state", static_cast<int>(i.state)},
            {"started_ms", i.started_ms},
            {"acked_ms", i.acked_ms},
            {"acked_by", i.acked_by},
            {"resolved_ms", i.resolved_ms}};
  }
  static Incident FromJson(const nlohmann::json& j) {
    Incident i;
    i.id = j.at("id");
    i.group_key = j.at("group_key");
    i.origin = j.value("origin", "");
    i.policy = j.at("policy");
    i.group_labels = j.at("group_labels").get<LabelSet>();
    for (const auto& a : j.at("alerts")) {
      Alert al;
      al.labels = a.at("labels").get<LabelSet>();
      al.annotations = a.at("annotations").get<LabelSet>();
      al.starts_at_ms = a.at("starts_at_ms");
      al.ends_at_ms = a.at("ends_at_ms");
      al.status = a.at("firing").get<bool>() ? AlertStatus::kFiring : AlertStatus::kResolved;
      i.alerts.push_back(std::move(al));
    }
    i.state = static_cast<IncidentState>(j.at("state").get<int>());
    i.started_ms = j.at("started_ms");
    i.acked_ms = j.at("acked_ms");
    i.acked_by = j.at("acked_by");
    i.resolved_ms = j.at("resolved_ms");
    return i;
  }
  Status Put(const Incident& inc) {
    return PutRow("incidents", inc.id,
                  ToJson(inc).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  void Delete(const std::string& id) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "DELETE FROM incidents WHERE id = ?1", -1, &st, nullptr);
    sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
      spdlog::error("incidents.db: cannot delete adopted incident {}: {}", id, sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
  }
  Status PutRow(const std::string& table, const std::string& id, const std::string& body) {
    sqlite3_stmt* st = nullptr;
    const std::string sql = "INSERT INTO " + table + "(id, body) VALUES(?1, ?2) "
                            "ON CONFLICT(id) DO UPDATE SET body = excluded.body";
    sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
    sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, body.c_str(), -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return Status::IoError(table + ": " + sqlite3_errmsg(db));
    return Status::Ok();
  }
  std::vector<std::string> Bodies(const std::string& table) {
    std::vector<std::string> out;
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, ("SELECT body FROM " + table).c_str(), -1, &st, nullptr);
    while (sqlite3_step(st) == SQLITE_ROW) {
      out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    }
    sqlite3_finalize(st);
    return out;
  }
  Result<std::vector<Incident>> LoadAll() {
    std::vector<Incident> out;
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT body FROM incidents", -1, &st, nullptr);
    while (sqlite3_step(st) == SQLITE_ROW) {
      auto j = nlohmann::json::parse(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                                     nullptr, false);
      if (j.is_discarded()) continue;
      try {
        out.push_back(FromJson(j));
      } catch (const std::exception& e) {
        spdlog::error("incidents.db: skipping unreadable incident: {}", e.what());
      }
    }
    sqlite3_finalize(st);
    return out;
  }
};

AlertingEngine::AlertingEngine(const Clock& clock, AlertingConfig config, std::string data_dir,
                               std::string collector_id)
    : clock_(clock), config_(std::move(config)), data_dir_(std::move(data_dir)) {
  msg_ctx_.collector_id = std::move(collector_id);
  msg_ctx_.external_url = config_.external_url;
  msg_ctx_.runbooks = config_.runbooks;
}

AlertingEngine::~AlertingEngine() { Stop(); }

void AlertingEngine::SetAckLinkMaker(std::function<std::string(const std::string&)> maker) {
  std::lock_guard lock(ctx_mu_);
  msg_ctx_.ack_link = std::move(maker);
}

MessageContext AlertingEngine::MsgCtx() const {
  std::lock_guard lock(ctx_mu_);
  return msg_ctx_;
}

Status AlertingEngine::Start() {
  incident_db_ = std::make_unique<IncidentDb>();
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
  if (gate_ != nullptr) {
    dopts.gate = [this](const outbox::Item& item, int64_t now_ms) {
      // Tests and summaries are this collector's own business.
      if (item.notification.kind == "test" || item.notification.kind == "summary") {
        return GateDecision::Send();
      }
      return gate_->Decide(item.key(), item.due_ms, now_ms);
    };
  }
  sender_ = std::make_unique<outbox::Dispatcher>(
      *outbox_, [this](const std::string& ch, const Notification& n) { return SendOn(ch, n); },
      std::move(dopts));
  inhibitor_ = std::make_unique<route::Inhibitor>(config_.routing.inhibit_rules);
  silencer_ = std::make_unique<route::Silencer>();
  for (const auto& body : incident_db_->Bodies("silences")) {
    auto silence = route::SilenceFromJson(body);
    if (!silence.ok() || !silencer_->Merge(*silence).ok()) {
      spdlog::error("incidents.db: skipping unreadable silence");
    }
  }
  dispatcher_ = std::make_unique<route::Dispatcher>(
      *config_.routing.route,
      std::vector<const route::Muter*>{inhibitor_.get(), silencer_.get()});
  alerting_thread_ = std::thread([this] { AlertingLoop(); });
  sender_thread_ = std::thread([this] { SenderLoop(); });
  spdlog::info("alerting: {} channel(s), {} contact(s), {} open incident(s)", notifiers_.size(),
               config_.contacts.size(), incidents_.List().size());
  return Status::Ok();
}

void AlertingEngine::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_alerting_.notify_all();
  wake_sender_.notify_all();
  if (alerting_thread_.joinable()) alerting_thread_.join();
  if (sender_thread_.joinable()) sender_thread_.join();
}

void AlertingEngine::Submit(Alert alert) {
  {
    std::lock_guard lock(mu_);
    pending_alerts_.push_back(std::move(alert));
  }
  wake_alerting_.notify_one();
}

void AlertingEngine::AlertingLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_alerting_.wait_for(lock, std::chrono::milliseconds(250),
                            [this] { return stopping_ || !pending_alerts_.empty(); });
    if (stopping_) break;
    std::vector<Alert> alerts;
    alerts.swap(pending_alerts_);
    std::vector<std::pair<std::string, PeerIncident>> peer_incidents;
    peer_incidents.swap(pending_peer_incidents_);
    lock.unlock();
    try {
      for (const auto& [peer, p] : peer_incidents) ApplyPeerIncident(peer, p);
      const MonoTime now = clock_.Now();
      for (const auto& a : alerts) {
        inhibitor_->Insert(a);
        dispatcher_->Insert(a, now);
      }
      RunOnce();
    } catch (const std::exception& e) {
      spdlog::error("alerting: pipeline error: {}", e.what());
    }
    lock.lock();
  }
}

void AlertingEngine::RunOnce() {
  const int64_t now_ms = NowMs(clock_);
  std::vector<route::GroupNotification> notes;
  std::vector<PeerIncident> peer_acks;  // adopted incidents a peer acked already
  {
    std::lock_guard silence_lock(silence_mu_);  // the silencer is consulted during Tick
    notes = dispatcher_->Tick(clock_.Now(), clock_.WallNow());
  }
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
      Incident inc = incidents_.Upsert(gn.group_key, gn.escalation_policy, gn.group_labels,
                                       gn.alerts, now_ms, origin, adopt);
      if (Status s = incident_db_->Put(inc); !s.ok()) spdlog::error("{}", s.message());
      spdlog::info("incident {} {} ({} alert(s), policy {})", inc.id,
                   gn.reason == route::NotifyReason::kFirst ? "opened" : "updated",
                   gn.alerts.size(), inc.policy);
    } else if (auto inc = incidents_.Resolve(gn.group_key, now_ms)) {
      inc->alerts = gn.alerts;
      if (Status s = incident_db_->Put(*inc); !s.ok()) spdlog::error("{}", s.message());
      auto cancelled = outbox_->CancelIncident(inc->id, {"trigger"});
      spdlog::info("incident {} resolved; {} pending page(s) cancelled", inc->id,
                   cancelled.ok() ? *cancelled : 0);
      EnqueueResolve(*inc);
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
    incident_db_->Delete(*old_id);
    auto cancelled = outbox_->CancelIncident(*old_id, {"trigger", "resolve", "acknowledge"});
    if (auto adopted = incidents_.Get(p.id)) {
      if (Status s = incident_db_->Put(*adopted); !s.ok()) spdlog::error("{}", s.message());
    }
    spdlog::info("incident {} is {} on collector {} (first in the cluster order): adopted; {} "
                 "pending page(s) under the old id cancelled",
                 *old_id, p.id, peer, cancelled.ok() ? *cancelled : 0);
  }
  if (p.state == IncidentState::kAcked) {
    auto inc = incidents_.Get(p.id);
    if (inc && inc->state == IncidentState::kOpen) {
      auto acked = Ack(p.id, p.acked_by + " (on " + peer + ")");
      if (!acked.ok()) spdlog::warn("replicated ack of {} failed: {}", p.id, acked.status().message());
    }
  }
}

void AlertingEngine::SubmitPeerIncidents(const std::string& peer,
                                         std::vector<PeerIncident> incidents) {
  if (incidents.empty()) return;
  {
    std::lock_guard lock(mu_);
    for (auto& p : incidents) pending_peer_incidents_.emplace_back(peer, std::move(p));
  }
  wake_alerting_.notify_one();
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

std::vector<LogEntry> AlertingEngine::ExportLog(Duration window) const {
  std::vector<LogEntry> out;
  if (!outbox_) return out;
  const int64_t now = NowMs(clock_);
  auto rows = outbox_->Log(now - std::chrono::duration_cast<std::chrono::milliseconds>(window).count());
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

void AlertingEngine::MergeSilences(const std::vector<route::Silence>& silences) {
  std::lock_guard lock(silence_mu_);
  for (const auto& s : silences) {
    auto changed = silencer_->Merge(s);
    if (!changed.ok()) {
      spdlog::warn("peer silence {} not merged: {}", s.id, changed.status().message());
    } else if (*changed) {
      PersistSilence(s);
      spdlog::info("silence {} replicated from a peer", s.id);
    }
  }
}

void AlertingEngine::Escalate(const Incident& inc) {
  auto pol = config_.oncall.escalation_policies.find(inc.policy);
  if (pol == config_.oncall.escalation_policies.end()) return;
  schedule::IncidentState st;
  st.incident_id = inc.id;
  st.started_at = FromUnixMillis(inc.started_ms);
  if (inc.state == IncidentState::kAcked) st.acknowledged_at = FromUnixMillis(inc.acked_ms);
  auto plan = schedule::Evaluate(pol->second, st, config_.oncall.schedules, clock_.WallNow());
  for (const auto& d : plan.due) {
    Enqueue(inc, "trigger", d.contact, d.channel, d.idempotency_key, ToUnixMillis(d.due));
  }
  if (!plan.unresolved.empty()) {
    std::lock_guard lock(mu_);
    stats_.unresolved_targets = plan.unresolved.size();
  }
}

void AlertingEngine::EnqueueResolve(const Incident& inc) {
  auto pol = config_.oncall.escalation_policies.find(inc.policy);
  if (pol == config_.oncall.escalation_policies.end() || pol->second.steps.empty()) return;
  // Everyone the first step pages hears that it is over.
  schedule::IncidentState st;
  st.incident_id = inc.id;
  st.started_at = FromUnixMillis(inc.started_ms);
  auto plan = schedule::Evaluate(pol->second, st, config_.oncall.schedules,
                                 FromUnixMillis(inc.started_ms));
  for (const auto& d : plan.due) {
    if (d.round != 0 || d.step != 0) continue;
    Enqueue(inc, "resolve", d.contact, d.channel,
            inc.id + "/resolve/" + d.contact + "/" + d.channel, NowMs(clock_));
  }
}

void AlertingEngine::Enqueue(const Incident& inc, const std::string& kind,
                             const std::string& contact, const std::string& channel,
                             const std::string& key, int64_t due_ms) {
  const Contact* c = config_.FindContact(contact);
  const notify::ChannelConfig* ch = config_.FindChannel(channel);
  if (c == nullptr || ch == nullptr) return;
  Notification n;
  n.idempotency_key = key;
  n.incident_id = inc.id;
  n.kind = kind;
  n.contact = contact;
  n.address = AddressFor(*c, ch->type);
  n.subject = RenderSubject(inc, kind);
  n.text = IsSmsType(ch->type) ? RenderSms(inc, kind, MsgCtx()) : RenderEmailBody(inc, kind, MsgCtx());
  n.alerts = inc.alerts;
  n.group_labels = inc.group_labels;
  std::vector<std::string> chain{channel};
  for (const auto& other : c->channels) {
    if (other != channel) chain.push_back(other);
  }
  auto r = outbox_->Enqueue(n, chain, due_ms);
  if (!r.ok()) {
    spdlog::error("outbox: cannot store page {}: {}", key, r.status().message());
    return;
  }
  if (*r == outbox::EnqueueOutcome::kEnqueued) {
    {
      std::lock_guard lock(mu_);
      ++stats_.notifications_enqueued;
      sender_kick_ = true;
    }
    wake_sender_.notify_one();
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
  if (auto inc = incidents_.Get(n.incident_id); inc && (n.kind == "trigger" || n.kind == "resolve")) {
    out.text = IsSmsType(type) ? RenderSms(*inc, n.kind, MsgCtx())
                               : RenderEmailBody(*inc, n.kind, MsgCtx());
  } else if (IsSmsType(type) && out.text.size() > 1600) {
    out.text.resize(1600);
  }
  SendResult r = it->second->Send(out);
  if (r.ok()) {
    spdlog::info("page {} delivered via {} to {}", n.idempotency_key, channel, n.contact);
  } else {
    spdlog::warn("page {} via {} to {} failed ({}): {}", n.idempotency_key, channel, n.contact,
                 r.kind == SendResult::Kind::kRetryable ? "will retry" : "permanent", r.detail);
  }
  return r;
}

void AlertingEngine::SenderLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_sender_.wait_for(lock, std::chrono::seconds(1),
                          [this] { return stopping_ || sender_kick_; });
    if (stopping_) break;
    sender_kick_ = false;
    lock.unlock();
    auto report = sender_->Process();
    if (!report.ok()) spdlog::error("outbox: {}", report.status().message());
    lock.lock();
    if (report.ok() && report->next_due_ms &&
        *report->next_due_ms <= NowMs(clock_)) {
      sender_kick_ = true;  // more is due already (batch limit)
    }
  }
}

Result<Incident> AlertingEngine::Ack(const std::string& id, const std::string& by) {
  auto inc = incidents_.Ack(id, by, NowMs(clock_));
  if (!inc.ok()) return inc;
  if (Status s = incident_db_->Put(*inc); !s.ok()) spdlog::error("{}", s.message());
  auto cancelled = outbox_->CancelIncident(inc->id, {"trigger"});
  spdlog::info("incident {} acknowledged by {}; {} pending page(s) cancelled", inc->id, by,
               cancelled.ok() ? *cancelled : 0);
  // Tools with their own incident state (PagerDuty) hear about the ack too.
  auto pol = config_.oncall.escalation_policies.find(inc->policy);
  if (pol != config_.oncall.escalation_policies.end()) {
    schedule::IncidentState st;
    st.incident_id = inc->id;
    st.started_at = FromUnixMillis(inc->started_ms);
    auto plan = schedule::Evaluate(pol->second, st, config_.oncall.schedules,
                                   FromUnixMillis(inc->acked_ms));
    for (const auto& d : plan.due) {
      const notify::ChannelConfig* ch = config_.FindChannel(d.channel);
      if (ch == nullptr || ch->type != "pagerduty") continue;
      Enqueue(*inc, "acknowledge", d.contact, d.channel,
              inc->id + "/acknowledge/" + d.contact + "/" + d.channel, NowMs(clock_));
    }
  }
  return inc;
}

std::vector<Incident> AlertingEngine::Incidents() const { return incidents_.List(); }

void AlertingEngine::PersistSilence(const route::Silence& s) {
  if (Status st = incident_db_->PutRow("silences", s.id, route::SilenceToJson(s)); !st.ok()) {
    spdlog::error("{}", st.message());
  }
}

Result<std::string> AlertingEngine::SetSilence(route::Silence silence) {
  std::lock_guard lock(silence_mu_);
  auto id = silencer_->Set(std::move(silence), clock_.WallNow());
  if (!id.ok()) return id;
  // Set may have expired an older version and created a new one: persist them all.
  for (const auto& s : silencer_->List()) PersistSilence(s);
  spdlog::info("silence {} set", *id);
  return id;
}

Status AlertingEngine::ExpireSilence(const std::string& id) {
  std::lock_guard lock(silence_mu_);
  Status st = silencer_->Expire(id, clock_.WallNow());
  if (!st.ok()) return st;
  if (auto s = silencer_->Get(id); s.ok()) PersistSilence(*s);
  spdlog::info("silence {} expired", id);
  return Status::Ok();
}

std::vector<route::Silence> AlertingEngine::Silences() const {
  std::lock_guard lock(silence_mu_);
  return silencer_->List();
}

EngineStats AlertingEngine::Stats() const {
  EngineStats s;
  {
    std::lock_guard lock(mu_);
    s = stats_;
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
  for (const auto& inc : incidents_.List()) ++s.incidents[std::string(IncidentStateName(inc.state))];
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
  if (const Contact* c = config_.FindContact(contact)) n.address = AddressFor(*c, it->second->type());
  n.subject = "[TEST] firewatch test page from " + msg_ctx_.collector_id;
  n.text = "This is a test page from firewatch collector " + msg_ctx_.collector_id +
           " through channel " + channel + ". No action needed.";
  return it->second->Send(n);
}

}  // namespace firewatch::alerting
