// Interned, compact label sets for the tracker (memory matters: a million sources).
//
// A label set is stored once per distinct set, as one string of length-prefixed keys
// and values ("2-byte little-endian length, bytes" per string) shared by every source
// that carries it (interned.h: one allocation per distinct set, an 8-byte handle per
// source). Compared with a std::vector of string pairs this is one allocation of about
// the label text's size instead of 64 bytes per pair. Fleets share label sets (dc, role,
// service); unique ones (a per-host label) cost only their text and 24 bytes.
//
// Not thread-safe: the tracker locks.
#pragma once

#include <string>
#include <string_view>

#include "firewatch/protocol/frame.h"
#include "tracker/interned.h"

namespace firewatch::collector {

using LabelBlob = Interned;

// Encoding and decoding of one label set (keys and values are frame strings, < 64 KiB).
std::string EncodeLabels(const protocol::Labels& labels);
std::string EncodeLabels(const protocol::LabelViews& labels);
protocol::Labels DecodeLabels(std::string_view blob);
// True when `blob` encodes exactly `labels` (no allocation: the per-heartbeat check).
bool LabelsEqual(std::string_view blob, const protocol::LabelViews& labels);
// The value of label `key` in `blob`, or "" when it has none (no allocation: the
// source listing's label filters, tracker_query.cc).
std::string_view LabelValue(std::string_view blob, std::string_view key);

class LabelPool {
 public:
  // The shared blob for `labels` (null for no labels); `live_sources` bounds the pool
  // (unused entries are swept when it grows past twice that).
  LabelBlob Intern(const protocol::Labels& labels, size_t live_sources) {
    return pool_.Intern(EncodeLabels(labels), live_sources);
  }
  LabelBlob Intern(const protocol::LabelViews& labels, size_t live_sources) {
    return pool_.Intern(EncodeLabels(labels), live_sources);
  }
  size_t size() const { return pool_.size(); }

 private:
  InternPool pool_;
};

}  // namespace firewatch::collector
