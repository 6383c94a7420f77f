// Wakes a server that is blocked polling its listening socket, so it notices a stop
// request at once. civetweb's accept loop polls its listeners in 2 s quanta and checks
// its stop flag only between polls, so mg_stop() alone takes up to 2 s. Keep a
// ListenerWaker alive around mg_stop(): it connects to the listener every 20 ms, poll()
// returns, the loop sees the stop flag and exits without accepting (closing the
// listener then resets our connection).
//
//   {
//     ListenerWaker wake(host, port);
//     mg_stop(ctx);
//   }
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace firewatch {

class ListenerWaker {
 public:
  // `host` is a numeric address that reaches the listener from this machine
  // ("127.0.0.1" for a server bound to 0.0.0.0). Does nothing when port is 0 or the
  // address does not parse.
  ListenerWaker(std::string host, uint16_t port);
  ~ListenerWaker();  // stops connecting and joins its thread

  ListenerWaker(const ListenerWaker&) = delete;
  ListenerWaker& operator=(const ListenerWaker&) = delete;

 private:
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

}  // namespace firewatch
