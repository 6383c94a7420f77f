#include "tracker/source_index.h"

#include <functional>

namespace firewatch::collector {

uint32_t SourceIndex::Hash(std::string_view id) {
  const uint64_t h = std::hash<std::string_view>()(id);
  return static_cast<uint32_t>(h ^ (h >> 32));
}

void SourceIndex::Place(Slot slot) {
  const size_t mask = slots_.size() - 1;
  size_t i = slot.hash & mask;
  while (slots_[i].position != kNone) i = (i + 1) & mask;
  slots_[i] = slot;
}

void SourceIndex::Insert(uint32_t hash, uint32_t position) {
  if ((used_ + 1) * 2 > slots_.size()) {  // keep at most half full: short probes
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
    for (const Slot& s : old) {
      if (s.position != kNone) Place(s);
    }
  }
  Place(Slot{hash, position});
  ++used_;
}

}  // namespace firewatch::collector
