// A small HTTP server on civetweb, with routes matched EXACTLY (civetweb's own handler
// URIs match by prefix; we register one catch-all and route ourselves), a per-route access
// level checked against the AccessPolicy before anything is read (http/access.h), a
// per-route body limit checked before reading (CivetServer::getPostData reads without
// one), and plain request/response values so handlers are unit-testable without a socket.
//
// Slow clients (docs/security.md, "Slow clients"; every bound below is an option):
//   - at most `max_connections_per_client` open connections per client IP, refused at
//     accept() before a worker reads a byte (http/connection_gate.h);
//   - request line and headers within `request_timeout_ms` of the connection being taken
//     by a worker (civetweb's own total header deadline, which also bounds each wait for
//     a body byte and for the client to take response bytes);
//   - the body read as it arrives into a buffer that grows with what was received (never
//     the declared Content-Length up front), refused with 408 once it has taken longer
//     than `body_timeout_ms` or, after its first 2 s, arrives slower on average than
//     `min_body_rate` bytes/s;
//   - the response written in 64 KiB pieces and abandoned once `body_timeout_ms` passed;
//   - `worker_threads` workers (default 32), so a few slow clients leave most free.
//
// Threading: civetweb is thread-per-connection; handlers run on its worker threads and
// must be thread-safe. Start() binds before returning; Stop() waits for handlers to end.
// Route() and SetObserver() must be called before Start() (the route table is read
// without a lock while serving).
//
// Error policy: every request gets an answer and none can crash the process.
//   400  malformed path (bad %-escape, %00) or a body shorter than its Content-Length
//   401/403/415/421  refused by the access policy (http/access.h), before the body
//   404  no route has this path                    {"error": "..."}
//   405  a route has this path but not the method  {"error": "..."} + Allow header
//   408  the body came too slowly (see above)
//   413  body over the route's limit               {"error": "..."}
//   500  the handler threw (logged; the message is not sent to the client)
// Responses always carry Content-Length and "Connection: close" (keep-alive is off: one
// request per connection keeps a slow client from pinning a worker between requests).
// TLS is deliberately not supported (Debian's civetweb crashes with OpenSSL 3); terminate
// TLS in front of the collector when needed.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "firewatch/config/yaml_reader.h"
#include "firewatch/status.h"
#include "http/access.h"

namespace firewatch::collector {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded path without the query, e.g. "/api/v1/sources/web-01"
  std::string query;   // raw query string without '?'
  std::map<std::string, std::string> headers;  // keys lower-cased
  std::string body;
  std::string remote;  // "ip:port"
  // Path parameter captured by a route's "{}" segment (see Route), URL-decoded: the
  // last one; `params` has every "{}" segment's, in order.
  std::string param;
  std::vector<std::string> params;
  // The operator whose token authorized the request: always set on kOperator routes,
  // and on kRead routes when a valid token came along. Record THIS as who did it,
  // never a name from the body.
  std::string operator_name;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse Json(int status, std::string body);
  static HttpResponse Text(int status, std::string body);
  static HttpResponse Html(int status, std::string body);  // text/html; charset=utf-8
  // {"error": message} with the given status.
  static HttpResponse Error(int status, const std::string& message);
  // The first header named `name` (case-insensitive), or nullptr.
  const std::string* Header(std::string_view name) const;
};

struct HttpServerOptions {
  config::HostPort listen{"127.0.0.1", 9760};  // port 0 = pick a free port (tests)
  int worker_threads = 32;
  // Request line + headers, from when a worker takes the connection; also the longest
  // single wait for body bytes or for the client to take response bytes.
  int request_timeout_ms = 5'000;
  int body_timeout_ms = 30'000;       // the whole body, from the end of the headers
  size_t min_body_rate = 1024;        // bytes/s on average, checked after the first 2 s
  int max_connections_per_client = 8; // per client IP address; 0 = no cap
};

// Options of one route (HttpServer::Route).
struct RouteOptions {
  Access access = Access::kAuto;  // kAuto: GET -> kRead, other methods -> kOperator
  size_t max_body = 0;            // bytes; 0 = no body at all
  // Runs on the worker thread each time this route refuses a body with 413, e.g. to
  // count a rejected frame.
  std::function<void()> on_oversize;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  using Observer = std::function<void(const std::string& route, int status)>;
  using RefusalObserver = std::function<void(HttpRefusal)>;

  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();  // stops

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Registers a handler before Start(). `pattern` is an exact path ("/metrics") or a path
  // with "{}" segments ("/api/v1/sources/{}", "/api/v1/incidents/{}/resolve", "/ping/{}/{}"),
  // each capturing one non-empty segment.
  // A known path with another method answers 405 with an Allow header; unknown paths 404.
  // The route's access level (options.access, http/access.h) is checked against the
  // access policy before the body is read; kAuto makes every non-GET route
  // operator-only. Bodies over `max_body` bytes are refused with 413 without being read:
  // a declared Content-Length over the limit is refused from the headers alone; a body
  // without one (chunked) is read up to max_body + 1 bytes and refused when more arrive.
  // A GET route also answers HEAD (same status and headers, no body).
  // Matching: the path is split on '/' BEFORE %-decoding, so "a%2Fb" is one segment
  // ("a/b" after decoding) while "a/b" is two; an exact route beats a "{}" route. No
  // dot-segment removal, no trailing-slash folding: "/metrics/" and "//metrics" are 404.
  void Route(std::string method, std::string pattern, Handler handler, RouteOptions options = {});
  // Same as Route(method, pattern, handler, {Access::kAuto, max_body, on_oversize}).
  void Route(std::string method, std::string pattern, Handler handler, size_t max_body,
             std::function<void()> on_oversize = nullptr);

  // Replaces the access policy (thread-safe, any time: SIGHUP swaps in new operator
  // tokens). Until set, the policy is empty: no operators, so every kOperator route
  // answers 401, and reads are open.
  void SetAccessPolicy(std::shared_ptr<const AccessPolicy> policy);

  // Binds and starts serving. Fails with Unavailable naming the address (and civetweb's
  // reason, e.g. "Address already in use") when it cannot bind, or InvalidArgument when
  // already started. Safe to call again after a failure or after Stop().
  Status Start();
  // Graceful stop: requests already running finish and get their responses (for at most
  // min(request_timeout_ms, 5 s)); requests arriving meanwhile get 503. Then civetweb is
  // stopped and its threads joined. Returns within a few ms when idle. Idempotent. Must
  // not be called from a handler (it would wait for itself).
  void Stop();
  // The bound port (useful with port 0); 0 before Start() and after Stop().
  uint16_t port() const;

  // Dispatches a request as the server would (tests use this without sockets):
  // `request.path` is taken as already decoded (every '/' separates segments), the
  // access policy and the body limit are applied (against request.body.size()),
  // `request.param` and `request.operator_name` are filled in. Does not call the
  // observers.
  HttpResponse Dispatch(HttpRequest& request) const;

  // Called for every request with the route pattern ("unmatched" for 404s and for
  // errors civetweb answers itself, such as an unparsable request) and the status, once
  // the response is built and just before it is written (so a client that has read the
  // response can rely on it having been counted). Runs on the worker thread; must be
  // thread-safe and should not block.
  void SetObserver(Observer observer);
  // Called for every refusal of HttpRefusal's kinds (access policy, slow body, and
  // connections closed at accept for the per-client cap). Same rules as SetObserver.
  void SetRefusalObserver(RefusalObserver observer);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The first value of `key` in an application/x-www-form-urlencoded query string,
// decoded; nullopt when absent or not decodable. "a=1&b" gives b = "".
std::optional<std::string> QueryParam(std::string_view query, std::string_view key);
// Every value of `key`, in order ("match[]=a&match[]=b"); nullopt when one of them (or
// a name that might be `key`) does not decode, so a caller can refuse it rather than
// act as if it were absent.
std::optional<std::vector<std::string>> QueryParams(std::string_view query, std::string_view key);

}  // namespace firewatch::collector
