// Digests of a source table as peers exchange it (docs/cluster.md, "Sync"): the XOR of a
// 64-bit hash per entry, kept incrementally, for the whole table and for each of
// kSyncRanges ranges of source ids. The whole-table digests say *whether* a copy
// diverged; the range digests say *where*, so only the divergent ranges are sent again
// (anti-entropy without full tables, whatever the table's size).
//
// A source's range depends only on its id (the top bits of FNV-1a 64 of it), so every
// collector puts a source in the same range. Both sides keep the same kind of digest: the
// sender over its own table, the receiver over its copy of it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "cluster/payload.h"
#include "firewatch/text/fnv.h"
#include "tracker/source.h"

namespace firewatch::collector {

// kSyncRanges (payload.h): a wire constant.

// FNV-1a 64 (firewatch/text/fnv.h) of `text`, continuing from `h`: the one hash every
// digest and item id of the sync uses, so all collectors compute the same values. Its
// start, kSyncHashBasis, is one digit short of FNV's published basis: a wire constant
// since the first sync version, kept so that ranges and digests agree with older peers.
inline constexpr uint64_t kSyncHashBasis = 1469598103934665603ull;
inline uint64_t SyncHash(std::string_view text, uint64_t h = kSyncHashBasis) {
  return text::Fnv1a64(text, h);
}

// The range of a source id, in [0, kSyncRanges).
int SyncRangeOf(std::string_view id);

// The digest contribution of one (source, state) entry.
uint64_t SourceEntryHash(const std::string& id, SourceState s);
// The same for one source's failing checks (an empty list contributes nothing).
uint64_t ChecksEntryHash(const std::string& id, const PeerChecks& checks);

struct TableDigest {
  uint64_t sources = 0;  // the wire's sources.digest
  uint64_t checks = 0;   // the wire's sources.checks_digest
  // Per range: sources and checks of the sources in it, together.
  std::array<uint64_t, kSyncRanges> ranges{};

  // Adds or removes (XOR is its own inverse) one entry's contribution.
  void ToggleSource(const std::string& id, SourceState s) {
    const uint64_t h = SourceEntryHash(id, s);
    sources ^= h;
    ranges[SyncRangeOf(id)] ^= h;
  }
  void ToggleChecks(const std::string& id, const PeerChecks& list) {
    const uint64_t h = ChecksEntryHash(id, list);
    checks ^= h;
    ranges[SyncRangeOf(id)] ^= h;
  }
};

}  // namespace firewatch::collector
