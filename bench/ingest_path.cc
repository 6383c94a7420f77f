// bench_ingest_path: the collector's per-frame user-space cost without the kernel, for
// working on the ingest path (the socket side is measured by bench/ingest_bench.py).
//
// Pre-encodes --rounds heartbeats from each of --sources sources, shaped like
// bench_udp_blaster's (dc/role/service labels, one check, 17-byte source ids), in the
// blaster's order (source 0..N-1, then again), then times, single-threaded:
//   copy         only the copy of each batch into receive slots (all modes include it)
//   verify_only  HmacKey::Sign of each frame's body: what the "bare + MAC" loop does
//   decode       protocol::DecodeView (parse + verify) into one reused view
//   ingest       Ingestor::IngestDatagrams in batches of 64, as the UDP receiver calls
//                it: decode, replay check, tracker update, metrics (the first round,
//                which creates the sources, is not timed)
// and prints one JSON object with ns per frame for each.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/protocol/frame.h"
#include "ingest/ingestor.h"
#include "metrics/collector_metrics.h"
#include "tracker/tracker.h"

namespace {

namespace protocol = firewatch::protocol;
namespace fc = firewatch::collector;
using Steady = std::chrono::steady_clock;

double NsPer(Steady::time_point start, size_t n) {
  return std::chrono::duration<double, std::nano>(Steady::now() - start).count() /
         static_cast<double>(n);
}

}  // namespace

int main(int argc, char** argv) {
  size_t sources = 2000, rounds = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--sources")) sources = std::strtoul(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--rounds")) rounds = std::strtoul(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr, "usage: bench_ingest_path [--sources N] [--rounds R]\n");
      return 2;
    }
  }
  const protocol::Secret secret(32, 0x5a);
  auto ring = std::make_shared<protocol::Keyring>();
  if (!ring->Add("bench", secret).ok()) return 1;
  firewatch::SystemClock clock;
  const int64_t now_ms = firewatch::ToUnixMillis(clock.WallNow());

  static const char* kDc[] = {"dc1", "dc2", "dc3"};
  static const char* kRole[] = {"web", "api", "sql", "kvs"};
  static const char* kService[] = {"shop", "auth", "mail", "feed", "chat"};
  std::vector<std::vector<uint8_t>> frames;
  frames.reserve(sources * rounds);
  protocol::Heartbeat hb;
  hb.key_id = "bench";
  hb.interval_ms = 1000;
  hb.agent_version = FIREWATCH_VERSION;
  hb.checks.push_back({"disk", protocol::CheckState::kOk, "DISK OK - 42% used"});
  char id[32];
  for (size_t r = 0; r < rounds; ++r) {
    for (size_t s = 0; s < sources; ++s) {
      std::snprintf(id, sizeof id, "bench-host-%06zu", s);
      hb.source_id = id;
      hb.sequence = r + 1;
      hb.timestamp_ms = now_ms;
      std::memcpy(hb.boot_id.data(), &s, sizeof s);
      hb.labels = {{"dc", kDc[s % 3]}, {"role", kRole[(s / 3) % 4]},
                   {"service", kService[(s / 12) % 5]}};
      frames.push_back(protocol::Encode(hb, secret).value());
    }
  }

  // Frames reach the collector in its receive slots, just written by the kernel (in
  // cache). Every mode below copies each batch of 64 into such slots first, as recvmmsg
  // does, and the copy alone is timed too (copy_ns) so it can be subtracted.
  constexpr size_t kBatch = fc::UdpReceiver::kBatch;
  std::vector<uint8_t> slots(kBatch * fc::UdpReceiver::kSlotSize);
  std::vector<fc::UdpReceiver::Datagram> batch;
  sockaddr_storage from{};
  auto run = [&](size_t begin, size_t end, const auto& per_batch) {
    for (size_t i = begin; i < end; i += kBatch) {
      batch.clear();
      for (size_t j = i; j < std::min(end, i + kBatch); ++j) {
        uint8_t* slot = slots.data() + (j - i) * fc::UdpReceiver::kSlotSize;
        std::memcpy(slot, frames[j].data(), frames[j].size());
        batch.push_back({std::span<const uint8_t>(slot, frames[j].size()), &from});
      }
      per_batch(batch);
    }
  };
  const size_t n = frames.size();

  auto start = Steady::now();
  run(0, n, [](const auto&) {});
  const double copy_ns = NsPer(start, n);

  const firewatch::crypto::HmacKey key(secret);
  uint8_t sink = 0;
  start = Steady::now();
  run(0, n, [&](const auto& b) {
    for (const auto& d : b) sink ^= key.Sign(d.bytes.first(d.bytes.size() - protocol::kMacSize))[0];
  });
  const double verify_ns = NsPer(start, n);

  protocol::HeartbeatView scratch;
  size_t ok = 0;
  start = Steady::now();
  run(0, n, [&](const auto& b) {
    for (const auto& d : b) ok += !protocol::DecodeView(d.bytes, *ring, scratch);
  });
  const double decode_ns = NsPer(start, n);
  if (ok != n) {
    std::fprintf(stderr, "decode failed for %zu frames\n", n - ok);
    return 1;
  }

  fc::Tracker tracker(clock, fc::DetectionConfig{});
  fc::CollectorMetrics metrics("bench", FIREWATCH_VERSION, false);
  fc::Ingestor ingestor(clock, ring, tracker, metrics, [](std::vector<fc::Transition>) {});
  auto ingest = [&](const auto& b) { ingestor.IngestDatagrams(b); };
  run(0, sources, ingest);  // first round: new sources, not timed
  start = Steady::now();
  run(sources, n, ingest);
  const double ingest_ns = NsPer(start, n - sources);
  const auto counts = tracker.Counts();
  std::printf(
      "{\"sources\": %zu, \"frames\": %zu, \"frame_bytes\": %zu, \"copy_ns\": %.1f, "
      "\"verify_only_ns\": %.1f, \"decode_ns\": %.1f, \"ingest_ns\": %.1f, \"tracked\": %llu, "
      "\"sink\": %u}\n",
      sources, frames.size(), frames[0].size(), copy_ns, verify_ns, decode_ns, ingest_ns,
      static_cast<unsigned long long>(counts.total), sink);
  return counts.total == sources ? 0 : 1;
}
