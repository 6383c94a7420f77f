// One piece of state that the collectors of a cluster share (docs/cluster.md), in the
// manner of Alertmanager's cluster.State: the piece owns its data and its persistence and
// says what to send and how to take what a peer sent; the cluster only moves the parts
// between members (collector/cluster: signing, replay protection, scheduling) and knows
// nothing else about them.
//
// The pieces: incidents and their acks (AlertingEngine::incident_replica), the
// notification log (AlertingEngine::log_replica, derived from the outbox), silences
// (route::ReplicatedSilences) and maintenance windows (route::ReplicatedMaintenance).
// Source verdicts travel the same way but per peer, with versions
// and digests (ClusterView::BuildFor/Apply), because a source table is large and sent as
// deltas. A new piece implements this interface and gets a field in the sync payload
// (as maintenance windows did); nothing in the cluster changes otherwise.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace firewatch::alerting {

// The part of a piece kept as a list of items (silences, maintenance windows) as a peer
// sent it: the items that parsed, and how many entries the payload decoder already
// refused, with the first refusal's message for the log. A bad entry is refused alone.
template <typename Item>
struct PeerItems {
  std::vector<Item> items;
  size_t refused_on_parse = 0;
  std::string parse_error;
};

template <typename Part>
class Replicated {
 public:
  virtual ~Replicated() = default;
  // This collector's part for the next sync payload. Any thread; must not wait for the
  // alerting thread (it may be in the middle of a pass that waits for the gate).
  virtual Part Export() const = 0;
  // The part a verified peer sent (a sync thread or an HTTP worker). Validation of each
  // entry is the piece's own; a bad entry is refused alone and counted, never the whole
  // part. Must not block on the alerting thread: hand work over instead.
  virtual void Merge(const std::string& peer, Part part) = 0;
};

}  // namespace firewatch::alerting
