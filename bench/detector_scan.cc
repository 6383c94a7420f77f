// bench_detector_scan: CPU per second of the detector's periodic scan (Tracker::Evaluate
// at 4 ticks/s) with many sources, through the wake wheel against the full scan it
// replaced (Tracker::EvaluateFullScan), in the same process, at the same instants.
//
// A FakeClock drives everything, so the numbers are CPU only (thread CPU time around
// each call), never waiting. Sources send every --interval-ms, each at its own phase,
// through ObserveBatch as the UDP path does (their cost is not counted). Phases:
//   load    the first round of frames creates every source (not measured)
//   steady  --steady-s seconds with every source sending (sources/interval frames/s)
//   idle    --idle-s seconds with no frames at all; every source heard within one
//           interval, so none can change state yet (idle but fresh)
// Per phase: CPU ms per simulated second for each scan, and the wheel's mean counts per
// tick (entries whose state rules ran, items scanned, items moved). Memory: heap in use
// (mallinfo2) per source after loading, and the wheel's own bytes per source.
//
// Output: one JSON object on stdout.
#include <malloc.h>
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/protocol/frame.h"
#include "tracker/tracker.h"

namespace {

namespace protocol = firewatch::protocol;
using firewatch::collector::EvaluateStats;
using firewatch::collector::Tracker;
using firewatch::collector::Transport;
using namespace std::chrono_literals;

int64_t ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t HeapInUse() {
  struct mallinfo2 mi = mallinfo2();
  return static_cast<int64_t>(mi.uordblks + mi.hblkhd);
}

[[noreturn]] void Usage() {
  std::fprintf(stderr,
               "usage: bench_detector_scan [--sources 1000000] [--interval-ms 5000]\n"
               "  [--steady-s 20] [--idle-s 1]\n");
  std::exit(2);
}

struct PhaseResult {
  double wheel_cpu_ms = 0, full_cpu_ms = 0;  // summed over the phase
  double evaluated = 0, scanned = 0, moved = 0;  // summed wheel counts
  int ticks = 0;
  uint64_t transitions_wheel = 0, transitions_full = 0;
};

}  // namespace

int main(int argc, char** argv) {
  uint64_t sources = 1'000'000;
  int64_t interval_ms = 5000, steady_s = 20, idle_s = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) Usage();
    const long long v = std::strtoll(argv[++i], nullptr, 10);
    if (a == "--sources") sources = static_cast<uint64_t>(v);
    else if (a == "--interval-ms") interval_ms = v;
    else if (a == "--steady-s") steady_s = v;
    else if (a == "--idle-s") idle_s = v;
    else Usage();
  }
  if (sources == 0 || interval_ms < 1000 || steady_s < 1 || idle_s < 1) Usage();
  constexpr int64_t kTickMs = 250;  // the collector's evaluate_every
  const int64_t ticks_per_round = interval_ms / kTickMs;

  firewatch::FakeClock clock;
  Tracker tracker(clock, firewatch::collector::DetectionConfig{});

  // Source i sends in tick (i % ticks_per_round) of every round.
  std::vector<protocol::Heartbeat> frames(1024);
  std::vector<protocol::HeartbeatView> views(frames.size());
  std::vector<const protocol::HeartbeatView*> ptrs;
  std::vector<firewatch::collector::ObserveResult> results;
  uint64_t rejected = 0;
  char id[64];
  auto send_tick = [&](int64_t round, int64_t slot) {
    size_t n = 0;
    auto flush = [&] {
      ptrs.clear();
      for (size_t k = 0; k < n; ++k) ptrs.push_back(&views[k]);
      tracker.ObserveBatch(ptrs, Transport::kUdp, results);
      for (const auto& r : results) rejected += r.rejected.has_value();
      n = 0;
    };
    for (uint64_t s = static_cast<uint64_t>(slot); s < sources; s += ticks_per_round) {
      protocol::Heartbeat& hb = frames[n];
      std::snprintf(id, sizeof id, "host-%07llu.example.net", static_cast<unsigned long long>(s));
      hb.source_id = id;
      hb.key_id = "bench";
      for (size_t b = 0; b < 8; ++b) hb.boot_id[b] = static_cast<uint8_t>(s >> (8 * b));
      hb.boot_id[8] = 1;
      hb.sequence = static_cast<uint64_t>(round) + 1;
      hb.timestamp_ms = firewatch::ToUnixMillis(clock.WallNow());
      hb.interval_ms = static_cast<uint32_t>(interval_ms);
      if (hb.labels.empty()) hb.labels = {{"dc", "dc1"}, {"role", "web"}};
      protocol::ViewOf(hb, views[n]);
      if (++n == frames.size()) flush();
    }
    if (n > 0) flush();
  };

  int64_t tick = 0;  // simulated time = tick * 250 ms
  auto run = [&](int64_t ticks, bool sending, PhaseResult* out) {
    for (int64_t k = 0; k < ticks; ++k, ++tick) {
      if (sending) send_tick(tick / ticks_per_round, tick % ticks_per_round);
      clock.Advance(std::chrono::milliseconds(kTickMs));
      int64_t t0 = ThreadCpuNs();
      const auto a = tracker.Evaluate();
      int64_t t1 = ThreadCpuNs();
      if (out == nullptr) continue;
      const auto b = tracker.EvaluateFullScan();  // same instant, after the wheel
      int64_t t2 = ThreadCpuNs();
      const EvaluateStats st = tracker.LastEvaluateStats();
      out->wheel_cpu_ms += (t1 - t0) / 1e6;
      out->full_cpu_ms += (t2 - t1) / 1e6;
      out->evaluated += st.evaluated;
      out->scanned += st.wheel.scanned;
      out->moved += st.wheel.moved;
      out->transitions_wheel += a.size();
      out->transitions_full += b.size();
      ++out->ticks;
    }
  };

  const int64_t heap0 = HeapInUse();
  run(ticks_per_round, true, nullptr);  // load: every source's first frame
  const int64_t heap1 = HeapInUse();
  const EvaluateStats loaded = tracker.LastEvaluateStats();
  PhaseResult steady, idle;
  run(steady_s * 1000 / kTickMs, true, &steady);
  run(idle_s * 1000 / kTickMs, false, &idle);
  if (tracker.size() != sources || rejected != 0) {
    std::fprintf(stderr, "tracker has %zu sources, %llu frames rejected\n", tracker.size(),
                 static_cast<unsigned long long>(rejected));
    return 1;
  }
  const double n = static_cast<double>(sources);
  auto phase = [](const char* name, const PhaseResult& p) {
    const double secs = p.ticks * kTickMs / 1000.0;
    std::printf(
        "\"%s\": {\"ticks\": %d, \"wheel_cpu_ms_per_s\": %.3f, \"full_scan_cpu_ms_per_s\": %.1f, "
        "\"evaluated_per_tick\": %.1f, \"scanned_per_tick\": %.1f, \"moved_per_tick\": %.1f, "
        "\"transitions\": [%llu, %llu]}",
        name, p.ticks, p.wheel_cpu_ms / secs, p.full_cpu_ms / secs, p.evaluated / p.ticks,
        p.scanned / p.ticks, p.moved / p.ticks, static_cast<unsigned long long>(p.transitions_wheel),
        static_cast<unsigned long long>(p.transitions_full));
  };
  std::printf("{\"sources\": %llu, \"interval_ms\": %lld, ", static_cast<unsigned long long>(sources),
              static_cast<long long>(interval_ms));
  phase("steady", steady);
  std::printf(", ");
  phase("idle", idle);
  std::printf(", \"heap_per_source\": %.1f, \"wheel_bytes_per_source\": %.1f}\n",
              static_cast<double>(heap1 - heap0) / n,
              static_cast<double>(loaded.wheel_bytes) / n);
  return 0;
}
