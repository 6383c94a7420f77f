// bench_bare_recvmmsg: the baseline receiver for the ingest benchmark. It does what the
// collector's UdpReceiver does at the socket (same receive buffer request, batches of 64 into
// 1201-byte slots, source addresses collected, kernel drops read with SO_MEMINFO) and
// nothing else: no decoding, no MAC, no tracker. The collector's throughput is reported
// as a fraction of this loop's.
//
// With --verify-key FILE it also checks every datagram's HMAC-SHA256 (the last 32 bytes
// over the rest, firewatch's built-in crypto::HmacKey, key set up once), the one piece of
// per-frame work no authenticated receiver can skip: the "bare + MAC" baseline.
//
// The loop blocks in recvmmsg(MSG_WAITFORONE) with SO_RCVTIMEO as the idle timeout: it
// exits --idle-ms after the last datagram (or --max-seconds after start if nothing
// arrives) and prints one JSON object: datagrams, batches, kernel drops, CPU seconds.
#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "firewatch/crypto/hmac_sha256.h"
#include "firewatch/protocol/keyring.h"

namespace {

constexpr size_t kBatch = 64;
constexpr size_t kSlotSize = 1201;  // protocol::kMaxFrameSize + 1, as in UdpReceiver

double MonoSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

[[noreturn]] void Usage() {
  std::fprintf(stderr,
               "usage: bench_bare_recvmmsg --port P [--idle-ms 1000] [--max-seconds 120]\n"
               "  [--ready-file PATH] [--verify-key FILE]   (binds 127.0.0.1 only)\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, idle_ms = 1000, max_seconds = 120;
  std::string ready_file, key_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) Usage();
    const char* v = argv[++i];
    if (a == "--port") port = std::atoi(v);
    else if (a == "--idle-ms") idle_ms = std::atoi(v);
    else if (a == "--max-seconds") max_seconds = std::atoi(v);
    else if (a == "--ready-file") ready_file = v;
    else if (a == "--verify-key") key_file = v;
    else Usage();
  }
  if (port <= 0 || port > 65535 || idle_ms <= 0 || max_seconds <= 0) Usage();

  std::unique_ptr<firewatch::crypto::HmacKey> key;
  if (!key_file.empty()) {
    std::ifstream in(key_file);
    std::stringstream text;
    text << in.rdbuf();
    auto secret = firewatch::protocol::ParseKeyText(text.str());
    if (!in || !secret.ok()) {
      std::fprintf(stderr, "cannot read key %s\n", key_file.c_str());
      return 1;
    }
    key = std::make_unique<firewatch::crypto::HmacKey>(*secret);
  }

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("socket");
    return 1;
  }
  // As UdpReceiver::Bind with the default collector.udp_buffer_mib: forced as root,
  // else capped by net.core.rmem_max.
  int rcvbuf = 64 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("bind");
    return 1;
  }
  int effective = 0;
  socklen_t elen = sizeof effective;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &effective, &elen);
  auto set_timeout = [fd](int ms) {
    timeval tv{ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  };
  set_timeout(max_seconds * 1000);
  if (!ready_file.empty()) {
    FILE* f = std::fopen(ready_file.c_str(), "w");
    if (f == nullptr) {
      std::perror("ready file");
      return 1;
    }
    std::fprintf(f, "%d\n", static_cast<int>(getpid()));
    std::fclose(f);
  }

  std::vector<uint8_t> buffers(kBatch * kSlotSize);
  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iovs{};
  std::array<sockaddr_storage, kBatch> addrs{};
  uint64_t datagrams = 0, batches = 0, bytes = 0, kernel_drops = 0, mac_ok = 0;
  double first = 0, last = 0;
  for (;;) {
    for (size_t i = 0; i < kBatch; ++i) {
      iovs[i].iov_base = buffers.data() + i * kSlotSize;
      iovs[i].iov_len = kSlotSize;
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &addrs[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      msgs[i].msg_hdr.msg_control = nullptr;
      msgs[i].msg_hdr.msg_controllen = 0;
      msgs[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(fd, msgs.data(), kBatch, MSG_WAITFORONE, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;  // idle timeout
      std::perror("recvmmsg");
      return 1;
    }
    last = MonoSeconds();
    if (datagrams == 0) {
      first = last;
      set_timeout(idle_ms);
    }
    ++batches;
    for (int i = 0; i < n; ++i) {
      bytes += msgs[i].msg_len;
      ++datagrams;
      if (key && msgs[i].msg_len > 32) {
        std::span<const uint8_t> d(buffers.data() + static_cast<size_t>(i) * kSlotSize,
                                   msgs[i].msg_len);
        if (key->Verify(d.first(d.size() - 32), d.last(32))) ++mac_ok;
      }
    }
  }
  uint32_t meminfo[SK_MEMINFO_VARS] = {};
  socklen_t mlen = sizeof meminfo;
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, meminfo, &mlen) == 0) {
    kernel_drops = meminfo[SK_MEMINFO_DROPS];
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
  std::printf(
      "{\"received\": %llu, \"batches\": %llu, \"bytes\": %llu, \"kernel_drops\": %llu, "
      "\"first_to_last_s\": %.4f, \"cpu_s\": %.4f, \"rcvbuf\": %d, \"mac_ok\": %llu}\n",
      static_cast<unsigned long long>(datagrams), static_cast<unsigned long long>(batches),
      static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(kernel_drops),
      last - first, cpu, effective, static_cast<unsigned long long>(mac_ok));
  close(fd);
  return 0;
}
