#include "tracker/label_pool.h"

#include <iterator>

namespace firewatch::collector {

namespace {
void Put(std::string& out, std::string_view s) {
  out.push_back(static_cast<char>(s.size() & 0xff));
  out.push_back(static_cast<char>((s.size() >> 8) & 0xff));
  out.append(s);
}
// Reads one string at `pos`; false when the blob ends early (never for our encodings).
bool Get(std::string_view blob, size_t& pos, std::string_view& out) {
  if (pos + 2 > blob.size()) return false;
  const size_t n = static_cast<uint8_t>(blob[pos]) | (static_cast<size_t>(static_cast<uint8_t>(blob[pos + 1])) << 8);
  pos += 2;
  if (pos + n > blob.size()) return false;
  out = blob.substr(pos, n);
  pos += n;
  return true;
}
}  // namespace

namespace {
template <typename LabelSet>
std::string Encode(const LabelSet& labels) {
  size_t size = 0;
  for (const auto& [k, v] : labels) size += 4 + k.size() + v.size();
  std::string out;
  out.reserve(size);
  for (const auto& [k, v] : labels) {
    Put(out, k);
    Put(out, v);
  }
  return out;
}
}  // namespace

std::string EncodeLabels(const protocol::Labels& labels) { return Encode(labels); }
std::string EncodeLabels(const protocol::LabelViews& labels) { return Encode(labels); }

protocol::Labels DecodeLabels(std::string_view blob) {
  protocol::Labels out;
  size_t pos = 0;
  std::string_view k, v;
  while (pos < blob.size() && Get(blob, pos, k) && Get(blob, pos, v)) out.emplace_back(k, v);
  return out;
}

bool LabelsEqual(std::string_view blob, const protocol::LabelViews& labels) {
  size_t pos = 0;
  std::string_view k, v;
  for (const auto& [lk, lv] : labels) {
    if (!Get(blob, pos, k) || !Get(blob, pos, v) || k != lk || v != lv) return false;
  }
  return pos == blob.size();
}

std::string_view LabelValue(std::string_view blob, std::string_view key) {
  size_t pos = 0;
  std::string_view k, v;
  while (pos < blob.size() && Get(blob, pos, k) && Get(blob, pos, v)) {
    if (k == key) return v;
  }
  return {};
}

}  // namespace firewatch::collector
