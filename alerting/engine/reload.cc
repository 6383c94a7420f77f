#include "engine/reload.h"

#include <algorithm>
#include <set>

#include "firewatch/config/yaml_reader.h"

namespace firewatch::alerting {

namespace {

bool SameContact(const Contact& a, const Contact& b) {
  return a.email == b.email && a.phone == b.phone && a.channels == b.channels;
}

bool SamePolicy(const schedule::EscalationPolicy& a, const schedule::EscalationPolicy& b) {
  if (a.repeat != b.repeat || a.steps.size() != b.steps.size()) return false;
  for (size_t i = 0; i < a.steps.size(); ++i) {
    const auto &x = a.steps[i], &y = b.steps[i];
    if (x.targets != y.targets || x.channels != y.channels || x.wait != y.wait) return false;
  }
  return true;
}

// "what: +added -removed ~changed" over two name -> value collections; empty if equal.
// `same` is null when values cannot be compared (only names are).
template <typename Names, typename Same>
std::string Diff(const std::string& what, const Names& before, const Names& after,
                 const Same& same) {
  std::string added, removed, changed;
  for (const auto& [name, value] : after) {
    auto it = before.find(name);
    if (it == before.end()) {
      added += " +" + name;
    } else if (!same(it->second, value)) {
      changed += " ~" + name;
    }
  }
  for (const auto& [name, value] : before) {
    if (!after.count(name)) removed += " -" + name;
  }
  const std::string all = added + removed + changed;
  return all.empty() ? "" : what + ":" + all;
}

template <typename T>
std::map<std::string, const T*> ByName(const std::vector<T>& list) {
  std::map<std::string, const T*> out;
  for (const auto& item : list) out.emplace(item.name, &item);
  return out;
}

bool SameRateLimit(const notify::ChannelConfig* a, const notify::ChannelConfig* b) {
  if (a->rate_limit.has_value() != b->rate_limit.has_value()) return false;
  return !a->rate_limit ||
         (a->rate_limit->count == b->rate_limit->count && a->rate_limit->per == b->rate_limit->per);
}

}  // namespace

std::vector<std::string> DescribeChanges(const AlertingConfig& running,
                                         const AlertingConfig& next) {
  std::vector<std::string> out;
  auto add = [&out](std::string line) {
    if (!line.empty()) out.push_back(std::move(line));
  };
  // Channels are rebuilt whatever changed (their secret files are read again); only a
  // type or rate-limit change is reported as a change.
  add(Diff("channels", ByName(running.channels), ByName(next.channels),
           [](const notify::ChannelConfig* a, const notify::ChannelConfig* b) {
             return a->type == b->type && SameRateLimit(a, b);
           }));
  add(Diff("contacts", ByName(running.contacts), ByName(next.contacts),
           [](const Contact* a, const Contact* b) { return SameContact(*a, *b); }));
  add(Diff("schedules", running.oncall.schedules, next.oncall.schedules,
           [](const auto&, const auto&) { return true; }));
  add(Diff("escalation_policies", running.oncall.escalation_policies,
           next.oncall.escalation_policies,
           [](const auto& a, const auto& b) { return SamePolicy(a, b); }));
  if (running.routing.inhibit_rules.size() != next.routing.inhibit_rules.size()) {
    out.push_back("inhibit_rules: " + std::to_string(running.routing.inhibit_rules.size()) +
                  " -> " + std::to_string(next.routing.inhibit_rules.size()));
  }
  if (running.runbooks != next.runbooks) out.push_back("alerting.runbooks: changed");
  if (running.retry_base != next.retry_base || running.retry_max_delay != next.retry_max_delay ||
      running.max_attempts != next.max_attempts) {
    out.push_back("alerting.retry_base/retry_max_delay/max_attempts: changed");
  }
  if (running.sms_per_contact_per_hour != next.sms_per_contact_per_hour) {
    out.push_back(
        "alerting.sms_per_contact_per_hour: " + std::to_string(running.sms_per_contact_per_hour) +
        " -> " + std::to_string(next.sms_per_contact_per_hour));
  }
  if (running.reopen_window != next.reopen_window) {
    out.push_back("alerting.reopen_window: " + config::FormatDuration(running.reopen_window) +
                  " -> " + config::FormatDuration(next.reopen_window));
  }
  return out;
}

std::vector<std::string> RestartOnlyChanges(const AlertingConfig& running,
                                            const AlertingConfig& next) {
  std::vector<std::string> out;
  if (running.enabled != next.enabled) out.push_back("channels (alerting turned on or off)");
  if (running.external_url != next.external_url) out.push_back("alerting.external_url");
  if (running.twilio_inbound_url != next.twilio_inbound_url) {
    out.push_back("alerting.twilio_inbound_url");
  }
  if (running.outbox_retention != next.outbox_retention) out.push_back("alerting.outbox_retention");
  return out;
}

void KeepRestartOnly(const AlertingConfig& running, AlertingConfig& next) {
  next.enabled = running.enabled;
  next.external_url = running.external_url;
  next.twilio_inbound_url = running.twilio_inbound_url;
  next.outbox_retention = running.outbox_retention;
}

CarriedForward CarryForward(const AlertingConfig& running, const std::vector<Incident>& in_flight,
                            AlertingConfig& next) {
  CarriedForward out;
  std::set<std::string> contacts;  // reached by a carried policy or schedule
  for (const auto& inc : in_flight) {
    if (inc.state == IncidentState::kResolved) continue;
    if (next.oncall.escalation_policies.count(inc.policy)) continue;
    auto pol = running.oncall.escalation_policies.find(inc.policy);
    if (pol == running.oncall.escalation_policies.end()) continue;  // unknown before too
    next.oncall.escalation_policies.emplace(pol->first, pol->second);
    out.policies.push_back(pol->first);
    for (const auto& step : pol->second.steps) {
      for (const auto& target : step.targets) {
        static constexpr std::string_view kSchedule = "schedule:";
        if (target.rfind(kSchedule, 0) != 0) {
          contacts.insert(target);
          continue;
        }
        const std::string name = target.substr(kSchedule.size());
        auto sch = running.oncall.schedules.find(name);
        if (sch == running.oncall.schedules.end()) continue;
        if (next.oncall.schedules.emplace(sch->first, sch->second).second) {
          out.schedules.push_back(name);
        }
        // Everyone the schedule may name (the next config's version if it kept the name).
        const auto& s = next.oncall.schedules.at(name);
        for (const auto& r : s.rotations) contacts.insert(r.members.begin(), r.members.end());
        for (const auto& o : s.overrides) contacts.insert(o.contact);
      }
      // A step's channels are named in the policy itself: each must exist.
      for (const auto& ch : step.channels) {
        if (next.FindChannel(ch) == nullptr) {
          if (const auto* c = running.FindChannel(ch)) {
            next.channels.push_back(*c);
            out.channels.push_back(ch);
          }
        }
      }
    }
  }
  for (const auto& name : contacts) {
    if (next.FindContact(name) != nullptr) continue;
    const Contact* c = running.FindContact(name);
    if (c == nullptr) continue;
    next.contacts.push_back(*c);
    out.contacts.push_back(name);
    for (const auto& ch : c->channels) {
      if (next.FindChannel(ch) == nullptr) {
        if (const auto* cc = running.FindChannel(ch)) {
          next.channels.push_back(*cc);
          out.channels.push_back(ch);
        }
      }
    }
  }
  return out;
}

}  // namespace firewatch::alerting
