#include "local_http_server.h"

#include <gtest/gtest.h>

#include <memory>

#include "test_util.h"

namespace firewatch::agent {
namespace {

using namespace std::chrono_literals;
using testing::RawHttpClient;
using testing::RunUntil;

class LocalHttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    server_.reset();
    EXPECT_EQ(testing::DrainAndClose(&loop_), 0) << "a libuv handle was leaked";
  }

  void StartServer(LocalHttpServer::Options options = {}) {
    server_ = std::make_unique<LocalHttpServer>(
        &loop_,
        [this](const HttpRequest& req) {
          last_path_ = req.path;
          HttpResponse r;
          if (req.path == "/hello") {
            r.body = "hello\n";
          } else {
            r.status = 404;
            r.body = "nope\n";
          }
          return r;
        },
        options);
    ASSERT_TRUE(server_->Listen(*SocketAddress::FromLiteral("127.0.0.1", 0)).ok());
    ASSERT_NE(server_->port(), 0);
  }

  // One exchange; returns the full response (the server closes the connection).
  std::string Exchange(const std::string& request, bool half_close = false) {
    RawHttpClient c(&loop_, server_->port(), request, half_close);
    EXPECT_TRUE(RunUntil(&loop_, [&] { return c.done(); }, 5s)) << "no answer to: " << request;
    return c.response();
  }

  uv_loop_t loop_{};
  std::unique_ptr<LocalHttpServer> server_;
  std::string last_path_;
};

TEST_F(LocalHttpServerTest, AnswersGetAndCloses) {
  StartServer();
  std::string r = Exchange("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Length: 6\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos) << r;
  EXPECT_EQ(r.substr(r.size() - 6), "hello\n");
  EXPECT_EQ(server_->stats().requests, 1u);
  EXPECT_TRUE(RunUntil(&loop_, [&] { return server_->open_connections() == 0; }, 5s));
}

TEST_F(LocalHttpServerTest, HeadHasNoBody) {
  StartServer();
  std::string r = Exchange("HEAD /hello HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Length: 6\r\n"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 4), "\r\n\r\n");
}

TEST_F(LocalHttpServerTest, UnknownPathIs404) {
  StartServer();
  EXPECT_EQ(Exchange("GET /other HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
}

TEST_F(LocalHttpServerTest, OtherMethodsAre405WithAllow) {
  StartServer();
  std::string r = Exchange("POST /hello HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(r.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Allow: GET, HEAD\r\n"), std::string::npos) << r;
  EXPECT_EQ(last_path_, "");  // the handler never saw it
  EXPECT_EQ(server_->stats().bad_requests, 1u);
}

TEST_F(LocalHttpServerTest, GarbageIs400) {
  StartServer();
  std::string r = Exchange(std::string("\x16\x03\x01\x00\xa5\x01\x00\x00", 8));
  EXPECT_EQ(r.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << r;
  r = Exchange("GET /hello HTTP/1.1 junk\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 400 ", 0), 0u) << r;
}

TEST_F(LocalHttpServerTest, OversizeRequestIs431) {
  StartServer();
  std::string big = "GET /hello HTTP/1.1\r\n";
  for (int i = 0; i < 500; ++i) big += "X-Filler-" + std::to_string(i) + ": 0123456789\r\n";
  big += "\r\n";
  std::string r = Exchange(big);
  EXPECT_EQ(r.rfind("HTTP/1.1 431 ", 0), 0u) << r.substr(0, 80);
}

TEST_F(LocalHttpServerTest, SlowClientTimesOutWith408) {
  LocalHttpServer::Options o;
  o.request_timeout = 100ms;
  o.linger = 100ms;
  StartServer(o);
  // Headers that never end: a slowloris client.
  std::string r = Exchange("GET /hello HTTP/1.1\r\nX-a: b\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u) << r;
  EXPECT_EQ(server_->stats().timeouts, 1u);
}

TEST_F(LocalHttpServerTest, SilentClientIsDroppedAfterTheTimeout) {
  LocalHttpServer::Options o;
  o.request_timeout = 50ms;
  o.linger = 50ms;
  StartServer(o);
  RawHttpClient c(&loop_, server_->port(), "");  // connects, sends nothing
  EXPECT_TRUE(RunUntil(&loop_, [&] { return c.done(); }, 5s));
  EXPECT_TRUE(RunUntil(&loop_, [&] { return server_->open_connections() == 0; }, 5s));
}

TEST_F(LocalHttpServerTest, ClientThatHalfClosesStillGetsItsAnswer) {
  StartServer();
  std::string r = Exchange("GET /hello HTTP/1.0\r\n\r\n", /*half_close=*/true);
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
}

TEST_F(LocalHttpServerTest, ConnectionsBeyondTheLimitAreClosed) {
  LocalHttpServer::Options o;
  o.max_connections = 2;
  StartServer(o);
  RawHttpClient a(&loop_, server_->port(), "");
  RawHttpClient b(&loop_, server_->port(), "");
  ASSERT_TRUE(RunUntil(&loop_, [&] { return server_->open_connections() == 2; }, 5s));
  RawHttpClient c(&loop_, server_->port(), "GET /hello HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(RunUntil(&loop_, [&] { return c.done(); }, 5s));
  EXPECT_EQ(c.response(), "");
  EXPECT_EQ(server_->stats().rejected, 1u);
  server_->Close();
  EXPECT_TRUE(RunUntil(&loop_, [&] { return a.done() && b.done(); }, 5s));
}

TEST_F(LocalHttpServerTest, ListenFailureNamesTheAddress) {
  StartServer();
  LocalHttpServer second(&loop_, [](const HttpRequest&) { return HttpResponse{}; });
  Status s = second.Listen(*SocketAddress::FromLiteral("127.0.0.1", server_->port()));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("127.0.0.1:" + std::to_string(server_->port())), std::string::npos)
      << s.message();
}

TEST(SerializeResponseTest, HasLengthAndClose) {
  HttpResponse r;
  r.status = 200;
  r.content_type = "application/json";
  r.body = "{}";
  EXPECT_EQ(SerializeResponse(r, false),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n{}");
}

}  // namespace
}  // namespace firewatch::agent
