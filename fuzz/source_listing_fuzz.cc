// libFuzzer target: the query string of GET /api/v1/sources and the status page
// (ParseSourceListing, collector/http/api.h, over QueryParams and the route matchers),
// then the tracker walk it asks for (Tracker::Query) on a small table.
// Checks that an accepted query keeps every bound the API promises (docs/api.md): limit
// 1..kMaxListingLimit, at most kMaxListingMatchers matchers, q within kMaxListingText,
// only known state bits; and that the page honours its limit and its cursor.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "firewatch/clock.h"
#include "http/api.h"
#include "tracker/tracker.h"

namespace {

using namespace firewatch;
using namespace firewatch::collector;

Tracker& SmallTable() {
  static FakeClock clock;
  static Tracker* tracker = [] {
    auto* t = new Tracker(clock, DetectionConfig{});
    const protocol::BootId boot = protocol::NewBootId();
    for (int i = 0; i < 40; ++i) {
      protocol::Heartbeat hb;
      hb.key_id = "k";
      hb.source_id = "Host-" + std::to_string(i);
      hb.boot_id = boot;
      hb.sequence = 1;
      hb.timestamp_ms = ToUnixMillis(clock.WallNow());
      hb.interval_ms = 5000;
      hb.labels = {{"dc", "dc" + std::to_string(i % 3)}, {"role", i % 2 ? "web" : "db"}};
      if (i % 5 == 0) hb.type = protocol::FrameType::kGoodbye;
      (void)t->Observe(hb, Transport::kUdp);
    }
    return t;
  }();
  return *tracker;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view query(reinterpret_cast<const char*>(data), size);
  auto listing = ParseSourceListing(query);
  if (!listing.ok()) return 0;
  if (listing->limit < 1 || listing->limit > kMaxListingLimit) __builtin_trap();
  if (listing->matchers.size() > kMaxListingMatchers) __builtin_trap();
  if (listing->text.size() > kMaxListingText) __builtin_trap();
  if (listing->states >= (1u << kSourceStateCount)) __builtin_trap();
  SourceQuery q;
  q.states = listing->states;
  q.id_contains = listing->text;
  for (const auto& m : listing->matchers) {
    q.labels.push_back({m.name(), [m](std::string_view v) { return m.MatchesValue(v); }});
  }
  q.limit = listing->limit;
  q.after = listing->after;  // a cursor of this run only: after= passed the run id
  const SourcePage page = SmallTable().Query(q);
  if (page.sources.size() > q.limit || page.seqs.size() != page.sources.size()) __builtin_trap();
  for (uint64_t seq : page.seqs) {
    if (seq <= q.after) __builtin_trap();
  }
  if (page.next && (page.seqs.empty() || *page.next != page.seqs.back())) __builtin_trap();
  return 0;
}
