// The silences a collector holds, as one replicated piece of state (model/replicated.h):
// the Silencer (validation, limits, copy-on-write snapshots for the alerting thread) and
// its persistence in incidents.db (SilenceStore), behind one writer lock. The API sets
// and expires silences here, peer sync exports and merges them here; the route
// dispatcher mutes with muter(), whose snapshot it reads without any lock.
//
// Thread-safe. Writers (Set, Expire, Merge) are serialized by write_mu_ and write the
// store before they return; the alerting thread never takes write_mu_.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/status.h"
#include "firewatch/sync/mutex.h"
#include "model/replicated.h"
#include "route/silence.h"

namespace firewatch::alerting {
class SilenceStore;
}

namespace firewatch::alerting::route {

using PeerSilences = PeerItems<Silence>;

class ReplicatedSilences final : public Replicated<PeerSilences> {
 public:
  explicit ReplicatedSilences(const Clock& clock);
  ~ReplicatedSilences() override;

  // Opens the silences table of incidents.db at `path` and loads what it holds (rows
  // that fail validation are logged, counted as refused by "store" and left on disk for
  // an operator; rows past retention are deleted). Fails naming the file.
  Status Open(const std::string& path);

  // Creates (empty id) or changes a silence (Silencer::Set rules) and persists every
  // version written; returns the id. InvalidArgument names the field or limit, NotFound
  // an unknown id.
  Result<std::string> Set(Silence silence);
  Status Expire(const std::string& id);
  std::vector<Silence> List() const;
  // How many held silences are in each state now ("pending", "active", "expired").
  std::map<std::string, uint64_t> Counts() const;
  // Silences refused, by where they came from: "peer" and "store".
  std::map<std::string, uint64_t> Refused() const;

  // What mutes alerts: the silencer's current snapshot, read without a lock.
  const Muter* muter() const { return &silencer_; }

  // Replicated: every held silence; a peer's silences, newest version of each wins and is
  // persisted here; each is validated as an API silence would be (a broad one needs its
  // force flag) and refused alone when it fails or exceeds a limit: counted and logged
  // once per (peer, id).
  PeerSilences Export() const override;
  void Merge(const std::string& peer, PeerSilences part) override;

 private:
  // Writes `changed` and deletes `dropped` in one transaction (write_mu_ held).
  void Persist(const std::vector<Silence>& changed, const std::vector<std::string>& dropped)
      FW_REQUIRES(write_mu_);

  const Clock& clock_;
  Silencer silencer_;  // internally synchronized (its own writer lock, snapshots)
  // Orders a change with its write to incidents.db, so the store never holds an older
  // version than memory; never held while silences are evaluated.
  mutable Mutex write_mu_;
  std::unique_ptr<SilenceStore> store_ FW_PT_GUARDED_BY(write_mu_);
  std::set<std::string> refusal_logged_ FW_GUARDED_BY(write_mu_);  // bounded (256)
  std::atomic<uint64_t> peer_refused_{0};
  std::atomic<uint64_t> store_refused_{0};
};

}  // namespace firewatch::alerting::route
