// Random bytes, ids and tokens from the kernel CSPRNG (getrandom(2)): heartbeat boot ids,
// keys, operator tokens, silence ids, e-mail Message-IDs, CSP nonces, peer boot markers.
// Thread-safe. (Jitter and other non-secret randomness use a seeded PRNG instead.)
//
// Failure policy: FATAL. If getrandom(2) fails for any reason other than EINTR (which is
// retried), the process prints the reason to stderr and aborts. Why not a Status or a
// fallback:
//  - On the kernels we support (Linux >= 3.17) getrandom(2) without GRND_NONBLOCK cannot
//    fail: it blocks until the pool is initialised, once, early in boot, and then always
//    succeeds. The only errors left are ENOSYS (an unsupported kernel or a seccomp filter
//    that forbids the call) and EFAULT (a bug of ours): a broken host or broken code, not
//    input, so docs/architecture.md's rule applies ("broken invariants of our own may
//    abort"). Failing on the first use, which is at start-up for the agent (boot id) and
//    the collector (peer boot marker), makes such a host visible at once.
//  - A fallback (clock, pid, counter) would silently turn operator tokens, ack link
//    secrets, keys and nonces into guessable values: a security failure nobody notices.
//  - A Status would put an error path that cannot be tested and never runs into every
//    caller; the five copies this replaced had five different answers to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace firewatch {

// Fills `out` with cryptographically secure random bytes. Blocks only in early boot,
// until the kernel's pool is first initialised; retries on EINTR and short reads. Aborts
// (see above) if the kernel cannot provide randomness.
void FillRandom(std::span<uint8_t> out);

// `n_bytes` random bytes as 2 * n_bytes lower-case hex digits.
std::string RandomHex(size_t n_bytes);

// A random UUID, version 4 (RFC 9562 section 5.4), lower-case with hyphens:
// "xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx" (122 random bits).
std::string RandomUuidV4();

}  // namespace firewatch
