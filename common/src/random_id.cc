#include "firewatch/random_id.h"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace firewatch {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

void AppendHex(std::string& out, std::span<const uint8_t> bytes) {
  for (uint8_t b : bytes) {
    out.push_back(kHexDigits[b >> 4]);
    out.push_back(kHexDigits[b & 15]);
  }
}

}  // namespace

void FillRandom(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // Not spdlog: this is in the agent's static build, which has no logger set up.
      std::fprintf(stderr, "firewatch: fatal: getrandom(2) failed: %s; no secure randomness\n",
                   std::strerror(errno));
      std::abort();
    }
    done += static_cast<size_t>(n);
  }
}

std::string RandomHex(size_t n_bytes) {
  std::string out;
  out.reserve(2 * n_bytes);
  std::array<uint8_t, 64> chunk{};
  while (n_bytes > 0) {
    const size_t n = std::min(n_bytes, chunk.size());
    FillRandom(std::span(chunk).first(n));
    AppendHex(out, std::span(chunk).first(n));
    n_bytes -= n;
  }
  return out;
}

std::string RandomUuidV4() {
  std::array<uint8_t, 16> b{};
  FillRandom(b);
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // variant 10
  std::string out;
  out.reserve(36);
  const std::span<const uint8_t> all(b);
  AppendHex(out, all.subspan(0, 4));
  out += '-';
  AppendHex(out, all.subspan(4, 2));
  out += '-';
  AppendHex(out, all.subspan(6, 2));
  out += '-';
  AppendHex(out, all.subspan(8, 2));
  out += '-';
  AppendHex(out, all.subspan(10, 6));
  return out;
}

}  // namespace firewatch
