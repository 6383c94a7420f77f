// The tracker's walks of the whole table: Query (one page of a filtered source listing,
// tracker.h, SourceQuery), Counts and CountsBy (the status API and /metrics).
//
// Why this order and this cursor: entries_ is kept in order of first contact, and every
// entry carries a sequence number from that order (Entry::seq), so entries_ is sorted by
// it at all times (Add appends the next number; RemoveWhere compacts without
// reordering). A cursor is a sequence number: the page after it starts at a binary
// search, costs the sources it looks at, and is unaffected by sources added (they come
// last) or forgotten (their numbers are gone, nobody else moves in the order) meanwhile.
// An order by id would need a sorted index of every id kept on each new source, or a
// pass over the whole table per page; positions in entries_ shift on every Forget.
//
// The walk (Tracker::WalkInSlices) takes the lock once per kQuerySlice entries and finds
// its place again by sequence number, so the ingest path waits for at most one slice
// (about a millisecond) however large the table is. The counts (Counts, CountsBy) walk
// the same way.
#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>

#include "tracker/tracker.h"
#include "tracker/tracker_entry.h"

namespace firewatch::collector {

namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// ASCII case-insensitive `needle` in `id` (needle already lower-cased). Ids are at most
// kMaxIdLength bytes, so a copy on the stack and memmem (linear: glibc's two-way
// algorithm) bound the cost per source whatever the needle.
bool ContainsFolded(std::string_view id, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > id.size()) return false;
  char folded[protocol::kMaxIdLength];
  if (id.size() > sizeof folded) return false;  // never: ids are checked at decode
  for (size_t i = 0; i < id.size(); ++i) folded[i] = Lower(id[i]);
  return memmem(folded, id.size(), needle.data(), needle.size()) != nullptr;
}

}  // namespace

SourcePage Tracker::Query(const SourceQuery& query) const {
  SourcePage page;
  std::string needle = query.id_contains;
  for (char& c : needle) c = Lower(c);
  const bool filtered = query.states != 0 || !needle.empty() || !query.labels.empty();
  // Without a filter every source matches: the count is the table's size, and the walk
  // can stop at the page's end.
  const bool count_all = query.count && filtered;
  uint64_t matched = 0;
  page.total = size();
  // Label sets are interned: consecutive sources often share one, test it once (within
  // a slice: only there is its address unique).
  const void* last_blob = nullptr;
  bool last_blob_ok = false;
  // The walk starts at the beginning when it counts; a page alone starts at the cursor.
  WalkInSlices(count_all ? 0 : query.after, [&](const Entry& e, MonoTime now, bool slice_start) {
    mu_.AssertHeld();  // (a lambda: the analysis cannot see the walk's lock)
    if (slice_start) last_blob = nullptr;
    if (query.states != 0 && (query.states & (1u << static_cast<unsigned>(e.state))) == 0) {
      return true;
    }
    if (!ContainsFolded(e.id, needle)) return true;
    if (!query.labels.empty()) {
      const void* blob = e.labels.get();
      if (blob != last_blob || last_blob == nullptr) {
        const std::string_view b = *e.labels;
        last_blob_ok = std::all_of(
            query.labels.begin(), query.labels.end(),
            [&b](const SourceQuery::LabelTest& t) { return t.matches(LabelValue(b, t.name)); });
        last_blob = blob;
      }
      if (!last_blob_ok) return true;
    }
    ++matched;
    if (e.seq <= query.after) return true;  // before the cursor: counted only
    if (page.sources.size() < query.limit) {
      page.sources.push_back(ToSnapshot(e, now));
      page.seqs.push_back(e.seq);
    } else if (!page.next) {
      // One more match than the page holds: there is a next page.
      page.next = page.seqs.empty() ? query.after : page.seqs.back();
      if (!count_all) return false;
    }
    return true;
  });
  if (query.count) page.matched = filtered ? matched : page.total;
  return page;
}

StateCounts Tracker::Counts() const {
  StateCounts c;
  WalkInSlices(0, [&c](const Entry& e, MonoTime, bool) {
    ++c.by_state[static_cast<int>(e.state)];
    if (e.checks_stale) ++c.checks_stale;
    ++c.total;
    return true;
  });
  return c;
}

std::vector<std::pair<std::string, StateCounts>> Tracker::CountsBy(std::string_view key) const {
  std::map<std::string, StateCounts, std::less<>> out;
  // Label sets are interned: each distinct one is read once per slice.
  std::unordered_map<const void*, StateCounts*> by_blob;
  WalkInSlices(0, [&](const Entry& e, MonoTime, bool slice_start) {
    if (slice_start) by_blob.clear();
    auto [it, fresh] = by_blob.try_emplace(e.labels.get(), nullptr);
    if (fresh) {
      const std::string_view value = LabelValue(*e.labels, key);
      auto o = out.find(value);
      if (o == out.end()) o = out.emplace(std::string(value), StateCounts{}).first;
      it->second = &o->second;
    }
    ++it->second->by_state[static_cast<int>(e.state)];
    ++it->second->total;
    if (e.checks_stale) ++it->second->checks_stale;
    return true;
  });
  return {std::make_move_iterator(out.begin()), std::make_move_iterator(out.end())};
}

}  // namespace firewatch::collector
