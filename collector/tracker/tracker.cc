#include "tracker/tracker.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <limits>

#include "tracker/tracker_entry.h"

namespace firewatch::collector {

using std::chrono::milliseconds;

namespace {

std::string Seconds(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", std::chrono::duration<double>(d).count());
  return buf;
}

std::string PhiText(double phi) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", phi);
  return buf;
}

// Monotonic milliseconds (floor), the wheel's time.
int64_t MonoMillis(MonoTime t) {
  return std::chrono::floor<milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

Tracker::Tracker(const Clock& clock, DetectionConfig config, SourceLimits limits)
    : clock_(clock),
      config_(config),
      limits_(limits),
      wheel_(MonoMillis(clock.Now())),
      late_y_(StandardizedBelow(config.late_phi)),
      down_y_(StandardizedBelow(config.down_phi)) {}
Tracker::~Tracker() = default;

uint32_t Tracker::PositionOf(std::string_view id, uint32_t hash) const {
  return index_.Find(id, hash, [this](uint32_t p) -> std::string_view {
    mu_.AssertHeld();  // Find calls it here, under our lock
    return entries_[p].id;
  });
}

Tracker::Entry& Tracker::Add(std::string id, uint32_t hash) {
  const auto pos = static_cast<uint32_t>(entries_.size());
  Entry& e = entries_.emplace_back();
  e.id = std::move(id);
  e.position = pos;
  e.seq = next_seq_++;
  index_.Insert(hash, pos);
  return e;
}

void Tracker::MarkProgress(Entry& e) {
  if (e.dirty) return;
  e.dirty = true;
  dirty_.push_back(e.position);
}

void Tracker::MarkDirty(Entry& e) {
  e.dirty_row = true;
  MarkProgress(e);
}

void Tracker::MarkAllDirty() {
  WaitCountedLock lock(mu_, waiters_);
  for (Entry& e : entries_) MarkDirty(e);
}

void Tracker::SetConfig(const DetectionConfig& config) {
  WaitCountedLock lock(mu_, waiters_);
  config_ = config;
  late_y_ = StandardizedBelow(config.late_phi);
  down_y_ = StandardizedBelow(config.down_phi);
  RearmAll();  // every wake time depends on the settings
}

int64_t Tracker::WakeOf(const Entry& e) const {
  if (e.deadline || e.state == SourceState::kStopped) return kNoWake;
  if (e.state == SourceState::kDown && e.recovery_count == 0) return kNoWake;
  // The instants EvaluateHeartbeat tests, each inverted: phi (without pause) reaching
  // late_phi (UP -> LATE; a recovering DOWN source's count restarting), phi with pause
  // reaching down_phi, the backstop. The earliest one, never later than the truth.
  const PhiDetector& d = e.detector;
  double at_ms = std::numeric_limits<double>::infinity();  // after the last arrival
  if (e.state != SourceState::kLate) at_ms = d.ElapsedMsAt(late_y_, config_.phi);
  int64_t wake = kNoWake;
  const Duration interval = milliseconds(e.interval_ms);
  if (e.state != SourceState::kDown) {
    PhiParams with_pause = config_.phi;
    with_pause.acceptable_pause = interval * config_.acceptable_missed;
    at_ms = std::min(at_ms, d.ElapsedMsAt(down_y_, with_pause));
    wake = MonoMillis(d.last_arrival() + interval * config_.backstop_intervals +
                      config_.backstop_grace);
  }
  if (at_ms < std::numeric_limits<double>::infinity()) {
    // A millisecond early covers the rounding between this and Phi().
    const double t =
        std::chrono::duration<double, std::milli>(d.last_arrival().time_since_epoch()).count() +
        at_ms - 1.0;
    wake = std::min(wake, t < -1e18 ? int64_t{-1'000'000'000'000'000'000}
                                    : static_cast<int64_t>(std::floor(std::min(t, 1e18))));
  }
  return wake;
}

void Tracker::Arm(Entry& e, int64_t wake_ms) {
  ++e.wake_gen;
  e.wake_ms = wake_ms;
  if (wake_ms != kNoWake) wheel_.Arm(e.position, e.wake_gen, wake_ms);
}

void Tracker::Rewake(Entry& e) {
  const int64_t wake = WakeOf(e);
  if (wake < e.wake_ms) {
    // Each earlier wake leaves a stale item until its bucket comes round (<= 262 s).
    // Sources whose rhythm keeps changing (or a key holder's bursts) must not grow the
    // wheel without bound: past one stale item per source, rebuild it (amortized O(1)).
    if (wheel_.items() > 2 * entries_.size() + 1024) {
      RearmAll();
      return;
    }
    Arm(e, wake);
  } else {
    e.wake_ms = wake;  // later (or never): the item is moved (or dropped) when met
  }
}

void Tracker::RearmAll() {
  wheel_.Clear();
  for (Entry& e : entries_) Arm(e, WakeOf(e));
}

void Tracker::SetCheckAlerts(CheckAlertPolicy policy) {
  WaitCountedLock lock(mu_, waiters_);
  check_alerts_ = std::move(policy);
}

void Tracker::SetLimits(const SourceLimits& limits) {
  WaitCountedLock lock(mu_, waiters_);
  limits_ = limits;
  budgets_.clear();  // refilled full under the new rate
}

LimitStatus Tracker::Limits() const {
  const MonoTime now = clock_.Now();
  WaitCountedLock lock(mu_, waiters_);
  LimitStatus st;
  st.tracked = entries_.size();
  st.max_sources = limits_.max_sources;
  st.at_capacity = entries_.size() >= limits_.max_sources;
  st.new_sources_per_key_per_minute = limits_.new_sources_per_key_per_minute;
  for (const auto& [key, budget] : budgets_) {
    if (budget.refused && now - budget.last_refused < std::chrono::minutes(1)) {
      st.rate_limited_keys.push_back(key);
    }
  }
  st.refused_at_capacity = refused_at_capacity_;
  st.refused_by_rate = refused_by_rate_;
  st.check_outputs_cut = check_outputs_cut_;
  return st;
}

std::optional<protocol::RejectReason> Tracker::AdmitNewSource(std::string_view key_id,
                                                              MonoTime now) {
  if (entries_.size() >= limits_.max_sources) {
    ++refused_at_capacity_;
    return protocol::RejectReason::kSourceLimit;
  }
  const uint32_t per_minute = limits_.new_sources_per_key_per_minute;
  if (per_minute == 0) return std::nullopt;
  auto it = budgets_.find(key_id);
  if (it == budgets_.end()) {
    it = budgets_.emplace(std::string(key_id), KeyBudget{}).first;
    it->second.tokens = per_minute;  // a full minute's worth to start with
    it->second.refilled = now;
  }
  KeyBudget& b = it->second;
  const double elapsed_min = std::chrono::duration<double, std::ratio<60>>(now - b.refilled).count();
  b.tokens = std::min<double>(per_minute, b.tokens + std::max(0.0, elapsed_min) * per_minute);
  b.refilled = now;
  if (b.tokens < 1) {
    ++refused_by_rate_;
    b.refused = true;
    b.last_refused = now;
    return protocol::RejectReason::kNewSourceRate;
  }
  b.tokens -= 1;
  return std::nullopt;
}

std::optional<Transition> Tracker::SetState(Entry& e, SourceState to, std::string reason) {
  if (e.state == to) return std::nullopt;
  Transition t;
  t.source_id = e.id;
  t.labels = DecodeLabels(*e.labels);
  t.from = e.state;
  t.to = to;
  t.at_ms = ToUnixMillis(clock_.WallNow());
  t.reason = std::move(reason);
  e.state = to;
  e.state_since_ms = t.at_ms;
  e.recovery_count = 0;
  if (to != SourceState::kStopped) e.goodbye_reason = {};
  MarkDirty(e);
  return t;
}

void Tracker::Restore(std::vector<SourceSnapshot> sources) {
  WaitCountedLock lock(mu_, waiters_);
  const MonoTime now = clock_.Now();
  const int64_t now_ms = ToUnixMillis(clock_.WallNow());
  for (auto& s : sources) {
    const uint32_t hash = SourceIndex::Hash(s.source_id);
    const uint32_t pos = PositionOf(s.source_id, hash);
    Entry* e = pos != SourceIndex::kNone ? &entries_[pos] : &Add(s.source_id, hash);
    e->labels = label_pool_.Intern(s.labels, entries_.size());
    e->replay = s.replay;
    // Receiver-side boot state is not persisted: the current boot was last heard when
    // the source was, and has ended if the source said goodbye.
    e->replay.heard_ms = s.last_seen_ms;
    e->replay.ended = s.state == SourceState::kStopped;
    e->replay.has_other = false;
    e->first_seen_ms = s.first_seen_ms;
    e->last_seen_ms = s.last_seen_ms;
    e->state_since_ms = s.state_since_ms;
    e->heartbeats = s.heartbeats;
    // Stored before the interval was bounded (or by an older build): clamp, so a
    // restored interval cannot stretch the backstop either.
    e->interval_ms = std::clamp<uint32_t>(
        s.interval_ms, 1, static_cast<uint32_t>(std::min<int64_t>(config_.max_interval.count(), UINT32_MAX)));
    e->state = s.state;
    e->last_transport = s.last_transport;
    e->agent_version = texts_.Intern(s.agent_version, 2 * entries_.size());
    e->goodbye_reason = texts_.Intern(s.goodbye_reason, 2 * entries_.size());
    e->checks = RestoredBook(s.checks);
    e->detector.Seed(milliseconds(e->interval_ms));
    // Monotonic time does not survive a restart: translate the persisted wall-clock
    // last_seen, but never further back than now. A source that was alive gets its
    // silence measured from the restart: we could not listen while stopped, so we
    // ask before accusing and let the backstop decide from here.
    int64_t silent_ms = std::max<int64_t>(0, now_ms - s.last_seen_ms);
    if (s.state != SourceState::kDown && s.state != SourceState::kStopped) silent_ms = 0;
    e->detector.SetLastArrival(now - milliseconds(silent_ms));
    if (auto spec = deadlines_.find(e->id); spec != deadlines_.end()) {
      AttachDeadline(*e, spec->second, s.last_seen_ms);
      DeadlineState& d = StateOf(*e);
      d.not_before_ms = now_ms + d.policy->grace_ms();
    }
    Arm(*e, WakeOf(*e));
  }
}

ObserveResult Tracker::Observe(const protocol::Heartbeat& hb, Transport transport) {
  protocol::HeartbeatView view;
  protocol::ViewOf(hb, view);
  return Observe(view, transport);
}

ObserveResult Tracker::Observe(const protocol::HeartbeatView& hb, Transport transport) {
  ObserveResult out;
  const MonoTime now = clock_.Now();
  const int64_t now_ms = ToUnixMillis(clock_.WallNow());
  const uint32_t hash = SourceIndex::Hash(hb.source_id);  // outside the lock
  WaitCountedLock lock(mu_, waiters_);
  ObserveLocked(hb, hash, transport, now, now_ms, out);
  return out;
}

void Tracker::ObserveBatch(std::span<const protocol::HeartbeatView* const> frames,
                           Transport transport, std::vector<ObserveResult>& results) {
  results.resize(frames.size());
  thread_local std::vector<uint32_t> hashes;  // computed outside the lock
  hashes.resize(frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    hashes[i] = SourceIndex::Hash(frames[i]->source_id);
    ObserveResult& r = results[i];
    r.rejected.reset();
    r.transition.reset();
    r.check_changes.clear();
  }
  const MonoTime now = clock_.Now();
  const int64_t now_ms = ToUnixMillis(clock_.WallNow());
  WaitCountedLock lock(mu_, waiters_);
  for (size_t i = 0; i < frames.size(); ++i) {
    ObserveLocked(*frames[i], hashes[i], transport, now, now_ms, results[i]);
  }
}

void Tracker::ObserveLocked(const protocol::HeartbeatView& hb, uint32_t hash, Transport transport,
                            MonoTime now, int64_t now_ms, ObserveResult& out) {
  if (milliseconds(hb.interval_ms) < config_.min_interval ||
      milliseconds(hb.interval_ms) > config_.max_interval) {
    out.rejected = protocol::RejectReason::kBadInterval;
    return;
  }
  const uint32_t pos = PositionOf(hb.source_id, hash);
  Entry* e = pos == SourceIndex::kNone ? nullptr : &entries_[pos];
  if (e != nullptr ? e->deadline : IsDeadlineId(hb.source_id)) {
    out.rejected = protocol::RejectReason::kKeyNotAllowed;  // a check's id: pings only
    return;
  }
  protocol::ReplayState fresh;
  const protocol::FrameOrder order = protocol::OrderOf(hb);
  // Another boot takes over once the current one would be DOWN anyway: the source is
  // DOWN, or its current boot has been silent for the backstop. Sooner, a forger who
  // holds the key could win a race against a live agent's next heartbeat.
  milliseconds takeover_after{0};
  if (e != nullptr && e->state != SourceState::kDown) {
    takeover_after = std::chrono::duration_cast<milliseconds>(
        milliseconds(e->interval_ms) * config_.backstop_intervals + config_.backstop_grace);
  }
  const protocol::ReplayVerdict verdict = protocol::CheckReplay(
      e ? e->replay : fresh, order, now_ms, {config_.max_clock_skew, config_.max_future_skew},
      takeover_after);
  if (verdict.rejected) {
    out.rejected = verdict.rejected;
    return;
  }
  bool is_new = false;
  if (e == nullptr) {
    if (auto refused = AdmitNewSource(hb.key_id, now)) {
      out.rejected = refused;
      return;
    }
    e = &Add(std::string(hb.source_id), hash);
    e->first_seen_ms = now_ms;
    e->state_since_ms = now_ms;
    e->state = SourceState::kUp;
    is_new = true;
  }
  protocol::Advance(e->replay, order, verdict.role, now_ms);
  if (verdict.role == protocol::FrameRole::kOtherBoot) {
    // Another boot while the current one is plausibly alive (a restarted agent, or a
    // key holder's forgery): it proves the source is alive, nothing more. Its labels,
    // checks, interval and goodbye are not taken until it takes over.
    e->detector.SetLastArrival(now);
    e->last_seen_ms = now_ms;
    ++e->heartbeats;
    e->last_transport = transport;
    MarkProgress(*e);
    Rewake(*e);
    return;
  }
  const bool new_boot = verdict.role == protocol::FrameRole::kNewBoot;
  // Whether the stored row changes beyond a heartbeat's progress (MarkDirty, below).
  bool row_changed = is_new;
  if (!e->labels || !LabelsEqual(*e->labels, hb.labels)) {
    e->labels = label_pool_.Intern(hb.labels, entries_.size());
    row_changed = true;
  }
  if (e->interval_ms != hb.interval_ms || is_new) {
    e->interval_ms = hb.interval_ms;
    e->detector.Seed(milliseconds(hb.interval_ms));
    row_changed = true;
  }
  if (new_boot) {
    // The inter-arrival gap across a restart says nothing about the agent's rhythm.
    e->detector.Seed(milliseconds(hb.interval_ms));
    e->detector.SetLastArrival(now);
  } else {
    e->detector.Heartbeat(now, config_.phi);
  }
  e->last_seen_ms = now_ms;
  ++e->heartbeats;
  e->last_transport = transport;
  if (*e->agent_version != hb.agent_version) {
    e->agent_version = texts_.Intern(hb.agent_version, 2 * entries_.size());
    row_changed = true;
  }
  if (hb.checks_mode == protocol::ChecksMode::kUnchanged) {
    // Only the digest of the agent's last full state: ours is current when it is that
    // one. Otherwise ours is kept, flagged stale, until the next full state (at most
    // the agent's checks_full_interval): never guessed at, never taken as OK.
    e->checks_stale = e->checks_digest == 0 || e->checks_digest != hb.checks_digest;
    // A current one counts as one more heartbeat reporting it: `consecutive` and the
    // flap window count heartbeats, not the frames that happen to carry the checks.
    if (!e->checks_stale && e->checks && StillDeciding(*e->checks)) {
      // Copies: the update rewrites the very records these would view.
      const std::vector<protocol::CheckResult> held = ReportedChecks(*e->checks);
      std::vector<protocol::CheckView> same;
      for (const auto& c : held) same.push_back({c.name, c.state, c.output});
      row_changed |= ApplyChecks(*e, same, now_ms, out.check_changes);
    }
  } else if (!hb.checks.empty() || e->checks) {  // most sources never report a check
    // The stored checks are the last heartbeat's (outputs too): whole when they changed.
    row_changed |= ApplyChecks(*e, hb.checks, now_ms, out.check_changes);
  }
  if (hb.checks_mode == protocol::ChecksMode::kFull) {
    e->checks_digest = hb.checks_digest;
    e->checks_stale = false;
  }
  if (row_changed) {
    MarkDirty(*e);
  } else {
    MarkProgress(*e);  // a transition below makes it whole (SetState)
  }

  const std::string& id = e->id;
  if (hb.type == protocol::FrameType::kGoodbye) {
    auto t = SetState(*e, SourceState::kStopped,
                      "goodbye: " + std::string(hb.goodbye_reason.empty() ? "no reason"
                                                                           : hb.goodbye_reason));
    e->goodbye_reason =
        texts_.Intern(hb.goodbye_reason.empty() ? std::string_view("no reason") : hb.goodbye_reason,
                      2 * entries_.size());
    out.transition = std::move(t);
  } else if (is_new) {
    Transition t;
    t.source_id = id;
    t.labels = DecodeLabels(*e->labels);
    t.from = SourceState::kUp;
    t.to = SourceState::kUp;
    t.at_ms = now_ms;
    t.reason = "first heartbeat";
    t.new_source = true;
    out.transition = std::move(t);
  } else if (e->state == SourceState::kDown) {
    if (++e->recovery_count >= config_.recovery_heartbeats) {
      out.transition = SetState(*e, SourceState::kUp,
                                "heard again (" + std::to_string(config_.recovery_heartbeats) +
                                    " heartbeats in a row)");
    }
  } else if (e->state != SourceState::kUp) {
    out.transition = SetState(*e, SourceState::kUp,
                              e->state == SourceState::kStopped ? "started again" : "heard again");
  }
  Rewake(*e);
}

std::vector<Transition> Tracker::Evaluate() {
  const MonoTime now = clock_.Now();
  const int64_t now_ms = ToUnixMillis(clock_.WallNow());
  const int64_t now_mono = MonoMillis(now);
  WaitCountedLock lock(mu_, waiters_);
  EvaluateStats st;
  std::vector<uint32_t> due;
  st.wheel = wheel_.Expire(
      now_mono,
      [this](uint32_t pos, uint32_t gen) {
        mu_.AssertHeld();  // Expire calls it here, under our lock
        const Entry& e = entries_[pos];
        return e.wake_gen == gen && e.wake_ms != kNoWake ? e.wake_ms : WakeWheel::kStale;
      },
      due);
  // Deadline sources are bounded by the config: all of them, every tick (their
  // schedules are wall-clock and their rules tracker_deadline.cc's).
  for (const auto& [id, state] : deadline_states_) {
    due.push_back(PositionOf(id, SourceIndex::Hash(id)));
    ++st.deadlines;
  }
  std::sort(due.begin(), due.end());  // the full scan's order
  due.erase(std::unique(due.begin(), due.end()), due.end());
  std::vector<Transition> out;
  for (const uint32_t pos : due) {
    Entry& e = entries_[pos];
    std::optional<Transition> t;
    if (e.deadline) {
      t = EvaluateDeadline(e, now_ms);
      if (e.wake_ms != kNoWake) Arm(e, kNoWake);  // became a check while armed
    } else {
      ++st.evaluated;
      t = EvaluateHeartbeat(e, now);
      // Its item was used up: re-arm. Woken a little early (rounding) it is looked at
      // again next tick.
      Arm(e, std::max(WakeOf(e), now_mono + 1));
    }
    if (t) {
      MarkDirty(e);
      out.push_back(std::move(*t));
    }
  }
  st.wheel_items = wheel_.items();
  eval_stats_ = st;
  return out;
}

std::vector<Transition> Tracker::EvaluateFullScan() {
  std::vector<Transition> out;
  const MonoTime now = clock_.Now();
  const int64_t now_ms = ToUnixMillis(clock_.WallNow());
  WaitCountedLock lock(mu_, waiters_);
  for (Entry& e : entries_) {
    auto t = e.deadline ? EvaluateDeadline(e, now_ms) : EvaluateHeartbeat(e, now);
    if (t) {
      MarkDirty(e);
      out.push_back(std::move(*t));
    }
  }
  return out;
}

EvaluateStats Tracker::LastEvaluateStats() const {
  WaitCountedLock lock(mu_, waiters_);
  EvaluateStats st = eval_stats_;
  st.wheel_bytes = wheel_.MemoryBytes();
  return st;
}

std::optional<Transition> Tracker::EvaluateHeartbeat(Entry& e, MonoTime now) {
  if (e.state == SourceState::kStopped) return std::nullopt;
  const Duration interval = milliseconds(e.interval_ms);
  const Duration silent = now - e.detector.last_arrival();
  PhiParams with_pause = config_.phi;
  with_pause.acceptable_pause = interval * config_.acceptable_missed;
  const Duration backstop = interval * config_.backstop_intervals + config_.backstop_grace;
  if (e.state == SourceState::kDown) {
    // A recovering source that goes quiet again starts its recovery over.
    if (e.recovery_count > 0 && e.detector.Phi(now, config_.phi) >= config_.late_phi) {
      e.recovery_count = 0;
    }
    return std::nullopt;
  }
  const double phi_down = e.detector.Phi(now, with_pause);
  if (silent >= backstop) {
    return SetState(e, SourceState::kDown,
                    "silent for " + Seconds(silent) + " (backstop " + Seconds(backstop) + ")");
  }
  if (phi_down >= config_.down_phi) {
    return SetState(e, SourceState::kDown,
                    "silent for " + Seconds(silent) + " (phi " + PhiText(phi_down) + ")");
  }
  if (e.state == SourceState::kUp && e.detector.Phi(now, config_.phi) >= config_.late_phi) {
    return SetState(e, SourceState::kLate, "heartbeat overdue, silent for " + Seconds(silent));
  }
  return std::nullopt;
}

bool Tracker::ApplyChecks(Entry& e, std::span<const protocol::CheckView> checks, int64_t now_ms,
                          std::vector<CheckChange>& changes) {
  const uint64_t stored_before = e.checks ? ReportedDigest(*e.checks) : ReportedDigest({});
  if (!e.checks) {
    e.checks = std::make_shared<CheckBook>();
  } else if (e.checks.use_count() > 1) {
    // A snapshot still reads it (they are made under this lock, so a count of 1 here
    // means nobody else can): copy on write.
    e.checks = std::make_shared<CheckBook>(*e.checks);
  }
  const LabelBlob& labels = e.labels;
  CheckBookUpdate update(check_alerts_, e.id, [&labels] { return DecodeLabels(*labels); }, now_ms,
                         changes);
  update.Apply(*e.checks, checks);
  check_outputs_cut_ += update.cut();
  return ReportedDigest(*e.checks) != stored_before;
}

SourceSnapshot Tracker::ToSnapshot(const Entry& e, MonoTime now) const {
  SourceSnapshot s{
      .source_id = e.id,
      .labels = DecodeLabels(*e.labels),
      .state = e.state,
      .first_seen_ms = e.first_seen_ms,
      .last_seen_ms = e.last_seen_ms,
      .state_since_ms = e.state_since_ms,
      .interval_ms = e.interval_ms,
      .agent_version = std::string(*e.agent_version),
      .goodbye_reason = std::string(*e.goodbye_reason),
      .checks = e.checks ? ReportedChecks(*e.checks) : std::vector<protocol::CheckResult>{},
      .check_book = e.checks,
      .checks_stale = e.checks_stale,
      .replay = e.replay,
      .heartbeats = e.heartbeats,
      .last_transport = e.last_transport,
      .phi = e.state == SourceState::kStopped ? 0 : e.detector.Phi(now, config_.phi),
      .ping = nullptr,
  };
  if (e.deadline) FillPingInfo(e, s);
  return s;
}

std::vector<SourceSnapshot> Tracker::Snapshot() const {
  const MonoTime now = clock_.Now();
  WaitCountedLock lock(mu_, waiters_);
  std::vector<SourceSnapshot> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) out.push_back(ToSnapshot(e, now));
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.source_id < b.source_id; });
  return out;
}

std::optional<SourceSnapshot> Tracker::Get(std::string_view source_id) const {
  const MonoTime now = clock_.Now();
  WaitCountedLock lock(mu_, waiters_);
  const uint32_t pos = PositionOf(source_id, SourceIndex::Hash(source_id));
  if (pos == SourceIndex::kNone) return std::nullopt;
  return ToSnapshot(entries_[pos], now);
}

size_t Tracker::size() const {
  WaitCountedLock lock(mu_, waiters_);
  return entries_.size();
}

DirtyRows Tracker::TakeDirty(size_t max) {
  const MonoTime now = clock_.Now();
  WaitCountedLock lock(mu_, waiters_);
  const size_t n = std::min(max, dirty_.size() - dirty_head_);
  DirtyRows out;
  for (size_t i = dirty_head_; i < dirty_head_ + n; ++i) {
    Entry& e = entries_[dirty_[i]];
    if (e.dirty_row) {
      out.rows.push_back(ToSnapshot(e, now));
    } else {
      out.progress.push_back({e.id, e.last_seen_ms, e.heartbeats, e.last_transport, e.replay});
    }
    e.dirty = false;
    e.dirty_row = false;
  }
  dirty_head_ += n;
  if (dirty_head_ == dirty_.size()) {
    dirty_.clear();
    dirty_head_ = 0;
  } else if (dirty_head_ > dirty_.size() / 2) {  // amortized O(1) per position taken
    dirty_.erase(dirty_.begin(), dirty_.begin() + static_cast<ptrdiff_t>(dirty_head_));
    dirty_head_ = 0;
  }
  return out;
}

size_t Tracker::dirty_count() const {
  WaitCountedLock lock(mu_, waiters_);
  return dirty_.size() - dirty_head_;
}

std::vector<SourceSnapshot> Tracker::SnapshotsOf(const std::vector<std::string>& ids) const {
  const MonoTime now = clock_.Now();
  WaitCountedLock lock(mu_, waiters_);
  std::vector<SourceSnapshot> out;
  out.reserve(ids.size());
  std::vector<uint32_t> taken;  // positions, sorted and unique below
  taken.reserve(ids.size());
  for (const std::string& id : ids) {
    const uint32_t pos = PositionOf(id, SourceIndex::Hash(id));
    if (pos == SourceIndex::kNone) continue;
    taken.push_back(pos);
  }
  std::sort(taken.begin(), taken.end());
  taken.erase(std::unique(taken.begin(), taken.end()), taken.end());
  for (const uint32_t pos : taken) out.push_back(ToSnapshot(entries_[pos], now));
  return out;
}

template <typename Pred>
std::vector<SourceSnapshot> Tracker::RemoveWhere(const Pred& doomed) {
  std::vector<SourceSnapshot> removed;
  const MonoTime now = clock_.Now();
  size_t kept = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (doomed(entries_[i])) {
      removed.push_back(ToSnapshot(entries_[i], now));
      if (entries_[i].deadline) deadline_states_.erase(entries_[i].id);
      continue;
    }
    if (kept != i) entries_[kept] = std::move(entries_[i]);
    ++kept;
  }
  if (removed.empty()) return removed;
  entries_.resize(kept);
  // Positions moved: rebuild the index and the dirty list from the entries.
  index_ = SourceIndex();
  dirty_.clear();
  dirty_head_ = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    e.position = static_cast<uint32_t>(i);
    index_.Insert(SourceIndex::Hash(e.id), e.position);
    if (e.dirty) dirty_.push_back(e.position);
  }
  RearmAll();  // the wheel holds positions
  return removed;
}

std::optional<SourceSnapshot> Tracker::Forget(std::string_view id) {
  WaitCountedLock lock(mu_, waiters_);
  if (PositionOf(id, SourceIndex::Hash(id)) == SourceIndex::kNone) return std::nullopt;
  auto removed = RemoveWhere([id](const Entry& e) { return e.id == id; });
  if (removed.empty()) return std::nullopt;
  return std::move(removed.front());
}

std::vector<SourceSnapshot> Tracker::ForgetUnlessHeardSince(
    const std::vector<std::pair<std::string, int64_t>>& tombstones) {
  WaitCountedLock lock(mu_, waiters_);
  std::vector<bool> doomed;  // by position; allocated only when something is to go
  for (const auto& [id, since_ms] : tombstones) {
    const uint32_t pos = PositionOf(id, SourceIndex::Hash(id));
    if (pos == SourceIndex::kNone || entries_[pos].last_seen_ms >= since_ms) continue;
    if (doomed.empty()) doomed.resize(entries_.size());
    doomed[pos] = true;
  }
  if (doomed.empty()) return {};
  return RemoveWhere([&doomed](const Entry& e) { return doomed[e.position]; });
}

std::vector<SourceSnapshot> Tracker::ForgetSilentFor(Duration silence) {
  const MonoTime now = clock_.Now();
  WaitCountedLock lock(mu_, waiters_);
  return RemoveWhere(
      [&](const Entry& e) { return now - e.detector.last_arrival() >= silence; });
}

}  // namespace firewatch::collector
