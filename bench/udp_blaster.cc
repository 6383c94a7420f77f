// bench_udp_blaster: offers signed heartbeat frames to 127.0.0.1:PORT at a paced rate.
//
// Every frame is distinct and valid: protocol::Encode with real HMAC-SHA256 under the key
// in --key-file (the collector under test loads the same file). Frame i goes to source
// (i % sources) with sequence seq_base + i / sources, so sources advance round by round
// and the collector's replay protection accepts every frame exactly once. Boot ids are
// derived from (source index, --boot-salt), so later runs with a higher --seq-base
// continue the same boots. Each frame's timestamp is its planned send time (the wall
// clock when encoding began + i / rate), so a run may last up to 300 s (memory: ~180
// bytes per frame) and stays inside the collector's 2-minute skew window: encoding must
// take under a minute (checked), and sending stops at 1.1 x --duration, so a frame is
// never more than 30 s behind its pace.
//
// All frames are encoded before the clock starts (on every CPU), then sent with
// sendmmsg(2) on a connected socket in bursts of --burst frames, paced against
// CLOCK_MONOTONIC: burst k leaves no earlier than start + k * burst / rate. When the
// sender cannot keep up it sends back to back and reports the rate it achieved. Sending
// stops after all frames or at --duration (+10% grace), whichever comes first.
//
// --dc-block N labels source s with dc "dc<(s / N) % 10>" (blocks of N consecutive
// sources per dc) instead of one of three dcs round robin. --stop-after S --stop-from A
// --stop-to B: from S seconds after sending began, frames of sources A <= s < B are
// skipped (not sent, counted in "skipped"), as if those hosts went dark together; the
// moment is printed to stderr as "stopped sources A..B at monotonic T" (CLOCK_MONOTONIC,
// the clock of Python's time.monotonic()). With --dc-block 100000 and sources
// 900000..999999 stopped, that is one whole dc of a million (bench/dc_dark_bench.py).
//
// --gso N puts up to N consecutive frames of equal size in one message with UDP_SEGMENT
// (generic segmentation offload). The kernel cuts it into ordinary datagrams before
// they reach the receiving socket (receivers do not enable UDP_GRO), so a receiver sees
// exactly the datagrams it would see without GSO; only the sender's cost per datagram
// falls, which on a small machine is what limits the offered rate.
//
// Output: one JSON object on stdout.
#include <arpa/inet.h>
#include <sched.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/protocol/frame.h"
#include "firewatch/protocol/keyring.h"

namespace {

namespace protocol = firewatch::protocol;

struct Options {
  int port = 0;
  std::string key_file;
  std::string key_id = "bench";
  uint64_t sources = 1000;
  std::string prefix = "bench-";
  uint64_t seq_base = 1;
  uint64_t boot_salt = 1;
  double rate = 10000;       // frames per second
  double duration = 3;       // seconds
  uint64_t count = 0;        // frames; 0 = rate * duration
  int burst = 64;            // frames per paced burst (one sendmmsg call)
  int gso = 1;               // frames per message (UDP_SEGMENT); 1 = no GSO
  int cpu = -1;              // pin to this CPU once encoding is done; -1 = no pinning
  uint32_t interval_ms = 10000;
  bool unique_host_label = false;
  uint64_t dc_block = 0;                // 0: dc1..dc3 round robin; else dc<(s / dc_block) % 10>
  double stop_after = -1;               // seconds after sending began; < 0: never
  uint64_t stop_from = 0, stop_to = 0;  // sources [stop_from, stop_to) stop then
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(
      stderr,
      "bench_udp_blaster: %s\n"
      "usage: bench_udp_blaster --port P --key-file F [--key-id bench] [--sources N]\n"
      "  [--prefix bench-] [--seq-base 1] [--boot-salt 1] [--rate FPS] [--duration S]\n"
      "  [--count N] [--burst 64] [--gso 1] [--cpu N] [--interval-ms 10000] [--unique-host-label]\n"
      "  [--dc-block N] [--stop-after S --stop-from A --stop-to B]\n"
      "Sends only to 127.0.0.1.\n",
      why);
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  std::map<std::string, std::string> kv;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--unique-host-label") {
      o.unique_host_label = true;
      continue;
    }
    if (a.rfind("--", 0) != 0 || i + 1 >= argc) Usage(("bad argument " + a).c_str());
    kv[a.substr(2)] = argv[++i];
  }
  auto num = [&](const char* k, auto& out) {
    auto it = kv.find(k);
    if (it == kv.end()) return;
    std::istringstream in(it->second);
    in >> out;
    if (in.fail() || !in.eof()) Usage((std::string("bad value for --") + k).c_str());
    kv.erase(it);
  };
  auto str = [&](const char* k, std::string& out) {
    auto it = kv.find(k);
    if (it == kv.end()) return;
    out = it->second;
    kv.erase(it);
  };
  num("port", o.port);
  str("key-file", o.key_file);
  str("key-id", o.key_id);
  num("sources", o.sources);
  str("prefix", o.prefix);
  num("seq-base", o.seq_base);
  num("boot-salt", o.boot_salt);
  num("rate", o.rate);
  num("duration", o.duration);
  num("count", o.count);
  num("burst", o.burst);
  num("gso", o.gso);
  num("cpu", o.cpu);
  num("interval-ms", o.interval_ms);
  num("dc-block", o.dc_block);
  num("stop-after", o.stop_after);
  num("stop-from", o.stop_from);
  num("stop-to", o.stop_to);
  if (!kv.empty()) Usage(("unknown option --" + kv.begin()->first).c_str());
  if (o.port <= 0 || o.port > 65535) Usage("--port is required");
  if (o.key_file.empty()) Usage("--key-file is required");
  if (o.sources == 0 || o.rate <= 0 || o.burst < 1 || o.burst > 1024) Usage("bad numbers");
  if (o.gso < 1 || o.gso > 64 || o.gso > o.burst) Usage("--gso must be in 1..min(64, burst)");
  if (o.duration <= 0 || o.duration > 300) Usage("--duration must be in (0, 300] seconds");
  if (o.seq_base == 0) Usage("--seq-base must be >= 1");
  if (o.stop_after >= 0 && (o.stop_from >= o.stop_to || o.stop_to > o.sources)) {
    Usage("--stop-from..--stop-to must be a non-empty range of the sources");
  }
  return o;
}

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

double MonoSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void SleepUntil(double t) {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(t);
  ts.tv_nsec = static_cast<long>((t - static_cast<double>(ts.tv_sec)) * 1e9);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

// All frames back to back in one buffer (no per-frame allocation while sending).
struct Frames {
  std::vector<uint8_t> bytes;
  std::vector<uint32_t> offset;
  std::vector<uint16_t> length;
};

Frames EncodeRange(const Options& o, uint64_t begin, uint64_t end, const protocol::Secret& secret,
                   int64_t now_ms) {
  static const char* kDc[] = {"dc1", "dc2", "dc3"};
  static const char* kDcBlock[] = {"dc0", "dc1", "dc2", "dc3", "dc4",
                                   "dc5", "dc6", "dc7", "dc8", "dc9"};
  // Values of equal length per label, so every frame has the same size and --gso can
  // batch any run of consecutive frames.
  static const char* kRole[] = {"web", "api", "sql", "kvs"};
  static const char* kService[] = {"shop", "auth", "mail", "feed", "chat"};
  Frames f;
  f.offset.reserve(end - begin);
  f.length.reserve(end - begin);
  f.bytes.reserve((end - begin) * 160);
  protocol::Heartbeat hb;
  hb.key_id = o.key_id;
  hb.interval_ms = o.interval_ms;
  hb.agent_version = FIREWATCH_VERSION;
  hb.checks.push_back({"disk", protocol::CheckState::kOk, "DISK OK - 42% used"});
  char id[96];
  for (uint64_t i = begin; i < end; ++i) {
    const uint64_t s = i % o.sources;
    std::snprintf(id, sizeof id, "%s%06llu", o.prefix.c_str(), static_cast<unsigned long long>(s));
    hb.source_id = id;
    hb.sequence = o.seq_base + i / o.sources;
    hb.timestamp_ms = now_ms + static_cast<int64_t>(static_cast<double>(i) * 1000.0 / o.rate);
    const uint64_t b0 = SplitMix(s ^ (o.boot_salt << 40)), b1 = SplitMix(b0);
    std::memcpy(hb.boot_id.data(), &b0, 8);
    std::memcpy(hb.boot_id.data() + 8, &b1, 8);
    hb.labels.clear();
    hb.labels.emplace_back("dc", o.dc_block > 0 ? kDcBlock[(s / o.dc_block) % 10] : kDc[s % 3]);
    if (o.unique_host_label) hb.labels.emplace_back("host", id);
    hb.labels.emplace_back("role", kRole[(s / 3) % 4]);
    hb.labels.emplace_back("service", kService[(s / 12) % 5]);
    auto frame = protocol::Encode(hb, secret);
    if (!frame.ok()) {
      std::fprintf(stderr, "encode failed: %s\n", frame.status().message().c_str());
      std::exit(1);
    }
    f.offset.push_back(static_cast<uint32_t>(f.bytes.size()));
    f.length.push_back(static_cast<uint16_t>(frame->size()));
    f.bytes.insert(f.bytes.end(), frame->begin(), frame->end());
  }
  return f;
}

// Encodes frames [0, n) on all CPUs and joins the pieces in order.
Frames EncodeAll(const Options& o, uint64_t n, const protocol::Secret& secret, int64_t now_ms) {
  const uint64_t parts = std::clamp<uint64_t>(std::thread::hardware_concurrency(), 1, 8);
  std::vector<Frames> piece(parts);
  std::vector<std::thread> threads;
  for (uint64_t p = 0; p < parts; ++p) {
    threads.emplace_back([&, p] {
      piece[p] = EncodeRange(o, n * p / parts, n * (p + 1) / parts, secret, now_ms);
    });
  }
  for (auto& t : threads) t.join();
  Frames f = std::move(piece[0]);
  for (uint64_t p = 1; p < parts; ++p) {
    const auto base = static_cast<uint32_t>(f.bytes.size());
    for (uint32_t off : piece[p].offset) f.offset.push_back(base + off);
    f.length.insert(f.length.end(), piece[p].length.begin(), piece[p].length.end());
    f.bytes.insert(f.bytes.end(), piece[p].bytes.begin(), piece[p].bytes.end());
  }
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  std::ifstream key_in(o.key_file);
  if (!key_in) {
    std::fprintf(stderr, "cannot read %s\n", o.key_file.c_str());
    return 1;
  }
  std::stringstream key_text;
  key_text << key_in.rdbuf();
  auto secret = protocol::ParseKeyText(key_text.str());
  if (!secret.ok()) {
    std::fprintf(stderr, "%s: %s\n", o.key_file.c_str(), secret.status().message().c_str());
    return 1;
  }

  const uint64_t n =
      o.count > 0 ? o.count : static_cast<uint64_t>(std::llround(o.rate * o.duration));
  // Frames::offset is 32-bit: at most 4 GiB of frames (under 200 bytes each).
  constexpr uint64_t kMaxFrames = 20'000'000;
  if (n > kMaxFrames) {
    std::fprintf(stderr, "%llu frames: at most %llu per run (rate x duration, or --count)\n",
                 static_cast<unsigned long long>(n), static_cast<unsigned long long>(kMaxFrames));
    return 2;
  }
  const double t_encode = MonoSeconds();
  const int64_t now_ms = firewatch::ToUnixMillis(firewatch::SystemClock::Instance().WallNow());
  Frames frames = EncodeAll(o, n, *secret, now_ms);
  const double encode_s = MonoSeconds() - t_encode;
  // The collector refuses timestamps more than 2 minutes off. A frame leaves encode_s
  // after its timestamp, plus however far the sender falls behind its pace.
  if (encode_s > 60) {
    std::fprintf(stderr, "encoding took %.1fs; the frames would be too old when sent\n", encode_s);
    return 1;
  }

  if (o.cpu >= 0) {  // encoding used every CPU; sending stays on one
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(o.cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
      std::perror("sched_setaffinity");
      return 1;
    }
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("socket");
    return 1;
  }
  // The caller may sample the receiver's CPU time when it sees this line.
  std::fprintf(stderr, "encoded %llu frames in %.2fs; sending\n", static_cast<unsigned long long>(n),
               encode_s);
  std::fflush(stderr);
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(o.port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // loopback only, by construction
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    std::perror("connect");
    return 1;
  }
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);  // wake up on time for small bursts

  // One message per frame, or with --gso up to --gso equal-sized consecutive frames in
  // one message with UDP_SEGMENT: the kernel splits it into separate datagrams before
  // they reach the receiving socket (which does not ask for UDP_GRO), so receivers see
  // exactly the same datagrams, while the sender spends far less CPU per datagram.
  const size_t max_msgs = static_cast<size_t>(o.burst);  // at gso 1, one frame per message
  std::vector<mmsghdr> msgs(max_msgs);
  std::vector<iovec> iovs(max_msgs);
  std::vector<uint64_t> msg_frames(max_msgs);
  constexpr size_t kCtl = CMSG_SPACE(sizeof(uint16_t));
  std::vector<std::array<uint8_t, kCtl>> ctls(max_msgs);
  const uint64_t per_burst = static_cast<uint64_t>(o.burst);
  const double start = MonoSeconds();
  const double deadline = start + o.duration * 1.1;
  // `sent`: frames laid out so far (sent, failed or skipped).
  uint64_t sent = 0, send_errors = 0, frames_failed = 0, late_bursts = 0, syscalls = 0;
  uint64_t skipped = 0;
  bool stopping = false;
  int last_errno = 0;
  auto stopped = [&](uint64_t i) {
    const uint64_t s = i % o.sources;
    return stopping && s >= o.stop_from && s < o.stop_to;
  };
  while (sent < n) {
    if (!stopping && o.stop_after >= 0 && MonoSeconds() >= start + o.stop_after) {
      stopping = true;
      std::fprintf(stderr, "stopped sources %llu..%llu at monotonic %.3f\n",
                   static_cast<unsigned long long>(o.stop_from),
                   static_cast<unsigned long long>(o.stop_to - 1), MonoSeconds());
      std::fflush(stderr);
    }
    // Lay out this burst's messages first, then pace on its last frame.
    const uint64_t burst_first = sent;
    size_t nmsgs = 0;
    uint64_t want = 0;
    while (nmsgs < max_msgs && sent + want < n && want < per_burst) {
      const uint64_t first = sent + want;
      if (stopped(first)) {
        ++want;
        ++skipped;
        continue;
      }
      uint64_t k = 1;
      while (k < static_cast<uint64_t>(o.gso) && first + k < n && want + k < per_burst &&
             frames.length[first + k] == frames.length[first] && !stopped(first + k)) {
        ++k;
      }
      iovs[nmsgs].iov_base = frames.bytes.data() + frames.offset[first];
      iovs[nmsgs].iov_len = static_cast<size_t>(frames.length[first]) * k;
      msgs[nmsgs] = mmsghdr{};
      msgs[nmsgs].msg_hdr.msg_iov = &iovs[nmsgs];
      msgs[nmsgs].msg_hdr.msg_iovlen = 1;
      if (k > 1) {
        msgs[nmsgs].msg_hdr.msg_control = ctls[nmsgs].data();
        msgs[nmsgs].msg_hdr.msg_controllen = kCtl;
        cmsghdr* c = CMSG_FIRSTHDR(&msgs[nmsgs].msg_hdr);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        const uint16_t seg = frames.length[first];
        std::memcpy(CMSG_DATA(c), &seg, sizeof seg);
      }
      msg_frames[nmsgs] = k;
      want += k;
      ++nmsgs;
    }
    // This burst is due when its last frame is due.
    const double due = start + static_cast<double>(sent + want) / o.rate;
    double now = MonoSeconds();
    if (now >= deadline) break;
    if (now < due) {
      SleepUntil(due);
    } else if (now - due > 0.001) {
      ++late_bursts;  // the sender is more than 1 ms behind its schedule
    }
    size_t done = 0;
    while (done < nmsgs) {
      int r = sendmmsg(fd, msgs.data() + done, static_cast<unsigned>(nmsgs - done), 0);
      ++syscalls;
      if (r < 0) {
        if (errno == EINTR) continue;
        // ECONNREFUSED: nobody listening (ICMP port unreachable). Count and go on; the
        // frames are lost, which the caller sees as received < sent.
        ++send_errors;
        last_errno = errno;
        frames_failed += msg_frames[done];
        ++done;
        continue;
      }
      done += static_cast<size_t>(r);
    }
    sent = burst_first + want;
    if (send_errors > 1000) break;
  }
  const double elapsed = MonoSeconds() - start;
  close(fd);
  uint64_t bytes = 0;
  for (uint64_t i = 0; i < sent; ++i) bytes += frames.length[i];
  const uint64_t delivered = sent - frames_failed - skipped;
  std::printf(
      "{\"frames\": %llu, \"sent\": %llu, \"send_errors\": %llu, \"last_errno\": %d, "
      "\"rate_target\": %.0f, \"rate_achieved\": %.0f, \"elapsed_s\": %.4f, "
      "\"encode_s\": %.3f, \"avg_frame_bytes\": %.1f, \"late_bursts\": %llu, "
      "\"sources\": %llu, \"seq_base\": %llu, \"next_seq_base\": %llu, \"gso\": %d, "
      "\"syscalls\": %llu, \"skipped\": %llu}\n",
      static_cast<unsigned long long>(n), static_cast<unsigned long long>(delivered),
      static_cast<unsigned long long>(send_errors), last_errno, o.rate,
      elapsed > 0 ? static_cast<double>(sent) / elapsed : 0.0, elapsed, encode_s,
      sent ? static_cast<double>(bytes) / static_cast<double>(sent) : 0.0,
      static_cast<unsigned long long>(late_bursts), static_cast<unsigned long long>(o.sources),
      static_cast<unsigned long long>(o.seq_base),
      static_cast<unsigned long long>(o.seq_base + (n + o.sources - 1) / o.sources), o.gso,
      static_cast<unsigned long long>(syscalls), static_cast<unsigned long long>(skipped));
  return send_errors > 0 ? 3 : 0;
}
