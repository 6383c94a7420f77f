// Interned, compact label sets for the tracker (memory matters: 100,000 sources).
//
// A label set is stored once per distinct set, as one string of length-prefixed keys
// and values ("2-byte little-endian length, bytes" per string) shared by every source
// that carries it. Compared with a std::vector of string pairs this is one allocation of
// about the label text's size instead of 64 bytes per pair, and the pool's lookup key is
// the stored string itself (no second copy). Fleets share label sets (dc, role,
// service); unique ones (a per-host label) cost only their text.
//
// Not thread-safe: the tracker locks.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

#include "firewatch/protocol/frame.h"

namespace firewatch::collector {

using LabelBlob = std::shared_ptr<const std::string>;

// Encoding and decoding of one label set (keys and values are frame strings, < 64 KiB).
std::string EncodeLabels(const protocol::Labels& labels);
std::string EncodeLabels(const protocol::LabelViews& labels);
protocol::Labels DecodeLabels(const std::string& blob);
// True when `blob` encodes exactly `labels` (no allocation: the per-heartbeat check).
bool LabelsEqual(const std::string& blob, const protocol::LabelViews& labels);
// The value of label `key` in `blob`, or "" when it has none (no allocation: the
// source listing's label filters, tracker_query.cc).
std::string_view LabelValue(const std::string& blob, std::string_view key);

class LabelPool {
 public:
  // The shared blob for `labels`; `live_sources` bounds the pool (unused entries are
  // swept when it grows past twice that).
  LabelBlob Intern(const protocol::Labels& labels, size_t live_sources);
  LabelBlob Intern(const protocol::LabelViews& labels, size_t live_sources);
  size_t size() const { return pool_.size(); }

 private:
  LabelBlob InternEncoded(std::string encoded, size_t live_sources);
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
    size_t operator()(const LabelBlob& b) const { return (*this)(std::string_view(*b)); }
  };
  struct Eq {
    using is_transparent = void;
    static std::string_view View(std::string_view s) { return s; }
    static std::string_view View(const LabelBlob& b) { return *b; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const { return View(a) == View(b); }
  };
  std::unordered_set<LabelBlob, Hash, Eq> pool_;
};

}  // namespace firewatch::collector
