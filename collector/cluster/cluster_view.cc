#include "cluster/cluster_view.h"
#include "firewatch/text/utf8.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <unordered_set>

namespace firewatch::collector {

using std::chrono::milliseconds;

namespace {

constexpr int kPeerRecoveryArrivals = 2;  // exchanges in a row to leave DOWN (hysteresis)
constexpr size_t kMaxNamesInMessage = 20;

int64_t Ms(Duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); }

bool Hears(SourceState s) { return s != SourceState::kDown; }

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < kMaxNamesInMessage; ++i) {
    if (i) out += ", ";
    out += names[i];
  }
  if (names.size() > kMaxNamesInMessage) {
    out += " and " + std::to_string(names.size() - kMaxNamesInMessage) + " more";
  }
  return out;
}

}  // namespace

std::string_view PeerStateName(PeerState s) {
  switch (s) {
    case PeerState::kUnknown: return "unknown";
    case PeerState::kUp: return "up";
    case PeerState::kDown: return "down";
  }
  return "unknown";
}

namespace {
// A check's message as peers get it: at most kMaxCheckOutput bytes (what a frame carries).
std::string BoundedOutput(const std::string& output) {
  return std::string(text::Utf8Prefix(output, protocol::kMaxCheckOutput));
}
}  // namespace

static_assert(kSyncRanges <= 256, "Local::range holds a range in a uint8_t");

ClusterView::ClusterView(const Clock& clock, ClusterConfig config, std::string self_id,
                         std::string external_url, std::string boot)
    : clock_(clock),
      config_(std::move(config)),
      self_(std::move(self_id)),
      self_index_(config_.IndexOf(self_)),
      external_url_(std::move(external_url)),
      boot_(std::move(boot)),
      started_(clock.Now()) {
  phi_.window = 20;
  phi_.min_stddev = std::max<Duration>(config_.sync_interval / 2, milliseconds(100));
  for (size_t i = 0; i < config_.members.size(); ++i) {
    if (config_.members[i].id == self_) continue;
    Peer p;
    p.member = config_.members[i];
    p.index = static_cast<int>(i);
    p.detector.Seed(config_.sync_interval);
    peers_.push_back(std::move(p));
  }
  alone_since_ = started_;
  config_digest_ = config_.digest;
}

std::string ClusterView::config_digest() const {
  MutexLock lock(mu_);
  return config_digest_;
}

void ClusterView::SetConfigDigest(const std::string& digest) {
  MutexLock lock(mu_);
  if (digest == config_digest_) return;
  config_digest_ = digest;
  for (auto& p : peers_) {
    p.mismatch_logged = false;  // told again at the next sync if they still differ
    if (!p.config_digest.empty()) {
      spdlog::info("cluster: configuration digest is now {}: {} collector {} ({})",
                   digest.substr(0, 12), p.config_digest == digest ? "matches" : "differs from",
                   p.member.id, p.config_digest.substr(0, 12));
    }
  }
}

ClusterView::Peer* ClusterView::FindPeer(const std::string& id) {
  for (auto& p : peers_) {
    if (p.member.id == id) return &p;
  }
  return nullptr;
}

bool ClusterView::AloneLocked() const {
  return std::none_of(peers_.begin(), peers_.end(), [this](const Peer& p) { return Live(p); });
}

int ClusterView::RankLocked() const {
  int rank = 0;
  for (const auto& p : peers_) {
    if (p.index < self_index_ && p.state != PeerState::kDown) ++rank;
  }
  return rank;
}

bool ClusterView::Precedes(const std::string& a, const std::string& b) const {
  auto index = [this](const std::string& id) {
    int i = config_.IndexOf(id);
    return i < 0 ? static_cast<int>(config_.members.size()) : i;
  };
  return index(a) < index(b);
}

// ---------------------------------------------------------------- local sources

void ClusterView::SetLocalState(const std::string& id, SourceState s) {
  auto [it, inserted] = local_.try_emplace(id);
  Local& l = it->second;
  if (inserted) {
    forgotten_.erase(id);  // heard again after a forget
    l.range = static_cast<uint8_t>(SyncRangeOf(id));
    ++range_sizes_[l.range];
  } else {
    if (l.state == s) return;
    digests_.ToggleSource(id, l.state);
    if (l.state == SourceState::kDown) local_down_.erase(id);
    if (l.state != SourceState::kStopped) --local_known_;
  }
  l.state = s;
  digests_.ToggleSource(id, s);
  if (s == SourceState::kDown) local_down_.insert(id);
  if (s != SourceState::kStopped) ++local_known_;
  changes_.emplace_back(++version_, id);
}

void ClusterView::SetLocalChecks(const std::string& id, PeerChecks checks) {
  auto it = local_checks_.find(id);
  const bool had = it != local_checks_.end();
  if (had ? it->second == checks : checks.empty()) return;
  if (had) digests_.ToggleChecks(id, it->second);
  if (checks.empty()) {
    local_checks_.erase(it);
  } else {
    digests_.ToggleChecks(id, checks);
    local_checks_.insert_or_assign(id, std::move(checks));
  }
  changes_.emplace_back(++version_, id);
}

void ClusterView::OnLocalChecks(const std::vector<CheckChange>& changes) {
  MutexLock lock(mu_);
  for (const auto& c : changes) {
    auto found = local_checks_.find(c.source_id);
    PeerChecks next = found == local_checks_.end() ? PeerChecks{} : found->second;
    auto at = std::lower_bound(next.begin(), next.end(), c.check,
                               [](const PeerCheck& x, const std::string& name) { return x.name < name; });
    const bool present = at != next.end() && at->name == c.check;
    if (c.to == protocol::CheckState::kOk) {
      if (!present) continue;
      next.erase(at);
    } else if (present) {
      at->state = c.to;
      at->output = BoundedOutput(c.output);
    } else {
      if (next.size() >= kMaxPeerChecks) continue;  // the book keeps no more either
      next.insert(at, PeerCheck{c.check.substr(0, protocol::kMaxShortText), c.to,
                                BoundedOutput(c.output)});
    }
    SetLocalChecks(c.source_id, std::move(next));
  }
}

void ClusterView::RestoreLocal(const std::vector<SourceSnapshot>& sources) {
  MutexLock lock(mu_);
  for (const auto& s : sources) {
    SetLocalState(s.source_id, s.state);
    if (s.state != SourceState::kStopped) {  // what its alerts said before the restart
      PeerChecks failing;
      for (const auto& c : s.checks) {
        if (c.state != protocol::CheckState::kOk && failing.size() < kMaxPeerChecks) {
          failing.push_back({c.name.substr(0, protocol::kMaxShortText), c.state, BoundedOutput(c.output)});
        }
      }
      std::sort(failing.begin(), failing.end(),
                [](const PeerCheck& a, const PeerCheck& b) { return a.name < b.name; });
      failing.erase(std::unique(failing.begin(), failing.end(),
                                [](const PeerCheck& a, const PeerCheck& b) { return a.name == b.name; }),
                    failing.end());
      SetLocalChecks(s.source_id, std::move(failing));
    }
    if (s.state == SourceState::kDown) {
      Local& l = local_[s.source_id];
      l.down_since_ms = s.state_since_ms;
      l.labels = s.labels;
      l.reason = "DOWN since before the collector restarted";
      l.paged = true;  // its incident was persisted; the caller re-submits the alert
      reevaluate_all_ = true;
    }
  }
}

std::vector<Transition> ClusterView::Forget(const std::vector<Tombstone>& forgotten,
                                           const std::string& why) {
  MutexLock lock(mu_);
  std::vector<Transition> resolve;
  for (const auto& [id, at_ms] : forgotten) {
    auto it = local_.find(id);
    const bool was_local = it != local_.end();
    if (was_local) {
      const Local& l = it->second;
      digests_.ToggleSource(id, l.state);
      --range_sizes_[l.range];
      if (l.state == SourceState::kDown) local_down_.erase(id);
      if (l.state != SourceState::kStopped) --local_known_;
      if (l.paged) {
        Transition t;
        t.source_id = id;
        t.labels = l.labels;
        t.from = SourceState::kDown;
        t.to = SourceState::kStopped;
        t.at_ms = ToUnixMillis(clock_.WallNow());
        t.reason = "forgotten: " + why;
        resolve.push_back(std::move(t));
      }
      local_.erase(it);
    }
    if (auto c = local_checks_.find(id); c != local_checks_.end()) {
      digests_.ToggleChecks(id, c->second);
      local_checks_.erase(c);
    }
    auto [tomb, inserted] = forgotten_.try_emplace(id, at_ms);
    if (!inserted && tomb->second >= at_ms && !was_local) continue;  // nothing new to tell
    tomb->second = std::max(tomb->second, at_ms);
    changes_.emplace_back(++version_, id);
  }
  PruneTombstones(ToUnixMillis(clock_.WallNow()));
  return resolve;
}

void ClusterView::PruneTombstones(int64_t now_ms) {
  const int64_t horizon = now_ms - Ms(kTombstoneTtl);
  std::erase_if(forgotten_, [horizon](const auto& t) { return t.second < horizon; });
  if (forgotten_.size() <= kMaxTombstones) return;
  // Keep the newest kMaxTombstones: one selection, not one scan per excess entry.
  std::vector<int64_t> times;
  times.reserve(forgotten_.size());
  for (const auto& [id, at] : forgotten_) times.push_back(at);
  const size_t excess = forgotten_.size() - kMaxTombstones;
  std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(excess - 1), times.end());
  const int64_t cut = times[excess - 1];  // drop those older, and enough at `cut`
  size_t at_cut = static_cast<size_t>(std::count(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(excess), cut));
  std::erase_if(forgotten_, [&](const auto& t) {
    if (t.second < cut) return true;
    if (t.second == cut && at_cut > 0) {
      --at_cut;
      return true;
    }
    return false;
  });
}

std::vector<Transition> ClusterView::OnLocal(const std::vector<Transition>& ts) {
  MutexLock lock(mu_);
  std::vector<Transition> out;
  for (const auto& t : ts) {
    SetLocalState(t.source_id, t.to);
    Local& l = local_[t.source_id];
    if (t.to == SourceState::kDown && t.from == SourceState::kDown) {
      // A check's failure report made or withdrawn (tracker/deadline.h): same DOWN.
      l.reported = t.reported;
      if (l.labels.empty()) l.labels = t.labels;
      l.reason = t.reason;
      EvaluateDown(t.source_id, l, out);
    } else if (t.to == SourceState::kDown) {
      l.down_since_ms = t.at_ms;
      l.labels = t.labels;
      l.reason = t.reason;
      l.paged = false;
      l.reported = t.reported;
      EvaluateDown(t.source_id, l, out);
    } else if (t.from == SourceState::kDown) {
      if (l.paged) {
        Transition r = t;
        out.push_back(std::move(r));
      }
      l.paged = false;
      l.reported = false;
      l.labels.clear();
      l.reason.clear();
    }
  }
  return out;
}

bool ClusterView::HeardByLivePeer(const std::string& id, std::string* by) const {
  for (const auto& p : peers_) {
    if (!Live(p)) continue;
    auto it = p.sources.find(id);
    if (it != p.sources.end() && Hears(it->second)) {
      if (by) *by = p.member.id;
      return true;
    }
  }
  return false;
}

void ClusterView::PeerHearingChanged(const Peer& p, const std::string& id) {
  // A peer that is not live does not vote; it is counted again (all of it) when it is.
  if (Live(p) && local_down_.count(id) > 0) reevaluate_.insert(id);
}

void ClusterView::EvaluateDown(const std::string& id, Local& l, std::vector<Transition>& out) {
  ++down_evaluations_;
  std::string heard_by;
  // A failure the source reported itself is not a silence: peers hearing it change
  // nothing (docs/cluster.md, "Checks").
  const bool heard = !l.reported && HeardByLivePeer(id, &heard_by);
  const int64_t now_ms = ToUnixMillis(clock_.WallNow());
  auto emit = [&](SourceState from, SourceState to, std::string reason) {
    Transition t;
    t.source_id = id;
    t.labels = l.labels;
    t.from = from;
    t.to = to;
    t.at_ms = now_ms;
    t.reason = std::move(reason);
    l.paged = to == SourceState::kDown;
    out.push_back(std::move(t));
  };
  if (!l.paged && !heard) {
    if (isolated_ && !l.reported) return;  // suspect ourselves first: one CollectorIsolated
    if (!l.reported && alone_ && !peers_.empty() && now_ms - l.down_since_ms < Ms(config_.alone_hold)) {
      hold_ends_.emplace(l.down_since_ms + Ms(config_.alone_hold), id);  // Tick looks again then
      return;
    }
    emit(SourceState::kUp, SourceState::kDown,
         l.reason + (peers_.empty() || l.reported ? "" : "; no live collector hears it"));
  } else if (l.paged && heard) {
    emit(SourceState::kDown, SourceState::kUp, "heard by collector " + heard_by);
  }
}

// ---------------------------------------------------------------- tick

alerting::Alert ClusterView::CollectorDownAlert(const Peer& p, bool firing) const {
  alerting::Alert a;
  a.labels = alerting::LabelSet(p.member.labels.begin(), p.member.labels.end());
  a.labels["alertname"] = "CollectorDown";
  a.labels["collector"] = p.member.id;
  a.annotations["summary"] = "collector " + p.member.id + " is DOWN";
  a.annotations["description"] =
      "No sync from collector " + p.member.id + " (" + p.member.url + ") for " +
      std::to_string(Ms(clock_.Now() - p.last_arrival) / 1000) + "s; seen DOWN by " + self_ +
      " and every other live collector.";
  a.status = firing ? alerting::AlertStatus::kFiring : alerting::AlertStatus::kResolved;
  a.starts_at_ms = ToUnixMillis(clock_.WallNow());
  if (!firing) a.ends_at_ms = a.starts_at_ms;
  if (!external_url_.empty()) a.generator_url = external_url_ + "/api/v1/collectors";
  return a;
}

alerting::Alert ClusterView::IsolatedAlert(bool firing) const {
  alerting::Alert a;
  if (self_index_ >= 0) {
    const auto& labels = config_.members[static_cast<size_t>(self_index_)].labels;
    a.labels = alerting::LabelSet(labels.begin(), labels.end());
  }
  a.labels["alertname"] = "CollectorIsolated";
  a.labels["collector"] = self_;
  a.annotations["summary"] = "collector " + self_ + " is cut off from its peers and most sources";
  a.annotations["description"] = isolation_summary_;
  a.status = firing ? alerting::AlertStatus::kFiring : alerting::AlertStatus::kResolved;
  a.starts_at_ms = ToUnixMillis(clock_.WallNow());
  if (!firing) a.ends_at_ms = a.starts_at_ms;
  if (!external_url_.empty()) a.generator_url = external_url_ + "/api/v1/collectors";
  return a;
}

ClusterView::TickOutput ClusterView::Tick() {
  MutexLock lock(mu_);
  TickOutput out;
  const MonoTime now = clock_.Now();

  for (auto& p : peers_) {
    const MonoTime since = p.has_arrival ? p.last_arrival : started_;
    const bool silent = now - since >= config_.peer_timeout;
    const double phi = p.has_arrival ? p.detector.Phi(now, phi_) : 0;
    // DOWN on silence alone: phi (shown as suspicion) is fit to a steady exchange every
    // sync_interval, and in a storm a live peer's exchanges carry 50,000-entry deltas
    // and take seconds; phi called such a peer DOWN after 3.7 s (peer_timeout 5 s), its
    // rank turn was skipped and two collectors paged the same failure
    // (bench/cluster_dark_bench.py). peer_timeout is the one bound.
    if (p.state != PeerState::kDown && silent) {
      spdlog::warn("cluster: collector {} is DOWN (no sync for {} ms, phi {:.1f})", p.member.id,
                   Ms(now - since), phi);
      p.state = PeerState::kDown;
      p.arrivals_while_down = 0;
      reevaluate_all_ = true;  // what it hears no longer counts
    }
  }

  const bool alone = !peers_.empty() && AloneLocked();
  if (alone && !alone_) alone_since_ = now;
  if (alone != alone_) reevaluate_all_ = true;
  alone_ = alone;

  // Isolation: every peer DOWN (not merely unknown after a start) and most of our own
  // sources gone at the same time.
  const bool all_down = alone && std::all_of(peers_.begin(), peers_.end(), [](const Peer& p) {
    return p.state == PeerState::kDown;
  });
  const bool isolated = all_down && local_known_ > 0 &&
                        static_cast<double>(local_down_.size()) >=
                            config_.isolation_fraction * static_cast<double>(local_known_);
  if (isolated != isolated_) {
    isolated_ = isolated;
    reevaluate_all_ = true;
    if (isolated) {
      std::vector<std::string> lost_peers, lost_hosts;
      for (const auto& p : peers_) lost_peers.push_back(p.member.id);
      lost_hosts.assign(local_down_.begin(), local_down_.end());
      std::sort(lost_hosts.begin(), lost_hosts.end());
      isolation_summary_ = "Collector " + self_ + " cannot reach any peer (" +
                           JoinNames(lost_peers) + ") and does not hear " +
                           std::to_string(local_down_.size()) + " of its " +
                           std::to_string(local_known_) + " sources (" + JoinNames(lost_hosts) +
                           "). It suspects its own network first: per-host pages are held "
                           "until it hears a peer again.";
      spdlog::error("cluster: ISOLATED: {}", isolation_summary_);
    } else {
      spdlog::info("cluster: no longer isolated");
    }
    out.alerts.push_back(IsolatedAlert(isolated));
  }

  // Collector X is down: everyone else alive agrees, or we are alone (and not isolated)
  // for alone_hold.
  for (auto& p : peers_) {
    if (p.state == PeerState::kDown && !p.down_alerted) {
      bool others = false, agree = true;
      for (const auto& q : peers_) {
        if (&q == &p || !Live(q)) continue;
        others = true;
        auto it = q.sees.find(p.member.id);
        if (it == q.sees.end() || it->second != "down") agree = false;
      }
      if (!others) agree = alone_ && !isolated_ && now - alone_since_ >= config_.alone_hold;
      if (agree) {
        p.down_alerted = true;
        out.alerts.push_back(CollectorDownAlert(p, true));
      }
    } else if (p.state == PeerState::kUp && p.down_alerted) {
      p.down_alerted = false;
      out.alerts.push_back(CollectorDownAlert(p, false));
    }
  }

  if (first_due_.size() > 1024) {
    const int64_t horizon = ToUnixMillis(clock_.WallNow()) - 3'600'000;
    std::erase_if(first_due_, [horizon](const auto& e) { return e.second < horizon; });
  }

  // The DOWN sources whose merged verdict may have changed (reevaluate_, header).
  if (reevaluate_all_) {
    reevaluate_all_ = false;
    reevaluate_.clear();
    hold_ends_.clear();  // EvaluateDown enters again those still held
    for (const std::string& id : local_down_) EvaluateDown(id, local_.at(id), out.merged);
    return out;
  }
  const int64_t now_ms = ToUnixMillis(clock_.WallNow());
  while (!hold_ends_.empty() && hold_ends_.begin()->first <= now_ms) {
    const std::string& id = hold_ends_.begin()->second;
    if (local_down_.count(id) > 0) reevaluate_.insert(id);
    hold_ends_.erase(hold_ends_.begin());
  }
  for (const std::string& id : reevaluate_) {
    auto it = local_.find(id);
    if (it != local_.end() && it->second.state == SourceState::kDown) {
      EvaluateDown(id, it->second, out.merged);
    }
  }
  reevaluate_.clear();
  return out;
}

// ---------------------------------------------------------------- sync

void ClusterView::AppendEntry(SyncPayload& p, const std::string& id, SourceState state) const {
  p.sources.emplace_back(id, state);
  if (auto c = local_checks_.find(id); c != local_checks_.end()) p.checks.emplace_back(id, c->second);
}

SyncPayload ClusterView::BuildFor(const std::string& peer_id, SyncRole role) {
  MutexLock lock(mu_);
  SyncPayload p;
  p.from = self_;
  p.config_digest = config_digest_;
  for (const auto& q : peers_) p.peers[q.member.id] = std::string(PeerStateName(q.state));
  p.sources_version = version_;
  p.sources_digest = digests_.sources;
  p.has_checks = true;
  p.checks_digest = digests_.checks;
  p.speaks_ranges = true;  // (on the wire: need_ranges is always there)
  Peer* peer = FindPeer(peer_id);
  if (peer == nullptr) return p;
  p.need_full = peer->want_full_from && !peer->speaks_ranges;
  p.need_range_digests = peer->want_range_digests_from;
  for (int r = 0; r < kSyncRanges; ++r) {
    if (peer->want_ranges_from.test(r)) p.need_ranges.push_back(r);
  }
  if (peer->boot.empty()) {
    // Not heard yet: which kind of table it can take is not known, and whatever we
    // send before it answers is sent again once it does (force_full stays set).
    p.withheld = true;
    p.sources_more = true;  // "do not judge my digests yet"
    p.sources_version = 0;  // and it holds none of our changes from this one
    return p;
  }
  p.sources_holds = peer->holds;
  p.sources_holds_boot = peer->boot;
  const MonoTime now = clock_.Now();
  auto first = std::lower_bound(
      changes_.begin(), changes_.end(), peer->acked + 1,
      [](const std::pair<uint64_t, std::string>& c, uint64_t v) { return c.first < v; });
  const bool gap = !changes_.empty() && changes_.front().first > peer->acked + 1;
  const int64_t now_ms = ToUnixMillis(clock_.WallNow());
  auto tombstone = [&](const std::string& id, int64_t at_ms) {
    p.forgotten.emplace_back(id, std::max<int64_t>(0, now_ms - at_ms));
  };
  // (forgotten_ is passed in: the analysis cannot see that a lambda runs under mu_)
  auto all_tombstones = [&](const std::unordered_map<std::string, int64_t>& kept) {
    for (const auto& [id, at_ms] : kept) tombstone(id, at_ms);
    p.forgotten_all = true;
  };
  if (!peer->speaks_ranges) {
    // A collector from before range anti-entropy: whole tables, as it expects.
    p.sources_full = peer->force_full || gap || now - peer->last_full >= config_.full_sync_every;
    if (p.sources_full) {
      p.sources.reserve(local_.size());
      for (const auto& [id, l] : local_) AppendEntry(p, id, l.state);
      all_tombstones(forgotten_);
      return p;
    }
  } else if (peer->force_full || gap) {
    // It lost our table, or what it acknowledged is no longer in the change log: every
    // range, in bounded parts.
    peer->send_ranges.set();
    peer->send_tombstones = true;
    peer->force_full = false;
  }
  // Ranges to send whole now: in order, until the entry budget is used (at least one).
  std::bitset<kSyncRanges> sending;
  size_t budget = kMaxSyncEntries;
  if (role == SyncRole::kResponse && peer->send_ranges.any()) p.sources_more = true;
  for (int r = 0; r < kSyncRanges && role == SyncRole::kRequest; ++r) {
    if (!peer->send_ranges.test(r)) continue;
    if (sending.any() && range_sizes_[r] > budget) {
      p.sources_more = true;
      break;
    }
    sending.set(r);
    p.sources_ranges.push_back(r);
    budget -= std::min<size_t>(budget, range_sizes_[r]);
  }
  if (sending.any()) {
    for (const auto& [id, l] : local_) {
      if (sending.test(l.range)) AppendEntry(p, id, l.state);
    }
  }
  if (peer->send_tombstones && role == SyncRole::kRequest) all_tombstones(forgotten_);
  // An answer to its request carries our delta only while our own requests to it do not
  // get through (it reaches us, we cannot reach it): none answered within the longest a
  // healthy cycle takes (an exchange, bounded by peer_timeout, then sync_interval).
  // Otherwise each change went twice,
  // in the answer and again in our next request (built before its echo could arrive),
  // and an answer overtaken by our next request undid newer entries there (the range
  // digests then repaired them): benchmarks.md section 8, the storm's exchanges.
  if (role == SyncRole::kResponse && peer->last_delivered &&
      now - *peer->last_delivered < config_.peer_timeout + config_.sync_interval) {
    p.sources_version = 0;  // it holds none of our changes from this one
    p.sources_more = true;  // and its digests are not for its copy as it stands
    return p;
  }
  if (peer->send_range_digests) {
    p.range_digests.assign(digests_.ranges.begin(), digests_.ranges.end());
  }
  // The delta: changes since what it acknowledged, except in ranges it gets (or will
  // get) whole anyway; in version order, and cut where the payload is full (100,000
  // sources going DOWN at once travel in a few payloads, never as a resend of every
  // range). A cut delta is acknowledged up to the last version it carries and says
  // `more`: its digests are for a later version than the receiver's copy.
  std::unordered_set<std::string_view> seen;
  seen.reserve(std::min<size_t>(changes_.end() - first, kMaxSyncEntries + kMaxTombstones));
  const bool ranges_pending = peer->send_ranges.any();
  for (auto it = first; it != changes_.end(); ++it) {
    const std::string& id = it->second;
    if (ranges_pending && peer->send_ranges.test(SyncRangeOf(id))) continue;
    if (!seen.insert(id).second) continue;
    if (p.sources.size() >= kMaxSyncEntries || p.forgotten.size() >= kMaxTombstones) {
      p.sources_version = it->first - 1;
      p.sources_more = true;
      break;
    }
    if (auto l = local_.find(id); l != local_.end()) {
      AppendEntry(p, id, l->second.state);
    } else if (auto f = forgotten_.find(id); f != forgotten_.end()) {
      if (!p.forgotten_all) tombstone(id, f->second);
    }  // else: forgotten, and its tombstone expired since
  }
  return p;
}

void ClusterView::Delivered(const std::string& peer_id, const SyncPayload& sent) {
  MutexLock lock(mu_);
  Peer* peer = FindPeer(peer_id);
  if (peer == nullptr) return;
  ++peer->syncs_ok;
  peer->last_error.clear();
  peer->last_delivered = clock_.Now();
  if (sent.withheld) return;  // nothing of the table was in it
  peer->acked = std::max(peer->acked, sent.sources_version);
  if (sent.sources_full) {
    peer->force_full = false;
    peer->last_full = clock_.Now();
  }
  for (int r : sent.sources_ranges) peer->send_ranges.reset(r);
  if (sent.forgotten_all) peer->send_tombstones = false;
  if (!sent.range_digests.empty()) peer->send_range_digests = false;
  // Forget changes every peer has (keep the log bounded by the slowest live peer; a peer
  // that falls behind the log's start gets every range instead).
  uint64_t min_acked = version_;
  for (const auto& q : peers_) {
    if (q.state != PeerState::kDown) min_acked = std::min(min_acked, q.acked);
  }
  while (!changes_.empty() &&
         (changes_.front().first <= min_acked || changes_.size() > 2 * local_.size() + 1024)) {
    changes_.pop_front();
  }
}

void ClusterView::CountSyncBytes(const std::string& peer_id, uint64_t sent, uint64_t received) {
  MutexLock lock(mu_);
  if (Peer* peer = FindPeer(peer_id)) {
    peer->bytes_sent += sent;
    peer->bytes_received += received;
  }
}

void ClusterView::CountExchange(const std::string& peer_id, Duration took) {
  MutexLock lock(mu_);
  if (Peer* peer = FindPeer(peer_id)) {
    const int64_t us =
        std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(took).count());
    peer->exchange_us += static_cast<uint64_t>(us);
    peer->last_exchange_ms = us / 1000;
  }
}

void ClusterView::SyncFailed(const std::string& peer_id, const std::string& error) {
  MutexLock lock(mu_);
  if (Peer* peer = FindPeer(peer_id)) {
    ++peer->syncs_failed;
    peer->last_error = error;
  }
}

Status ClusterView::Apply(const SyncPayload& in, std::vector<Tombstone>* forgotten) {
  MutexLock lock(mu_);
  Peer* p = FindPeer(in.from);
  if (p == nullptr) return Status::InvalidArgument("'" + in.from + "' is not a peer");
  const MonoTime now = clock_.Now();

  // Liveness.
  if (p->has_arrival) p->detector.Heartbeat(now, phi_);
  else p->detector.SetLastArrival(now);
  p->has_arrival = true;
  p->last_arrival = now;
  if (p->state == PeerState::kUnknown) {
    p->state = PeerState::kUp;
    reevaluate_all_ = true;  // what it hears counts from now on
    spdlog::info("cluster: collector {} is UP", p->member.id);
  } else if (p->state == PeerState::kDown && ++p->arrivals_while_down >= kPeerRecoveryArrivals) {
    p->state = PeerState::kUp;
    reevaluate_all_ = true;
    spdlog::info("cluster: collector {} is UP again", p->member.id);
  }

  if (in.boot != p->boot) {
    if (!p->boot.empty()) spdlog::info("cluster: collector {} restarted", p->member.id);
    p->boot = in.boot;
    p->force_full = true;  // it lost what we sent it
    p->acked = 0;
    p->holds = 0;  // its versions start again
  }
  // Its echo: it holds our changes up to there, whichever payload brought them.
  if (!boot_.empty() && in.sources_holds_boot == boot_) {
    p->acked = std::max(p->acked, std::min(in.sources_holds, version_));
  }
  if (in.config_digest != p->config_digest) {
    p->config_digest = in.config_digest;
    p->mismatch_logged = false;
  }
  if (p->config_digest != config_digest_ && !p->mismatch_logged) {
    p->mismatch_logged = true;
    spdlog::warn("cluster: collector {} runs a different configuration (digest {} here, {} there)",
                 p->member.id, config_digest_.substr(0, 12), p->config_digest.substr(0, 12));
  }
  p->sees = in.peers;
  if (in.need_full) p->force_full = true;
  p->speaks_ranges = in.speaks_ranges;
  if (in.need_range_digests) p->send_range_digests = true;
  for (int r : in.need_ranges) p->send_ranges.set(r);

  // Its source table.
  if (in.sources_full) {
    if (Live(*p)) reevaluate_all_ = true;
    p->sources.clear();
    p->range_sizes = {};
    p->want_full_from = false;
    peer_checks_total_ -= p->checks.size();
    p->checks.clear();
    p->digests = TableDigest{};
  }
  if (!in.sources_ranges.empty()) ClearPeerRanges(*p, in.sources_ranges);
  for (const auto& [id, st] : in.sources) {
    auto [it, inserted] = p->sources.try_emplace(id, st);
    if (inserted) {
      ++p->range_sizes[SyncRangeOf(id)];
      if (Hears(st)) PeerHearingChanged(*p, id);
    } else {
      p->digests.ToggleSource(id, it->second);
      if (Hears(it->second) != Hears(st)) PeerHearingChanged(*p, id);
      it->second = st;
    }
    p->digests.ToggleSource(id, st);
  }
  if (in.has_checks) {
    // An entry without checks has none failing any more; both lists are in payload order.
    std::unordered_map<std::string_view, const PeerChecks*> failing;
    for (const auto& [id, list] : in.checks) failing.emplace(id, &list);
    for (const auto& [id, st] : in.sources) {
      auto f = failing.find(id);
      SetPeerChecks(*p, id, f == failing.end() ? PeerChecks{} : *f->second);
    }
  }
  const int64_t now_ms = ToUnixMillis(clock_.WallNow());
  for (const auto& [id, age_ms] : in.forgotten) {
    if (auto it = p->sources.find(id); it != p->sources.end()) {
      p->digests.ToggleSource(id, it->second);
      --p->range_sizes[SyncRangeOf(id)];
      if (Hears(it->second)) PeerHearingChanged(*p, id);
      p->sources.erase(it);
    }
    SetPeerChecks(*p, id, {});
    if (forgotten != nullptr) forgotten->push_back({id, now_ms - age_ms});
  }
  // Every change up to in.sources_version is here now: what it sent starts at what we
  // echoed or acknowledged (a withheld payload names version 0).
  p->holds = std::max(p->holds, in.sources_version);
  // Anti-entropy: our copy must now match its digests at in.sources_version.
  const bool diverged = p->digests.sources != in.sources_digest ||
                        (in.has_checks && p->digests.checks != in.checks_digest);
  if (!in.speaks_ranges) {
    if (diverged && !p->want_full_from) {
      spdlog::info("cluster: table from {} diverged; asking for a full one", p->member.id);
      p->want_full_from = true;
    }
  } else if (!in.sources_more) {
    if (!diverged) {
      p->want_range_digests_from = false;
      p->want_ranges_from.reset();
    } else if (in.range_digests.size() == static_cast<size_t>(kSyncRanges)) {
      p->want_range_digests_from = false;
      std::bitset<kSyncRanges> differ;
      for (int r = 0; r < kSyncRanges; ++r) differ[r] = p->digests.ranges[r] != in.range_digests[r];
      if (differ.none()) differ.set();  // only the wholes differ: a collision; resend all
      if (p->want_ranges_from != differ) {
        spdlog::info("cluster: table from {} diverged in {} of {} ranges; asking for those",
                     p->member.id, differ.count(), kSyncRanges);
      }
      p->want_ranges_from = differ;
    } else if (!p->want_range_digests_from && p->want_ranges_from.none()) {
      spdlog::info("cluster: table from {} diverged; asking for its range digests", p->member.id);
      p->want_range_digests_from = true;
    }
  }

  // Its notification log and incidents (sent whole).
  p->log.clear();
  for (const auto& e : in.log) {
    p->log[e.key] = PeerLogEntry{e.state, now - milliseconds(std::max<int64_t>(0, e.age_ms))};
  }
  p->incidents = in.incidents;
  return Status::Ok();
}

void ClusterView::ClearPeerRanges(Peer& p, const std::vector<int>& ranges) {
  std::bitset<kSyncRanges> clear;
  for (int r : ranges) {
    p.want_ranges_from.reset(r);  // what we asked for is here
    if (p.range_sizes[r] > 0) clear.set(r);
  }
  // A restarted peer's ranges arrive into empty ones: no pass over the copy then.
  if (clear.none()) return;
  for (auto it = p.sources.begin(); it != p.sources.end();) {
    const int r = SyncRangeOf(it->first);
    if (!clear.test(r)) {
      ++it;
      continue;
    }
    p.digests.ToggleSource(it->first, it->second);
    --p.range_sizes[r];
    if (Hears(it->second)) PeerHearingChanged(p, it->first);
    SetPeerChecks(p, it->first, {});
    it = p.sources.erase(it);
  }
}

void ClusterView::SetPeerChecks(Peer& p, const std::string& id, PeerChecks checks) {
  auto it = p.checks.find(id);
  if (it != p.checks.end()) {
    p.digests.ToggleChecks(id, it->second);
    if (checks.empty()) {
      p.checks.erase(it);
      --peer_checks_total_;
      return;
    }
    it->second = std::move(checks);
  } else {
    if (checks.empty()) return;
    it = p.checks.emplace(id, std::move(checks)).first;
    ++peer_checks_total_;
  }
  p.digests.ToggleChecks(id, it->second);
}

std::vector<ClusterView::PeerCheckReport> ClusterView::PeerChecksFor(const std::string& source) const {
  std::vector<PeerCheckReport> out;
  if (peer_checks_total_.load(std::memory_order_relaxed) == 0) return out;
  MutexLock lock(mu_);
  for (const auto& p : peers_) {
    auto it = p.checks.find(source);
    if (it == p.checks.end()) continue;
    for (const auto& c : it->second) out.push_back({p.member.id, p.state, c});
  }
  return out;
}

// ---------------------------------------------------------------- PeerGate

alerting::GateDecision ClusterView::Decide(const std::string& key, int64_t due_ms,
                                           int64_t now_ms) {
  MutexLock lock(mu_);
  const MonoTime now = clock_.Now();
  for (const auto& p : peers_) {
    auto it = p.log.find(key);
    if (it != p.log.end() && it->second.state == alerting::LogEntry::State::kDelivered) {
      return alerting::GateDecision::Skip(std::string(alerting::outbox::kDeliveredByPeer) + p.member.id);
    }
  }
  for (const auto& p : peers_) {
    if (!Live(p)) continue;
    auto it = p.log.find(key);
    if (it != p.log.end() && now - it->second.at < config_.claim_timeout) {
      return alerting::GateDecision::Defer(now_ms + Ms(config_.sync_interval),
                                           "claimed by collector " + p.member.id);
    }
  }
  const int rank = RankLocked();
  auto [first, inserted] = first_due_.try_emplace(key, due_ms);
  if (!inserted) first->second = std::min(first->second, due_ms);
  const int64_t turn = first->second + rank * Ms(config_.peer_timeout);
  if (rank > 0 && now_ms < turn) {
    return alerting::GateDecision::Defer(
        turn, "rank " + std::to_string(rank) + ": waiting for the collectors before this one");
  }
  // Past the turn, each collector before this one that is not DOWN must have been heard
  // since the turn began: a page it claimed or an incident it opened before then is in
  // what we hold (and an adopted incident has cancelled our copy) before we send. A sync
  // slowed by a storm is not silence until peer_timeout makes the peer DOWN, so this
  // waits at most that long (bench/cluster_dark_bench.py: a rank-1 collector paged a
  // second time when the first's incident took 2.5 s to arrive under load).
  if (rank > 0) {
    const MonoTime turn_began = now - milliseconds(now_ms - turn);
    for (const auto& p : peers_) {
      if (p.index >= self_index_ || p.state == PeerState::kDown) continue;
      if (!p.has_arrival || p.last_arrival < turn_began) {
        return alerting::GateDecision::Defer(now_ms + Ms(config_.sync_interval),
                                             "rank " + std::to_string(rank) +
                                                 ": waiting for a sync from collector " +
                                                 p.member.id + " since this collector's turn");
      }
    }
  }
  return alerting::GateDecision::Send();
}

std::optional<std::string> ClusterView::PeerHandled(const std::string& key) {
  MutexLock lock(mu_);
  for (const auto& p : peers_) {
    if (p.log.count(key) > 0) return p.member.id;
  }
  return std::nullopt;
}

std::optional<alerting::PeerIncident> ClusterView::PeerIncidentFor(const std::string& group_key) {
  MutexLock lock(mu_);
  std::optional<alerting::PeerIncident> best;
  for (const auto& p : peers_) {
    for (const auto& inc : p.incidents) {
      if (inc.group_key != group_key || inc.state == alerting::IncidentState::kResolved) continue;
      if (!best || Precedes(inc.origin, best->origin) ||
          (inc.origin == best->origin && inc.state == alerting::IncidentState::kAcked)) {
        best = inc;
      }
    }
  }
  return best;
}

std::optional<std::pair<std::string, alerting::PeerIncident>> ClusterView::PeerResolvedFor(
    const std::string& group_key) {
  MutexLock lock(mu_);
  std::optional<std::pair<std::string, alerting::PeerIncident>> newest;
  for (const auto& p : peers_) {
    for (const auto& inc : p.incidents) {
      if (inc.group_key != group_key || inc.state != alerting::IncidentState::kResolved ||
          inc.resolved_by.empty()) {
        continue;
      }
      if (!newest || inc.resolved_ms > newest->second.resolved_ms) newest.emplace(p.member.id, inc);
    }
  }
  return newest;
}

// ---------------------------------------------------------------- status

void ClusterView::set_path_pass_slice(size_t ids) {
  MutexLock lock(mu_);
  path_slice_ = std::max<size_t>(1, ids);
}

// Path warnings: heard by some live collector, DOWN at another live one that knows it.
void ClusterView::CheckPath(const std::string& id, PathWarnings& out) const {
  bool heard = false;
  std::vector<std::string> unheard;
  if (auto it = local_.find(id); it != local_.end()) {
    if (Hears(it->second.state))
      heard = true;
    else
      unheard.push_back(self_);
  }
  for (const auto& p : peers_) {
    if (!Live(p)) continue;
    auto it = p.sources.find(id);
    if (it == p.sources.end()) continue;
    if (Hears(it->second))
      heard = true;
    else
      unheard.push_back(p.member.id);
  }
  if (!heard || unheard.empty()) return;
  ++out.total;
  for (const auto& c : unheard) ++out.unheard[c];
  if (out.listed.size() < kMaxPathWarnings) out.listed.push_back({id, std::move(unheard)});
}

uint64_t ClusterView::path_passes() const {
  MutexLock lock(mu_);
  return path_passes_;
}

uint64_t ClusterView::down_evaluations() const {
  MutexLock lock(mu_);
  return down_evaluations_;
}

ClusterView::PathInputs ClusterView::PathInputsNow() const {
  PathInputs in{digests_.sources, local_.size()};
  for (const auto& p : peers_) {
    if (Live(p)) {
      in.insert(in.end(), {1, p.digests.sources, p.sources.size()});
    } else {
      in.push_back(0);
    }
  }
  return in;
}

bool ClusterView::StepPathPass(size_t budget) const {
  PathPass& pass = path_pass_;
  if (!pass.started) {
    PathInputs inputs = PathInputsNow();
    if (path_done_inputs_ && *path_done_inputs_ == inputs) return true;  // still current
    pass.started = true;
    pass.inputs = std::move(inputs);
    ++path_passes_;
  }
  // Walks one table from where the pass stands: 1 when it is done, 0 when the budget ran
  // out, -1 when the table was rehashed since its walk began (the pass starts again).
  // Every id once, without building a set of all of them: ours first, then each live
  // peer's that neither we nor an earlier live peer know.
  auto walk = [&](const auto& table, size_t index) FW_REQUIRES(mu_) -> int {
    if (pass.bucket == 0) pass.buckets = table.bucket_count();
    if (table.bucket_count() != pass.buckets) {
      PathInputs inputs = std::move(pass.inputs);
      pass = PathPass{};
      pass.started = true;
      pass.inputs = std::move(inputs);
      return -1;
    }
    for (; pass.bucket < pass.buckets && budget > 0; ++pass.bucket) {
      for (auto it = table.begin(pass.bucket); it != table.end(pass.bucket); ++it) {
        if (budget > 0) --budget;  // whole buckets: a few ids past the budget at most
        const std::string& id = it->first;
        if (index > 0) {
          if (local_.count(id)) continue;
          bool earlier = false;
          for (size_t j = 0; j + 1 < index && !earlier; ++j) {
            earlier = Live(peers_[j]) && peers_[j].sources.count(id) > 0;
          }
          if (earlier) continue;
        }
        CheckPath(id, pass.found);
      }
    }
    return pass.bucket >= pass.buckets ? 1 : 0;
  };
  while (budget > 0) {
    int walked = 1;
    if (pass.table == 0) {
      walked = walk(local_, 0);
    } else if (Live(peers_[pass.table - 1])) {
      walked = walk(peers_[pass.table - 1].sources, pass.table);
    }
    if (walked < 0) continue;
    if (walked == 0) return false;
    if (pass.table < peers_.size()) {  // the next table
      ++pass.table;
      pass.bucket = 0;
      continue;
    }
    std::sort(pass.found.listed.begin(), pass.found.listed.end(),
              [](const PathWarning& a, const PathWarning& b) { return a.source < b.source; });
    path_done_ = std::move(pass.found);
    path_done_inputs_ = std::move(pass.inputs);
    pass = PathPass{};
    return true;
  }
  return false;
}

ClusterStatus ClusterView::Snapshot(size_t max_warnings) const {
  MutexLock lock(mu_);
  ClusterStatus st;
  st.self = self_;
  st.config_digest = config_digest_;
  st.isolated = isolated_;
  st.alone = !peers_.empty() && AloneLocked();
  const MonoTime now = clock_.Now();

  StepPathPass(path_slice_);
  st.path_warnings_total = path_done_.total;
  st.path_warnings.assign(path_done_.listed.begin(),
                          path_done_.listed.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                          max_warnings, path_done_.listed.size())));

  int rank = 0;
  for (size_t i = 0; i < config_.members.size(); ++i) {
    PeerStatus ps;
    ps.member = config_.members[i];
    if (ps.member.id == self_) {
      ps.self = true;
      ps.state = PeerState::kUp;
      ps.config_digest = config_digest_;
      ps.rank = rank++;
    } else {
      for (const auto& p : peers_) {
        if (p.member.id != ps.member.id) continue;
        ps.state = p.state;
        ps.rank = p.state == PeerState::kDown ? -1 : rank++;
        ps.phi = p.has_arrival ? p.detector.Phi(now, phi_) : 0;
        ps.last_sync_age_ms = p.has_arrival ? Ms(now - p.last_arrival) : -1;
        ps.config_digest = p.config_digest;
        ps.config_matches = p.config_digest.empty() || p.config_digest == config_digest_;
        ps.sees = p.sees;
        ps.syncs_ok = p.syncs_ok;
        ps.syncs_failed = p.syncs_failed;
        ps.last_error = p.last_error;
        ps.table_entries = p.sources.size();
        ps.sync_bytes_sent = p.bytes_sent;
        ps.sync_bytes_received = p.bytes_received;
        ps.sync_exchange_us = p.exchange_us;
        ps.last_exchange_ms = p.last_exchange_ms;
      }
    }
    if (auto it = path_done_.unheard.find(ps.member.id); it != path_done_.unheard.end()) {
      ps.unheard_sources = it->second;
    }
    if (!ps.self) {
      // Seen by some live collectors and not by others: a path, not a dead collector.
      bool reached = ps.state == PeerState::kUp;
      std::vector<std::string> not_reached;
      if (ps.state == PeerState::kDown) not_reached.push_back(self_);
      for (const auto& q : peers_) {
        if (!Live(q) || q.member.id == ps.member.id) continue;
        auto it = q.sees.find(ps.member.id);
        if (it == q.sees.end()) continue;
        if (it->second == "up") reached = true;
        if (it->second == "down") not_reached.push_back(q.member.id);
      }
      if (reached) ps.unreachable_from = std::move(not_reached);
    }
    st.collectors.push_back(std::move(ps));
  }
  return st;
}

}  // namespace firewatch::collector
