#include "test/test_http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "firewatch/listener_waker.h"
#include "firewatch/text/base64.h"

namespace firewatch::alerting::notify::testing {

std::string RecordedRequest::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

TestHttpServer::TestHttpServer() {
  const char* options[] = {"listening_ports", "127.0.0.1:0", "num_threads", "8",
                           "request_timeout_ms", "10000", nullptr};
  mg_callbacks callbacks{};
  ctx_ = mg_start(&callbacks, nullptr, options);
  if (ctx_ == nullptr) {
    std::fprintf(stderr, "TestHttpServer: mg_start failed\n");
    std::abort();
  }
  mg_server_port ports[2]{};
  if (mg_get_server_ports(ctx_, 2, ports) < 1) {
    std::fprintf(stderr, "TestHttpServer: no port\n");
    std::abort();
  }
  port_ = ports[0].port;
  mg_set_request_handler(ctx_, "/", &TestHttpServer::Handle, this);
}

TestHttpServer::~TestHttpServer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  released_.notify_all();
  ListenerWaker wake("127.0.0.1", static_cast<uint16_t>(port_));  // mg_stop() in ms, not 2 s
  mg_stop(ctx_);
}

void TestHttpServer::Respond(int status, std::string body, std::string content_type) {
  std::lock_guard<std::mutex> lock(mu_);
  status_ = status;
  body_ = std::move(body);
  content_type_ = std::move(content_type);
  stall_ = false;
}

void TestHttpServer::Stall() {
  std::lock_guard<std::mutex> lock(mu_);
  stall_ = true;
}

void TestHttpServer::Reset() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = 200;
    body_.clear();
    content_type_ = "application/json";
    stall_ = false;
    ++generation_;
    requests_.clear();
  }
  released_.notify_all();
}

TestHttpServer* HttpServerTest::server_ = nullptr;

std::vector<RecordedRequest> TestHttpServer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

int TestHttpServer::Handle(mg_connection* conn, void* self_ptr) {
  auto* self = static_cast<TestHttpServer*>(self_ptr);
  const mg_request_info* ri = mg_get_request_info(conn);
  RecordedRequest req;
  req.method = ri->request_method;
  req.path = ri->local_uri_raw != nullptr ? ri->local_uri_raw : ri->local_uri;
  if (ri->query_string != nullptr) req.query = ri->query_string;
  for (int i = 0; i < ri->num_headers; ++i) {
    std::string name = ri->http_headers[i].name;
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    req.headers.emplace(name, ri->http_headers[i].value);
  }
  char buf[4096];
  int n;
  while ((n = mg_read(conn, buf, sizeof buf)) > 0) req.body.append(buf, static_cast<size_t>(n));

  int status;
  std::string body, content_type;
  {
    std::unique_lock<std::mutex> lock(self->mu_);
    self->requests_.push_back(std::move(req));
    if (self->stall_) {
      const uint64_t generation = self->generation_;
      self->released_.wait_for(lock, std::chrono::seconds(5), [self, generation] {
        return self->stopping_ || self->generation_ != generation;
      });
    }
    status = self->status_;
    body = self->body_;
    content_type = self->content_type_;
  }
  mg_printf(conn,
            "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
            status, content_type.c_str(), body.size());
  mg_write(conn, body.data(), body.size());
  return status;
}

std::string BasicAuth(const std::string& user, const std::string& password) {
  return "Basic " + text::Base64Std(user + ":" + password);
}

int UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::fprintf(stderr, "UnusedPort: cannot bind\n");
    std::abort();
  }
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

}  // namespace firewatch::alerting::notify::testing
