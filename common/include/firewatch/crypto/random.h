// Randomness from the kernel CSPRNG (getrandom(2)), for keys and boot ids.
#pragma once

#include <cstdint>
#include <span>

#include "firewatch/status.h"

namespace firewatch::crypto {

// Fills `out` with cryptographically secure random bytes from getrandom(2). Blocks only
// in early boot, until the kernel's pool is first initialised; retries on EINTR and
// short reads. Fails with Unavailable (naming the errno) when the kernel cannot provide
// randomness, for example ENOSYS on kernels older than 3.17; `out` is then unspecified.
Status FillRandom(std::span<uint8_t> out);

}  // namespace firewatch::crypto
