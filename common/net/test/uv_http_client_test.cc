#include "firewatch/net/uv_http_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace firewatch::net {
namespace {

using namespace std::chrono_literals;

// A one-connection-at-a-time HTTP server on the test's loop. It answers each request
// once its headers and Content-Length body are in, unless told to stay silent.
class TestServer {
 public:
  enum class Mode { kReply, kSilent };

  TestServer(uv_loop_t* loop, Mode mode) : loop_(loop), mode_(mode) {
    uv_tcp_init(loop_, &listener_);
    listener_.data = this;
    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", 0, &addr);
    EXPECT_EQ(uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&addr), 0), 0);
    EXPECT_EQ(uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 8, &TestServer::OnConnect), 0);
    sockaddr_storage bound{};
    int len = sizeof bound;
    uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &len);
    port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }

  int port() const { return port_; }
  const std::string& received() const { return received_; }
  std::function<void()> on_accept;

  void Close() {
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    if (conn_ != nullptr) {
      uv_close(reinterpret_cast<uv_handle_t*>(conn_),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
      conn_ = nullptr;
    }
  }

 private:
  static void OnConnect(uv_stream_t* server, int status) {
    auto* self = static_cast<TestServer*>(server->data);
    ASSERT_EQ(status, 0);
    auto* c = new uv_tcp_t;
    uv_tcp_init(self->loop_, c);
    c->data = self;
    ASSERT_EQ(uv_accept(server, reinterpret_cast<uv_stream_t*>(c)), 0);
    self->conn_ = c;
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(c),
        [](uv_handle_t*, size_t, uv_buf_t* buf) {
          static char storage[4096];
          *buf = uv_buf_init(storage, sizeof storage);
        },
        &TestServer::OnRead);
    if (self->on_accept) self->on_accept();
  }

  static void OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
    auto* self = static_cast<TestServer*>(s->data);
    if (nread <= 0) return;
    self->received_.append(buf->base, static_cast<size_t>(nread));
    size_t end = self->received_.find("\r\n\r\n");
    if (end == std::string::npos || self->mode_ == Mode::kSilent || self->answered_) return;
    size_t cl = self->received_.find("Content-Length: ");
    size_t want = cl == std::string::npos ? 0 : std::stoul(self->received_.substr(cl + 16));
    if (self->received_.size() < end + 4 + want) return;
    self->answered_ = true;
    static const char kReply[] =
        "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    auto* req = new uv_write_t;
    uv_buf_t out = uv_buf_init(const_cast<char*>(kReply), sizeof kReply - 1);
    uv_write(req, s, &out, 1, [](uv_write_t* r, int) { delete r; });
  }

  uv_loop_t* loop_;
  Mode mode_;
  uv_tcp_t listener_{};
  uv_tcp_t* conn_ = nullptr;
  int port_ = 0;
  bool answered_ = false;
  std::string received_;
};

class UvHttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a libuv handle was leaked";
  }
  std::string Url(int port) { return "http://127.0.0.1:" + std::to_string(port) + "/api/v1/heartbeat"; }
  uv_loop_t loop_{};
};

const std::vector<uint8_t> kBody = {'F', 'W', 0, 1, 2, 0xff};

TEST_F(UvHttpClientTest, PostsBodyAndReportsStatus) {
  TestServer server(&loop_, TestServer::Mode::kReply);
  UvHttpClient client(&loop_);
  std::optional<Result<HttpResponse>> got;
  ASSERT_TRUE(client
                  .Post(Url(server.port()), kBody, {"Content-Type: application/octet-stream"}, 2s,
                        [&](Result<HttpResponse> r) {
                          got = std::move(r);
                          client.Close();
                          server.Close();
                        })
                  .ok());
  EXPECT_EQ(client.in_flight(), 1u);
  uv_run(&loop_, UV_RUN_DEFAULT);
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->ok()) << got->status().ToString();
  EXPECT_EQ((*got)->status, 202);
  EXPECT_TRUE((*got)->IsSuccess());
  EXPECT_EQ((*got)->body, "ok");
  const std::string& req = server.received();
  EXPECT_EQ(req.rfind("POST /api/v1/heartbeat HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("Content-Type: application/octet-stream\r\n"), std::string::npos) << req;
  EXPECT_EQ(req.find("Expect:"), std::string::npos) << req;
  ASSERT_GE(req.size(), kBody.size());
  EXPECT_EQ(req.substr(req.size() - kBody.size()), std::string(kBody.begin(), kBody.end()));
}

TEST_F(UvHttpClientTest, ConnectionRefusedIsAnError) {
  // A bound socket that does not listen: connecting to it is refused.
  uv_tcp_t bound;
  uv_tcp_init(&loop_, &bound);
  sockaddr_in addr{};
  uv_ip4_addr("127.0.0.1", 0, &addr);
  ASSERT_EQ(uv_tcp_bind(&bound, reinterpret_cast<const sockaddr*>(&addr), 0), 0);
  sockaddr_storage name{};
  int len = sizeof name;
  uv_tcp_getsockname(&bound, reinterpret_cast<sockaddr*>(&name), &len);
  int port = ntohs(reinterpret_cast<sockaddr_in*>(&name)->sin_port);

  UvHttpClient client(&loop_);
  std::optional<Result<HttpResponse>> got;
  ASSERT_TRUE(client.Post(Url(port), kBody, {}, 2s, [&](Result<HttpResponse> r) {
                got = std::move(r);
                client.Close();
              }).ok());
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_close(reinterpret_cast<uv_handle_t*>(&bound), nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);  // `bound` lives on this stack frame
  ASSERT_TRUE(got.has_value());
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->status().code(), Status::Code::kUnavailable);
}

TEST_F(UvHttpClientTest, TimeoutBoundsASilentServer) {
  TestServer server(&loop_, TestServer::Mode::kSilent);
  UvHttpClient client(&loop_);
  std::optional<Result<HttpResponse>> got;
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(client.Post(Url(server.port()), kBody, {}, 200ms, [&](Result<HttpResponse> r) {
                got = std::move(r);
                client.Close();
                server.Close();
              }).ok());
  uv_run(&loop_, UV_RUN_DEFAULT);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->ok());
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 2s);
}

TEST_F(UvHttpClientTest, CloseCancelsInFlightRequests) {
  TestServer server(&loop_, TestServer::Mode::kSilent);
  UvHttpClient client(&loop_);
  std::optional<Result<HttpResponse>> got;
  server.on_accept = [&] {
    client.Close();  // the request is connected and waiting: cancel it
    server.Close();
  };
  ASSERT_TRUE(client.Post(Url(server.port()), kBody, {}, 5s, [&](Result<HttpResponse> r) {
                got = std::move(r);
              }).ok());
  uv_run(&loop_, UV_RUN_DEFAULT);
  ASSERT_TRUE(got.has_value());
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->status().message(), "cancelled");
  EXPECT_EQ(client.in_flight(), 0u);
}

TEST_F(UvHttpClientTest, PostAfterCloseFailsWithoutCallback) {
  UvHttpClient client(&loop_);
  client.Close();
  bool called = false;
  Status s = client.Post(Url(9), kBody, {}, 1s, [&](Result<HttpResponse>) { called = true; });
  EXPECT_FALSE(s.ok());
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace firewatch::net
