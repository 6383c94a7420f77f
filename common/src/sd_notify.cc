#include "firewatch/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace firewatch {

Status SdNotifyTo(std::string_view socket, std::string_view state) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // An abstract address has no terminating NUL and its length counts only its bytes; a
  // path needs room for the NUL.
  const bool abstract = !socket.empty() && socket.front() == '@';
  if (socket.size() < 2 || socket.size() + (abstract ? 0 : 1) > sizeof(addr.sun_path) ||
      (socket.front() != '/' && !abstract)) {
    return Status::InvalidArgument("NOTIFY_SOCKET '" + std::string(socket) +
                                   "' is neither an absolute path nor an @abstract name");
  }
  std::memcpy(addr.sun_path, socket.data(), socket.size());
  if (abstract) addr.sun_path[0] = '\0';
  const auto len =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket.size() + (abstract ? 0 : 1));

  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::IoError(std::string("sd_notify: socket: ") + std::strerror(errno));
  ssize_t n;
  do {
    n = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
                 len);
  } while (n < 0 && errno == EINTR);
  const int err = errno;
  ::close(fd);
  if (n < 0) {
    return Status::IoError("sd_notify to " + std::string(socket) + ": " + std::strerror(err));
  }
  if (static_cast<size_t>(n) != state.size()) {
    return Status::IoError("sd_notify to " + std::string(socket) + ": short send");
  }
  return Status::Ok();
}

Status SdNotify(std::string_view state) {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  if (socket == nullptr || *socket == '\0') return Status::Ok();
  return SdNotifyTo(socket, state);
}

namespace {
bool ParseUnsigned(const char* text, unsigned long long& out) {
  if (text == nullptr || *text == '\0') return false;
  const char* end = text + std::strlen(text);
  auto [p, ec] = std::from_chars(text, end, out);
  return ec == std::errc() && p == end;
}
}  // namespace

std::chrono::microseconds SdWatchdogPeriod() {
  unsigned long long usec = 0, pid = 0;
  if (!ParseUnsigned(std::getenv("WATCHDOG_USEC"), usec) || usec == 0) {
    return std::chrono::microseconds(0);
  }
  // systemd sets WATCHDOG_PID to the main process: a child that inherited the variables
  // must not ping on its parent's behalf.
  if (const char* p = std::getenv("WATCHDOG_PID"); p != nullptr && *p != '\0') {
    if (!ParseUnsigned(p, pid) || pid != static_cast<unsigned long long>(::getpid())) {
      return std::chrono::microseconds(0);
    }
  }
  return std::chrono::microseconds(static_cast<std::chrono::microseconds::rep>(usec));
}

}  // namespace firewatch
