#include "cluster/replica_deltas.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace firewatch::collector {

namespace {

int64_t MonoMs(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch())
      .count();
}

// One piece for a peer that speaks deltas: the items it lacks, and the delta's header.
template <typename Item>
void PutDelta(DeltaSender& sender, Piece piece, uint64_t peer_holds, std::vector<Item>& items,
              std::optional<PieceDelta>& delta) {
  std::vector<uint64_t> ids;
  ids.reserve(items.size());
  for (const auto& item : items) ids.push_back(SyncItemId(item));
  DeltaSender::Plan plan = sender.PlanFor(piece, ids, peer_holds);
  std::vector<Item> carried;
  carried.reserve(plan.carry.size());
  for (size_t i : plan.carry) carried.push_back(std::move(items[i]));
  items = std::move(carried);
  delta = std::move(plan.delta);
}

// One piece as a peer sent it: a delta goes into our copy and `items` becomes the whole
// list the copy holds; a whole list (the peer does not know yet that we read deltas)
// replaces the copy.
template <typename Item>
void TakeDelta(DeltaCopy<Item>& copy, const std::string& boot, const std::string& peer,
               const std::optional<PieceDelta>& delta, std::vector<Item>& items,
               RateLimiter& log_limit, Piece piece) {
  if (!delta) {
    copy.Reset();
    return;
  }
  const auto outcome = copy.Apply(boot, *delta, std::move(items));
  using O = typename DeltaCopy<Item>::Outcome;
  if (outcome == O::kDiverged || outcome == O::kTooLarge) {
    const char* name = kPieceNames[static_cast<int>(piece)];
    uint64_t suppressed = 0;
    if (log_limit.Allow(std::string("delta_") + name, suppressed)) {
      spdlog::warn(
          "cluster: {} from {} {}; asking for all of them{}", name, peer,
          outcome == O::kDiverged ? "diverged from the sender's digest"
                                  : "over " + std::to_string(kMaxHeldItems) + " items",
          suppressed ? " (" + std::to_string(suppressed) + " more like it suppressed)" : "");
    }
  }
  items = copy.Items();
}

}  // namespace

ReplicaDeltas::ReplicaDeltas(const Clock& clock, std::string boot)
    : clock_(clock), boot_(std::move(boot)), log_limit_(clock, std::chrono::seconds(60)) {}

void ReplicaDeltas::Outgoing(const std::string& peer, SyncPayload& p) {
  MutexLock lock(mu_);
  PeerCopies& c = peers_[peer];
  p.speaks_deltas = true;  // "states": we read deltas, and what we hold of the peer's
  p.holds_boot = c.boot;
  p.holds = {c.incidents.version(), c.log.version(), c.silences.version(), c.maintenance.version()};
  if (!c.speaks_deltas) return;  // whole lists until it shows it reads deltas
  auto put = [&](auto& items, Piece piece) {
    const int i = static_cast<int>(piece);
    PutDelta(sender_, piece, c.holds[i], items, p.deltas[i]);
  };
  put(p.incidents, Piece::kIncidents);
  put(p.log, Piece::kLog);
  put(p.silences, Piece::kSilences);
  put(p.maintenance, Piece::kMaintenance);
}

void ReplicaDeltas::Incoming(SyncPayload& p) {
  const int64_t now = MonoMs(clock_);
  // A log entry's age is relative to when it was sent: our copy keeps when it changed
  // on our clock (in updated_ms, which is not on the wire) and ages it from there.
  for (auto& e : p.log) e.updated_ms = now - std::max<int64_t>(0, e.age_ms);
  MutexLock lock(mu_);
  PeerCopies& c = peers_[p.from];
  if (!p.speaks_deltas) {  // a collector from before deltas
    c = PeerCopies{};
    return;
  }
  c.speaks_deltas = true;
  c.boot = p.boot;
  // Its echo counts only if it names this process: versions restart with every boot.
  c.holds = p.holds_boot == boot_ ? p.holds : std::array<uint64_t, kPieces>{};
  auto take = [&](auto& copy, auto& items, Piece piece) {
    TakeDelta(copy, p.boot, p.from, p.deltas[static_cast<int>(piece)], items, log_limit_, piece);
  };
  take(c.incidents, p.incidents, Piece::kIncidents);
  take(c.log, p.log, Piece::kLog);
  take(c.silences, p.silences, Piece::kSilences);
  take(c.maintenance, p.maintenance, Piece::kMaintenance);
  for (auto& e : p.log) e.age_ms = std::max<int64_t>(0, now - e.updated_ms);
}

}  // namespace firewatch::collector
