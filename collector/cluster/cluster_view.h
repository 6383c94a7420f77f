// What this collector knows about its peers and what they know, and the cluster's
// verdicts built from it (docs/cluster.md):
//
//  - peer liveness: every authenticated sync payload from a peer is a heartbeat; a peer
//    is DOWN after `peer_timeout` without one (a phi-accrual detector, the sources', gives
//    the suspicion shown; it does not decide: docs/cluster.md, "Peer liveness");
//  - merged verdict: a source this collector has DOWN pages only when no live peer that
//    knows it hears it (UP, LATE or STOPPED there); heard by some = path warning;
//  - "collector X down" pages only when every other live peer also has X down, or, when
//    this collector is alone, after `alone_hold` and only if it still hears most sources;
//  - isolation: alone and at least `isolation_fraction` of its sources DOWN -> one
//    CollectorIsolated alert, per-host pages held;
//  - page dedup (PeerGate): delivered by a peer -> skip; claimed by a live peer -> wait;
//    rank r among live members -> wait r x peer_timeout after due, then for a payload
//    from each earlier member not DOWN sent since that turn; else send.
//
// The source table sent to peers is versioned: deltas carry the entries changed since the
// version a peer has (a request of ours it answered, or its echo in any payload), in our
// requests (in our answers to its requests only while our requests fail); 64-bit
// XOR-of-hashes digests (table_digest.h) let a receiver detect a divergent copy, find the
// divergent ranges of source ids and ask for those only; a restarted peer gets every
// range, a bounded number of entries per payload (no full-table pushes; older peers still
// get full tables). Each entry carries the source's failing checks as this collector
// alerts on them (docs/cluster.md, "Checks"), with a digest of its own: every collector
// can show what the cluster knows of a source's checks, also one it does not hear itself.
// Paging on a check stays with the collectors that hear its heartbeats.
//
// Pure logic on an injected Clock; no I/O. Thread-safe (one mutex): the loop thread feeds
// local transitions and calls Tick(), sync threads and HTTP workers apply payloads, the
// outbox sender thread asks Decide().
#pragma once

#include <array>
#include <atomic>
#include <bitset>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cluster/cluster_config.h"
#include "cluster/payload.h"
#include "cluster/table_digest.h"
#include "detector/phi_detector.h"
#include "engine/peer_gate.h"
#include "firewatch/clock.h"
#include "firewatch/sync/mutex.h"
#include "model/alert.h"
#include "tracker/source.h"

namespace firewatch::collector {

enum class PeerState : uint8_t { kUnknown, kUp, kDown };
std::string_view PeerStateName(PeerState s);  // "unknown", "up", "down"

struct PeerStatus {
  ClusterMember member;
  bool self = false;
  PeerState state = PeerState::kUp;
  int rank = -1;                   // among live members; -1 when not live
  double phi = 0;
  int64_t last_sync_age_ms = -1;   // -1: never (or self)
  std::string config_digest;       // as last reported
  bool config_matches = true;
  std::map<std::string, std::string> sees;  // its view of the others
  uint64_t unheard_sources = 0;    // sources others hear and this one has DOWN
  // A path warning about this collector: the live collectors (this one included) that
  // cannot reach it while another live one can. Empty when all agree.
  std::vector<std::string> unreachable_from;
  uint64_t syncs_ok = 0;
  uint64_t syncs_failed = 0;
  std::string last_error;
  uint64_t table_entries = 0;  // sources in our copy of its table
  // Sync bodies to and from it (requests and responses both ways), bytes.
  uint64_t sync_bytes_sent = 0;
  uint64_t sync_bytes_received = 0;
  // The exchanges this collector started with it (request out to response absorbed, ok
  // or not): their total time, and the last one's. -1: none yet.
  uint64_t sync_exchange_us = 0;
  int64_t last_exchange_ms = -1;
};

struct PathWarning {
  std::string source;
  std::vector<std::string> unheard_by;  // live collectors that know it and have it DOWN
};

struct ClusterStatus {
  std::string self;
  std::string config_digest;
  bool isolated = false;
  bool alone = false;
  std::vector<PeerStatus> collectors;  // member order, self included
  std::vector<PathWarning> path_warnings;  // at most `max_warnings`
  uint64_t path_warnings_total = 0;
};

class ClusterView : public alerting::PeerGate {
 public:
  // `boot`: this process's boot id, as its payloads carry it (Cluster stamps them); a
  // peer's echo of our table counts only when it names it. Empty: echoes are ignored
  // (what a peer has is then what our requests got acknowledged).
  ClusterView(const Clock& clock, ClusterConfig config, std::string self_id,
              std::string external_url, std::string boot = "");
  const std::string& boot() const { return boot_; }

  // ---- this collector's sources (loop thread) ----
  // Tracker transitions in; the merged transitions to page on out (AlertFor-ready:
  // to == DOWN fires SourceDown, from == DOWN resolves it).
  std::vector<Transition> OnLocal(const std::vector<Transition>& transitions) FW_EXCLUDES(mu_);
  // After a restart: the tracker's restored sources; DOWN ones were paged already.
  void RestoreLocal(const std::vector<SourceSnapshot>& sources) FW_EXCLUDES(mu_);
  // What was forgotten, and when (wall clock, Unix ms): tombstones, ours or a peer's.
  struct Tombstone {
    std::string source;
    int64_t forgotten_at_ms;
  };
  // The tracker forgot these sources (operator, forget_after, or a peer's tombstones
  // applied here): drops them from the table sent to peers and keeps a tombstone for
  // each that peers receive (docs/cluster.md, "Forgetting"). Returns the transitions that
  // resolve their pages where a merged DOWN had been paged. Tombstones are kept for
  // kTombstoneTtl, at most kMaxTombstones (oldest dropped first); a source heard again
  // loses its tombstone here. O(forgotten + kept tombstones).
  std::vector<Transition> Forget(const std::vector<Tombstone>& forgotten, const std::string& why)
      FW_EXCLUDES(mu_);
  static constexpr Duration kTombstoneTtl = std::chrono::hours(24 * 7);

  // The alert states of this collector's checks changed (the tracker's CheckChanges):
  // a failing one is recorded (or updated), one back to OK dropped; peers get it with the
  // source's next delta. Called after OnLocal for the same heartbeats (the ingestor hands
  // over transitions first), so the source is in the table its checks travel with.
  void OnLocalChecks(const std::vector<CheckChange>& changes) FW_EXCLUDES(mu_);

  // What the peers report of `source`'s checks: each failing check a peer alerts on,
  // member order. Empty when none does (cheap then: no lock while no peer reports any).
  struct PeerCheckReport {
    std::string collector;
    PeerState collector_state = PeerState::kUnknown;
    PeerCheck check;
  };
  std::vector<PeerCheckReport> PeerChecksFor(const std::string& source) const FW_EXCLUDES(mu_);

  struct TickOutput {
    std::vector<Transition> merged;
    std::vector<alerting::Alert> alerts;  // CollectorDown / CollectorIsolated
  };
  // Peer liveness, agreement, isolation and held verdicts at clock.Now().
  TickOutput Tick() FW_EXCLUDES(mu_);

  // ---- peers (any thread) ----
  // What to send `peer` now (sources delta, ranges or a full table, views, asks). The
  // caller adds incidents, log and silences. Ranges sent whole go in requests only: a
  // request learns that it arrived (Delivered), a response does not, and would carry
  // the same ranges again and again until the next request did.
  SyncPayload BuildFor(const std::string& peer, SyncRole role = SyncRole::kRequest)
      FW_EXCLUDES(mu_);
  // The exchange that carried `sent` succeeded: the peer has everything in it.
  void Delivered(const std::string& peer, const SyncPayload& sent) FW_EXCLUDES(mu_);
  void SyncFailed(const std::string& peer, const std::string& error) FW_EXCLUDES(mu_);
  // Sync bodies sent to and received from `peer` (both halves of every exchange).
  void CountSyncBytes(const std::string& peer, uint64_t sent, uint64_t received) FW_EXCLUDES(mu_);
  // How long an exchange this collector started with `peer` took, ok or not.
  void CountExchange(const std::string& peer, Duration took) FW_EXCLUDES(mu_);
  // An authenticated payload from a peer (its request, or its response to ours).
  // InvalidArgument when `from` is not a peer. The peer's tombstones remove those sources
  // from its table here, and are appended to `forgotten` (when given) as (source id,
  // wall time of the forget on this collector's clock) for the caller to apply to the
  // tracker: Forget() is not called for them here.
  Status Apply(const SyncPayload& payload, std::vector<Tombstone>* forgotten = nullptr)
      FW_EXCLUDES(mu_);

  // Path warnings come from the last complete pass over every source id (local and the
  // live peers'); each call walks at most path_pass_slice() more ids of the pass in
  // progress, so a call costs a bounded time whatever the tables' size (at 3 x 1,000,000
  // sources a whole pass every second held the event loop past the socket's buffer).
  // A small cluster finishes a pass in every call: its warnings are always fresh. A pass
  // starts only when what warnings depend on changed since the last one began (the
  // tables' digests, sizes and the peers' liveness: PathInputs), so an idle cluster of
  // millions walks nothing.
  ClusterStatus Snapshot(size_t max_warnings = kMaxPathWarnings) const FW_EXCLUDES(mu_);
  static constexpr size_t kMaxPathWarnings = 100;  // listed; all are counted
  // Ids walked per Snapshot call (tests make it small).
  void set_path_pass_slice(size_t ids) FW_EXCLUDES(mu_);
  // Path-warning passes started so far (tests: an idle cluster starts none).
  uint64_t path_passes() const FW_EXCLUDES(mu_);
  // Merged verdicts of DOWN sources worked out so far (tests: Tick re-evaluates only the
  // sources whose inputs changed).
  uint64_t down_evaluations() const FW_EXCLUDES(mu_);
  // Membership and timings as read at start; the digest in it is the one at start too
  // (config_digest() follows reloads).
  const ClusterConfig& config() const { return config_; }
  // The config digest sent to peers and compared with theirs. A reload sets the new
  // file's (SetConfigDigest): peers see the match or mismatch change on their next sync,
  // and a mismatch is logged again. Thread-safe.
  std::string config_digest() const FW_EXCLUDES(mu_);
  void SetConfigDigest(const std::string& digest) FW_EXCLUDES(mu_);
  const std::string& self() const { return self_; }

  // ---- alerting::PeerGate ----
  alerting::GateDecision Decide(const std::string& key, int64_t due_ms, int64_t now_ms) override;
  std::optional<std::string> PeerHandled(const std::string& key) override;
  std::optional<alerting::PeerIncident> PeerIncidentFor(const std::string& group_key) override;
  std::optional<std::pair<std::string, alerting::PeerIncident>> PeerResolvedFor(
      const std::string& group_key) override;
  bool Precedes(const std::string& origin_a, const std::string& origin_b) const override;

 private:
  struct Local {
    SourceState state = SourceState::kUp;
    uint8_t range = 0;  // SyncRangeOf(id), kept: a restarted peer's every range walks local_
    int64_t down_since_ms = 0;
    protocol::Labels labels;  // kept while DOWN (to build the alert)
    std::string reason;
    bool paged = false;  // a merged DOWN was emitted and not yet resolved
    bool reported = false;  // the source reported the failure (Transition::reported)
  };
  struct PeerLogEntry {
    alerting::LogEntry::State state;
    MonoTime at;
  };
  struct Peer {
    ClusterMember member;
    int index = 0;
    PhiDetector detector;
    PeerState state = PeerState::kUnknown;
    int arrivals_while_down = 0;
    MonoTime last_arrival{};
    bool has_arrival = false;
    std::string boot;
    std::string config_digest;
    bool mismatch_logged = false;
    std::map<std::string, std::string> sees;
    std::unordered_map<std::string, SourceState> sources;  // its table (its view)
    std::unordered_map<std::string, PeerChecks> checks;  // its failing checks, by source
    TableDigest digests;  // of our copy: sources, checks, per range
    std::array<uint32_t, kSyncRanges> range_sizes = {};  // entries of our copy per range
    bool speaks_ranges = false;  // its payloads carry need_ranges (range anti-entropy)
    // Our copy diverged. A peer that speaks ranges is asked for its range digests, then
    // for the divergent ranges; an older one for its whole table.
    bool want_full_from = false;
    bool want_range_digests_from = false;
    std::bitset<kSyncRanges> want_ranges_from;
    // Every change of its table up to this version is in our copy (0: none; its boot):
    // echoed in each payload we send it.
    uint64_t holds = 0;
    // What we sent it: it has every change up to `acked` (a request of ours it answered,
    // or its echo).
    uint64_t acked = 0;
    std::optional<MonoTime> last_delivered;  // our last request it answered
    bool force_full = true;  // it lost our table (start, its restart, a gap in changes_)
    MonoTime last_full{};    // (older peers: full tables every full_sync_every)
    // What it asked us for (ranges peers): our range digests, ranges to send whole, and
    // every tombstone (it restarted).
    bool send_range_digests = false;
    std::bitset<kSyncRanges> send_ranges;
    bool send_tombstones = false;
    std::unordered_map<std::string, PeerLogEntry> log;
    std::vector<alerting::PeerIncident> incidents;
    bool down_alerted = false;
    uint64_t syncs_ok = 0;
    uint64_t syncs_failed = 0;
    std::string last_error;
    uint64_t bytes_sent = 0;
    uint64_t bytes_received = 0;
    uint64_t exchange_us = 0;
    int64_t last_exchange_ms = -1;
  };

  Peer* FindPeer(const std::string& id) FW_REQUIRES(mu_);
  bool Live(const Peer& p) const { return p.state == PeerState::kUp; }
  bool AloneLocked() const FW_REQUIRES(mu_);
  void SetLocalState(const std::string& id, SourceState s) FW_REQUIRES(mu_);
  // Replaces a local source's failing checks (empty: none); a change goes to peers.
  void SetLocalChecks(const std::string& id, PeerChecks checks) FW_REQUIRES(mu_);
  // Drops our copy of a peer's entries in `ranges` (they are about to be replaced).
  void ClearPeerRanges(Peer& p, const std::vector<int>& ranges) FW_REQUIRES(mu_);
  // A local source's entry (and its failing checks) into a payload being built.
  void AppendEntry(SyncPayload& p, const std::string& id, SourceState state) const FW_REQUIRES(mu_);
  // Sets (empty: drops) a peer's copy of a source's failing checks, keeping its digest.
  void SetPeerChecks(Peer& p, const std::string& id, PeerChecks checks) FW_REQUIRES(mu_);
  // Drops tombstones past kTombstoneTtl, then the oldest beyond kMaxTombstones.
  void PruneTombstones(int64_t now_ms) FW_REQUIRES(mu_);
  // Re-evaluates one locally DOWN source; appends a merged transition when it changes.
  void EvaluateDown(const std::string& id, Local& l, std::vector<Transition>& out) FW_REQUIRES(mu_);
  // Peer `p`'s copy of `id` started or stopped hearing it: when `p` is live and `id` is
  // DOWN here, `id` is re-evaluated at the next Tick.
  void PeerHearingChanged(const Peer& p, const std::string& id) FW_REQUIRES(mu_);
  bool HeardByLivePeer(const std::string& id, std::string* by) const FW_REQUIRES(mu_);
  int RankLocked() const FW_REQUIRES(mu_);
  alerting::Alert CollectorDownAlert(const Peer& p, bool firing) const FW_REQUIRES(mu_);
  alerting::Alert IsolatedAlert(bool firing) const FW_REQUIRES(mu_);

  const Clock& clock_;
  const ClusterConfig config_;
  const std::string self_;
  const int self_index_;
  const std::string external_url_;
  const std::string boot_;
  const MonoTime started_;
  PhiParams phi_;

  mutable Mutex mu_;
  std::string config_digest_ FW_GUARDED_BY(mu_);  // config_.digest until a reload
  std::vector<Peer> peers_ FW_GUARDED_BY(mu_);  // member order, self excluded
  std::unordered_map<std::string, Local> local_ FW_GUARDED_BY(mu_);
  // The sources DOWN here: Tick looks at these, not at all of local_ (at a million
  // sources with a dc of them DOWN, walking local_ four times a second kept the loop
  // from reading its socket: bench/cluster_dark_bench.py).
  std::unordered_set<std::string> local_down_ FW_GUARDED_BY(mu_);
  // What Tick re-evaluates of local_down_: EvaluateDown depends on the source's own
  // state (OnLocal evaluates it at once), on whether a live peer hears it, and on
  // alone_ / isolated_ and the alone_hold clock. So Tick looks at the DOWN sources whose
  // peer copies changed their hearing (reevaluate_), at all of them when a peer's
  // liveness, alone_ or isolated_ changed (reevaluate_all_), and at those whose
  // alone_hold ran out (hold_ends_: wall ms, id) -- not at every DOWN source every tick
  // (100,000 DOWN x 4 ticks a second x peers was most of a stalled collector's loop in
  // bench/cluster_dark_bench.py).
  std::unordered_set<std::string> reevaluate_ FW_GUARDED_BY(mu_);
  bool reevaluate_all_ FW_GUARDED_BY(mu_) = false;
  std::set<std::pair<int64_t, std::string>> hold_ends_ FW_GUARDED_BY(mu_);
  uint64_t down_evaluations_ FW_GUARDED_BY(mu_) = 0;  // EvaluateDown calls (tests)
  uint64_t local_known_ FW_GUARDED_BY(mu_) = 0;  // sources here that are not STOPPED
  uint64_t version_ FW_GUARDED_BY(mu_) = 0;
  TableDigest digests_ FW_GUARDED_BY(mu_);  // of local_ and local_checks_
  std::array<uint32_t, kSyncRanges> range_sizes_ FW_GUARDED_BY(mu_) = {};  // local_ per range
  std::unordered_map<std::string, PeerChecks> local_checks_ FW_GUARDED_BY(mu_);
  // Sources with failing checks in all peers' copies together: PeerChecksFor's fast path.
  std::atomic<size_t> peer_checks_total_{0};
  // (version, source), ascending
  std::deque<std::pair<uint64_t, std::string>> changes_ FW_GUARDED_BY(mu_);
  // source -> forgotten at (wall ms)
  std::unordered_map<std::string, int64_t> forgotten_ FW_GUARDED_BY(mu_);
  bool alone_ FW_GUARDED_BY(mu_) = true;
  MonoTime alone_since_ FW_GUARDED_BY(mu_) = {};
  bool isolated_ FW_GUARDED_BY(mu_) = false;
  std::string isolation_summary_ FW_GUARDED_BY(mu_);
  // key -> the first due time the outbox asked about (a deferral moves the item's due;
  // the rank wait counts from the original one). Pruned after an hour.
  std::unordered_map<std::string, int64_t> first_due_ FW_GUARDED_BY(mu_);

  // The path-warning pass (Snapshot): walks local_, then each live peer's table, bucket
  // by bucket, across calls. A rehash of the map being walked restarts the pass.
  struct PathWarnings {
    uint64_t total = 0;
    std::map<std::string, uint64_t> unheard;  // by collector
    std::vector<PathWarning> listed;          // the first kMaxPathWarnings, sorted
  };
  // What the warnings depend on, cheaply: the digest (an XOR of one hash per (id, state)
  // entry) and size of our table and of each live peer's, and which peers are live.
  // Equal inputs: the same tables, but for a 64-bit hash collision.
  using PathInputs = std::vector<uint64_t>;
  PathInputs PathInputsNow() const FW_REQUIRES(mu_);
  struct PathPass {
    size_t table = 0;    // 0: local_, i > 0: peers_[i - 1].sources
    size_t bucket = 0;   // next bucket of that table
    size_t buckets = 0;  // its bucket_count when the walk of it began
    bool started = false;
    PathInputs inputs;  // when the pass started
    PathWarnings found;
  };
  // Walks up to `budget` ids of the pass; true when the pass completed (then in `done`).
  bool StepPathPass(size_t budget) const FW_REQUIRES(mu_);
  void CheckPath(const std::string& id, PathWarnings& out) const FW_REQUIRES(mu_);
  size_t path_slice_ FW_GUARDED_BY(mu_) = 200'000;
  mutable PathPass path_pass_ FW_GUARDED_BY(mu_);
  mutable PathWarnings path_done_ FW_GUARDED_BY(mu_);
  mutable std::optional<PathInputs> path_done_inputs_ FW_GUARDED_BY(mu_);  // of path_done_
  mutable uint64_t path_passes_ FW_GUARDED_BY(mu_) = 0;                    // passes started (tests)
};

}  // namespace firewatch::collector
