// One connected UDP socket towards one collector address.
//
// The socket is connect()ed (uv_udp_connect), so the kernel reports ICMP "port
// unreachable" for it: either on a later send (Send returns UV_ECONNREFUSED) or, since
// the socket is also read from, asynchronously through `on_async_error` within a loop
// iteration of the ICMP message arriving. Datagrams the collector might send back are
// read and dropped.
//
// Threading: loop thread only. Lifetime: Close() (or the destructor) starts closing the
// handle; the loop must run afterwards, the object may be destroyed right away.
#pragma once

#include <uv.h>

#include <functional>
#include <optional>
#include <span>

#include "firewatch/status.h"
#include "socket_address.h"

namespace firewatch::agent {

class UdpSender {
 public:
  // `on_async_error` receives a negative libuv error code (e.g. UV_ECONNREFUSED). It is
  // never called from inside Send, Connect or Close.
  UdpSender(uv_loop_t* loop, std::function<void(int)> on_async_error);
  ~UdpSender();
  UdpSender(const UdpSender&) = delete;
  UdpSender& operator=(const UdpSender&) = delete;

  // (Re)connects to `to`: closes the current socket, if any, and opens a new one of the
  // right address family. On failure the sender is left disconnected.
  Status Connect(const SocketAddress& to);
  bool connected() const { return handle_ != nullptr; }
  // The connected peer, or nullptr.
  const SocketAddress* peer() const { return peer_ ? &*peer_ : nullptr; }

  // Sends one datagram without blocking (uv_udp_try_send). Returns 0 when the kernel
  // took it, or a negative libuv error (UV_ECONNREFUSED from an earlier ICMP error,
  // UV_EAGAIN when the socket buffer is full, UV_EBADF when not connected, ...).
  int Send(std::span<const uint8_t> datagram);

  void Close();

 private:
  struct Handle;
  static void OnRead(uv_udp_t* udp, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                     unsigned flags);

  uv_loop_t* loop_;
  std::function<void(int)> on_async_error_;
  Handle* handle_ = nullptr;
  std::optional<SocketAddress> peer_;
};

}  // namespace firewatch::agent
