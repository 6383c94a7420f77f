// A minimal HTTP/1.1 server on a libuv loop, for the agent's loopback endpoints
// (/healthz, /metrics). One request per connection: it reads the request head, answers,
// and closes. Built for a small footprint and for hostile or broken clients:
//  - the request head is bounded (HttpRequestParser::Limits) and parsed incrementally;
//  - each connection has one deadline for the whole request (slowloris clients are
//    answered 408 and dropped), and a short linger after the answer;
//  - at most Options::max_connections are open; extra ones are closed at once;
//  - only GET and HEAD reach the handler; other methods get 405 with "Allow".
//
// Threading: loop thread only. Lifetime: Close() (or the destructor) closes the
// listener and every connection; the loop must run afterwards to finish closing, but
// the server object may be destroyed right after Close().
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "firewatch/clock.h"
#include "firewatch/status.h"
#include "http_request_parser.h"
#include "socket_address.h"

namespace firewatch::agent {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// The full response bytes for `response` (status line, headers, body; no body when
// `head_only`). Always "Connection: close".
std::string SerializeResponse(const HttpResponse& response, bool head_only);

class LocalHttpServer {
 public:
  struct Options {
    HttpRequestParser::Limits limits;
    Duration request_timeout = std::chrono::seconds(5);  // accept to complete request head
    Duration linger = std::chrono::seconds(1);           // after the answer, before close
    size_t max_connections = 16;
  };
  struct Stats {
    uint64_t requests = 0;      // answered by the handler
    uint64_t bad_requests = 0;  // answered 4xx/5xx by the parser or 405
    uint64_t timeouts = 0;      // answered 408
    uint64_t rejected = 0;      // closed at accept: too many connections
  };
  // Called for each complete GET or HEAD request; returns the answer.
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  LocalHttpServer(uv_loop_t* loop, Handler handler);
  LocalHttpServer(uv_loop_t* loop, Handler handler, Options options);
  ~LocalHttpServer();
  LocalHttpServer(const LocalHttpServer&) = delete;
  LocalHttpServer& operator=(const LocalHttpServer&) = delete;

  // Binds and listens. Port 0 picks a free port (see port()). Fails with IoError
  // naming the address (e.g. address in use).
  Status Listen(const SocketAddress& address);
  // The bound port, after a successful Listen.
  uint16_t port() const;
  size_t open_connections() const;
  const Stats& stats() const;
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace firewatch::agent
