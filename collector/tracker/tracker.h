// The liveness tracker: per-source replay state, phi-accrual detector and hard backstop.
//
// Input is authenticated heartbeats (protocol::Decode already passed). Observe() applies
// replay protection and records arrivals; Evaluate() is called periodically (about every
// 250 ms by the collector's loop) and turns silence into LATE/DOWN. Both return the
// state transitions they caused, which the caller persists and pages on.
//
// State rules (docs/architecture.md, "Detection"):
//   UP -> LATE    phi (without pause) >= late_phi
//   * -> DOWN     phi (with acceptable pause) >= down_phi, or silent >= backstop
//                 (interval * backstop_intervals + backstop_grace), whichever first
//   LATE -> UP    next heartbeat
//   DOWN -> UP    recovery_heartbeats consecutive heartbeats (hysteresis against flapping)
//   * -> STOPPED  goodbye frame from the source's current boot; STOPPED -> UP on the
//                 next heartbeat
//
// Admission (docs/protocol.md, "Receiving"; docs/security.md): a frame whose interval is
// outside [min_interval, max_interval] is refused (bad_interval); replay protection and
// boot succession are protocol::CheckReplay's (a frame of another boot while the current
// one is alive counts as liveness only). A frame for a source not tracked yet is refused
// when the tracker holds SourceLimits::max_sources (source_limit) or when its key has
// used its new-sources budget for the minute (new_source_rate). Nothing else grows the
// tracker; Forget*() shrink it.
//
// Thread-safety: all public methods are safe to call from any thread (one mutex). Time
// comes only from the injected Clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "detector/phi_detector.h"
#include "firewatch/clock.h"
#include "firewatch/protocol/frame.h"
#include "firewatch/sync/mutex.h"
#include "tracker/check_book.h"
#include "tracker/deadline.h"
#include "tracker/label_pool.h"
#include "tracker/source_index.h"
#include "tracker/source.h"
#include "tracker/wake_wheel.h"

namespace firewatch::collector {

struct DeadlineState;  // tracker_entry.h

struct DetectionConfig {
  PhiParams phi;                        // window and min stddev; pause is derived below
  uint32_t acceptable_missed = 1;       // heartbeats that may be lost before phi climbs
  double late_phi = 3.0;
  double down_phi = 8.0;
  uint32_t backstop_intervals = 3;
  Duration backstop_grace = std::chrono::seconds(2);
  uint32_t recovery_heartbeats = 2;
  // The timestamp window: frames older than max_clock_skew or further ahead than
  // max_future_skew (receiver's wall clock) are refused as clock_skew.
  std::chrono::milliseconds max_clock_skew = std::chrono::seconds(120);
  std::chrono::milliseconds max_future_skew = std::chrono::seconds(5);
  // Bounds on the interval a frame declares (it sizes the DOWN backstop).
  std::chrono::milliseconds min_interval = std::chrono::seconds(1);
  std::chrono::milliseconds max_interval = std::chrono::hours(1);
};

// Bounds on what the tracker holds. The defaults are "unlimited" (tests, benchmarks);
// the collector's config sets real ones (docs/configuration.md).
struct SourceLimits {
  size_t max_sources = SIZE_MAX;
  // New sources each key may add per minute (a token bucket holding one minute's worth);
  // 0 = no limit.
  uint32_t new_sources_per_key_per_minute = 0;
};

// Where the tracker stands against its limits, for the API, status page, metrics and
// the one log line an operator needs (the app reports changes, not every frame).
struct LimitStatus {
  size_t tracked = 0;
  size_t max_sources = SIZE_MAX;
  bool at_capacity = false;                // tracked >= max_sources
  uint32_t new_sources_per_key_per_minute = 0;
  std::vector<std::string> rate_limited_keys;  // refused a new source in the last minute
  uint64_t refused_at_capacity = 0;        // totals since start
  uint64_t refused_by_rate = 0;
  uint64_t check_outputs_cut = 0;  // messages cut to kMaxBookOutputBytes (check_book.h)
};

struct ObserveResult {
  std::optional<protocol::RejectReason> rejected;  // replayed / clock_skew
  std::optional<Transition> transition;
  std::vector<CheckChange> check_changes;  // checks whose alert state changed (check_book.h)
};

// What the last Evaluate() looked at (tests and the benchmark: the scan's cost is
// O(sources whose wake time came), not O(all sources); tracker/wake_wheel.h).
struct EvaluateStats {
  uint64_t evaluated = 0;   // heartbeat entries whose state rules were checked
  uint64_t deadlines = 0;   // deadline sources checked (all of them, every tick)
  WheelStats wheel;         // items the wheel scanned, handed back, moved, dropped
  size_t wheel_items = 0;   // items in the wheel afterwards (incl. stale ones)
  size_t wheel_bytes = 0;   // heap the wheel holds (filled by LastEvaluateStats)
};

struct StateCounts {
  uint64_t by_state[kSourceStateCount] = {};
  uint64_t total = 0;
  uint64_t checks_stale = 0;  // sources whose check state is stale (SourceSnapshot::checks_stale)
};

// A filtered, paged listing of the sources (Tracker::Query, tracker_query.cc; the API's
// GET /api/v1/sources and the status page). Sources are listed in the tracker's own
// order, first contact, by a per-process sequence number each source gets when it is
// first tracked (`SourcePage::seqs`): it never changes while the source is tracked and is
// never reused, so a cursor (`after`) neither repeats nor skips a source when others are
// added or forgotten between two pages.
struct SourceQuery {
  uint8_t states = 0;  // bit (1 << SourceState) per wanted state; 0 = every state
  // ASCII case-insensitive substring of the source id; empty = any id. Longer than an id
  // can be (protocol::kMaxIdLength) matches nothing.
  std::string id_contains;
  // Each label test must pass: `matches(value of label name)`, a missing label being
  // the empty string (the matcher rule of alerting/route/matcher.h, which the API uses).
  struct LabelTest {
    std::string name;
    std::function<bool(std::string_view)> matches;
  };
  std::vector<LabelTest> labels;
  uint64_t after = 0;  // only sources whose sequence number is greater (0: from the start)
  size_t limit = 500;  // at most this many in the page
  // Count every match in the whole table (SourcePage::matched): one more pass over the
  // sources that the page alone does not need.
  bool count = true;
};

struct SourcePage {
  std::vector<SourceSnapshot> sources;  // in sequence order
  std::vector<uint64_t> seqs;           // seqs[i]: sources[i]'s sequence number
  // More sources match after the last one here: pass this as `after` for the next page.
  std::optional<uint64_t> next;
  // Sources that match, in the whole table (SourceQuery::count, else nullopt). Counted
  // in the same pass as the page, which drops the lock between slices of sources, so
  // a change made during the request may or may not be in it.
  std::optional<uint64_t> matched;
  uint64_t total = 0;  // sources tracked when the request began
};

class Tracker {
 public:
  Tracker(const Clock& clock, DetectionConfig config, SourceLimits limits = {});
  ~Tracker();

  // Replaces the detection settings (SIGHUP reload); keeps all source state.
  void SetConfig(const DetectionConfig& config) FW_EXCLUDES(mu_);
  // Replaces the limits (SIGHUP reload). Sources beyond a lowered max_sources are kept
  // (never dropped); only new ones are refused until enough are forgotten.
  void SetLimits(const SourceLimits& limits) FW_EXCLUDES(mu_);
  LimitStatus Limits() const FW_EXCLUDES(mu_);
  // Replaces how check reports turn into alert states (config load and SIGHUP reload;
  // tracker/check_book.h). Records keep their state; the new rules apply from the next
  // heartbeat.
  void SetCheckAlerts(CheckAlertPolicy policy) FW_EXCLUDES(mu_);

  // Loads persisted sources after a restart. A source's silence is measured from its
  // persisted last_seen, but never less than from `restart` minus ... see the .cc:
  // sources that were not DOWN get one full backstop from now before they can be
  // declared DOWN, because this collector could not listen while it was stopped.
  void Restore(std::vector<SourceSnapshot> sources) FW_EXCLUDES(mu_);

  // Applies one authenticated frame. The Heartbeat overload (tests, tools) builds a view
  // first; the ingest paths pass views.
  ObserveResult Observe(const protocol::HeartbeatView& hb, Transport transport) FW_EXCLUDES(mu_);
  ObserveResult Observe(const protocol::Heartbeat& hb, Transport transport) FW_EXCLUDES(mu_);
  // Applies many under one lock and one clock reading (the UDP path: one recvmmsg
  // batch, read within microseconds). results[i] is frames[i]'s outcome; `results` is
  // resized and its elements reused, so a caller that keeps it does not allocate.
  void ObserveBatch(std::span<const protocol::HeartbeatView* const> frames, Transport transport,
                    std::vector<ObserveResult>& results) FW_EXCLUDES(mu_);

  // Applies the state rules at clock.Now() to every source that could have changed
  // state without a frame: those whose wake time (the earliest instant a threshold
  // could be crossed) has come, plus every deadline source. The same transitions, in
  // the same (position) order, as EvaluateFullScan().
  std::vector<Transition> Evaluate() FW_EXCLUDES(mu_);
  // The rules applied to every source (the scan Evaluate() replaced): the reference the
  // tests compare Evaluate() against, and the benchmark's "before". O(all sources).
  std::vector<Transition> EvaluateFullScan() FW_EXCLUDES(mu_);
  EvaluateStats LastEvaluateStats() const FW_EXCLUDES(mu_);

  // Copies for the API, status page and metrics (phi filled in).
  std::vector<SourceSnapshot> Snapshot() const FW_EXCLUDES(mu_);
  std::optional<SourceSnapshot> Get(std::string_view source_id) const FW_EXCLUDES(mu_);
  // One page of the sources `query` selects (tracker_query.cc). Never copies more than
  // the page; walks the table in slices of kQuerySlice sources, taking the lock once per
  // slice, so a listing of a million sources never holds up ingest for long.
  SourcePage Query(const SourceQuery& query) const FW_EXCLUDES(mu_);
  static constexpr size_t kQuerySlice = 16384;
  // Counts by state (the status API and page). Walks the table in slices like Query, so
  // total is the number of sources the walk met (the sum of by_state).
  StateCounts Counts() const FW_EXCLUDES(mu_);
  // Counts per value of the label `key`, sorted by value (sources without the label under
  // ""): the per-failure-domain metrics, on every /metrics scrape. Reads the label once
  // per distinct label set and slice, in place; walks in slices like Query (a scrape at
  // a million sources held ingest up to 300 ms when it took the lock for the whole
  // table: docs/benchmarks.md section 6).
  std::vector<std::pair<std::string, StateCounts>> CountsBy(std::string_view key) const
      FW_EXCLUDES(mu_);
  size_t size() const FW_EXCLUDES(mu_);

  // Sources changed since they were last taken, for the store (phi not meaningful): at
  // most `max`, those changed first first. The collector takes them every
  // collector.last_seen_every, in chunks (CollectorApp::WriteLastSeen): a heartbeat's
  // changes (last-seen time, replay position, reported checks) reach the store in these
  // batches. A source of which only what every heartbeat changes has changed since it was
  // last taken (SourceProgress) comes as progress, the others as whole rows (labels,
  // checks, ...): at a million sources, nearly all are progress, which costs the store a
  // fraction of a whole row and the lock no label decoding. The lock is held while the
  // chunk is made.
  DirtyRows TakeDirty(size_t max = SIZE_MAX) FW_EXCLUDES(mu_);
  // How many sources TakeDirty has still to hand out.
  size_t dirty_count() const FW_EXCLUDES(mu_);
  // Every source is handed out again, as a whole row, by the next TakeDirty calls: after
  // the store dropped a batch (Store::batches_dropped), whose whole rows a later
  // progress update could not repair.
  void MarkAllDirty() FW_EXCLUDES(mu_);
  // Snapshots of the sources `ids` names (each once; ids no longer tracked are skipped),
  // for writing what must not wait for TakeDirty (a transition, a check's alert-state
  // change) at once. They stay dirty: the next TakeDirty writes them again, which costs
  // one row and keeps TakeDirty's contract.
  std::vector<SourceSnapshot> SnapshotsOf(const std::vector<std::string>& ids) const
      FW_EXCLUDES(mu_);

  // Forgetting: removes sources from memory and returns what each was (its last
  // snapshot, for resolving its alerts and deleting it from the store, which the caller
  // does). A forgotten source that is heard again is a new source.
  //   Forget: the source `id` (operator request); nullopt when unknown.
  //   ForgetUnlessHeardSince: each (id, since_ms) of `tombstones` whose source is known
  //     and had no frame accepted at or after since_ms (a peer's tombstone must not
  //     remove a source this collector still hears); one O(n) pass for all of them.
  //   ForgetSilentFor: every source not heard for `silence` or longer, measured like the
  //     backstop (monotonic; a source alive when the collector stopped counts from the
  //     restart, so a long collector outage does not forget live hosts); one O(n) pass.
  std::optional<SourceSnapshot> Forget(std::string_view id) FW_EXCLUDES(mu_);
  std::vector<SourceSnapshot> ForgetUnlessHeardSince(
      const std::vector<std::pair<std::string, int64_t>>& tombstones) FW_EXCLUDES(mu_);
  std::vector<SourceSnapshot> ForgetSilentFor(Duration silence) FW_EXCLUDES(mu_);

  // ---- deadline sources (scheduled checks; tracker/deadline.h, tracker_deadline.cc) ----
  // Replaces the set of deadline sources (config load and reload). Call before Restore()
  // so restored checks are judged by their deadline. Tracked sources whose id is in
  // `sources` take the new policy and labels; a check removed from the config keeps its
  // last policy until it is forgotten.
  void SetDeadlines(std::vector<DeadlineSource> sources) FW_EXCLUDES(mu_);
  struct PingResult {
    bool known = false;  // false: no deadline source has this id (the caller answers 404)
    std::optional<Transition> transition;
    int64_t duration_ms = -1;  // run time when this ping finished a started run
  };
  // Applies one ping to the deadline source `id` (wall clock: the schedule is wall time).
  PingResult Ping(std::string_view id, const PingEvent& ping) FW_EXCLUDES(mu_);

 private:
  struct Entry;
  // Calls visit(entry, now, slice_start) for each entry whose seq is after `after`, in
  // order of first contact, until it returns false. Takes the lock once per kQuerySlice
  // entries (`now` is read before each slice; slice_start is true for a slice's first
  // entry) and finds its place again by sequence number (tracker_query.cc says why), so
  // the ingest path waits for one slice at most. Between slices sources may be added
  // (they come last, and are met) or forgotten; none is met twice. An address from an
  // entry (an interned label set's) is unique only until its slice ends: caches keyed by
  // one are dropped at slice_start. Defined in tracker_entry.h.
  template <typename Visit>
  void WalkInSlices(uint64_t after, const Visit& visit) const FW_EXCLUDES(mu_);
  // Position of `id` in entries_, or SourceIndex::kNone.
  uint32_t PositionOf(std::string_view id, uint32_t hash) const FW_REQUIRES(mu_);
  Entry& Add(std::string id, uint32_t hash) FW_REQUIRES(mu_);  // id must be new
  // `e` is to be taken by TakeDirty: MarkDirty as a whole row, MarkProgress as progress
  // (unless its whole row is due already).
  void MarkDirty(Entry& e) FW_REQUIRES(mu_);
  void MarkProgress(Entry& e) FW_REQUIRES(mu_);
  // Applies one heartbeat's checks to `e`'s book (created, or copied while a snapshot
  // shares it), appending the alert-state changes to `changes`. True when the checks the
  // store keeps (ReportedChecks) changed: then the row goes whole.
  bool ApplyChecks(Entry& e, std::span<const protocol::CheckView> checks, int64_t now_ms,
                   std::vector<CheckChange>& changes) FW_REQUIRES(mu_);
  void ObserveLocked(const protocol::HeartbeatView& hb, uint32_t hash, Transport transport,
                     MonoTime now, int64_t now_ms, ObserveResult& out) FW_REQUIRES(mu_);
  SourceSnapshot ToSnapshot(const Entry& e, MonoTime now) const FW_REQUIRES(mu_);
  std::optional<Transition> SetState(Entry& e, SourceState to, std::string reason) FW_REQUIRES(mu_);
  // The state rules for one heartbeat source at `now` (Evaluate's per-entry step).
  std::optional<Transition> EvaluateHeartbeat(Entry& e, MonoTime now) FW_REQUIRES(mu_);
  // Wake times (monotonic ms; tracker/wake_wheel.h). WakeOf: the earliest instant at
  // which EvaluateHeartbeat could change `e` without a new frame, rounded down (never
  // late); kNoWake when nothing can (STOPPED, DOWN not recovering, deadline sources).
  static constexpr int64_t kNoWake = INT64_MAX;
  int64_t WakeOf(const Entry& e) const FW_REQUIRES(mu_);
  void Arm(Entry& e, int64_t wake_ms) FW_REQUIRES(mu_);  // a new item; older ones go stale
  // After a frame changed `e`: re-arms when the wake moved earlier, else only records
  // the later time (the wheel moves the item when it meets it).
  void Rewake(Entry& e) FW_REQUIRES(mu_);
  void RearmAll() FW_REQUIRES(mu_);  // positions or detection settings changed
  // May a new source under `key_id` be added now? Counts refusals. Locked.
  std::optional<protocol::RejectReason> AdmitNewSource(std::string_view key_id, MonoTime now)
      FW_REQUIRES(mu_);
  // Removes every entry `doomed(entry)` selects (O(n): compacts, re-indexes); returns
  // their snapshots. Locked.
  template <typename Pred>
  std::vector<SourceSnapshot> RemoveWhere(const Pred& doomed) FW_REQUIRES(mu_);
  // Deadline sources (tracker_deadline.cc).
  void AttachDeadline(Entry& e, const DeadlineSource& spec, int64_t due_from_ms)
      FW_REQUIRES(mu_);
  std::optional<Transition> EvaluateDeadline(Entry& e, int64_t now_ms) FW_REQUIRES(mu_);
  void FillPingInfo(const Entry& e, SourceSnapshot& s) const FW_REQUIRES(mu_);
  bool IsDeadlineId(std::string_view id) const FW_REQUIRES(mu_);
  DeadlineState& StateOf(const Entry& e) const FW_REQUIRES(mu_);  // e.deadline must be set

  // A key's new-sources budget (token bucket, refilled continuously).
  struct KeyBudget {
    double tokens = 0;
    MonoTime refilled{};
    MonoTime last_refused{};
    bool refused = false;
  };

  const Clock& clock_;
  // Every lock of mu_ is a WaitCountedLock on waiters_, except a walk's (WalkInSlices),
  // which gives way to them between slices.
  mutable Mutex mu_;
  mutable LockWaiters waiters_;
  DetectionConfig config_ FW_GUARDED_BY(mu_);
  SourceLimits limits_ FW_GUARDED_BY(mu_);
  CheckAlertPolicy check_alerts_ FW_GUARDED_BY(mu_);
  // One per key id that added a source: bounded by the keyring (frames reach the
  // tracker only after their key authenticated them).
  std::map<std::string, KeyBudget, std::less<>> budgets_ FW_GUARDED_BY(mu_);
  uint64_t refused_at_capacity_ FW_GUARDED_BY(mu_) = 0;
  uint64_t refused_by_rate_ FW_GUARDED_BY(mu_) = 0;
  uint64_t check_outputs_cut_ FW_GUARDED_BY(mu_) = 0;
  // Every source ever heard, in order of first contact.
  std::vector<Entry> entries_ FW_GUARDED_BY(mu_);
  uint64_t next_seq_ FW_GUARDED_BY(mu_) = 1;  // Entry::seq of the next new source
  SourceIndex index_ FW_GUARDED_BY(mu_);  // source id -> position in entries_
  LabelPool label_pool_ FW_GUARDED_BY(mu_);
  InternPool texts_ FW_GUARDED_BY(mu_);  // agent versions and goodbye reasons
  // Positions changed since TakeDirty last took them, in the order they changed; the
  // first dirty_head_ are taken already (dropped once they are half of it).
  std::vector<uint32_t> dirty_ FW_GUARDED_BY(mu_);
  size_t dirty_head_ FW_GUARDED_BY(mu_) = 0;
  std::map<std::string, DeadlineSource, std::less<>> deadlines_ FW_GUARDED_BY(mu_);  // by id
  // Heartbeat entries by wake time, and the config's thresholds as standardized
  // distances (StandardizedBelow of late_phi and down_phi), computed once per config.
  WakeWheel wheel_ FW_GUARDED_BY(mu_);
  double late_y_ FW_GUARDED_BY(mu_) = 0;
  double down_y_ FW_GUARDED_BY(mu_) = 0;
  EvaluateStats eval_stats_ FW_GUARDED_BY(mu_);
  // State of each tracked deadline source (Entry::deadline set), by id; at most one per
  // configured check. Outside Entry so heartbeat sources do not grow.
  std::map<std::string, std::unique_ptr<DeadlineState>, std::less<>> deadline_states_
      FW_GUARDED_BY(mu_);
};

}  // namespace firewatch::collector
