#include "cluster/table_digest.h"

namespace firewatch::collector {

int SyncRangeOf(std::string_view id) {
  const uint64_t h = SyncHash(id);
  static_assert(kSyncRanges == 256, "the range is the hash's top byte");
  return static_cast<int>(h >> 56);
}

uint64_t SourceEntryHash(const std::string& id, SourceState s) {
  uint64_t h = SyncHash(id);
  h = text::Fnv1a64Mix(h, 0xff);
  h = text::Fnv1a64Mix(h, static_cast<uint8_t>(s));
  return h;
}

uint64_t ChecksEntryHash(const std::string& id, const PeerChecks& checks) {
  if (checks.empty()) return 0;
  uint64_t h = kSyncHashBasis;  // over id, then each (name, state, output)
  auto mix = [&h](std::string_view field) {
    h = SyncHash(field, h);
    h = text::Fnv1a64Mix(h, 0xff);  // a separator no UTF-8 text contains
  };
  mix(id);
  for (const auto& c : checks) {
    mix(c.name);
    h = text::Fnv1a64Mix(h, static_cast<uint8_t>(c.state));
    mix(c.output);
  }
  return h;
}

}  // namespace firewatch::collector
