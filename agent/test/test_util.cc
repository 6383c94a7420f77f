#include "test_util.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace firewatch::agent::testing {

namespace {

int BoundPort(const uv_handle_t* h, bool udp) {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (udp) {
    uv_udp_getsockname(reinterpret_cast<const uv_udp_t*>(h), reinterpret_cast<sockaddr*>(&ss), &len);
  } else {
    uv_tcp_getsockname(reinterpret_cast<const uv_tcp_t*>(h), reinterpret_cast<sockaddr*>(&ss), &len);
  }
  return ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                  : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

void Alloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  static char storage[65536];
  *buf = uv_buf_init(storage, sizeof storage);
}

void DeleteOnClose(uv_handle_t* h) { std::free(h); }

template <typename T>
T* NewHandle() {
  return static_cast<T*>(std::calloc(1, sizeof(T)));
}

}  // namespace

bool RunUntil(uv_loop_t* loop, const std::function<bool()>& done, Duration timeout) {
  auto* guard = NewHandle<uv_timer_t>();
  uv_timer_init(loop, guard);
  bool expired = false;
  guard->data = &expired;
  uv_timer_start(
      guard, [](uv_timer_t* t) { *static_cast<bool*>(t->data) = true; },
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()),
      0);
  while (!done() && !expired) {
    if (uv_run(loop, UV_RUN_ONCE) == 0 && !done()) break;  // nothing left to wait for
  }
  uv_close(reinterpret_cast<uv_handle_t*>(guard), DeleteOnClose);
  return done();
}

int DrainAndClose(uv_loop_t* loop) {
  uv_run(loop, UV_RUN_DEFAULT);
  return uv_loop_close(loop);
}

// ---- RawHttpClient ----

struct RawHttpClient::Impl {
  RawHttpClient* owner;
  uv_tcp_t* tcp;
  uv_connect_t connect;
  uv_write_t write;
  uv_shutdown_t shutdown;
  std::string request;
  bool half_close;
};

RawHttpClient::RawHttpClient(uv_loop_t* loop, int port, std::string request, bool half_close)
    : impl_(new Impl{}) {
  impl_->owner = this;
  impl_->request = std::move(request);
  impl_->half_close = half_close;
  impl_->tcp = NewHandle<uv_tcp_t>();
  uv_tcp_init(loop, impl_->tcp);
  impl_->tcp->data = impl_;
  sockaddr_in addr{};
  uv_ip4_addr("127.0.0.1", port, &addr);
  impl_->connect.data = impl_;
  uv_tcp_connect(&impl_->connect, impl_->tcp, reinterpret_cast<const sockaddr*>(&addr),
                 [](uv_connect_t* req, int status) {
                   auto* impl = static_cast<Impl*>(req->data);
                   if (impl->owner == nullptr) return;
                   if (status < 0) {
                     impl->owner->done_ = true;
                     return;
                   }
                   impl->owner->connected_ = true;
                   auto* stream = reinterpret_cast<uv_stream_t*>(impl->tcp);
                   uv_read_start(stream, Alloc, [](uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
                     auto* im = static_cast<Impl*>(s->data);
                     if (im->owner == nullptr) return;
                     if (n < 0) {
                       im->owner->done_ = true;
                       uv_read_stop(s);
                       return;
                     }
                     im->owner->response_.append(b->base, static_cast<size_t>(n));
                   });
                   if (!impl->request.empty()) {
                     uv_buf_t b = uv_buf_init(impl->request.data(),
                                              static_cast<unsigned>(impl->request.size()));
                     impl->write.data = impl;
                     uv_write(&impl->write, stream, &b, 1, [](uv_write_t*, int) {});
                   }
                   if (impl->half_close) {
                     uv_shutdown(&impl->shutdown, stream, [](uv_shutdown_t*, int) {});
                   }
                 });
}

RawHttpClient::~RawHttpClient() {
  impl_->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(impl_->tcp), [](uv_handle_t* h) {
    auto* impl = static_cast<Impl*>(h->data);
    std::free(h);
    delete impl;
  });
}

int RawHttpClient::status() const {
  if (response_.rfind("HTTP/1.1 ", 0) != 0 || response_.size() < 12) return 0;
  return std::atoi(response_.substr(9, 3).c_str());
}

// ---- UdpSink ----

UdpSink::UdpSink(uv_loop_t* loop, const std::string& ip) : udp_(NewHandle<uv_udp_t>()) {
  uv_udp_init(loop, udp_);
  udp_->data = this;
  sockaddr_storage addr{};
  if (ip.find(':') != std::string::npos) {
    uv_ip6_addr(ip.c_str(), 0, reinterpret_cast<sockaddr_in6*>(&addr));
  } else {
    uv_ip4_addr(ip.c_str(), 0, reinterpret_cast<sockaddr_in*>(&addr));
  }
  uv_udp_bind(udp_, reinterpret_cast<const sockaddr*>(&addr), 0);
  port_ = BoundPort(reinterpret_cast<uv_handle_t*>(udp_), true);
  uv_udp_recv_start(udp_, Alloc,
                    [](uv_udp_t* h, ssize_t n, const uv_buf_t* b, const sockaddr* from, unsigned) {
                      auto* self = static_cast<UdpSink*>(h->data);
                      if (self == nullptr || n <= 0 || from == nullptr) return;
                      auto* p = reinterpret_cast<const uint8_t*>(b->base);
                      self->datagrams_.emplace_back(p, p + n);
                      if (self->on_datagram) self->on_datagram();
                    });
}

UdpSink::~UdpSink() { Close(); }

void UdpSink::Close() {
  if (udp_ == nullptr) return;
  udp_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(udp_), DeleteOnClose);
  udp_ = nullptr;
}

// ---- HttpSink ----

struct HttpSink::Conn {
  uv_tcp_t tcp;
  uv_write_t write;
  HttpSink* sink;
  std::string in;
  std::string out;
  bool answered = false;
};

HttpSink::HttpSink(uv_loop_t* loop, int status)
    : loop_(loop), status_(status), listener_(NewHandle<uv_tcp_t>()) {
  uv_tcp_init(loop, listener_);
  listener_->data = this;
  sockaddr_in addr{};
  uv_ip4_addr("127.0.0.1", 0, &addr);
  uv_tcp_bind(listener_, reinterpret_cast<const sockaddr*>(&addr), 0);
  uv_listen(reinterpret_cast<uv_stream_t*>(listener_), 16, [](uv_stream_t* server, int st) {
    auto* self = static_cast<HttpSink*>(server->data);
    if (self == nullptr || st < 0) return;
    auto* c = new Conn{};
    c->sink = self;
    uv_tcp_init(self->loop_, &c->tcp);
    c->tcp.data = c;
    uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp));
    self->conns_.push_back(c);
    uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), Alloc,
                  [](uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
                    auto* conn = static_cast<Conn*>(s->data);
                    if (conn->sink == nullptr || n <= 0 || conn->answered) return;
                    conn->in.append(b->base, static_cast<size_t>(n));
                    size_t end = conn->in.find("\r\n\r\n");
                    if (end == std::string::npos) return;
                    size_t cl = conn->in.find("Content-Length: ");
                    size_t want = cl == std::string::npos ? 0 : std::strtoul(conn->in.c_str() + cl + 16, nullptr, 10);
                    if (conn->in.size() < end + 4 + want) return;
                    conn->answered = true;
                    HttpSink* sink = conn->sink;
                    size_t sp = conn->in.find(' ');
                    sink->paths_.push_back(conn->in.substr(sp + 1, conn->in.find(' ', sp + 1) - sp - 1));
                    auto* p = reinterpret_cast<const uint8_t*>(conn->in.data() + end + 4);
                    sink->bodies_.emplace_back(p, p + want);
                    conn->out = "HTTP/1.1 " + std::to_string(sink->status_) +
                                " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                    uv_buf_t out = uv_buf_init(conn->out.data(), static_cast<unsigned>(conn->out.size()));
                    uv_write(&conn->write, s, &out, 1, [](uv_write_t*, int) {});
                    if (sink->on_body) sink->on_body();
                  });
  });
  port_ = BoundPort(reinterpret_cast<uv_handle_t*>(listener_), false);
}

HttpSink::~HttpSink() { Close(); }

void HttpSink::Close() {
  if (listener_ == nullptr) return;
  listener_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(listener_), DeleteOnClose);
  listener_ = nullptr;
  for (Conn* c : conns_) {
    c->sink = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp),
             [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
  }
  conns_.clear();
}

std::string FirstAddressOf(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) return "";
  char buf[INET6_ADDRSTRLEN] = {};
  if (res->ai_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(res->ai_addr)->sin6_addr, buf, sizeof buf);
  }
  freeaddrinfo(res);
  return buf;
}

int UnusedPort(int socktype) {
  int fd = socket(AF_INET, socktype, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace firewatch::agent::testing
