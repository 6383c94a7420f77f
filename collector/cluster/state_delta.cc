#include "cluster/state_delta.h"

namespace firewatch::collector {

namespace {
// splitmix64's finaliser: a sum of raw FNV ids would keep their linear structure.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
}  // namespace

uint64_t DeltaDigest(const std::vector<uint64_t>& distinct_ids) {
  uint64_t d = 0x6a09e667f3bcc909ull;  // an empty set has a digest too
  for (uint64_t id : distinct_ids) d += Mix(id);
  return d;
}

DeltaSender::Plan DeltaSender::PlanFor(Piece piece, const std::vector<uint64_t>& ids,
                                       uint64_t peer_holds) {
  std::unordered_set<uint64_t> now(ids.begin(), ids.end());
  MutexLock lock(mu_);
  auto& versions = history_[static_cast<int>(piece)];
  if (versions.empty() || versions.back().ids != now) {
    Version v;
    v.number = ++next_[static_cast<int>(piece)];
    v.digest = DeltaDigest(std::vector<uint64_t>(now.begin(), now.end()));
    v.ids = std::move(now);
    versions.push_back(std::move(v));
    if (versions.size() > kDeltaHistory) versions.pop_front();
  }
  const Version& cur = versions.back();
  const Version* base = nullptr;
  for (const auto& v : versions) {
    if (peer_holds != 0 && v.number == peer_holds) base = &v;
  }
  Plan plan;
  plan.delta.version = cur.number;
  plan.delta.digest = cur.digest;
  plan.delta.base = base != nullptr ? base->number : 0;
  std::unordered_set<uint64_t> carried;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (base != nullptr && base->ids.count(ids[i]) > 0) continue;
    if (!carried.insert(ids[i]).second) continue;  // the same item twice: once is enough
    plan.carry.push_back(i);
    plan.delta.ids.push_back(ids[i]);
  }
  if (base != nullptr) {
    for (uint64_t id : base->ids) {
      if (cur.ids.count(id) == 0) plan.delta.removed.push_back(id);
    }
  }
  return plan;
}

}  // namespace firewatch::collector
