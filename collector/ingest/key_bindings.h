// Which sources each heartbeat key may speak for (docs/security.md, "A key speaks only
// for its hosts"; config: keys[].sources).
//
// A key with no binding speaks for every source: that is the shared fleet key, and
// whoever holds it (every agent host it was copied to) can send frames for any host.
// A bound key speaks only for source ids equal to one of its exact names or matching one
// of its patterns; a frame for another source under it is refused as key_not_allowed.
//
// Patterns are globs with one metacharacter, '*' (any run of bytes, possibly empty):
// "web-*", "*.dc1", "db-*-replica". No regex: matching is a two-pointer scan that never
// revisits more than |pattern| x |id| positions (at most 128 x 64 here), whatever the
// input. Exact names are looked up in a hash set.
//
// Immutable once built; safe to read from any thread. The ingestor swaps whole
// instances on reload.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "firewatch/status.h"

namespace firewatch::collector {

// True when `text` matches `pattern` ('*' = any run of bytes; every other byte literal).
bool GlobMatch(std::string_view pattern, std::string_view text);

class KeyBindings {
 public:
  static constexpr size_t kMaxPatternLength = 128;
  static constexpr size_t kMaxPatternsPerKey = 256;   // entries with '*'
  static constexpr size_t kMaxNamesPerKey = 100'000;  // exact names

  // Binds `key_id` to `sources` (exact names and '*' patterns), replacing any earlier
  // binding. InvalidArgument naming the entry when one is empty, longer than
  // kMaxPatternLength (an exact name longer than a source id, 64 bytes, could never
  // match), listed twice, or when a limit above is exceeded; an empty list is refused
  // too (omit the binding to let a key speak for every source).
  Status Bind(const std::string& key_id, const std::vector<std::string>& sources);

  // May a frame signed with `key_id` speak for `source_id`?
  bool Allows(std::string_view key_id, std::string_view source_id) const;
  // Whether `key_id` has a binding (false: it speaks for every source).
  bool IsBound(std::string_view key_id) const;
  bool empty() const { return keys_.empty(); }

 private:
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  struct Binding {
    // Transparent lookup: the per-frame check does not allocate.
    std::unordered_set<std::string, NameHash, std::equal_to<>> names;
    std::vector<std::string> patterns;
  };
  std::map<std::string, Binding, std::less<>> keys_;
};

}  // namespace firewatch::collector
