// Silences, as in Alertmanager: an operator mutes every alert that matches all of a
// silence's matchers between starts_at (inclusive) and ends_at (exclusive). A silence is
// pending before starts_at, active in [starts_at, ends_at) and expired from ends_at on.
// Expired silences are kept (for listing and for replication to peers) until they are
// older than a retention, or until too many are kept (SilenceLimits).
//
// Silences are wall-time values: they are typed by humans, stored in SQLite and
// replicated to peer collectors as JSON (SilenceToJson / SilenceFromJson; the format is
// described in docs/routing.md). When two collectors hold different versions of one
// silence, the one with the later updated_at wins (Silencer::Merge).
//
// Silences must not be able to take paging down (docs/security.md, "Silences and
// matchers"). Every silence, whether it comes from the API, the store or a peer, passes
// the same ValidateSilence: bounded sizes and counts, and no *broad* silence (one that
// mutes a whole kind of alert for every source, IsBroad) unless it says `force`.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "firewatch/clock.h"
#include "firewatch/status.h"
#include "firewatch/sync/mutex.h"
#include "route/matcher.h"
#include "route/muter.h"

namespace firewatch::alerting::route {

struct Silence {
  std::string id;  // assigned by Silencer::Set; a UUID by default
  Matchers matchers;
  WallTime starts_at{};
  WallTime ends_at{};
  std::string created_by;  // the author
  std::string comment;     // why (a ticket, "dc1 maintenance")
  WallTime updated_at{};   // set by the Silencer on every change; newest wins on merge
  // The operator asked for a broad silence on purpose (JSON "force": true). The API
  // must only accept it with an operator credential; stored and replicated with it.
  bool force = false;
};

// Bounds on silences (docs/routing.md, "Limits"). Matcher values and patterns are
// bounded by the matcher itself (kMaxMatcherValueBytes, kRegexMemoryBudget).
struct SilenceLimits {
  size_t max_matchers = 32;           // per silence
  size_t max_created_by_bytes = 256;
  size_t max_comment_bytes = 1024;
  size_t max_id_bytes = 64;           // ids are [A-Za-z0-9._-]; UUIDs are 36
  size_t max_live = 1000;             // active + pending silences held at once
  size_t max_expired = 1000;          // expired ones kept; the oldest are dropped first
  Duration retention = std::chrono::hours(120);  // expired ones are dropped after this
};

// The largest JSON text SilenceFromJson reads (the API's body limit is the same).
inline constexpr size_t kMaxSilenceJsonBytes = 64 * 1024;

// Times a silence may carry: 1970-01-01 to 2199-12-31 UTC (WallTime counts nanoseconds
// in 64 bits and would overflow after 2262).
inline constexpr int64_t kMinSilenceUnixMs = 0;
inline constexpr int64_t kMaxSilenceUnixMs = 7'258'118'399'999;

enum class SilenceState : uint8_t { kPending, kActive, kExpired };
std::string_view SilenceStateString(SilenceState s);  // "pending", "active", "expired"
SilenceState StateAt(const Silence& s, WallTime now);

// A matcher set is *broad* when it has no selective matcher (Matcher::IsSelective) on a
// label other than `alertname`. `alertname` names a kind of alert that every source
// raises, so pinning only it still mutes that kind fleet-wide (`alertname="SourceDown"`
// mutes every host-down page). So these are broad:
//   alertname=~".+"   alertname!=""   alertname=~".*"   alertname="SourceDown"
//   source=~".+"      dc!="dc2"       team=""           {dc=~".*", team!~"db"}
// and these are not:
//   source="web-1"    dc="dc1"        source=~"web-.*"   alertname="SourceDown", dc="dc1"
// Sound: a narrow silence never mutes an alert that lacks the pinned label, nor one whose
// value lacks the required literal. What it cannot know is the fleet: if every host
// carries env="prod", `env="prod"` mutes them all.
bool IsBroad(const Matchers& ms);

// Checks what every silence must satisfy, wherever it comes from; the message names the
// field (JSON names: matchers, endsAt, createdBy, ...) and the limit:
//  - 1 to limits.max_matchers matchers; not broad unless `force`;
//  - ends_at not before starts_at (equal only for a pending silence that was expired;
//    Set requires ends_at in the future, so new silences end after they start); every
//    time between kMinSilenceUnixMs and kMaxSilenceUnixMs;
//  - created_by and comment not empty and within their limits; id empty or at most
//    max_id_bytes of [A-Za-z0-9._-].
[[nodiscard]] Status ValidateSilence(const Silence& s, const SilenceLimits& limits = {});

// One JSON object (Alertmanager API v2 field names, RFC 3339 UTC times with milliseconds;
// "force": true only when set).
std::string SilenceToJson(const Silence& s);
// Parses SilenceToJson output (and Alertmanager API v2 silences). Unknown fields are
// ignored (a newer peer may add some); missing or mistyped required ones are errors.
// Texts over kMaxSilenceJsonBytes are refused before parsing; the parse allocates at
// most a small multiple of the text. The result is validated with ValidateSilence.
[[nodiscard]] Result<Silence> SilenceFromJson(std::string_view json,
                                              const SilenceLimits& limits = {});
// The same for an already parsed value (a peer's sync payload holds silences inline).
// Reads only the fields it knows, never serializes the value (unknown fields may be
// nested arbitrarily deep: nothing here recurses on them).
[[nodiscard]] Result<Silence> SilenceFromJsonValue(const nlohmann::json& value,
                                                   const SilenceLimits& limits = {});

// A silence's time: RFC 3339 as text::ParseRfc3339 reads it ("2024-05-01T12:00:00Z",
// "2024-05-01T14:00:00.250+02:00"), between kMinSilenceUnixMs and kMaxSilenceUnixMs.
// Silences are written with text::FormatRfc3339 (UTC, milliseconds).
[[nodiscard]] Result<WallTime> ParseSilenceTime(std::string_view text);

// A random UUID (version 4) from the kernel CSPRNG.
std::string RandomSilenceId();

// An immutable set of silences that can mute (active or pending when it was taken).
// Evaluating it takes no lock; many threads may share one. Each silence's matchers are
// tried cheapest first (equality, then regexes by program size), so a non-matching
// silence usually costs one string comparison.
class SilenceSnapshot final : public Muter {
 public:
  SilenceSnapshot() = default;
  explicit SilenceSnapshot(std::vector<std::shared_ptr<const Silence>> silences);

  // Muter: true when a silence active at `now` matches `labels`.
  bool Mutes(const LabelSet& labels, WallTime now) const override;
  // Ids of the silences active at `now` that match `labels`, sorted.
  std::vector<std::string> MutedBy(const LabelSet& labels, WallTime now) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::shared_ptr<const Silence> silence;
    std::vector<const Matcher*> order;  // into silence->matchers, cheapest first
  };
  bool Matches(const Entry& e, const LabelSet& labels, WallTime now) const;
  std::vector<Entry> entries_;  // by id
};

// What Silencer::MergeAll did with a batch.
struct MergeOutcome {
  std::vector<Silence> changed;  // taken (new, or newer than the held copy): persist these
  std::vector<std::pair<std::string, Status>> refused;  // id and why (validation, limits)
  std::vector<std::string> dropped;  // ids pruned to stay within max_expired
};

// The set of silences. Thread-safe: writers (Set, Expire, Merge*, Gc) are serialized by
// an internal mutex and publish a new SilenceSnapshot when they change something
// (copy-on-write); readers of Snapshot() (the alerting thread) hold no lock while they
// evaluate it, so neither the API nor peer sync ever waits for user patterns to be
// matched against alerts, and evaluation never waits for a writer. The writer lock is
// held only for bounded work on one request (validation of at most one batch, map
// updates, building the snapshot: O(held silences)).
class Silencer final : public Muter {
 public:
  using IdGenerator = std::function<std::string()>;
  explicit Silencer(IdGenerator ids = RandomSilenceId, SilenceLimits limits = {});

  // Creates a silence (empty id) or changes one, with Alertmanager's rules:
  //  - starts_at in the past is moved to `now`; ends_at must be after `now`;
  //  - a change to a pending silence, or to an active one that keeps its matchers and
  //    starts_at, updates it in place and keeps its id;
  //  - any other change to an existing silence expires it and creates a new silence
  //    with a new id (so the history of what was muted when stays true).
  // Returns the id; `changed` (optional) receives every silence written, to persist.
  // Errors: InvalidArgument (validation, or limits.max_live active and pending silences
  // already held; the message names the field or limit), NotFound (the id is unknown),
  // or the id generator's error.
  [[nodiscard]] Result<std::string> Set(Silence s, WallTime now,
                                        std::vector<Silence>* changed = nullptr) FW_EXCLUDES(mu_);

  // Ends a silence now: an active one gets ends_at = now, a pending one starts_at =
  // ends_at = now. NotFound for unknown ids, InvalidArgument when already expired.
  [[nodiscard]] Status Expire(const std::string& id, WallTime now) FW_EXCLUDES(mu_);

  // Replication and loading from storage: takes each silence as is (after
  // ValidateSilence) when its id is new or its updated_at is later than the held copy's.
  // A new live silence beyond limits.max_live is refused, as is one expired longer than
  // the retention. Never fails as a whole.
  MergeOutcome MergeAll(const std::vector<Silence>& silences, WallTime now) FW_EXCLUDES(mu_);
  // One silence: whether it changed anything, or why it was refused.
  [[nodiscard]] Result<bool> Merge(const Silence& s, WallTime now) FW_EXCLUDES(mu_);

  // NotFound for unknown ids.
  [[nodiscard]] Result<Silence> Get(const std::string& id) const FW_EXCLUDES(mu_);
  // All held silences, by starts_at then id.
  std::vector<Silence> List() const FW_EXCLUDES(mu_);
  // How many held silences are in each state at `now`.
  std::map<SilenceState, size_t> Count(WallTime now) const FW_EXCLUDES(mu_);

  // The silences that can mute, as published by the last change. Takes a short lock to
  // copy the pointer; never null.
  std::shared_ptr<const SilenceSnapshot> Snapshot() const FW_EXCLUDES(snapshot_mu_);

  // Muter, on the current snapshot.
  bool Mutes(const LabelSet& labels, WallTime now) const override;
  std::vector<std::string> MutedBy(const LabelSet& labels, WallTime now) const;

  // Drops silences whose ends_at is at least `retention` before `now` (Alertmanager keeps
  // them 120h), then the oldest expired ones beyond limits.max_expired. Returns the ids
  // dropped (to delete from storage).
  std::vector<std::string> Gc(WallTime now, Duration retention) FW_EXCLUDES(mu_);
  std::vector<std::string> Gc(WallTime now) FW_EXCLUDES(mu_) { return Gc(now, limits_.retention); }

  const SilenceLimits& limits() const { return limits_; }

 private:
  using Map = std::map<std::string, std::shared_ptr<const Silence>>;
  size_t LiveCountLocked(WallTime now) const FW_REQUIRES(mu_);
  std::vector<std::string> PruneExpiredLocked(WallTime now, Duration retention) FW_REQUIRES(mu_);
  void PublishLocked(WallTime now) FW_REQUIRES(mu_) FW_EXCLUDES(snapshot_mu_);

  const IdGenerator ids_;
  const SilenceLimits limits_;
  mutable Mutex mu_;  // serializes writers
  Map silences_ FW_GUARDED_BY(mu_);
  mutable Mutex snapshot_mu_ FW_ACQUIRED_AFTER(mu_);  // held only to copy the pointer
  std::shared_ptr<const SilenceSnapshot> snapshot_ FW_GUARDED_BY(snapshot_mu_);
};

}  // namespace firewatch::alerting::route
