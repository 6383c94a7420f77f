#include "tracker/interned.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <new>

namespace firewatch::collector {

Interned Interned::Make(std::string_view bytes) {
  Interned out;
  if (bytes.empty()) return out;
  void* block = ::operator new(sizeof(Rep) + bytes.size());
  out.rep_ = new (block) Rep{{1}, static_cast<uint32_t>(bytes.size())};
  std::memcpy(const_cast<char*>(Bytes(out.rep_)), bytes.data(), bytes.size());
  return out;
}

void Interned::Release() noexcept {
  if (rep_ == nullptr) return;
  if (rep_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    rep_->~Rep();
    ::operator delete(rep_);
  }
  rep_ = nullptr;
}

size_t InternPool::Probe(std::string_view bytes, size_t hash) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    if (!slots_[i] || *slots_[i] == bytes) return i;
  }
}

template <typename Keep>
void InternPool::Rebuild(size_t capacity, const Keep& keep) {
  std::vector<Interned> old(capacity);
  old.swap(slots_);
  used_ = 0;
  for (auto& s : old) {
    if (!s || !keep(s)) continue;
    // The slot first: the right side of `=` is evaluated before the left (C++17), and
    // it empties `s`.
    const size_t at = Probe(*s, std::hash<std::string_view>()(*s));
    slots_[at] = std::move(s);
    ++used_;
  }
}

Interned InternPool::Intern(std::string_view bytes, size_t live) {
  if (bytes.empty()) return {};
  const size_t hash = std::hash<std::string_view>()(bytes);
  if (!slots_.empty()) {
    const size_t at = Probe(bytes, hash);
    if (slots_[at]) return slots_[at];
  }
  if (used_ > std::max(2 * live + 64, sweep_at_)) {
    // Drops what only the pool holds any more. When that frees little (the caller's
    // handles really are that many), the next sweep waits until the pool doubles again:
    // a sweep is O(pool), so it must not run on every new string.
    Rebuild(slots_.size(), [](const Interned& s) { return s.use_count() > 1; });
    sweep_at_ = 2 * used_;
  }
  if (2 * (used_ + 1) > slots_.size()) {
    Rebuild(std::max<size_t>(16, slots_.size() * 2), [](const Interned&) { return true; });
  }
  Interned made = Interned::Make(bytes);
  const size_t at = Probe(bytes, hash);
  slots_[at] = made;
  ++used_;
  return made;
}

}  // namespace firewatch::collector
