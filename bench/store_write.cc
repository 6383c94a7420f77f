// The state store's write rate at scale (docs/benchmarks.md, section 8): how many source
// rows per second the SQLite writer commits, the way the collector hands them over
// (CollectorApp::WriteLastSeen: chunks of 10,000 rows, the next one only while fewer
// than 2 batches are queued). Three phases on a fresh database in a temporary directory:
//   - first contact: --sources new rows (inserts), as when a fleet is first heard;
//   - whole rows: every row again with a later last-seen time and heartbeat count
//     (upserts of the whole row), as every collector.last_seen_every before progress
//     rows, and still for a source whose labels or checks changed;
//   - progress: every row's heartbeat columns only (SourceProgress), as every
//     collector.last_seen_every when every source sent in the period and nothing else
//     changed.
// At 1,000,000 sources and a 5 s interval a period's rows must be written at more than
// 200,000 rows/s to keep up with the heartbeats, and the fewer CPU seconds they take,
// the more of the second core is left for ingest.
// Prints one JSON object. Usage: bench_store_write [--sources 1000000] [--dir /tmp]
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

using namespace firewatch;
using namespace firewatch::collector;

namespace {

constexpr size_t kChunk = 10'000;  // CollectorApp::kLastSeenChunk
constexpr uint64_t kQueue = 2;     // CollectorApp::kLastSeenQueue

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

SourceSnapshot Row(size_t i, int64_t now_ms, uint64_t heartbeats) {
  SourceSnapshot s;
  s.source_id = "dc1.rack07.host-" + std::to_string(i);
  s.labels = {{"dc", "dc" + std::to_string(i % 10)},
              {"host", "host-" + std::to_string(i)},
              {"role", "web"},
              {"service", "shop"}};
  s.first_seen_ms = now_ms - 3600'000;
  s.last_seen_ms = now_ms;
  s.state_since_ms = now_ms - 3600'000;
  s.interval_ms = 5000;
  s.agent_version = "1.4.0";
  s.heartbeats = heartbeats;
  s.replay.seen = true;
  s.replay.sequence = heartbeats;
  s.replay.timestamp_ms = now_ms;
  return s;
}

struct Phase {
  double seconds = 0;
  double cpu = 0;
  double rows_per_second = 0;
};

SourceProgress Progress(size_t i, int64_t now_ms, uint64_t heartbeats) {
  SourceProgress p;
  p.source_id = "dc1.rack07.host-" + std::to_string(i);
  p.last_seen_ms = now_ms;
  p.heartbeats = heartbeats;
  p.replay.seen = true;
  p.replay.sequence = heartbeats;
  p.replay.timestamp_ms = now_ms;
  return p;
}

Phase WriteAll(Store& store, size_t sources, int64_t now_ms, uint64_t heartbeats, bool progress) {
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = CpuSeconds();
  for (size_t first = 0; first < sources; first += kChunk) {
    while (store.queue_depth() >= kQueue)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    DirtyRows chunk;
    for (size_t i = first; i < std::min(sources, first + kChunk); ++i) {
      if (progress) {
        chunk.progress.push_back(Progress(i, now_ms, heartbeats));
      } else {
        chunk.rows.push_back(Row(i, now_ms, heartbeats));
      }
    }
    store.Write(std::move(chunk));
  }
  if (Status s = store.Sync(); !s.ok()) {
    std::fprintf(stderr, "store: %s\n", s.message().c_str());
    std::exit(1);
  }
  Phase p;
  p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  p.cpu = CpuSeconds() - c0;
  p.rows_per_second = static_cast<double>(sources) / p.seconds;
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  size_t sources = 1'000'000;
  std::string dir = std::filesystem::temp_directory_path().string();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--sources" && i + 1 < argc) {
      sources = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: bench_store_write [--sources 1000000] [--dir /tmp]\n");
      return 2;
    }
  }
  const std::string work = dir + "/fw-store-bench-" + std::to_string(getpid());
  std::filesystem::create_directories(work);
  const std::string path = work + "/collector.db";
  Phase insert, update, progress;
  uintmax_t db_bytes = 0;
  {
    auto store = Store::Open(path);
    if (!store.ok()) {
      std::fprintf(stderr, "%s\n", store.status().message().c_str());
      return 1;
    }
    const int64_t now_ms = 1'800'000'000'000;
    insert = WriteAll(**store, sources, now_ms, 1, false);
    update = WriteAll(**store, sources, now_ms + 5000, 2, false);
    progress = WriteAll(**store, sources, now_ms + 10000, 3, true);
  }
  for (const auto& f : std::filesystem::directory_iterator(work)) db_bytes += f.file_size();
  std::filesystem::remove_all(work);
  std::printf(
      "{\"sources\": %zu, \"chunk\": %zu, \"insert_seconds\": %.2f, \"insert_cpu\": %.2f, "
      "\"insert_rows_per_second\": %.0f, \"update_seconds\": %.2f, \"update_cpu\": %.2f, "
      "\"update_rows_per_second\": %.0f, \"progress_seconds\": %.2f, \"progress_cpu\": %.2f, "
      "\"progress_rows_per_second\": %.0f, \"db_bytes\": %ju}\n",
      sources, kChunk, insert.seconds, insert.cpu, insert.rows_per_second, update.seconds,
      update.cpu, update.rows_per_second, progress.seconds, progress.cpu, progress.rows_per_second,
      db_bytes);
  return 0;
}
