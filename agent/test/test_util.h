// Helpers for agent tests that run a real libuv loop on loopback: run-until with a
// guard, a raw HTTP client, a UDP sink and an HTTP sink that stand in for a collector.
#pragma once

#include <uv.h>

#include <functional>
#include <string>
#include <vector>

#include "firewatch/clock.h"

namespace firewatch::agent::testing {

// Runs `loop` until `done()` is true (checked after every loop iteration) or `timeout`
// passes. Returns done(). Never sleeps: a guard timer wakes the loop at the timeout.
bool RunUntil(uv_loop_t* loop, const std::function<bool()>& done, Duration timeout);

// Runs the loop until nothing is left and returns uv_loop_close's result.
int DrainAndClose(uv_loop_t* loop);

// Sends `request` raw to 127.0.0.1:`port`, optionally in pieces, then reads until the
// server closes. `done` and `response` are set on the loop.
class RawHttpClient {
 public:
  RawHttpClient(uv_loop_t* loop, int port, std::string request, bool half_close = false);
  ~RawHttpClient();
  bool done() const { return done_; }
  bool connected() const { return connected_; }
  const std::string& response() const { return response_; }
  // The status code from the response's status line, or 0.
  int status() const;

 private:
  struct Impl;
  Impl* impl_;
  bool done_ = false;
  bool connected_ = false;
  std::string response_;
};

// A UDP socket on `ip`:0 (an IPv4 or IPv6 literal) that records every datagram.
class UdpSink {
 public:
  explicit UdpSink(uv_loop_t* loop, const std::string& ip = "127.0.0.1");
  ~UdpSink();
  int port() const { return port_; }
  const std::vector<std::vector<uint8_t>>& datagrams() const { return datagrams_; }
  std::function<void()> on_datagram;
  void Close();

 private:
  uv_udp_t* udp_;
  int port_ = 0;
  std::vector<std::vector<uint8_t>> datagrams_;
};

// An HTTP server on 127.0.0.1:0 that records POST bodies and answers `status`.
class HttpSink {
 public:
  HttpSink(uv_loop_t* loop, int status = 202);
  ~HttpSink();
  int port() const { return port_; }
  const std::vector<std::string>& paths() const { return paths_; }
  const std::vector<std::vector<uint8_t>>& bodies() const { return bodies_; }
  std::function<void()> on_body;
  void Close();

 private:
  struct Conn;
  uv_loop_t* loop_;
  int status_;
  uv_tcp_t* listener_;
  int port_ = 0;
  std::vector<Conn*> conns_;
  std::vector<std::string> paths_;
  std::vector<std::vector<uint8_t>> bodies_;
};

// The first address getaddrinfo gives for `host` (as the agent would pick it), as an
// IP string; "" when it does not resolve.
std::string FirstAddressOf(const std::string& host);

// A port on 127.0.0.1 where nothing listens for `socktype` (SOCK_DGRAM or
// SOCK_STREAM): bound by the OS then released, so it is free but unused.
int UnusedPort(int socktype);

}  // namespace firewatch::agent::testing
