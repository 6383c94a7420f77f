// bench_tracker_memory: resident memory per tracked source, in-process.
//
// Feeds --sources distinct sources into a collector::Tracker with typical heartbeats
// (labels dc/role/service drawn from small sets so label sets repeat as in a real fleet,
// optionally a unique `host` label per source; one check with a short output; agent
// version) and reads the process's resident set from /proc/self/statm before and after.
// Heap bytes in use (mallinfo2) are reported next to RSS as a cross-check. No
// malloc_trim: RSS is what the kernel says the process holds.
//
// The tracker is driven the way the collector drives it: a new source's first heartbeat
// returns a transition and the collector then calls TakeDirty() for the store, and the
// collector's flush timer calls TakeDirty() once a second (modelled as every
// --flush-every observations: 100k sources at a 5 s interval = 20k heartbeats/s).
// Round 1 adds every source; round 2 is one more heartbeat from each (steady state).
//
// Output: one JSON object on stdout.
#include <malloc.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "firewatch/clock.h"
#include "firewatch/protocol/frame.h"
#include "tracker/tracker.h"

namespace {

namespace protocol = firewatch::protocol;
using firewatch::collector::Tracker;
using firewatch::collector::Transport;

int64_t RssBytes() {
  std::ifstream in("/proc/self/statm");
  int64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

int64_t HeapInUse() {
  struct mallinfo2 mi = mallinfo2();
  return static_cast<int64_t>(mi.uordblks + mi.hblkhd);
}

[[noreturn]] void Usage() {
  std::fprintf(stderr,
               "usage: bench_tracker_memory [--sources 100000] [--labels shared|unique]\n"
               "  [--flush-every 20000]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t sources = 100000, flush_every = 20000;
  bool unique = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) Usage();
    std::string v = argv[++i];
    if (a == "--sources") sources = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--flush-every") flush_every = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--labels" && (v == "shared" || v == "unique")) unique = v == "unique";
    else Usage();
  }
  if (sources == 0 || flush_every == 0) Usage();

  static const char* kDc[] = {"dc1", "dc2", "dc3"};
  static const char* kRole[] = {"web", "api", "sql", "kvs"};
  static const char* kService[] = {"shop", "auth", "mail", "feed", "chat"};

  const firewatch::Clock& clock = firewatch::SystemClock::Instance();
  Tracker tracker(clock, firewatch::collector::DetectionConfig{});
  protocol::Heartbeat hb;
  hb.key_id = "bench";
  hb.interval_ms = 5000;
  hb.agent_version = FIREWATCH_VERSION;
  hb.checks.push_back({"disk", protocol::CheckState::kOk, "DISK OK - 42% used"});
  hb.source_id.reserve(64);

  const int64_t rss0 = RssBytes(), heap0 = HeapInUse();
  int64_t rss_round[2] = {0, 0}, heap_round[2] = {0, 0};
  uint64_t accepted = 0, observed = 0;
  char id[64];
  for (int round = 0; round < 2; ++round) {
    for (uint64_t s = 0; s < sources; ++s) {
      std::snprintf(id, sizeof id, "host-%06llu.dc%llu.example.net",
                    static_cast<unsigned long long>(s), static_cast<unsigned long long>(s % 3 + 1));
      hb.source_id = id;
      for (size_t b = 0; b < 8; ++b) hb.boot_id[b] = static_cast<uint8_t>(s >> (8 * b));
      hb.sequence = static_cast<uint64_t>(round) + 1;
      hb.timestamp_ms = firewatch::ToUnixMillis(clock.WallNow());
      hb.labels.clear();
      hb.labels.emplace_back("dc", kDc[s % 3]);
      if (unique) hb.labels.emplace_back("host", id);
      hb.labels.emplace_back("role", kRole[(s / 3) % 4]);
      hb.labels.emplace_back("service", kService[(s / 12) % 5]);
      auto r = tracker.Observe(hb, Transport::kUdp);
      if (!r.rejected) ++accepted;
      if (r.transition) (void)tracker.TakeDirty();  // as CollectorApp::OnTransitions
      if (++observed % flush_every == 0) (void)tracker.TakeDirty();  // the 1 s flush
    }
    (void)tracker.TakeDirty();
    rss_round[round] = RssBytes();
    heap_round[round] = HeapInUse();
  }
  if (tracker.size() != sources || accepted != 2 * sources) {
    std::fprintf(stderr, "tracker has %zu sources, %llu accepted; expected %llu, %llu\n",
                 tracker.size(), static_cast<unsigned long long>(accepted),
                 static_cast<unsigned long long>(sources),
                 static_cast<unsigned long long>(2 * sources));
    return 1;
  }
  const double n = static_cast<double>(sources);
  std::printf(
      "{\"labels\": \"%s\", \"sources\": %llu, \"rss_before\": %lld, \"rss_round1\": %lld, "
      "\"rss_round2\": %lld, \"heap_before\": %lld, \"heap_round1\": %lld, "
      "\"heap_round2\": %lld, \"rss_per_source\": %.1f, \"heap_per_source\": %.1f}\n",
      unique ? "unique" : "shared", static_cast<unsigned long long>(sources),
      static_cast<long long>(rss0), static_cast<long long>(rss_round[0]),
      static_cast<long long>(rss_round[1]), static_cast<long long>(heap0),
      static_cast<long long>(heap_round[0]), static_cast<long long>(heap_round[1]),
      static_cast<double>(rss_round[1] - rss0) / n, static_cast<double>(heap_round[1] - heap0) / n);
  return 0;
}
