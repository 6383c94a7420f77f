// Per-client-address connection caps for the HTTP listener, enforced when a connection
// is accepted, before a civetweb worker is given it (docs/security.md, "Slow clients").
//
// Why at accept: civetweb is thread-per-connection and reads the request line and headers
// on a worker thread; its callbacks run only once a worker holds the connection (and
// mg_get_request_info is not even valid in init_connection). A client that trickles its
// headers therefore pins a worker for up to the header timeout, whatever a handler does.
// Counting and refusing in accept() keeps one address from holding more than
// `max_per_client` workers or queue slots at any time.
//
// How: this file defines the process's `accept` symbol. The executable's definition
// interposes libc's for the shared libcivetweb (ELF symbol interposition; civetweb
// calls accept(2) from its master thread and nothing else in the collector does - libuv
// uses accept4). Our accept calls the next definition (libc's, or a sanitizer's), then,
// for listening sockets registered here (by local port), admits the connection or
// closes it at once and reports ECONNABORTED, which civetweb treats as "nothing
// accepted". Sockets of unregistered listeners pass through untouched.
//
// Open connections are tracked per client address by (fd, client port, local port) and
// pruned lazily: before counting an address, each of its entries is checked with
// getpeername/getsockname, so an fd civetweb has closed (or reused for another
// connection) no longer counts. No close() hook is needed.
//
// Thread-safety: all functions are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace firewatch::collector {

class ConnectionGate {
 public:
  // Caps connections to the listener bound to local TCP `port` at `max_per_client` open
  // connections per client IP address (0 = no cap, only counting). `on_refused` runs (on
  // civetweb's master thread; must not block) for each connection closed at accept.
  // The cap applies until the returned handle is destroyed. One gate per port.
  static std::unique_ptr<ConnectionGate> Install(uint16_t port, int max_per_client,
                                                 std::function<void()> on_refused);
  ~ConnectionGate();  // unregisters
  ConnectionGate(const ConnectionGate&) = delete;
  ConnectionGate& operator=(const ConnectionGate&) = delete;

  // The socket of the open connection from `ip`:`client_port` to the listener on local
  // `port` (as civetweb reports them), or -1 (no gate on that port, or not admitted by
  // one). The fd is checked to still be that connection; it stays valid while the
  // caller's handler for that connection runs. Static: workers call it without touching
  // the handle, which Start/Stop own.
  static int SocketOf(uint16_t port, const std::string& ip, uint16_t client_port);

 private:
  explicit ConnectionGate(uint16_t port) : port_(port) {}
  uint16_t port_;
};

}  // namespace firewatch::collector
