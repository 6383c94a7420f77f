// bench_hmac: what signing/verifying one heartbeat costs, built-in HMAC-SHA256
// (firewatch/crypto/hmac_sha256.h) against OpenSSL 3.
//
// The message is the signed part of a typical heartbeat (protocol::Encode of a sample
// with labels and two checks, minus its MAC; ~150 bytes). Each case runs for about
// --seconds (default 1) after a short warm-up, single-threaded, and reports ns per
// operation and millions of operations per second:
//   openssl_hmac_oneshot   HMAC(EVP_sha256(), ...), what frame.cc used to call per frame
//   openssl_evp_mac_reuse  EVP_MAC fetched once, key set once, EVP_MAC_init per message
//   builtin_sign           HmacKey::Sign with the key set up once (what Decode does now)
//   builtin_sign_portable  the same with the portable block function forced
//   builtin_oneshot        HmacSha256(key, msg): key setup on every call
//   decode_frame           protocol::DecodeView of the whole frame (parse + verify), into
//                          one reused view, as the collector's ingest path decodes
//
// Output: one JSON object on stdout.
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "firewatch/crypto/hmac_sha256.h"
#include "firewatch/protocol/frame.h"
#include "firewatch/protocol/keyring.h"

namespace {

namespace crypto = firewatch::crypto;
namespace protocol = firewatch::protocol;
using Clock = std::chrono::steady_clock;

volatile uint8_t g_sink;

// Runs `op` in batches until `seconds` have passed; returns ns per call.
template <typename Op>
double NsPerOp(double seconds, Op op) {
  for (int i = 0; i < 20000; ++i) op();  // warm-up
  uint64_t calls = 0;
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration<double>(seconds);
  Clock::time_point now;
  do {
    for (int i = 0; i < 4096; ++i) op();
    calls += 4096;
    now = Clock::now();
  } while (now < until);
  return std::chrono::duration<double, std::nano>(now - start).count() / static_cast<double>(calls);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 1.0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--seconds S]\n", argv[0]);
      return 2;
    }
  }

  protocol::Heartbeat hb;
  hb.key_id = "fleet";
  hb.source_id = "web-01.dc1.example.net";
  hb.boot_id = protocol::NewBootId();
  hb.sequence = 123456;
  hb.timestamp_ms = 1'700'000'000'123;
  hb.interval_ms = 10000;
  hb.agent_version = "0.1.0";
  hb.labels = {{"dc", "dc1"}, {"role", "web"}, {"service", "shop"}};
  hb.checks = {{"disk", protocol::CheckState::kWarning, "/var 91% full"},
               {"ntp", protocol::CheckState::kOk, "offset 0.002s"}};
  const protocol::Secret secret(32, 0x42);
  auto encoded = protocol::Encode(hb, secret);
  if (!encoded.ok()) {
    std::fprintf(stderr, "encode: %s\n", encoded.status().ToString().c_str());
    return 1;
  }
  const std::vector<uint8_t> frame = encoded.value();
  const std::vector<uint8_t> msg(frame.begin(), frame.end() - protocol::kMacSize);
  protocol::Keyring ring;
  if (!ring.Add("fleet", secret).ok()) return 1;

  // All implementations must agree before anything is timed.
  uint8_t ref[32];
  unsigned ref_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), msg.data(), msg.size(), ref,
       &ref_len);
  const crypto::HmacKey key(secret);
  if (ref_len != 32 || std::memcmp(key.Sign(msg).data(), ref, 32) != 0 ||
      !protocol::Decode(frame, ring).ok()) {
    std::fprintf(stderr, "implementations disagree\n");
    return 1;
  }

  const double oneshot = NsPerOp(seconds, [&] {
    uint8_t out[32];
    unsigned len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), msg.data(), msg.size(), out,
         &len);
    g_sink = out[0];
  });

  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx, secret.data(), secret.size(), params) != 1) return 1;
  const double evp_reuse = NsPerOp(seconds, [&] {
    uint8_t out[32];
    size_t len = 0;
    EVP_MAC_init(ctx, nullptr, 0, nullptr);  // same key, same digest
    EVP_MAC_update(ctx, msg.data(), msg.size());
    EVP_MAC_final(ctx, out, &len, sizeof out);
    g_sink = out[0];
  });
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);

  const auto active = crypto::internal::ActiveSha256Impl();
  const double sign = NsPerOp(seconds, [&] { g_sink = key.Sign(msg)[0]; });
  crypto::internal::SetSha256ImplForTesting(crypto::internal::Sha256Impl::kPortable);
  const double sign_portable = NsPerOp(seconds, [&] { g_sink = key.Sign(msg)[0]; });
  crypto::internal::SetSha256ImplForTesting(active);
  const double builtin_oneshot =
      NsPerOp(seconds, [&] { g_sink = crypto::HmacSha256(secret, msg)[0]; });
  protocol::HeartbeatView view;
  const double decode = NsPerOp(seconds, [&] {
    g_sink = static_cast<uint8_t>(!protocol::DecodeView(frame, ring, view).has_value());
  });

  auto row = [](const char* name, double ns, bool last = false) {
    std::printf("    \"%s\": {\"ns_per_op\": %.1f, \"mops_per_s\": %.3f}%s\n", name, ns, 1e3 / ns,
                last ? "" : ",");
  };
  std::printf("{\n  \"message_bytes\": %zu,\n  \"block_function\": \"%s\",\n  \"results\": {\n",
              msg.size(), active == crypto::internal::Sha256Impl::kShaNi ? "sha-ni" : "portable");
  row("openssl_hmac_oneshot", oneshot);
  row("openssl_evp_mac_reuse", evp_reuse);
  row("builtin_sign", sign);
  row("builtin_sign_portable", sign_portable);
  row("builtin_oneshot", builtin_oneshot);
  row("decode_frame", decode, true);
  std::printf("  }\n}\n");
  return 0;
}
