#include "cluster/table_digest.h"

namespace firewatch::collector {
namespace {
constexpr uint64_t kFnvPrime = 1099511628211ull;  // FNV-1a 64, byte by byte below
}  // namespace

int SyncRangeOf(std::string_view id) {
  const uint64_t h = Fnv1a64(id);
  static_assert(kSyncRanges == 256, "the range is the hash's top byte");
  return static_cast<int>(h >> 56);
}

uint64_t SourceEntryHash(const std::string& id, SourceState s) {
  uint64_t h = Fnv1a64(id);
  h = (h ^ 0xff) * kFnvPrime;
  h = (h ^ static_cast<uint8_t>(s)) * kFnvPrime;
  return h;
}

uint64_t ChecksEntryHash(const std::string& id, const PeerChecks& checks) {
  if (checks.empty()) return 0;
  uint64_t h = kFnvBasis;  // over id, then each (name, state, output)
  auto mix = [&h](std::string_view text) {
    h = Fnv1a64(text, h);
    h = (h ^ 0xff) * kFnvPrime;  // a separator no UTF-8 text contains
  };
  mix(id);
  for (const auto& c : checks) {
    mix(c.name);
    h = (h ^ static_cast<uint8_t>(c.state)) * kFnvPrime;
    mix(c.output);
  }
  return h;
}

}  // namespace firewatch::collector
