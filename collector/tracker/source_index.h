// The tracker's lookup from source id to the position of its entry, read on every
// heartbeat (hundreds of thousands per second), so it is built for that one job:
// open addressing with linear probing over a power-of-two table of 8-byte slots
// (32 bits of the id's hash and the position), at most half full. Compared with
// std::unordered_map<std::string, ...> a lookup is one hash, a mask instead of a
// division by a prime, and one slot load before the entry itself; it costs ~16 bytes
// per source instead of ~72 (node, bucket pointer, separate key copy).
//
// The index stores no ids: Find() asks the caller for the id at a candidate position.
// Nothing is removed one by one: a forget rebuilds the whole index (Tracker::RemoveWhere).
//
// Not thread-safe: the tracker locks.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace firewatch::collector {

class SourceIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  static uint32_t Hash(std::string_view id);

  // The position whose id equals `id` (per `id_at(position)`), or kNone.
  template <typename IdAt>
  uint32_t Find(std::string_view id, uint32_t hash, const IdAt& id_at) const {
    if (slots_.empty()) return kNone;
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.position == kNone) return kNone;
      if (s.hash == hash && id_at(s.position) == id) return s.position;
    }
  }

  // Records `position` under `hash`. The id must not be present already.
  void Insert(uint32_t hash, uint32_t position);

  size_t size() const { return used_; }

 private:
  struct Slot {
    uint32_t hash = 0;
    uint32_t position = kNone;
  };
  void Place(Slot slot);
  std::vector<Slot> slots_;
  size_t used_ = 0;
};

}  // namespace firewatch::collector
