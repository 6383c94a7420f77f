// WakeWheel: which tracker entries may have changed state by now (a hashed timer wheel).
//
// Why: Tracker::Evaluate() runs every 250 ms; walking every source costs O(all sources)
// per tick, which at 1,000,000 sources is most of a core. A heartbeat source cannot
// change state without a new frame before its "wake" time, the earliest instant its
// detector could cross a threshold (phi is monotone in silence; Tracker::WakeOf computes
// it). The wheel hands Evaluate() only the entries whose wake time has come.
//
// Contract (the owner is Tracker, which keeps (wake_ms, gen) in each entry):
//  - One item (position, gen) per armed entry, in the bucket of its wake tick.
//  - Arm(pos, gen, wake_ms): the owner bumps its entry's generation first, so an older
//    item of the same entry becomes stale (lazy deletion: dropped when its bucket is
//    scanned). An item whose wake is already past goes to the cursor's bucket (due at the
//    next Expire).
//  - The owner may move an entry's wake time LATER without touching the wheel (the hot
//    path: a heartbeat); the item is moved to the right bucket when its old bucket is
//    scanned. Earlier wake times must be re-armed.
//  - Expire(now_ms, wake_of, due): scans the buckets of every tick since the last call
//    through now's (every bucket at most once). wake_of(pos, gen) returns the entry's
//    current wake time, or kStale when (pos, gen) is not its current item. Due items
//    (wake <= now_ms) are removed and their positions appended to `due`; stale ones are
//    dropped; later ones are kept or moved to their bucket.
//  - Positions are the owner's; when it renumbers them it calls Clear() and re-arms all.
// Time is monotonic milliseconds. Not thread-safe: the tracker's lock covers it.
#pragma once

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace firewatch::collector {

struct WheelStats {
  uint64_t scanned = 0;  // items looked at
  uint64_t due = 0;      // handed back
  uint64_t moved = 0;    // wake moved later by a heartbeat: re-bucketed
  uint64_t stale = 0;    // dropped
};

class WakeWheel {
 public:
  static constexpr int64_t kStale = INT64_MIN;
  // 64 ms x 4096 buckets: a round is 262 s, so a 5 s-interval source's item is scanned
  // only when due or moved; a 1 h-interval source's about 15 times per wake.
  static constexpr int64_t kTickMs = 64;
  static constexpr size_t kBuckets = 4096;

  explicit WakeWheel(int64_t now_ms) : buckets_(kBuckets), cursor_(TickOf(now_ms)) {}

  void Arm(uint32_t pos, uint32_t gen, int64_t wake_ms) {
    buckets_[BucketOf(std::max(TickOf(wake_ms), cursor_))].push_back({pos, gen});
    ++items_;
  }

  template <typename WakeOf>
  WheelStats Expire(int64_t now_ms, const WakeOf& wake_of, std::vector<uint32_t>& due) {
    WheelStats st;
    const int64_t now_tick = std::max(TickOf(now_ms), cursor_);
    const int64_t first =
        now_tick - cursor_ >= static_cast<int64_t>(kBuckets) ? now_tick - kBuckets + 1 : cursor_;
    for (int64_t tick = first; tick <= now_tick; ++tick) {
      const size_t b = BucketOf(tick);
      std::vector<Item>& bucket = buckets_[b];
      size_t kept = 0;
      for (size_t i = 0; i < bucket.size(); ++i) {
        const Item it = bucket[i];
        ++st.scanned;
        const int64_t wake = wake_of(it.pos, it.gen);
        if (wake == kStale) {
          ++st.stale;
        } else if (wake <= now_ms) {
          ++st.due;
          due.push_back(it.pos);
        } else if (const size_t to = BucketOf(TickOf(wake)); to != b) {
          ++st.moved;
          buckets_[to].push_back(it);  // another vector: `bucket` stays valid
          continue;
        } else {
          bucket[kept++] = it;
          continue;
        }
        --items_;
      }
      bucket.resize(kept);
      // A bucket that held a burst (a mass re-arm) gives the memory back once drained.
      if (bucket.empty() && bucket.capacity() > 1024) std::vector<Item>().swap(bucket);
    }
    cursor_ = now_tick;
    return st;
  }

  void Clear() {
    for (auto& b : buckets_) std::vector<Item>().swap(b);
    items_ = 0;
  }
  size_t items() const { return items_; }
  // Heap bytes held (bucket arrays and their capacity), for the memory benchmark.
  size_t MemoryBytes() const {
    size_t n = buckets_.capacity() * sizeof(std::vector<Item>);
    for (const auto& b : buckets_) n += b.capacity() * sizeof(Item);
    return n;
  }

 private:
  struct Item {
    uint32_t pos;
    uint32_t gen;
  };
  static int64_t TickOf(int64_t ms) {  // floor division: the origin may be anywhere
    return ms >= 0 ? ms / kTickMs : -((-ms + kTickMs - 1) / kTickMs);
  }
  static size_t BucketOf(int64_t tick) { return static_cast<size_t>(tick) & (kBuckets - 1); }

  std::vector<std::vector<Item>> buckets_;
  int64_t cursor_;  // the tick of the last Expire (scanned again next time: partly due)
  size_t items_ = 0;  // including stale ones not yet dropped
};

}  // namespace firewatch::collector
