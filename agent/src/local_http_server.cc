#include "local_http_server.h"

#include <set>

#include "firewatch/net/uv_handle.h"

namespace firewatch::agent {

namespace {

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

uint64_t Millis(Duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return ms < 0 ? 0 : static_cast<uint64_t>(ms);
}

HttpResponse TextResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body) + "\n";
  return r;
}

}  // namespace

std::string SerializeResponse(const HttpResponse& response, bool head_only) {
  std::string out;
  out.reserve(160 + (head_only ? 0 : response.body.size()));
  out += "HTTP/1.1 " + std::to_string(response.status) + " ";
  out += ReasonPhrase(response.status);
  out += "\r\nContent-Type: " + response.content_type;
  out += "\r\nContent-Length: " + std::to_string(response.body.size());
  out += "\r\nCache-Control: no-store\r\nConnection: close\r\n";
  if (response.status == 405) out += "Allow: GET, HEAD\r\n";
  out += "\r\n";
  if (!head_only) out += response.body;
  return out;
}

struct LocalHttpServer::Impl {
  // One accepted connection. Freed when both of its handles have closed
  // (net::UvHandleOwner).
  struct Conn : net::UvHandleOwner<Conn> {
    enum class Phase { kReading, kWriting, kLingering, kClosing };
    uv_tcp_t tcp{};
    uv_timer_t timer{};
    uv_write_t write_req{};
    uv_shutdown_t shutdown_req{};
    Impl* server = nullptr;  // nullptr once closing
    HttpRequestParser parser;
    std::string out;
    Phase phase = Phase::kReading;
    bool eof = false;
    explicit Conn(HttpRequestParser::Limits limits) : parser(limits) {}
  };
  // The listening socket; outlives the server until its close callback.
  struct Listener : net::UvHandleOwner<Listener> {
    uv_tcp_t tcp{};
    Impl* server = nullptr;
  };

  uv_loop_t* loop;
  Handler handler;
  Options options;
  Listener* listener = nullptr;
  uint16_t port = 0;
  std::set<Conn*> conns;
  Stats stats;
  bool closed = false;

  Impl(uv_loop_t* l, Handler h, Options o) : loop(l), handler(std::move(h)), options(o) {}

  Status Listen(const SocketAddress& address) {
    if (closed) return Status::Unavailable("server is closed");
    if (listener != nullptr) return Status::InvalidArgument("already listening");
    listener = new Listener;
    listener->server = this;
    uv_tcp_init(loop, &listener->tcp);
    listener->Adopt(&listener->tcp);
    int rc = uv_tcp_bind(&listener->tcp, address.get(), 0);
    if (rc == 0) {
      rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener->tcp), 64, &Impl::OnConnection);
    }
    if (rc != 0) {
      CloseListener();
      return Status::IoError("cannot listen on " + address.ToString() + ": " + uv_strerror(rc));
    }
    sockaddr_storage bound{};
    int len = sizeof bound;
    uv_tcp_getsockname(&listener->tcp, reinterpret_cast<sockaddr*>(&bound), &len);
    port = bound.ss_family == AF_INET
               ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port)
               : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    return Status::Ok();
  }

  void CloseListener() {
    if (listener == nullptr) return;
    listener->server = nullptr;
    listener->Release();
    listener = nullptr;
  }

  void Close() {
    if (closed) return;
    closed = true;
    CloseListener();
    for (Conn* c : std::set<Conn*>(conns)) CloseConn(c);
  }

  static void OnConnection(uv_stream_t* stream, int status) {
    Impl* self = static_cast<Listener*>(stream->data)->server;
    if (self == nullptr || status < 0) return;
    auto* c = new Conn(self->options.limits);
    c->server = self;
    uv_tcp_init(self->loop, &c->tcp);
    uv_timer_init(self->loop, &c->timer);
    c->Adopt(&c->tcp, &c->timer);
    self->conns.insert(c);
    if (uv_accept(stream, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
      self->CloseConn(c);
      return;
    }
    if (self->conns.size() > self->options.max_connections) {
      ++self->stats.rejected;
      self->CloseConn(c);
      return;
    }
    uv_timer_start(&c->timer, &Impl::OnTimeout, Millis(self->options.request_timeout), 0);
    uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), &Impl::OnAlloc, &Impl::OnRead);
  }

  static void OnAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
    // Read callbacks consume the bytes at once, so one buffer serves every connection.
    static char storage[4096];
    *buf = uv_buf_init(storage, sizeof storage);
  }

  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* c = static_cast<Conn*>(stream->data);
    Impl* self = c->server;
    if (self == nullptr) return;
    if (nread < 0) {
      c->eof = true;
      uv_read_stop(stream);
      // While writing, let the answer finish; otherwise there is nobody to answer.
      if (c->phase != Conn::Phase::kWriting) self->CloseConn(c);
      return;
    }
    if (nread == 0 || c->phase != Conn::Phase::kReading) return;  // discard after the request
    auto state = c->parser.Feed(std::string_view(buf->base, static_cast<size_t>(nread)));
    if (state == HttpRequestParser::State::kComplete) {
      self->Dispatch(c);
    } else if (state == HttpRequestParser::State::kError) {
      ++self->stats.bad_requests;
      self->Answer(c, TextResponse(c->parser.error_status(), c->parser.error_reason()), false);
    }
  }

  void Dispatch(Conn* c) {
    const HttpRequest& req = c->parser.request();
    bool head = req.method == "HEAD";
    if (req.method != "GET" && !head) {
      ++stats.bad_requests;
      Answer(c, TextResponse(405, "method not allowed; use GET"), false);
      return;
    }
    ++stats.requests;
    Answer(c, handler(req), head);
  }

  void Answer(Conn* c, const HttpResponse& response, bool head_only) {
    c->phase = Conn::Phase::kWriting;
    c->out = SerializeResponse(response, head_only);
    c->write_req.data = c;
    uv_buf_t b = uv_buf_init(c->out.data(), static_cast<unsigned>(c->out.size()));
    if (uv_write(&c->write_req, reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1, &Impl::OnWritten) !=
        0) {
      CloseConn(c);
    }
  }

  static void OnWritten(uv_write_t* req, int status) {
    auto* c = static_cast<Conn*>(req->data);
    Impl* self = c->server;
    if (self == nullptr) return;  // closing: the write was cancelled
    if (status < 0 || c->eof) {
      self->CloseConn(c);
      return;
    }
    // Send FIN, then keep reading until the client closes too (or the linger ends), so
    // unread request bytes do not turn our close into a reset that eats the answer.
    c->phase = Conn::Phase::kLingering;
    c->shutdown_req.data = c;
    if (uv_shutdown(&c->shutdown_req, reinterpret_cast<uv_stream_t*>(&c->tcp),
                    [](uv_shutdown_t*, int) {}) != 0) {
      self->CloseConn(c);
      return;
    }
    uv_timer_start(&c->timer, &Impl::OnTimeout, Millis(self->options.linger), 0);
  }

  static void OnTimeout(uv_timer_t* t) {
    auto* c = static_cast<Conn*>(t->data);
    Impl* self = c->server;
    if (self == nullptr) return;
    if (c->phase == Conn::Phase::kReading) {
      ++self->stats.timeouts;
      // Answer 408 (cheap, and tells a merely slow client what happened), then linger.
      uv_timer_start(&c->timer, &Impl::OnTimeout, Millis(self->options.linger), 0);
      self->Answer(c, TextResponse(408, "request timeout"), false);
      return;
    }
    self->CloseConn(c);  // a client that does not read its answer or does not close
  }

  void CloseConn(Conn* c) {
    if (c->phase == Conn::Phase::kClosing) return;
    c->phase = Conn::Phase::kClosing;
    c->server = nullptr;
    conns.erase(c);
    c->Release();
  }
};

LocalHttpServer::LocalHttpServer(uv_loop_t* loop, Handler handler)
    : LocalHttpServer(loop, std::move(handler), Options{}) {}
LocalHttpServer::LocalHttpServer(uv_loop_t* loop, Handler handler, Options options)
    : impl_(std::make_unique<Impl>(loop, std::move(handler), options)) {}
LocalHttpServer::~LocalHttpServer() { impl_->Close(); }

Status LocalHttpServer::Listen(const SocketAddress& address) { return impl_->Listen(address); }
uint16_t LocalHttpServer::port() const { return impl_->port; }
size_t LocalHttpServer::open_connections() const { return impl_->conns.size(); }
const LocalHttpServer::Stats& LocalHttpServer::stats() const { return impl_->stats; }
void LocalHttpServer::Close() { impl_->Close(); }

}  // namespace firewatch::agent
