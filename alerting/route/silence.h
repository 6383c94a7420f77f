// Silences, as in Alertmanager: an operator mutes every alert that matches all of a
// silence's matchers between starts_at (inclusive) and ends_at (exclusive). A silence is
// pending before starts_at, active in [starts_at, ends_at) and expired from ends_at on.
// Expired silences are kept (for listing and for replication to peers) until Gc drops
// them after a retention period.
//
// Silences are wall-time values: they are typed by humans, stored in SQLite and
// replicated to peer collectors as JSON (SilenceToJson / SilenceFromJson; the format is
// described in docs/routing.md). When two collectors hold different versions of one
// silence, the one with the later updated_at wins (Silencer::Merge).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/status.h"
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
};

enum class SilenceState : uint8_t { kPending, kActive, kExpired };
std::string_view SilenceStateString(SilenceState s);  // "pending", "active", "expired"
SilenceState StateAt(const Silence& s, WallTime now);

// Checks what every stored silence must satisfy: at least one matcher, and at least one
// that does not match the empty string (a silence must not mute everything);
// ends_at not before starts_at (equal only for a pending silence that was expired; Set
// requires ends_at in the future, so new silences end after they start); created_by and
// comment not empty. The message names the field (JSON names: endsAt, createdBy, ...).
[[nodiscard]] Status ValidateSilence(const Silence& s);

// One JSON object (Alertmanager API v2 field names, RFC 3339 UTC times with milliseconds).
std::string SilenceToJson(const Silence& s);
// Parses SilenceToJson output (and Alertmanager API v2 silences). Unknown fields are
// ignored (a newer peer may add some); missing or mistyped required ones are errors. The
// result is validated with ValidateSilence.
[[nodiscard]] Result<Silence> SilenceFromJson(std::string_view json);

// "2024-05-01T12:00:00.250Z". Parse also accepts no fraction and "+02:00" style offsets.
std::string FormatRfc3339(WallTime t);
[[nodiscard]] Result<WallTime> ParseRfc3339(std::string_view text);

// A random UUID (version 4) from the kernel CSPRNG.
[[nodiscard]] Result<std::string> RandomSilenceId();

// The set of silences. Not thread-safe: owned by the alerting loop.
class Silencer final : public Muter {
 public:
  using IdGenerator = std::function<Result<std::string>()>;
  explicit Silencer(IdGenerator ids = RandomSilenceId);

  // Creates a silence (empty id) or changes one, with Alertmanager's rules:
  //  - starts_at in the past is moved to `now`; ends_at must be after `now`;
  //  - a change to a pending silence, or to an active one that keeps its matchers and
  //    starts_at, updates it in place and keeps its id;
  //  - any other change to an existing silence expires it and creates a new silence
  //    with a new id (so the history of what was muted when stays true).
  // Returns the id. Errors: InvalidArgument (validation, naming the field), NotFound (the
  // id is unknown), or the id generator's error.
  [[nodiscard]] Result<std::string> Set(Silence s, WallTime now);

  // Ends a silence now: an active one gets ends_at = now, a pending one starts_at =
  // ends_at = now. NotFound for unknown ids, InvalidArgument when already expired.
  [[nodiscard]] Status Expire(const std::string& id, WallTime now);

  // Replication and loading from storage: takes `s` as is (after ValidateSilence) when
  // its id is new or its updated_at is later than the held copy's. Returns whether it
  // changed anything.
  [[nodiscard]] Result<bool> Merge(const Silence& s);

  // NotFound for unknown ids.
  [[nodiscard]] Result<Silence> Get(const std::string& id) const;
  // All held silences, by starts_at then id.
  std::vector<Silence> List() const;

  // Muter: true when an active silence matches `labels`.
  bool Mutes(const LabelSet& labels, WallTime now) const override;
  // Ids of the active silences that match `labels`, sorted (for "silenced by" displays).
  std::vector<std::string> MutedBy(const LabelSet& labels, WallTime now) const;

  // Drops silences whose ends_at is at least `retention` before `now` (Alertmanager keeps
  // them 120h). Returns how many were dropped.
  size_t Gc(WallTime now, Duration retention);

 private:
  IdGenerator ids_;
  std::map<std::string, Silence> silences_;
};

}  // namespace firewatch::alerting::route
