// The cluster's side of the versioned deltas (state_delta.h) for incidents, the
// notification log, silences and maintenance windows: what Cluster does to each payload
// it sends and to each verified payload it takes (docs/cluster.md, "Incidents, log,
// silences and windows as deltas"). The replicated pieces never see a delta: they export
// and merge whole lists as before.
//
// Compatibility: every payload carries "states" (the echo). A peer whose payloads have
// none is a collector from before deltas: it gets whole lists, and what it sends is
// taken as whole lists. Deltas go to a peer only once its payloads showed "states".
#pragma once

#include <array>
#include <map>
#include <string>

#include "cluster/payload.h"
#include "cluster/state_delta.h"
#include "firewatch/clock.h"
#include "firewatch/log.h"
#include "firewatch/sync/mutex.h"

namespace firewatch::collector {

class ReplicaDeltas {
 public:
  // `boot`: this process's boot id, as our payloads carry it.
  ReplicaDeltas(const Clock& clock, std::string boot);

  // `p` is our payload for `peer` with our whole lists: adds the echo of what we hold of
  // the peer's pieces and, once the peer speaks deltas, cuts each list to what the peer
  // lacks.
  void Outgoing(const std::string& peer, SyncPayload& p);
  // `p` is a verified payload from p.from: each piece it sent as a delta is applied to
  // our copy and replaced by the whole list the copy holds; notes what p.from holds of
  // ours. Log entries come out aged on our clock.
  void Incoming(SyncPayload& p);

 private:
  struct PeerCopies {
    bool speaks_deltas = false;             // its last payload had "states"
    std::string boot;                       // its boot, which our echo names
    std::array<uint64_t, kPieces> holds{};  // what it holds of ours (0: nothing)
    DeltaCopy<alerting::PeerIncident> incidents;
    DeltaCopy<alerting::LogEntry> log;
    DeltaCopy<alerting::route::Silence> silences;
    DeltaCopy<alerting::route::MaintenanceWindow> maintenance;
  };

  const Clock& clock_;
  const std::string boot_;
  DeltaSender sender_;
  Mutex mu_;
  std::map<std::string, PeerCopies> peers_ FW_GUARDED_BY(mu_);  // by peer id
  RateLimiter log_limit_;
};

}  // namespace firewatch::collector
