#include "schedule/escalation.h"

#include <algorithm>
#include <utility>

namespace firewatch::alerting::schedule {
namespace {

void AppendEscaped(std::string& out, std::string_view component) {
  for (char c : component) {
    if (c == '%') {
      out += "%25";
    } else if (c == '/') {
      out += "%2F";
    } else {
      out += c;
    }
  }
}

// Contacts a target stands for at `at`; empty when a schedule names nobody.
std::vector<std::string> ResolveTarget(const std::string& target, const ScheduleSet& schedules,
                                       WallTime at) {
  std::string_view t = target;
  if (t.substr(0, kScheduleTargetPrefix.size()) != kScheduleTargetPrefix) return {target};
  auto it = schedules.find(t.substr(kScheduleTargetPrefix.size()));
  if (it == schedules.end()) return {};
  return OnCallAt(it->second, at);
}

}  // namespace

WallTime StepDueAt(const EscalationPolicy& policy, WallTime started_at, uint32_t round,
                   uint32_t step) {
  Duration cycle{};
  Duration into{};
  for (size_t i = 0; i < policy.steps.size(); ++i) {
    if (i < step) into += policy.steps[i].wait;
    cycle += policy.steps[i].wait;
  }
  return started_at + static_cast<int64_t>(round) * cycle + into;
}

std::optional<std::pair<uint32_t, uint32_t>> RoundAndStepOf(std::string_view key) {
  // The incident id is escaped, so its '/' never splits: fields 2 and 3 are the numbers.
  auto number = [](std::string_view text) -> std::optional<uint32_t> {
    if (text.empty() || text.size() > 9) return std::nullopt;
    uint32_t n = 0;
    for (char c : text) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + static_cast<uint32_t>(c - '0');
    }
    return n;
  };
  const size_t a = key.find('/');
  if (a == std::string_view::npos) return std::nullopt;
  const size_t b = key.find('/', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  const size_t c = key.find('/', b + 1);
  if (c == std::string_view::npos) return std::nullopt;
  auto round = number(key.substr(a + 1, b - a - 1));
  auto step = number(key.substr(b + 1, c - b - 1));
  if (!round || !step) return std::nullopt;
  return std::pair{*round, *step};
}

std::string IdempotencyKey(std::string_view incident_id, uint32_t round, uint32_t step,
                           std::string_view contact, std::string_view channel) {
  std::string key;
  key.reserve(incident_id.size() + contact.size() + channel.size() + 16);
  AppendEscaped(key, incident_id);
  key += '/';
  key += std::to_string(round);
  key += '/';
  key += std::to_string(step);
  key += '/';
  AppendEscaped(key, contact);
  key += '/';
  AppendEscaped(key, channel);
  return key;
}

EscalationPlan Evaluate(const EscalationPolicy& policy, const IncidentState& incident,
                        const ScheduleSet& schedules, WallTime now) {
  EscalationPlan plan;
  std::optional<WallTime> stop = incident.acknowledged_at;
  if (incident.resolved_at && (!stop || *incident.resolved_at < *stop)) {
    stop = incident.resolved_at;
  }
  const auto steps = static_cast<uint32_t>(policy.steps.size());
  for (uint32_t round = 0; round <= policy.repeat; ++round) {
    for (uint32_t s = 0; s < steps; ++s) {
      const WallTime due = StepDueAt(policy, incident.started_at, round, s);
      if (stop && due >= *stop) return plan;  // due times never decrease: all done
      if (due > now) {
        plan.next_due = due;
        return plan;
      }
      const EscalationStep& step = policy.steps[s];
      std::vector<std::string> seen;  // contacts already notified in this step
      for (const std::string& target : step.targets) {
        std::vector<std::string> contacts = ResolveTarget(target, schedules, due);
        if (contacts.empty()) {
          plan.unresolved.push_back(UnresolvedTarget{round, s, target, due});
          continue;
        }
        for (std::string& contact : contacts) {
          if (std::find(seen.begin(), seen.end(), contact) != seen.end()) continue;
          seen.push_back(contact);
          for (const std::string& channel : step.channels) {
            DueNotification n;
            n.round = round;
            n.step = s;
            n.target = target;
            n.contact = contact;
            n.channel = channel;
            n.due = due;
            n.idempotency_key = IdempotencyKey(incident.incident_id, round, s, contact, channel);
            plan.due.push_back(std::move(n));
          }
        }
      }
    }
  }
  return plan;
}

}  // namespace firewatch::alerting::schedule
