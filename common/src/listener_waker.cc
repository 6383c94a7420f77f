#include "firewatch/listener_waker.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <utility>

namespace firewatch {

namespace {

void Poke(const std::string& host, uint16_t port, const std::atomic<bool>& stopped) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (port == 0 || getaddrinfo(host.c_str(), service.c_str(), &hints, &res) != 0) return;
  // Give the caller a moment to raise the server's stop flag, so the first poke is not
  // served as a request.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  while (!stopped.load()) {
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd >= 0) {
      (void)connect(fd, res->ai_addr, res->ai_addrlen);
      close(fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  freeaddrinfo(res);
}

}  // namespace

ListenerWaker::ListenerWaker(std::string host, uint16_t port)
    : thread_([this, host = std::move(host), port] { Poke(host, port, stopped_); }) {}

ListenerWaker::~ListenerWaker() {
  stopped_ = true;
  thread_.join();
}

}  // namespace firewatch
