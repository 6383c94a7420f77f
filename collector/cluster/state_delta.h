// Versioned deltas for the replicated pieces of state (docs/cluster.md, "Incidents, log,
// silences and windows as deltas"): incidents, the notification log, silences and
// maintenance windows. Each piece's Export() is still a whole list on the sender and
// each Merge() still gets a whole list on the receiver (model/replicated.h does not
// change); only the wire carries what changed.
//
// Every item has a 64-bit id: a hash of everything a peer uses of it (SyncItemId in
// payload.h), so a changed item is a new id and the old one is removed. The sender
// numbers each distinct set of ids it exported (a version, per piece, rising) and keeps
// the last kDeltaHistory sets. A receiver echoes, in every payload it sends back, the
// version it holds of each piece and the sender's boot. The sender then sends the items
// not in that version and the ids gone since ("base" = that version), or everything
// ("base" 0) when it does not know the version (a restarted peer, history too short).
// The receiver applies a delta only onto the exact base it holds, checks the result
// against the sender's digest of the whole set, and otherwise drops its copy (version 0)
// so that its echo asks for everything again. Nothing is acknowledged separately: a lost
// payload only means the next one is computed from an older base.
//
// Both halves of an exchange carry deltas and echoes; a payload whose base does not
// match (the other direction's echo raced it) is ignored for that piece and costs one
// more interval. When nothing changed, a piece costs its version, base and digest.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "firewatch/sync/mutex.h"

namespace firewatch::collector {

enum class Piece : uint8_t { kIncidents, kLog, kSilences, kMaintenance };
inline constexpr int kPieces = 4;
inline constexpr const char* kPieceNames[kPieces] = {"incidents", "log", "silences", "maintenance"};
// Versions a sender keeps to compute deltas from; a peer further behind gets everything.
inline constexpr size_t kDeltaHistory = 16;
// Items a receiver holds per piece and peer, at most (a peer's whole list today is far
// smaller: incidents and silences in the hundreds, the log within its window).
inline constexpr size_t kMaxHeldItems = 200'000;

// One piece's delta as it goes on the wire. The items themselves travel in the
// payload's typed lists (SyncPayload::incidents, ...), `ids` parallel to them.
struct PieceDelta {
  uint64_t version = 0;       // of the sender's whole set after this delta
  uint64_t base = 0;          // the version the delta applies to; 0: the items are the whole set
  uint64_t digest = 0;        // DeltaDigest of the whole set at `version`
  std::vector<uint64_t> ids;  // of the items carried, in order (accepted ones)
  std::vector<uint64_t> refused;  // of carried items the decoder refused
  std::vector<uint64_t> removed;  // ids in `base` that are gone
};

// The digest of a set of ids (order-free; each id counted once).
uint64_t DeltaDigest(const std::vector<uint64_t>& distinct_ids);

// The sender's side, for all peers and pieces. Thread-safe.
class DeltaSender {
 public:
  // What to send one peer of one piece: the delta's header and which of the exported
  // items to carry (indexes into the export, in order).
  struct Plan {
    PieceDelta delta;  // ids filled for the carried items; refused empty
    std::vector<size_t> carry;
  };
  // `ids`: the ids of the piece's whole export, in export order. `peer_holds`: the
  // version the peer said it holds (its echo; 0 when it holds nothing or echoed
  // another boot of ours).
  Plan PlanFor(Piece piece, const std::vector<uint64_t>& ids, uint64_t peer_holds);

 private:
  struct Version {
    uint64_t number = 0;
    uint64_t digest = 0;
    std::unordered_set<uint64_t> ids;
  };
  Mutex mu_;
  std::array<std::deque<Version>, kPieces> history_ FW_GUARDED_BY(mu_);  // newest last
  std::array<uint64_t, kPieces> next_ FW_GUARDED_BY(mu_){};
};

// The receiver's copy of one peer's piece: the items by id (nullopt: refused by the
// decoder, kept so the digest still checks out), at the version and boot it came from.
// Not thread-safe (the caller holds a lock per peer).
template <typename Item>
class DeltaCopy {
 public:
  enum class Outcome { kApplied, kBaseMismatch, kDiverged, kTooLarge };
  // Applies `d` with the items it carried (parallel to d.ids). `boot`: the sender's.
  Outcome Apply(const std::string& boot, const PieceDelta& d, std::vector<Item> carried) {
    if (boot != boot_) {  // another process: nothing we hold is its
      boot_ = boot;
      Reset();
    }
    if (d.base != 0 && d.base != version_) return Outcome::kBaseMismatch;
    if (d.base == 0) items_.clear();
    for (uint64_t id : d.removed) items_.erase(id);
    for (size_t i = 0; i < carried.size() && i < d.ids.size(); ++i) {
      items_[d.ids[i]] = std::move(carried[i]);
    }
    for (uint64_t id : d.refused) items_[id] = std::nullopt;
    if (items_.size() > kMaxHeldItems) {
      Reset();
      return Outcome::kTooLarge;
    }
    std::vector<uint64_t> ids;
    ids.reserve(items_.size());
    for (const auto& [id, item] : items_) ids.push_back(id);
    if (DeltaDigest(ids) != d.digest) {
      // Keep the items (the best we know until the whole set comes), not the version.
      version_ = 0;
      return Outcome::kDiverged;
    }
    version_ = d.version;
    return Outcome::kApplied;
  }
  // Forgets everything (a peer that sent a whole list the old way, or too many items).
  void Reset() {
    items_.clear();
    version_ = 0;
  }
  uint64_t version() const { return version_; }
  std::vector<Item> Items() const {
    std::vector<Item> out;
    out.reserve(items_.size());
    for (const auto& [id, item] : items_) {
      if (item) out.push_back(*item);
    }
    return out;
  }

 private:
  std::string boot_;
  uint64_t version_ = 0;
  std::map<uint64_t, std::optional<Item>> items_;
};

}  // namespace firewatch::collector
