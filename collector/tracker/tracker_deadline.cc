// Deadline sources in the tracker (tracker/deadline.h has the state rules).
#include <algorithm>
#include <cstdio>

#include "firewatch/text/rfc3339.h"
#include "tracker/tracker.h"
#include "tracker/tracker_entry.h"

namespace firewatch::collector {

namespace {

std::string Secs(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  return buf;
}

// A transition the tracker reports without a state change of its own (SetState does
// those): a new source's first ping, or a DOWN -> DOWN change of the failure report.
Transition Notice(const std::string& id, const LabelBlob& labels, SourceState from, SourceState to,
                  int64_t at_ms, std::string reason) {
  Transition t;
  t.source_id = id;
  t.labels = DecodeLabels(*labels);
  t.from = from;
  t.to = to;
  t.at_ms = at_ms;
  t.reason = std::move(reason);
  t.new_source = from == SourceState::kUp && to == SourceState::kUp;
  return t;
}

}  // namespace

std::string_view PingKindName(PingKind k) {
  switch (k) {
    case PingKind::kSuccess:
      return "success";
    case PingKind::kStart:
      return "start";
    case PingKind::kFail:
      return "fail";
    case PingKind::kLog:
      return "log";
  }
  return "success";
}

DeadlineState& Tracker::StateOf(const Entry& e) const {
  return *deadline_states_.find(e.id)->second;
}

bool Tracker::IsDeadlineId(std::string_view id) const {
  return !deadlines_.empty() && deadlines_.find(id) != deadlines_.end();
}

void Tracker::AttachDeadline(Entry& e, const DeadlineSource& spec, int64_t due_from_ms) {
  std::unique_ptr<DeadlineState>& state = deadline_states_[e.id];
  if (!state) {
    state = std::make_unique<DeadlineState>();
    state->due_from_ms = due_from_ms;
  }
  e.deadline = true;
  state->policy = spec.policy;
  e.interval_ms = spec.policy->period_ms();
  if (!e.labels || DecodeLabels(*e.labels) != spec.labels) {
    e.labels = label_pool_.Intern(spec.labels, entries_.size());
  }
}

void Tracker::SetDeadlines(std::vector<DeadlineSource> sources) {
  WaitCountedLock lock(mu_, waiters_);
  deadlines_.clear();
  for (auto& s : sources) {
    std::string id = s.id;
    deadlines_.insert_or_assign(std::move(id), std::move(s));
  }
  for (Entry& e : entries_) {
    auto it = deadlines_.find(e.id);
    if (it == deadlines_.end()) continue;
    AttachDeadline(e, it->second, e.last_seen_ms);
    MarkDirty(e);
  }
}

Tracker::PingResult Tracker::Ping(std::string_view id, const PingEvent& ping) {
  PingResult out;
  const MonoTime now = clock_.Now();
  const int64_t now_ms = ToUnixMillis(clock_.WallNow());
  const uint32_t hash = SourceIndex::Hash(id);
  WaitCountedLock lock(mu_, waiters_);
  auto spec = deadlines_.find(id);
  if (spec == deadlines_.end()) return out;
  out.known = true;
  const uint32_t pos = PositionOf(id, hash);
  Entry* e = pos == SourceIndex::kNone ? nullptr : &entries_[pos];
  if (e == nullptr && ping.kind == PingKind::kLog) return out;  // a log alone is no sign of life
  bool is_new = false;
  if (e == nullptr) {
    // Deadline sources are bounded by the config, not by the heartbeat admission limits.
    e = &Add(std::string(id), hash);
    e->first_seen_ms = now_ms;
    e->state_since_ms = now_ms;
    e->state = SourceState::kUp;
    e->last_transport = Transport::kHttp;
    AttachDeadline(*e, spec->second, now_ms);
    is_new = true;
  }
  DeadlineState& d = StateOf(*e);
  e->detector.SetLastArrival(now);  // forget_after measures silence from here
  e->last_seen_ms = now_ms;
  ++e->heartbeats;
  e->last_transport = Transport::kHttp;
  PingInfo& info = d.info;
  ++info.pings;
  info.last_ping_ms = now_ms;
  info.last_kind = ping.exit_status >= 0 ? "exit " + std::to_string(ping.exit_status)
                                         : std::string(PingKindName(ping.kind));
  info.message_truncated = ping.body.size() > kMaxPingMessage;
  info.last_message.assign(ping.body.substr(0, kMaxPingMessage));
  MarkDirty(*e);

  if (ping.kind == PingKind::kStart) {
    std::erase_if(d.runs, [&](const auto& r) { return r.first == ping.rid; });
    if (d.runs.size() >= kMaxOpenRuns) d.runs.erase(d.runs.begin());
    d.runs.emplace_back(std::string(ping.rid), now_ms);
  }
  if (ping.kind == PingKind::kStart || ping.kind == PingKind::kLog) {
    if (is_new) {
      out.transition = Notice(e->id, e->labels, SourceState::kUp, SourceState::kUp, now_ms,
                              "first ping (" + std::string(PingKindName(ping.kind)) + ")");
    }
    return out;
  }

  // A finish (success or failure): closes the run it belongs to (by rid; without one,
  // the latest start without one) and restarts the schedule from now.
  auto run = std::find_if(d.runs.rbegin(), d.runs.rend(),
                          [&](const auto& r) { return r.first == ping.rid; });
  if (run != d.runs.rend()) {
    out.duration_ms = std::max<int64_t>(0, now_ms - run->second);
    info.last_duration_ms = out.duration_ms;
    d.runs.erase(std::next(run).base());
  }
  d.due_from_ms = now_ms;
  d.not_before_ms = 0;
  const std::string exit_text =
      ping.exit_status >= 0 ? " (exit status " + std::to_string(ping.exit_status) + ")" : "";
  if (ping.kind == PingKind::kSuccess) {
    d.reported = false;
    if (is_new) {
      out.transition = Notice(e->id, e->labels, SourceState::kUp, SourceState::kUp, now_ms,
                              "first ping" + exit_text);
    } else if (e->state != SourceState::kUp) {
      out.transition = SetState(*e, SourceState::kUp, "success ping" + exit_text);
    }
    return out;
  }
  // kFail: DOWN at once, and flagged so the cluster pages without asking the peers.
  d.reported = true;
  std::string reason = "job reported failure" + exit_text;
  if (!ping.body.empty()) {
    reason += ": " + std::string(ping.body.substr(0, std::min<size_t>(ping.body.size(), 200)));
  }
  if (e->state == SourceState::kDown) {
    // Already DOWN (silent): the report makes it page regardless of peers.
    out.transition =
        Notice(e->id, e->labels, SourceState::kDown, SourceState::kDown, now_ms, std::move(reason));
  } else {
    out.transition = SetState(*e, SourceState::kDown, std::move(reason));
  }
  out.transition->reported = true;
  return out;
}

std::optional<Transition> Tracker::EvaluateDeadline(Entry& e, int64_t now_ms) {
  DeadlineState& d = StateOf(e);
  const int64_t grace = d.policy->grace_ms();
  const std::optional<int64_t> due = d.policy->NextDueMs(d.due_from_ms);
  if (e.state == SourceState::kDown) {
    // A failure report expires when this collector has heard nothing for a whole
    // schedule since: from then on the DOWN is a silence, which the peers may overrule.
    if (d.reported && due && now_ms >= *due + grace && e.last_seen_ms <= d.due_from_ms) {
      d.reported = false;
      return Notice(e.id, e.labels, SourceState::kDown, SourceState::kDown, now_ms,
                    "no ping since the failure report at " + text::FormatRfc3339(d.due_from_ms));
    }
    return std::nullopt;
  }
  if (now_ms < d.not_before_ms) return std::nullopt;
  if (!d.runs.empty()) {
    const int64_t started = d.runs.front().second;  // oldest open run
    if (now_ms - started >= grace) {
      return SetState(
          e, SourceState::kDown,
          "started at " + text::FormatRfc3339(started) + ", not finished within " + Secs(grace));
    }
  }
  if (!due) return std::nullopt;
  if (now_ms >= *due + grace) {
    return SetState(e, SourceState::kDown,
                    "no ping since " + text::FormatRfc3339(d.due_from_ms) + "; due at " +
                        text::FormatRfc3339(*due) + ", grace " + Secs(grace));
  }
  if (now_ms >= *due && e.state == SourceState::kUp) {
    return SetState(e, SourceState::kLate, "ping overdue since " + text::FormatRfc3339(*due));
  }
  return std::nullopt;
}

void Tracker::FillPingInfo(const Entry& e, SourceSnapshot& s) const {
  const DeadlineState& d = StateOf(e);
  PingInfo info = d.info;
  info.running_since_ms = d.runs.empty() ? -1 : d.runs.front().second;
  info.next_due_ms = d.policy->NextDueMs(d.due_from_ms).value_or(-1);
  info.grace_ms = d.policy->grace_ms();
  info.failure_reported = d.reported;
  s.ping = std::make_shared<const PingInfo>(std::move(info));
  s.phi = 0;  // judged by deadline, not by rhythm
}

}  // namespace firewatch::collector
