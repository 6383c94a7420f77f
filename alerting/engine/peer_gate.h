// What the alerting engine exchanges with peer collectors (docs/cluster.md). The engine
// knows nothing about HTTP or membership: the collector's cluster implements PeerGate,
// and moves the replicated pieces (model/replicated.h: incidents, the notification log,
// silences) to the peers.
//
//  - Before the outbox sends a due item it asks Decide(): send now, wait, or skip
//    because a peer already delivered it (dedup with claims and takeover).
//  - Incident ids converge: for one group key the incident created by the member that
//    comes first in the cluster's stable order wins (Precedes); the others adopt its id
//    and start, so every collector computes the same idempotency keys.
//  - Acks and resolves by hand replicate through the incident entries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "incident/incident.h"
#include "outbox/gate.h"

namespace firewatch::alerting {

// The longest comment a resolve by hand may carry (API, peers).
inline constexpr size_t kMaxResolveCommentBytes = 1024;

// One incident as replicated to peers.
struct PeerIncident {
  std::string id;
  std::string group_key;
  std::string origin;  // the member whose incident this is (its id is the canonical one)
  IncidentState state = IncidentState::kOpen;
  int64_t started_ms = 0;
  int64_t acked_ms = 0;
  std::string acked_by;
  // Resolved by hand (AlertingEngine::Resolve): who, when (the exporter's clock) and why.
  // Empty when its alerts recovered; peers resolve only hand-resolved incidents (their
  // own alerts tell them about recoveries).
  // (Default member initializers: aggregates written before these fields stay complete.)
  int64_t resolved_ms = 0;
  std::string resolved_by{};
  std::string resolve_comment{};
};

// One entry of this collector's notification log (derived from the outbox).
struct LogEntry {
  enum class State : uint8_t { kClaimed, kDelivered };
  std::string key;  // idempotency key
  State state = State::kClaimed;
  int64_t age_ms = 0;  // since the entry last changed, on the exporter's clock
  // When it last changed, on the exporter's clock: not on the wire, part of the entry's
  // identity for the cluster's deltas (collector/cluster/state_delta.h), so a claim
  // renewed under the same key is a new entry with a fresh age.
  int64_t updated_ms = 0;
};

using outbox::GateDecision;

class PeerGate {
 public:
  virtual ~PeerGate() = default;
  // Whether this collector sends the notification `key`, due since `due_ms`, now.
  // Called on the outbox sender thread; must not block.
  virtual GateDecision Decide(const std::string& key, int64_t due_ms, int64_t now_ms) = 0;
  // The peer whose notification log says it delivered `key`, or claimed it (was sending
  // it: the outcome is unknown, so it may have gone out), if any; dead peers included.
  // Who was paged (AlertingEngine::Paged) asks this for pages not sent here, so that the
  // all-clear reaches a contact a peer paged before this collector's own copy was gated.
  virtual std::optional<std::string> PeerHandled(const std::string& key) = 0;
  // The canonical open (or acked) incident a peer holds for `group_key`, if any.
  virtual std::optional<PeerIncident> PeerIncidentFor(const std::string& group_key) = 0;
  // The newest incident of `group_key` a peer holds resolved by hand, with the peer that
  // sent it, if any (a group that fires here before this collector opened its incident).
  virtual std::optional<std::pair<std::string, PeerIncident>> PeerResolvedFor(
      const std::string& group_key) = 0;
  // True when an incident created by `origin_a` wins over one created by `origin_b`.
  virtual bool Precedes(const std::string& origin_a, const std::string& origin_b) const = 0;
};

}  // namespace firewatch::alerting
