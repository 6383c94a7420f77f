#include "engine/stages.h"

#include <algorithm>

#include "schedule/escalation.h"

namespace firewatch::alerting {

namespace {

// The contact's other channels after `first`, minus `exclude`: a failover chain.
std::vector<std::string> ChainFrom(const AlertingConfig& config, const std::string& contact,
                                   const std::string& first,
                                   const std::function<bool(const std::string&)>& exclude) {
  std::vector<std::string> chain{first};
  if (const Contact* c = config.FindContact(contact)) {
    for (const auto& other : c->channels) {
      if (!exclude(other) && std::find(chain.begin(), chain.end(), other) == chain.end()) {
        chain.push_back(other);
      }
    }
  }
  return chain;
}

// The key of a follow-up to one recipient. A reopened incident resolves again under a new
// key, so its second all-clear is not taken for the first.
std::string FollowUpKey(const Incident& inc, const std::string& kind, const std::string& contact,
                        const std::string& channel) {
  std::string key = inc.id + "/" + kind + "/";
  if (inc.reopened > 0) key += "r" + std::to_string(inc.reopened) + "/";
  return key + contact + "/" + channel;
}

}  // namespace

EscalationOutcome PlanEscalation(const Incident& inc, const AlertingConfig& config, WallTime now) {
  EscalationOutcome out;
  if (inc.state == IncidentState::kResolved || !AnyFiring(inc)) return out;
  auto pol = config.oncall.escalation_policies.find(inc.policy);
  if (pol == config.oncall.escalation_policies.end()) return out;
  schedule::IncidentState st;
  st.incident_id = inc.id;
  st.started_at = FromUnixMillis(inc.started_ms);
  if (inc.state == IncidentState::kAcked) st.acknowledged_at = FromUnixMillis(inc.acked_ms);
  auto plan = schedule::Evaluate(pol->second, st, config.oncall.schedules, now);
  for (const auto& d : plan.due) {
    auto in_step = [&](const std::string& other) {
      return std::any_of(plan.due.begin(), plan.due.end(), [&](const auto& e) {
        return e.round == d.round && e.step == d.step && e.contact == d.contact &&
               e.channel == other;
      });
    };
    out.pages.push_back(PageRequest{"trigger", d.contact,
                                    ChainFrom(config, d.contact, d.channel, in_step),
                                    d.idempotency_key, ToUnixMillis(d.due)});
  }
  out.unresolved_targets = plan.unresolved.size();
  return out;
}

void RestartHolds::Settle(const std::string& incident_id, int64_t until_ms) {
  settling_[incident_id] = until_ms;
}

void RestartHolds::HoldUnconfirmed(const std::string& incident_id, std::vector<LabelSet> alerts,
                                   int64_t deadline_ms) {
  if (alerts.empty()) return;
  unconfirmed_[incident_id] = Unconfirmed{deadline_ms, std::move(alerts)};
}

bool RestartHolds::MayEscalate(const Incident& inc, int64_t now_ms) {
  if (auto s = settling_.find(inc.id); s != settling_.end()) {
    if (now_ms < s->second) return false;
    settling_.erase(s);
  }
  auto u = unconfirmed_.find(inc.id);
  if (u == unconfirmed_.end()) return true;
  // Held while every firing alert is one the restart could not vouch for.
  return std::any_of(inc.alerts.begin(), inc.alerts.end(), [&](const Alert& a) {
    return a.status == AlertStatus::kFiring &&
           std::find(u->second.alerts.begin(), u->second.alerts.end(), a.labels) ==
               u->second.alerts.end();
  });
}

void RestartHolds::ObserveFiring(const LabelSet& labels) {
  for (auto it = unconfirmed_.begin(); it != unconfirmed_.end();) {
    std::erase(it->second.alerts, labels);
    it = it->second.alerts.empty() ? unconfirmed_.erase(it) : std::next(it);
  }
}

std::vector<LabelSet> RestartHolds::TakeExpired(int64_t now_ms) {
  std::vector<LabelSet> out;
  for (auto it = unconfirmed_.begin(); it != unconfirmed_.end();) {
    if (it->second.deadline_ms > now_ms) {
      ++it;
      continue;
    }
    for (auto& labels : it->second.alerts) out.push_back(std::move(labels));
    it = unconfirmed_.erase(it);
  }
  return out;
}

void RestartHolds::Forget(const std::string& incident_id) {
  unconfirmed_.erase(incident_id);
  settling_.erase(incident_id);
}

std::vector<PagedContact> PagedFrom(
    const std::vector<outbox::Item>& items,
    const std::function<std::vector<outbox::Attempt>(const std::string& key)>& attempts,
    const std::function<bool(const std::string& key)>& peer_handled) {
  std::vector<PagedContact> out;
  for (const auto& item : items) {
    if (item.notification.kind != "trigger") continue;
    const bool went_out = item.state == outbox::State::kSent ||
                          item.state == outbox::State::kSummarized ||
                          (item.state == outbox::State::kCancelled &&
                           item.detail.starts_with(outbox::kDeliveredByPeer));
    std::vector<std::pair<std::string, int64_t>> channels;  // (channel, when)
    if (went_out && !item.channel().empty()) {
      channels.emplace_back(item.channel(), item.updated_ms);
    } else if (!went_out && !item.channel().empty() && peer_handled && peer_handled(item.key())) {
      // A peer delivered (or was sending) this page before our copy was gated, and our
      // copy was then held or dropped (the incident resolved): the contact was paged.
      channels.emplace_back(item.channel(), item.updated_ms);
    } else if (!went_out && attempts) {
      // A send whose outcome is unknown (the collector died during it, then the item was
      // retried, cancelled or failed) may have reached the contact: count it as paged so
      // that the all-clear reaches them too (duplicates beat silence).
      for (const auto& at : attempts(item.key())) {
        if (at.result == outbox::AttemptResult::kInterrupted)
          channels.emplace_back(at.channel, at.at_ms);
      }
    }
    if (channels.empty()) continue;
    const auto [round, step] =
        schedule::RoundAndStepOf(item.key()).value_or(std::pair<uint32_t, uint32_t>{0, 0});
    for (const auto& [channel, at_ms] : channels) {
      out.push_back(PagedContact{item.notification.contact, channel, round, step, at_ms});
    }
  }
  return out;
}

PageRequest FollowUpTo(const Incident& inc, const std::string& kind, const std::string& contact,
                       const std::string& channel, const std::vector<std::string>& also_paged_on,
                       const AlertingConfig& config, int64_t now_ms) {
  auto paged_there = [&](const std::string& other) {
    return std::find(also_paged_on.begin(), also_paged_on.end(), other) != also_paged_on.end();
  };
  return PageRequest{kind, contact, ChainFrom(config, contact, channel, paged_there),
                     FollowUpKey(inc, kind, contact, channel), now_ms};
}

std::vector<PageRequest> PlanFollowUps(const Incident& inc, const std::string& kind,
                                       const std::vector<PagedContact>& paged,
                                       const AlertingConfig& config, int64_t now_ms) {
  std::vector<std::pair<std::string, std::string>> recipients;  // (contact, channel), once each
  for (const auto& p : paged) {
    std::pair<std::string, std::string> who(p.contact, p.channel);
    if (std::find(recipients.begin(), recipients.end(), who) == recipients.end()) {
      recipients.push_back(std::move(who));
    }
  }
  std::vector<PageRequest> out;
  for (const auto& [contact, channel] : recipients) {
    std::vector<std::string> also;
    for (const auto& [c2, ch2] : recipients) {
      if (c2 == contact) also.push_back(ch2);
    }
    out.push_back(FollowUpTo(inc, kind, contact, channel, also, config, now_ms));
  }
  return out;
}

GateDecision DecideLocally(const Notification& n, const std::optional<Incident>& inc) {
  if (n.kind != "trigger" || !inc) return GateDecision::Send();  // unknown here: fail open
  if (inc->state == IncidentState::kResolved) return GateDecision::Skip("incident resolved");
  if (inc->state == IncidentState::kAcked) return GateDecision::Skip("incident acknowledged");
  return GateDecision::Send();
}

void ResolvedByHand::Record(const Incident& inc) {
  SetAside entry;
  entry.resolved_ms = inc.resolved_ms;
  for (const auto& a : inc.alerts) {
    if (a.status == AlertStatus::kFiring) entry.alerts.push_back(a.labels);
  }
  if (entry.alerts.empty()) {
    groups_.erase(inc.group_key);  // nothing fires: the next failure is simply new
    return;
  }
  groups_[inc.group_key] = std::move(entry);
}

std::vector<std::string> ResolvedByHand::ObserveResolved(const LabelSet& labels) {
  std::vector<std::string> held;
  for (auto it = groups_.begin(); it != groups_.end();) {
    if (std::erase(it->second.alerts, labels) > 0) held.push_back(it->first);
    it = it->second.alerts.empty() ? groups_.erase(it) : std::next(it);
  }
  return held;
}

bool ResolvedByHand::Holds(const std::string& group_key, const std::vector<Alert>& alerts,
                           int64_t now_ms, int64_t repeat_interval_ms) {
  auto it = groups_.find(group_key);
  if (it == groups_.end()) return false;
  const SetAside& entry = it->second;
  const bool reminder_due = now_ms - entry.resolved_ms >= repeat_interval_ms;
  const bool all_set_aside = std::all_of(alerts.begin(), alerts.end(), [&](const Alert& a) {
    return a.status != AlertStatus::kFiring ||
           std::find(entry.alerts.begin(), entry.alerts.end(), a.labels) != entry.alerts.end();
  });
  if (all_set_aside && !reminder_due) return true;
  groups_.erase(it);
  return false;
}

}  // namespace firewatch::alerting
