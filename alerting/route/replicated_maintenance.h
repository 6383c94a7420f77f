// The maintenance windows a collector holds (route/maintenance.h), as one replicated piece
// of state (model/replicated.h) with its persistence: the `maintenance` table of
// incidents.db (docs/storage.md), one JSON body per window id. The API creates, lists and
// expires windows here; peer sync exports and merges them here (newest updated_at wins;
// expired windows are kept as tombstones for `retention` so an expiry reaches every
// peer); the route dispatcher mutes with muter(), whose snapshot it reads without a lock;
// the status page and the source API ask MutedBy() for the "in maintenance" mark.
//
// Thread-safe. Writers (Create, Expire, Merge) are serialized by mu_ and write the store
// before they return; readers copy the snapshot pointer under a short lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/status.h"
#include "firewatch/sync/mutex.h"
#include "model/replicated.h"
#include "route/maintenance.h"

namespace firewatch::alerting {
class BodyTable;
}

namespace firewatch::alerting::route {

using PeerWindows = PeerItems<MaintenanceWindow>;

class ReplicatedMaintenance final : public Replicated<PeerWindows>, public Muter {
 public:
  using IdGenerator = std::function<std::string()>;
  explicit ReplicatedMaintenance(const Clock& clock, MaintenanceLimits limits = {},
                                 IdGenerator ids = RandomSilenceId);
  ~ReplicatedMaintenance() override;

  // Opens the maintenance table of incidents.db at `path` and loads it (rows that fail
  // validation are logged, counted as refused by "store" and left on disk). Without
  // Open the windows live in memory only (unit tests).
  Status Open(const std::string& path);

  // Creates a window: a new id always (any id given is ignored); starts_at in the past
  // becomes now; ends_at must be after now. InvalidArgument names the field or limit.
  Result<std::string> Create(MaintenanceWindow w);
  // Ends a window (a recurring one: the whole series) now. NotFound, or InvalidArgument
  // when already expired.
  Status Expire(const std::string& id);
  // Every held window, by id.
  std::vector<MaintenanceWindow> List() const;
  // The snapshot the muter evaluates (for the state of each window).
  std::shared_ptr<const MaintenanceSnapshot> Snapshot() const;
  // Held windows per state now ("pending", "active", "waiting", "expired").
  std::map<std::string, uint64_t> Counts() const;
  std::map<std::string, uint64_t> Refused() const;  // "peer", "store"

  // Muter: an active window matches `labels`.
  bool Mutes(const LabelSet& labels, WallTime now) const override;
  std::vector<std::string> MutedBy(const LabelSet& labels, WallTime now) const;
  const Muter* muter() const { return this; }
  WallTime WallNow() const { return clock_.WallNow(); }  // the clock windows are judged by

  PeerWindows Export() const override;
  void Merge(const std::string& peer, PeerWindows part) override;

 private:
  // Takes `w` when new or newer than the held copy; false when unchanged.
  Result<bool> TakeLocked(MaintenanceWindow w, WallTime now) FW_REQUIRES(mu_);
  // Drops expired windows past retention, then the oldest beyond max_expired.
  std::vector<std::string> GcLocked(WallTime now) FW_REQUIRES(mu_);
  void PublishLocked() FW_REQUIRES(mu_);
  void PersistLocked(const std::vector<MaintenanceWindow>& changed,
                     const std::vector<std::string>& dropped) FW_REQUIRES(mu_);
  size_t LiveLocked(WallTime now) const FW_REQUIRES(mu_);

  const Clock& clock_;
  const MaintenanceLimits limits_;
  const IdGenerator ids_;
  mutable Mutex mu_;  // writers
  std::map<std::string, std::shared_ptr<const CompiledWindow>> windows_ FW_GUARDED_BY(mu_);
  std::unique_ptr<BodyTable> store_ FW_PT_GUARDED_BY(mu_);
  std::set<std::string> refusal_logged_ FW_GUARDED_BY(mu_);  // bounded (256)
  mutable Mutex snapshot_mu_ FW_ACQUIRED_AFTER(mu_);
  std::shared_ptr<const MaintenanceSnapshot> snapshot_ FW_GUARDED_BY(snapshot_mu_);
  std::atomic<uint64_t> peer_refused_{0};
  std::atomic<uint64_t> store_refused_{0};
};

}  // namespace firewatch::alerting::route
