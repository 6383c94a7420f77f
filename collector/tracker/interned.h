// Interned immutable strings for the tracker's per-source record, where memory per
// source is a budget (docs/benchmarks.md, section 8: at most 1 KiB per source at a
// million sources): label sets (label_pool.h), agent versions, goodbye reasons.
//
// An Interned is an 8-byte handle to one heap block holding a reference count, the
// length and the bytes: one allocation per distinct string. std::shared_ptr<const
// std::string> costs a 16-byte handle, a control block with the string object and, past
// 15 bytes, a second block for the text (about 100 bytes more per distinct string, which
// is what a label unique to every source costs a million times). The pool is an
// open-addressing table of handles (linear probing, at most half full): 16 bytes per
// distinct string instead of a std::unordered_set node and bucket (~56).
//
// The reference count is atomic, so a handle may be copied or dropped on any thread;
// the pool itself is not thread-safe (the tracker locks).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace firewatch::collector {

class Interned {
 public:
  Interned() = default;
  Interned(const Interned& other) noexcept : rep_(other.rep_) {
    if (rep_ != nullptr) rep_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  Interned(Interned&& other) noexcept : rep_(std::exchange(other.rep_, nullptr)) {}
  Interned& operator=(Interned other) noexcept {
    std::swap(rep_, other.rep_);
    return *this;
  }
  ~Interned() { Release(); }

  // Null for the empty string (no allocation): *Interned() is "".
  explicit operator bool() const { return rep_ != nullptr; }
  std::string_view operator*() const {
    return rep_ == nullptr ? std::string_view() : std::string_view(Bytes(rep_), rep_->size);
  }
  // Identity: equal strings of one pool are one block.
  const void* get() const { return rep_; }
  // Handles to this block, the pool's own included.
  uint32_t use_count() const {
    return rep_ == nullptr ? 0 : rep_->refs.load(std::memory_order_relaxed);
  }

 private:
  friend class InternPool;
  struct Rep {
    std::atomic<uint32_t> refs;
    uint32_t size;
  };
  static const char* Bytes(const Rep* r) { return reinterpret_cast<const char*>(r + 1); }
  static Interned Make(std::string_view bytes);
  void Release() noexcept;
  Rep* rep_ = nullptr;
};

class InternPool {
 public:
  // The pool's handle for `bytes` (made on first use; null for ""). `live` is how many
  // distinct strings the caller may hold (its sources, or twice that for two fields):
  // the strings only the pool still holds are dropped when the pool grows past twice
  // that (and past twice its size after the last sweep).
  Interned Intern(std::string_view bytes, size_t live);
  size_t size() const { return used_; }

 private:
  // Slot of `bytes` (its handle) or the empty slot where it would go.
  size_t Probe(std::string_view bytes, size_t hash) const;
  // Rebuilds the table with `capacity` slots (a power of two), keeping only what
  // `keep` accepts.
  template <typename Keep>
  void Rebuild(size_t capacity, const Keep& keep);
  std::vector<Interned> slots_;
  size_t used_ = 0;
  size_t sweep_at_ = 0;  // no sweep before the pool holds more than this
};

}  // namespace firewatch::collector
