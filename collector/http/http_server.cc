#include "http/http_server.h"

#include <civetweb.h>
#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <set>
#include <thread>

#include "firewatch/clock.h"
#include "firewatch/listener_waker.h"
#include "firewatch/log.h"
#include "firewatch/sync/mutex.h"
#include "firewatch/text/json_escape.h"
#include "firewatch/text/url.h"
#include "http/connection_gate.h"
#include "http/deadline_watch.h"

namespace firewatch::collector {

namespace {

constexpr std::string_view kCapture = "{}";
constexpr int kMaxDrainMs = 5000;  // Stop() waits at most this long for running requests
constexpr size_t kReadChunk = 16 * 1024;   // body bytes asked of civetweb per read
constexpr size_t kWriteChunk = 64 * 1024;  // response bytes handed to civetweb per write
constexpr auto kRateGrace = std::chrono::seconds(2);  // before min_body_rate applies

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 421: return "Misdirected Request";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

// Splits "/a/b%2Fc" into {"a", "b/c"} (decode) or {"a", "b%2Fc"} (no decode). The path
// must start with '/'; "/" gives {""}. nullopt when it does not or a segment is bad.
std::optional<std::vector<std::string>> SplitPath(std::string_view path, bool decode) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  std::vector<std::string> segments;
  size_t start = 1;
  while (true) {
    size_t slash = path.find('/', start);
    std::string_view raw = path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (decode) {
      auto decoded = text::UrlDecode(raw, /*plus_is_space=*/false);
      if (!decoded) return std::nullopt;
      segments.push_back(std::move(*decoded));
    } else {
      segments.emplace_back(raw);
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return segments;
}

struct RouteEntry {
  std::string method;
  std::string pattern;
  std::vector<std::string> segments;
  bool capture = false;
  HttpServer::Handler handler;
  Access access = Access::kOperator;  // never kAuto (resolved by Route)
  size_t max_body = 0;
  std::function<void()> on_oversize;
};

bool SegmentsMatch(const RouteEntry& r, const std::vector<std::string>& segs, std::string* param,
                   std::vector<std::string>* params) {
  if (segs.size() != r.segments.size()) return false;
  for (size_t i = 0; i < segs.size(); ++i) {
    if (r.segments[i] == kCapture) {
      if (segs[i].empty()) return false;
    } else if (segs[i] != r.segments[i]) {
      return false;
    }
  }
  if (r.capture) {
    params->clear();
    for (size_t i = 0; i < segs.size(); ++i) {
      if (r.segments[i] == kCapture) params->push_back(segs[i]);
    }
    *param = params->back();
  }
  return true;
}

struct Match {
  const RouteEntry* route = nullptr;  // set when path and method matched
  std::string label = "unmatched";    // pattern of the path when some route has it
  std::string allow;                  // for 405
  std::string param;
  std::vector<std::string> params;
};

Match FindRoute(const std::vector<RouteEntry>& routes, const std::string& method,
                const std::vector<std::string>& segs) {
  Match m;
  std::set<std::string> allowed;
  for (bool capture_pass : {false, true}) {
    for (const RouteEntry& r : routes) {
      if (r.capture != capture_pass) continue;
      std::string param;
      std::vector<std::string> params;
      if (!SegmentsMatch(r, segs, &param, &params)) continue;
      if (m.label == "unmatched") m.label = r.pattern;
      allowed.insert(r.method);
      if (r.method == "GET") allowed.insert("HEAD");
      if (r.method == method || (method == "HEAD" && r.method == "GET")) {
        m.route = &r;
        m.label = r.pattern;
        m.param = std::move(param);
        m.params = std::move(params);
        return m;
      }
    }
  }
  for (const auto& a : allowed) {
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += a;
  }
  return m;
}

HttpResponse NoRoute(const Match& m, const std::string& method, const std::string& path) {
  if (m.allow.empty()) return HttpResponse::Error(404, "no such endpoint: " + path);
  HttpResponse r = HttpResponse::Error(405, "method " + method + " not allowed for " + path);
  r.headers.emplace_back("Allow", m.allow);
  return r;
}

HttpResponse TooLarge(const RouteEntry& r) {
  if (r.on_oversize) {
    try {
      r.on_oversize();
    } catch (const std::exception& e) {
      spdlog::error("http: on_oversize hook for {} threw: {}", r.pattern, e.what());
    } catch (...) {
      spdlog::error("http: on_oversize hook for {} threw", r.pattern);
    }
  }
  return HttpResponse::Error(413, "request body over " + std::to_string(r.max_body) +
                                      " bytes for " + r.pattern);
}

HttpResponse Invoke(const RouteEntry& r, const HttpRequest& req) {
  try {
    return r.handler(req);
  } catch (const std::exception& e) {
    spdlog::error("http: handler {} {} threw: {}", r.method, r.pattern, e.what());
  } catch (...) {
    spdlog::error("http: handler {} {} threw a non-std exception", r.method, r.pattern);
  }
  return HttpResponse::Error(500, "internal error");
}

std::string Sanitize(std::string_view header_text) {
  std::string out;
  for (char c : header_text) {
    if (c != '\r' && c != '\n' && c != '\0') out.push_back(c);
  }
  return out;
}

struct ListenAddress {
  std::string spec;       // civetweb "listening_ports" value: "127.0.0.1:9760"
  std::string wake_host;  // numeric address that reaches it locally (ListenerWaker)
};

// Where to listen for `hp`: an IP literal, resolved when a name.
Result<ListenAddress> ListenSpec(const config::HostPort& hp) {
  std::string host = hp.host.empty() ? "0.0.0.0" : hp.host;
  if (host.find_first_of(",[] \t") != std::string::npos) {
    return Status::InvalidArgument("bad HTTP listen host '" + host + "'");
  }
  // Debian's libcivetweb is built without IPv6: resolve names to IPv4 only, and say so
  // plainly for an IPv6 literal instead of civetweb's "invalid port spec".
  const bool ipv6 = mg_check_feature(MG_FEATURES_IPV6) != 0;
  if (!ipv6 && host.find(':') != std::string::npos) {
    return Status::InvalidArgument("IPv6 address '" + host +
                                   "' not supported: this civetweb build has no IPv6");
  }
  addrinfo hints{};
  hints.ai_family = ipv6 ? AF_UNSPEC : AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr) {
    return Status::Unavailable("cannot resolve HTTP listen host '" + host + "': " +
                               gai_strerror(rc));
  }
  char text[NI_MAXHOST] = {};
  rc = getnameinfo(res->ai_addr, res->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST);
  int family = res->ai_family;
  freeaddrinfo(res);
  if (rc != 0) return Status::Unavailable("cannot use HTTP listen host '" + host + "'");
  const std::string port = std::to_string(hp.port);
  ListenAddress out;
  out.wake_host = text;
  if (family == AF_INET6) {
    out.spec = "[" + out.wake_host + "]:" + port;
    if (out.wake_host == "::") out.wake_host = "::1";
  } else {
    out.spec = out.wake_host + ":" + port;
    if (out.wake_host == "0.0.0.0") out.wake_host = "127.0.0.1";
  }
  return out;
}

std::once_flag g_civetweb_init;

// While Start() runs mg_start2 on this thread, civetweb's log messages (which carry the
// real reason, e.g. "cannot bind to 127.0.0.1:9760: 98 (Address already in use)") are
// collected here; mg_start2's own error text is only "Failed to setup server ports".
thread_local std::string* t_start_log = nullptr;

}  // namespace

// ---- HttpResponse -------------------------------------------------------------------

namespace {
HttpResponse Typed(int status, const char* content_type, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = content_type;
  r.body = std::move(body);
  return r;
}
}  // namespace

HttpResponse HttpResponse::Json(int status, std::string body) {
  return Typed(status, "application/json", std::move(body));
}

HttpResponse HttpResponse::Text(int status, std::string body) {
  return Typed(status, "text/plain; charset=utf-8", std::move(body));
}

HttpResponse HttpResponse::Html(int status, std::string body) {
  return Typed(status, "text/html; charset=utf-8", std::move(body));
}

HttpResponse HttpResponse::Error(int status, const std::string& message) {
  return Json(status, "{\"error\": \"" + text::JsonEscape(message) + "\"}");
}

const std::string* HttpResponse::Header(std::string_view name) const {
  const std::string want = Lower(name);
  for (const auto& [k, v] : headers) {
    if (Lower(k) == want) return &v;
  }
  return nullptr;
}

// ---- URL helpers --------------------------------------------------------------------

namespace {
// Calls fn(decoded name or nullopt, raw value, whether the pair has a '=') for each
// pair of `query` until fn returns false.
template <typename Fn>
void ForEachQueryPair(std::string_view query, const Fn& fn) {
  size_t start = 0;
  while (start < query.size()) {
    size_t amp = query.find('&', start);
    std::string_view pair =
        query.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    size_t eq = pair.find('=');
    const bool has_value = eq != std::string_view::npos;
    const std::string_view raw = has_value ? pair.substr(eq + 1) : std::string_view();
    if (!fn(text::UrlDecode(pair.substr(0, eq), true), raw, has_value)) return;
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
}

std::optional<std::string> DecodeValue(std::string_view raw, bool has_value) {
  if (!has_value) return std::string();
  return text::UrlDecode(raw, true);
}
}  // namespace

std::optional<std::string> QueryParam(std::string_view query, std::string_view key) {
  std::optional<std::string> out;
  ForEachQueryPair(query, [&](const std::optional<std::string>& name,
                              std::string_view raw, bool has_value) {
    if (!name || *name != key) return true;
    out = DecodeValue(raw, has_value);
    return false;
  });
  return out;
}

std::optional<std::vector<std::string>> QueryParams(std::string_view query,
                                                    std::string_view key) {
  std::vector<std::string> out;
  bool ok = true;
  ForEachQueryPair(query, [&](const std::optional<std::string>& name,
                              std::string_view raw, bool has_value) {
    if (!name) return ok = false;
    if (*name != key) return true;
    auto value = DecodeValue(raw, has_value);
    if (!value) return ok = false;
    out.push_back(std::move(*value));
    return true;
  });
  if (!ok) return std::nullopt;
  return out;
}

// ---- HttpServer ---------------------------------------------------------------------

struct HttpServer::Impl {
  explicit Impl(HttpServerOptions o)
      : options(std::move(o)), log_limiter(SystemClock::Instance(), std::chrono::seconds(10)) {}

  HttpServerOptions options;
  std::vector<RouteEntry> routes;
  Observer observer;
  RefusalObserver refusal_observer;
  mg_context* ctx = nullptr;
  // While started. Workers never touch `gate` (Start/Stop own it; workers look the
  // socket up by port); `watch` exists before civetweb starts its threads and after
  // they are joined.
  std::unique_ptr<ConnectionGate> gate;
  std::unique_ptr<DeadlineWatch> watch;

  mutable Mutex policy_mu;
  std::shared_ptr<const AccessPolicy> policy FW_GUARDED_BY(policy_mu) =
      std::make_shared<const AccessPolicy>();
  std::shared_ptr<const AccessPolicy> Policy() const FW_EXCLUDES(policy_mu) {
    MutexLock lock(policy_mu);
    return policy;
  }
  // Written by Start/Stop, read by any thread through HttpServer::port() (TSan).
  std::atomic<uint16_t> port{0};
  std::string wake_host;  // numeric address Stop() connects to (see ListenerWaker)
  RateLimiter log_limiter;

  // Graceful stop: Stop() raises `draining` and waits for in_flight to reach 0 before
  // mg_stop(), because once civetweb's stop flag is up mg_write() refuses to send and a
  // running handler's response would be lost.
  Mutex flight_mu;
  CondVar flight_cv;
  int in_flight FW_GUARDED_BY(flight_mu) = 0;
  bool draining FW_GUARDED_BY(flight_mu) = false;

  struct InFlight {
    explicit InFlight(Impl& i) : impl(i) {
      MutexLock lock(impl.flight_mu);
      ++impl.in_flight;
      draining = impl.draining;
    }
    ~InFlight() {
      MutexLock lock(impl.flight_mu);
      if (--impl.in_flight == 0) impl.flight_cv.NotifyAll();
    }
    Impl& impl;
    bool draining = false;
  };

  void Observe(const std::string& label, int status) const {
    if (!observer) return;
    try {
      observer(label, status);
    } catch (const std::exception& e) {
      spdlog::error("http: observer threw: {}", e.what());
    } catch (...) {
      spdlog::error("http: observer threw");
    }
  }

  void Refused(HttpRefusal r) const {
    if (!refusal_observer) return;
    try {
      refusal_observer(r);
    } catch (const std::exception& e) {
      spdlog::error("http: refusal observer threw: {}", e.what());
    } catch (...) {
      spdlog::error("http: refusal observer threw");
    }
  }

  // Applies the access policy to a matched request: nullopt when allowed (and
  // req.operator_name set), else the refusal's response (counted).
  std::optional<HttpResponse> Admit(const RouteEntry& r, HttpRequest& req) const {
    const AccessDecision d = CheckAccess(*Policy(), r.access, req);
    if (d.allowed) {
      req.operator_name = d.operator_name;
      return std::nullopt;
    }
    Refused(d.refusal);
    return RefusalResponse(d.refusal, r.access == Access::kRead);
  }

  // Reads the body of a matched request as it arrives (never allocating the declared
  // length up front) within the route's limit, the body deadline and the minimum rate.
  // nullopt when read, else the error response.
  // `fd` is the connection's socket (-1 when unknown), for the deadline watch.
  std::optional<HttpResponse> ReadBody(mg_connection* conn, int fd, const mg_request_info* ri,
                                       const RouteEntry& r, HttpRequest& req) const;

  // Writes `out` in pieces, giving up once the body deadline passed.
  void Write(mg_connection* conn, int fd, const std::string& out, const std::string& remote) const;

  // A deadline watch on `fd`, or an inert one.
  DeadlineWatch::Watch WatchFor(int fd, std::chrono::steady_clock::time_point deadline,
                                size_t min_rate) const {
    return watch ? watch->Start(fd, deadline, min_rate, kRateGrace) : DeadlineWatch::Watch();
  }

  // Matches, reads the body within the route's limit, runs the handler.
  HttpResponse Serve(mg_connection* conn, int fd, const mg_request_info* ri, HttpRequest& req,
                     std::string& label) const;

  // One request on a civetweb worker: parse, Serve(), observe, write. Returns the status.
  int HandleConnection(mg_connection* conn);

  static int OnRequest(mg_connection* conn, void* cbdata);
  static int OnHttpError(mg_connection* conn, int status, const char* msg);
  static int OnLog(const mg_connection* conn, const char* message);
};

HttpResponse HttpServer::Impl::Serve(mg_connection* conn, int fd, const mg_request_info* ri,
                                     HttpRequest& req, std::string& label) const {
  // decode_url=no, so this is the path as sent (query already split off).
  const char* raw = ri->local_uri_raw ? ri->local_uri_raw : ri->local_uri;
  if (raw == nullptr) return HttpResponse::Error(400, "request target is not a local path");
  auto segs = SplitPath(raw, /*decode=*/true);
  if (!segs) return HttpResponse::Error(400, "malformed request path");
  req.path.clear();
  for (const auto& s : *segs) req.path += "/" + s;

  Match m = FindRoute(routes, req.method, *segs);
  label = m.label;
  if (m.route == nullptr) return NoRoute(m, req.method, req.path);
  const RouteEntry& r = *m.route;
  req.param = std::move(m.param);
  req.params = std::move(m.params);

  if (auto refused = Admit(r, req)) return *std::move(refused);
  if (auto failed = ReadBody(conn, fd, ri, r, req)) return *std::move(failed);
  return Invoke(r, req);
}

std::optional<HttpResponse> HttpServer::Impl::ReadBody(mg_connection* conn, int fd,
                                                       const mg_request_info* ri,
                                                       const RouteEntry& r,
                                                       HttpRequest& req) const {
  // Ambiguous framing is refused (RFC 9112 6.3 allows it; it is how requests smuggle).
  auto cl_header = req.headers.find("content-length");
  const bool chunked = req.headers.count("transfer-encoding") > 0;
  if (cl_header != req.headers.end() &&
      (chunked || cl_header->second.find(',') != std::string::npos)) {
    return HttpResponse::Error(400, "conflicting Content-Length / Transfer-Encoding");
  }
  // RFC 9112 6.3: a request has a body only with Content-Length or Transfer-Encoding.
  const long long declared = ri->content_length;
  const bool has_length = declared >= 0;
  if (has_length && static_cast<unsigned long long>(declared) > r.max_body) return TooLarge(r);
  if (!has_length && !chunked) return std::nullopt;
  // Read what arrives, in pieces, into a string that grows with it: a client that
  // declares 16 MiB and sends nothing costs one small buffer, not 16 MiB. mg_read
  // blocks until all the bytes asked for came (or none came for request_timeout_ms), so
  // each piece is about one second's worth at the minimum rate, and the deadline watch
  // shuts the socket down under a client that trickles below it or past the deadline.
  const size_t want = has_length ? static_cast<size_t>(declared) : r.max_body + 1;
  const size_t piece = options.min_body_rate > 0
                           ? std::clamp(options.min_body_rate, size_t{512}, kReadChunk)
                           : kReadChunk;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::milliseconds(options.body_timeout_ms);
  DeadlineWatch::Watch watched = WatchFor(fd, deadline, options.min_body_rate);
  char buf[kReadChunk];
  req.body.clear();
  bool late = false;
  while (req.body.size() < want) {
    const int n = mg_read(conn, buf, std::min(piece, want - req.body.size()));
    if (n <= 0) break;
    req.body.append(buf, static_cast<size_t>(n));
    watched.Progress(static_cast<size_t>(n));
    const auto now = std::chrono::steady_clock::now();
    const double elapsed_s = std::chrono::duration<double>(now - start).count();
    if (req.body.size() < want &&
        (now >= deadline ||
         (now - start >= kRateGrace && static_cast<double>(req.body.size()) <
                                           static_cast<double>(options.min_body_rate) * elapsed_s))) {
      late = true;
      break;
    }
  }
  if (watched.End() || late) {
    Refused(HttpRefusal::kSlowRequest);
    spdlog::debug("http: body from {} too slow: {} of {} bytes", req.remote, req.body.size(), want);
    return RefusalResponse(HttpRefusal::kSlowRequest, false);
  }
  if (!has_length && req.body.size() > r.max_body) return TooLarge(r);
  if (has_length && req.body.size() < want) {
    return HttpResponse::Error(400, "request body shorter than its Content-Length");
  }
  return std::nullopt;
}

void HttpServer::Impl::Write(mg_connection* conn, int fd, const std::string& out,
                             const std::string& remote) const {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options.body_timeout_ms);
  DeadlineWatch::Watch watched = WatchFor(fd, deadline, 0);
  size_t sent = 0;
  while (sent < out.size()) {
    const size_t n = std::min(kWriteChunk, out.size() - sent);
    if (mg_write(conn, out.data() + sent, n) != static_cast<int>(n)) {
      if (watched.End()) Refused(HttpRefusal::kSlowRequest);
      spdlog::debug("http: client {} went away before the response was written", remote);
      return;
    }
    sent += n;
    if (sent < out.size() && std::chrono::steady_clock::now() >= deadline) {
      Refused(HttpRefusal::kSlowRequest);
      spdlog::debug("http: client {} reads too slowly; {} of {} bytes written", remote, sent,
                    out.size());
      return;
    }
  }
}

int HttpServer::Impl::OnRequest(mg_connection* conn, void* cbdata) {
  // Nothing may unwind into civetweb's C code: handler exceptions are caught in Invoke();
  // this catches the rest (std::bad_alloc while building a request or response).
  try {
    return static_cast<Impl*>(cbdata)->HandleConnection(conn);
  } catch (const std::exception& e) {
    spdlog::error("http: request failed: {}", e.what());
  } catch (...) {
    spdlog::error("http: request failed");
  }
  static constexpr std::string_view kFailed =
      "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  mg_write(conn, kFailed.data(), kFailed.size());
  return 500;
}

int HttpServer::Impl::HandleConnection(mg_connection* conn) {
  InFlight guard(*this);
  const mg_request_info* ri = mg_get_request_info(conn);
  HttpRequest req;
  req.method = ri->request_method ? ri->request_method : "";
  req.query = ri->query_string ? ri->query_string : "";
  const std::string addr = ri->remote_addr;
  req.remote = addr.find(':') != std::string::npos
                   ? "[" + addr + "]:" + std::to_string(ri->remote_port)
                   : addr + ":" + std::to_string(ri->remote_port);
  for (int i = 0; i < ri->num_headers; ++i) {
    const char* name = ri->http_headers[i].name;
    const char* value = ri->http_headers[i].value;
    if (name == nullptr) continue;
    std::string& slot = req.headers[Lower(name)];
    if (!slot.empty()) slot += ", ";
    slot += value ? value : "";
  }

  // The socket, for the deadline watch (known when the connection gate admitted it).
  const int fd = ConnectionGate::SocketOf(static_cast<uint16_t>(ri->server_port), addr,
                                          static_cast<uint16_t>(ri->remote_port));
  std::string label = "unmatched";
  HttpResponse resp = guard.draining
                          ? HttpResponse::Error(503, "shutting down")
                          : Serve(conn, fd, ri, req, label);
  // Sets civetweb's must_close: without it, after a handler returns civetweb reads and
  // discards whatever is left of the declared body (all 100 MB of a refused upload).
  mg_disable_connection_keep_alive(conn);

  const bool no_body_status = resp.status == 204 || resp.status == 304;
  std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " ";
  out += ReasonPhrase(resp.status);
  out += "\r\n";
  if (!no_body_status) {
    out += "Content-Type: " + Sanitize(resp.content_type) + "\r\n";
    out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n";
  }
  out += "Connection: close\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n";
  for (const auto& [k, v] : resp.headers) {
    const std::string lk = Lower(k);
    if (lk == "content-length" || lk == "connection" || lk == "content-type") continue;
    out += Sanitize(k) + ": " + Sanitize(v) + "\r\n";
  }
  out += "\r\n";
  if (req.method != "HEAD" && !no_body_status) out += resp.body;
  // Observed before writing, so a client that saw the response also sees it counted.
  Observe(label, resp.status);
  Write(conn, fd, out, req.remote);
  return resp.status;  // 1..999: handled; the value goes to civetweb's access log
}

int HttpServer::Impl::OnHttpError(mg_connection* conn, int status, const char* /*msg*/) {
  // Errors civetweb answers itself (unparsable request, header too large...).
  const auto* impl = static_cast<const Impl*>(mg_get_user_data(mg_get_context(conn)));
  if (impl != nullptr) impl->Observe("unmatched", status);
  return 1;  // let civetweb send its own error page
}

int HttpServer::Impl::OnLog(const mg_connection* conn, const char* message) {
  if (t_start_log != nullptr) {  // inside Start(): becomes part of its Status
    if (!t_start_log->empty()) *t_start_log += "; ";
    *t_start_log += message ? message : "";
    return 1;
  }
  // Messages may be caused by untrusted input: rate-limit them.
  Impl* impl = nullptr;
  if (conn != nullptr) impl = static_cast<Impl*>(mg_get_user_data(mg_get_context(conn)));
  uint64_t suppressed = 0;
  if (impl == nullptr || impl->log_limiter.Allow("civetweb", suppressed)) {
    spdlog::warn("civetweb: {} ({} similar suppressed)", message ? message : "", suppressed);
  }
  return 1;  // do not let civetweb print to stderr itself
}

HttpServer::HttpServer(HttpServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(std::string method, std::string pattern, Handler handler,
                       RouteOptions options) {
  RouteEntry r;
  auto segs = SplitPath(pattern, /*decode=*/false);
  if (segs) r.segments = std::move(*segs);
  r.capture = std::find(r.segments.begin(), r.segments.end(), kCapture) != r.segments.end();
  r.access = options.access != Access::kAuto ? options.access
             : method == "GET"               ? Access::kRead
                                             : Access::kOperator;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.handler = std::move(handler);
  r.max_body = options.max_body;
  r.on_oversize = std::move(options.on_oversize);
  impl_->routes.push_back(std::move(r));
}

void HttpServer::Route(std::string method, std::string pattern, Handler handler,
                       size_t max_body, std::function<void()> on_oversize) {
  Route(std::move(method), std::move(pattern), std::move(handler),
        RouteOptions{Access::kAuto, max_body, std::move(on_oversize)});
}

void HttpServer::SetAccessPolicy(std::shared_ptr<const AccessPolicy> policy) {
  if (policy == nullptr) policy = std::make_shared<const AccessPolicy>();
  MutexLock lock(impl_->policy_mu);
  impl_->policy = std::move(policy);
}

void HttpServer::SetObserver(Observer observer) { impl_->observer = std::move(observer); }

void HttpServer::SetRefusalObserver(RefusalObserver observer) {
  impl_->refusal_observer = std::move(observer);
}

Status HttpServer::Start() {
  if (impl_->ctx != nullptr) return Status::InvalidArgument("HTTP server already started");
  const std::string where = impl_->options.listen.ToString();
  auto listen = ListenSpec(impl_->options.listen);
  if (!listen.ok()) {
    return Status::Unavailable("cannot listen on HTTP " + where + ": " + listen.status().message());
  }
  const std::string* spec = &listen->spec;

  std::call_once(g_civetweb_init, [] { mg_init_library(0); });
  const std::string threads = std::to_string(std::max(1, impl_->options.worker_threads));
  const std::string timeout = std::to_string(std::max(1, impl_->options.request_timeout_ms));
  // Connections waiting for a worker: enough for bursts, bounded (the kernel's listen
  // backlog holds the rest).
  const std::string queue = std::to_string(std::max(16, impl_->options.worker_threads * 2));
  const char* opts[] = {
      "listening_ports", spec->c_str(),
      "num_threads", threads.c_str(),
      "request_timeout_ms", timeout.c_str(),
      "connection_queue", queue.c_str(),
      "enable_keep_alive", "no",
      "decode_url", "no",  // we split the raw path, then decode each segment
      nullptr,
  };
  mg_callbacks callbacks{};
  callbacks.log_message = &Impl::OnLog;
  callbacks.http_error = &Impl::OnHttpError;
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = impl_.get();
  init.configuration_options = opts;
  char text[256] = {};
  unsigned code = 0;
  mg_error_data error{};
  error.code = &code;
  error.text = text;
  error.text_buffer_size = sizeof text;

  std::string start_log;
  impl_->watch = std::make_unique<DeadlineWatch>();
  t_start_log = &start_log;
  mg_context* ctx = mg_start2(&init, &error);
  t_start_log = nullptr;
  if (ctx == nullptr) {
    std::string reason = !start_log.empty() ? start_log
                         : text[0] != '\0' ? std::string(text)
                                           : std::string("civetweb could not start");
    std::string addr = where == *spec ? where : where + " (" + *spec + ")";
    impl_->watch.reset();
    return Status::Unavailable("cannot listen on HTTP " + addr + ": " + reason);
  }
  if (!start_log.empty()) spdlog::warn("civetweb: {}", start_log);
  mg_set_request_handler(ctx, "/", &Impl::OnRequest, impl_.get());
  mg_server_port ports[4] = {};
  int n = mg_get_server_ports(ctx, 4, ports);
  impl_->port = n > 0 ? static_cast<uint16_t>(ports[0].port) : impl_->options.listen.port;
  // From here on connections beyond the per-client cap are closed at accept (the few
  // accepted during mg_start2 are counted from their first request on: harmless).
  Impl* impl = impl_.get();
  impl_->gate = ConnectionGate::Install(impl_->port, impl_->options.max_connections_per_client,
                                        [impl] { impl->Refused(HttpRefusal::kClientLimit); });
  impl_->ctx = ctx;
  impl_->wake_host = listen->wake_host;
  spdlog::info("http: listening on {} (port {})", *spec, impl_->port.load());
  return Status::Ok();
}

void HttpServer::Stop() {
  if (impl_->ctx == nullptr) return;
  {
    // Let running requests write their responses; new ones get 503 meanwhile.
    MutexLock lock(impl_->flight_mu);
    impl_->draining = true;
    const auto grace = std::chrono::milliseconds(
        std::clamp(impl_->options.request_timeout_ms, 1, kMaxDrainMs));
    if (!impl_->flight_cv.WaitFor(impl_->flight_mu, grace, [&]() FW_REQUIRES(impl_->flight_mu) {
          return impl_->in_flight == 0;
        })) {
      spdlog::warn("http: stopping with {} request(s) still running", impl_->in_flight);
    }
  }
  {
    impl_->gate.reset();  // the waker's connection must not be refused
    ListenerWaker wake(impl_->wake_host, impl_->port);  // mg_stop() in ms, not 2 s
    mg_stop(impl_->ctx);
  }
  impl_->ctx = nullptr;
  impl_->watch.reset();  // every handler has returned
  impl_->port = 0;
  MutexLock lock(impl_->flight_mu);
  impl_->draining = false;
}

uint16_t HttpServer::port() const { return impl_->port; }

HttpResponse HttpServer::Dispatch(HttpRequest& request) const {
  auto segs = SplitPath(request.path, /*decode=*/false);
  if (!segs) return HttpResponse::Error(400, "malformed request path");
  Match m = FindRoute(impl_->routes, request.method, *segs);
  if (m.route == nullptr) return NoRoute(m, request.method, request.path);
  request.param = std::move(m.param);
  request.params = std::move(m.params);
  const AccessDecision d = CheckAccess(*impl_->Policy(), m.route->access, request);
  if (!d.allowed) return RefusalResponse(d.refusal, m.route->access == Access::kRead);
  request.operator_name = d.operator_name;
  if (request.body.size() > m.route->max_body) return TooLarge(*m.route);
  HttpResponse resp = Invoke(*m.route, request);
  if (request.method == "HEAD") resp.body.clear();
  return resp;
}

}  // namespace firewatch::collector
