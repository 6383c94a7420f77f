#include "firewatch/crypto/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace firewatch::crypto {

Status FillRandom(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      return Status::Unavailable(std::string("getrandom(2) failed: ") + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace firewatch::crypto
