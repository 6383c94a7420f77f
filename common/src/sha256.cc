// SHA-256 per FIPS 180-4 (section numbers below refer to it).
#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>

#include "firewatch/crypto/hmac_sha256.h"
#include "sha256_block.h"

// SHA-NI needs GCC/Clang (target attribute, <cpuid.h>) on x86-64; building with
// -DFIREWATCH_SHA256_NO_SHANI keeps only the portable code.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(FIREWATCH_SHA256_NO_SHANI)
#define FIREWATCH_SHA256_HAVE_SHANI 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define FIREWATCH_SHA256_HAVE_SHANI 0
#endif

namespace firewatch::crypto {

namespace internal {
namespace {

// Section 4.2.2: the first 32 bits of the fractional parts of the cube roots of the
// first 64 primes.
alignas(16) constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

inline uint32_t LoadBe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | static_cast<uint32_t>(p[3]);
}

inline void StoreBe32(uint32_t v, uint8_t* p) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// Section 4.1.2 functions.
inline uint32_t Ch(uint32_t x, uint32_t y, uint32_t z) {
  return z ^ (x & (y ^ z));
}
inline uint32_t Maj(uint32_t x, uint32_t y, uint32_t z) {
  return (x & y) | (z & (x | y));
}
inline uint32_t BigSigma0(uint32_t x) {
  return std::rotr(x, 2) ^ std::rotr(x, 13) ^ std::rotr(x, 22);
}
inline uint32_t BigSigma1(uint32_t x) {
  return std::rotr(x, 6) ^ std::rotr(x, 11) ^ std::rotr(x, 25);
}
inline uint32_t SmallSigma0(uint32_t x) {
  return std::rotr(x, 7) ^ std::rotr(x, 18) ^ (x >> 3);
}
inline uint32_t SmallSigma1(uint32_t x) {
  return std::rotr(x, 17) ^ std::rotr(x, 19) ^ (x >> 10);
}

// One round of section 6.2.2 step 3. Instead of shifting the eight working variables
// each round, the caller rotates which variable plays which role, so a round only
// writes d and h (the new e and a).
inline void Round(uint32_t a, uint32_t b, uint32_t c, uint32_t& d, uint32_t e, uint32_t f,
                  uint32_t g, uint32_t& h, uint32_t k_plus_w) {
  uint32_t t1 = h + BigSigma1(e) + Ch(e, f, g) + k_plus_w;
  uint32_t t2 = BigSigma0(a) + Maj(a, b, c);
  d += t1;
  h = t1 + t2;
}

void BlocksPortable(Sha256State& state, const uint8_t* p, size_t nblocks) {
  uint32_t w[64];
  for (; nblocks > 0; --nblocks, p += kSha256BlockSize) {
    // Step 1: the message schedule.
    for (int t = 0; t < 16; ++t) w[t] = LoadBe32(p + 4 * t);
    for (int t = 16; t < 64; ++t) {
      w[t] = SmallSigma1(w[t - 2]) + w[t - 7] + SmallSigma0(w[t - 15]) + w[t - 16];
    }
    // Steps 2-4, eight rounds per iteration so every role returns to its variable.
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < 64; t += 8) {
      Round(a, b, c, d, e, f, g, h, kK[t + 0] + w[t + 0]);
      Round(h, a, b, c, d, e, f, g, kK[t + 1] + w[t + 1]);
      Round(g, h, a, b, c, d, e, f, kK[t + 2] + w[t + 2]);
      Round(f, g, h, a, b, c, d, e, kK[t + 3] + w[t + 3]);
      Round(e, f, g, h, a, b, c, d, kK[t + 4] + w[t + 4]);
      Round(d, e, f, g, h, a, b, c, kK[t + 5] + w[t + 5]);
      Round(c, d, e, f, g, h, a, b, kK[t + 6] + w[t + 6]);
      Round(b, c, d, e, f, g, h, a, kK[t + 7] + w[t + 7]);
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
  }
}

#if FIREWATCH_SHA256_HAVE_SHANI

// The same block function with the x86 SHA extensions. SHA256RNDS2 runs two rounds on
// the state split as {A,B,E,F} and {C,D,G,H} (A in the top lane), taking W+K for the
// two rounds in the low lanes of its third operand; SHA256MSG1/MSG2 compute four
// schedule words at a time. Lane 0 of each message vector holds the earliest word.
__attribute__((target("sha,sse4.1,ssse3"))) void BlocksShaNi(Sha256State& state, const uint8_t* p,
                                                             size_t nblocks) {
  const __m128i byteswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
  // {A,B,C,D}, {E,F,G,H} (lane 0 first) -> ABEF = {F,E,B,A}, CDGH = {H,G,D,C}.
  __m128i abcd = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&state[0]));
  __m128i efgh = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&state[4]));
  abcd = _mm_shuffle_epi32(abcd, 0xB1);              // B,A,D,C
  efgh = _mm_shuffle_epi32(efgh, 0x1B);              // H,G,F,E
  __m128i abef = _mm_alignr_epi8(abcd, efgh, 8);     // F,E,B,A
  __m128i cdgh = _mm_blend_epi16(efgh, abcd, 0xF0);  // H,G,D,C

  for (; nblocks > 0; --nblocks, p += kSha256BlockSize) {
    const __m128i abef_in = abef, cdgh_in = cdgh;
    __m128i m[4];
    for (int i = 0; i < 4; ++i) {
      m[i] =
          _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i)), byteswap);
    }
    // 16 groups of four rounds; group g uses W[4g..4g+3] = m[g % 4], and while words
    // remain to be scheduled, replaces m[g % 4] by W[4g+16..4g+19].
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 16
#endif
    for (int g = 0; g < 16; ++g) {
      __m128i& cur = m[g & 3];
      __m128i wk = _mm_add_epi32(cur, _mm_load_si128(reinterpret_cast<const __m128i*>(&kK[4 * g])));
      // Two rounds leave C,D,G,H equal to the A,B,E,F of before, so after the pair
      // `abef` and `cdgh` again hold what their names say.
      cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);  // rounds 4g, 4g+1: new ABEF
      wk = _mm_shuffle_epi32(wk, 0x0E);              // W+K of rounds 4g+2, 4g+3 to lanes 0,1
      abef = _mm_sha256rnds2_epu32(abef, cdgh, wk);
      if (g < 12) {
        const __m128i& w1 = m[(g + 1) & 3];
        const __m128i& w2 = m[(g + 2) & 3];
        const __m128i& w3 = m[(g + 3) & 3];
        // W[t-16] + s0(W[t-15]) + W[t-7], then + s1(W[t-2]) inside MSG2.
        __m128i t = _mm_add_epi32(_mm_sha256msg1_epu32(cur, w1), _mm_alignr_epi8(w3, w2, 4));
        cur = _mm_sha256msg2_epu32(t, w3);
      }
    }
    abef = _mm_add_epi32(abef, abef_in);
    cdgh = _mm_add_epi32(cdgh, cdgh_in);
  }

  // Back to {A,B,C,D}, {E,F,G,H}.
  __m128i t0 = _mm_shuffle_epi32(abef, 0x1B);  // A,B,E,F
  __m128i t1 = _mm_shuffle_epi32(cdgh, 0xB1);  // G,H,C,D
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&state[0]), _mm_blend_epi16(t0, t1, 0xF0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&state[4]), _mm_alignr_epi8(t1, t0, 8));
}

bool CpuHasShaNi() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0) return false;
  const bool ssse3 = (c & (1u << 9)) != 0, sse41 = (c & (1u << 19)) != 0;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) return false;
  const bool sha = (b & (1u << 29)) != 0;
  return ssse3 && sse41 && sha;
}

#else

bool CpuHasShaNi() {
  return false;
}

#endif  // FIREWATCH_SHA256_HAVE_SHANI

using BlocksFn = void (*)(Sha256State&, const uint8_t*, size_t);

BlocksFn BestBlocks() {
#if FIREWATCH_SHA256_HAVE_SHANI
  if (CpuHasShaNi()) return &BlocksShaNi;
#endif
  return &BlocksPortable;
}

void BlocksFirstUse(Sha256State& state, const uint8_t* p, size_t nblocks);

// Constant-initialised, so it is valid even during other translation units' static
// initialisation; the first call picks the implementation. Relaxed is enough: every
// value it ever holds is a correct function.
std::atomic<BlocksFn> g_blocks{&BlocksFirstUse};

void BlocksFirstUse(Sha256State& state, const uint8_t* p, size_t nblocks) {
  BlocksFn best = BestBlocks();
  g_blocks.store(best, std::memory_order_relaxed);
  best(state, p, nblocks);
}

}  // namespace

void Sha256Blocks(Sha256State& state, const uint8_t* blocks, size_t nblocks) {
  g_blocks.load(std::memory_order_relaxed)(state, blocks, nblocks);
}

void Sha256StoreDigest(const Sha256State& state, uint8_t* out) {
  for (int i = 0; i < 8; ++i) StoreBe32(state[i], out + 4 * i);
}

void SecureWipe(void* p, size_t n) {
  volatile uint8_t* v = static_cast<volatile uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) v[i] = 0;
}

Sha256Impl ActiveSha256Impl() {
  BlocksFn f = g_blocks.load(std::memory_order_relaxed);
  if (f == &BlocksFirstUse) f = BestBlocks();
#if FIREWATCH_SHA256_HAVE_SHANI
  if (f == &BlocksShaNi) return Sha256Impl::kShaNi;
#endif
  return Sha256Impl::kPortable;
}

bool Sha256ImplAvailable(Sha256Impl impl) {
  return impl == Sha256Impl::kPortable || CpuHasShaNi();
}

bool SetSha256ImplForTesting(Sha256Impl impl) {
  if (!Sha256ImplAvailable(impl)) return false;
#if FIREWATCH_SHA256_HAVE_SHANI
  if (impl == Sha256Impl::kShaNi) {
    g_blocks.store(&BlocksShaNi, std::memory_order_relaxed);
    return true;
  }
#endif
  g_blocks.store(&BlocksPortable, std::memory_order_relaxed);
  return true;
}

}  // namespace internal

void Sha256::Reset() {
  state_ = internal::kSha256Init;
  length_ = 0;
  buffered_ = 0;
}

Sha256& Sha256::Update(std::span<const uint8_t> data) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  if (n == 0) return *this;
  length_ += n;
  if (buffered_ > 0) {
    size_t take = std::min(n, kSha256BlockSize - buffered_);
    std::memcpy(buffer_.data() + buffered_, p, take);
    buffered_ += take;
    p += take;
    n -= take;
    if (buffered_ < kSha256BlockSize) return *this;
    internal::Sha256Blocks(state_, buffer_.data(), 1);
    buffered_ = 0;
  }
  // Whole blocks straight from the input, no copy.
  if (size_t whole = n / kSha256BlockSize; whole > 0) {
    internal::Sha256Blocks(state_, p, whole);
    p += whole * kSha256BlockSize;
    n -= whole * kSha256BlockSize;
  }
  if (n > 0) std::memcpy(buffer_.data(), p, n);
  buffered_ = n;
  return *this;
}

Sha256Digest Sha256::Finish() {
  // Section 5.1.1: a 1 bit, zeros up to 56 mod 64 bytes, the bit length as 64 bits.
  const uint64_t bits = length_ * 8;
  buffer_[buffered_++] = 0x80;
  if (buffered_ > kSha256BlockSize - 8) {
    std::memset(buffer_.data() + buffered_, 0, kSha256BlockSize - buffered_);
    internal::Sha256Blocks(state_, buffer_.data(), 1);
    buffered_ = 0;
  }
  std::memset(buffer_.data() + buffered_, 0, kSha256BlockSize - 8 - buffered_);
  for (int i = 0; i < 8; ++i) buffer_[56 + i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
  internal::Sha256Blocks(state_, buffer_.data(), 1);
  Sha256Digest out;
  internal::Sha256StoreDigest(state_, out.data());
  Reset();
  return out;
}

Sha256Digest Sha256::Hash(std::span<const uint8_t> data) {
  Sha256 h;
  h.Update(data);
  return h.Finish();
}

}  // namespace firewatch::crypto
