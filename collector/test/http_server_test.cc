// HttpServer: exact routing, body limits, error answers and lifecycle, over real sockets
// on 127.0.0.1 (port 0) with libcurl and raw TCP, plus Dispatch() without sockets.
#include "http/http_server.h"

#include "http/access.h"
#include "firewatch/text/base64.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace firewatch::collector {
namespace {

// ---- clients --------------------------------------------------------------------------

struct Reply {
  long status = 0;
  std::string body;
  std::vector<std::string> headers;  // raw header lines
  std::string error;                 // curl error, if the transfer failed

  std::string Header(const std::string& name) const {
    std::string want = name + ":";
    for (const auto& h : headers) {
      if (h.size() >= want.size() && strncasecmp(h.c_str(), want.c_str(), want.size()) == 0) {
        std::string v = h.substr(want.size());
        while (!v.empty() && (v.front() == ' ')) v.erase(0, 1);
        while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) v.pop_back();
        return v;
      }
    }
    return "";
  }
  bool HasHeader(const std::string& name) const {
    std::string want = name + ":";
    for (const auto& h : headers) {
      if (strncasecmp(h.c_str(), want.c_str(), want.size()) == 0) return true;
    }
    return false;
  }
};

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}
size_t CollectHeader(char* data, size_t size, size_t n, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(data, size * n);
  return size * n;
}

Reply Fetch(uint16_t port, const std::string& path, const std::string& method = "GET",
            const std::optional<std::string>& body = std::nullopt,
            const std::vector<std::string>& headers = {}) {
  Reply r;
  CURL* c = curl_easy_init();
  std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
  if (method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (method != "GET" || body) {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  curl_slist* hl = nullptr;
  for (const auto& h : headers) hl = curl_slist_append(hl, h.c_str());
  if (hl) curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) r.error = curl_easy_strerror(rc);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(hl);
  curl_easy_cleanup(c);
  return r;
}

// Raw TCP: sends `data`, optionally half-closes, reads until EOF (5 s timeout).
std::string RawExchange(uint16_t port, const std::string& data, bool half_close = true) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    ADD_FAILURE() << "connect failed";
    return "";
  }
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  if (half_close) shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

// ---- fixture ----------------------------------------------------------------------

// A server with a few test routes and counters. civetweb's Stop() takes up to 2 s (its
// accept loop polls with a 2 s quantum), so one instance serves the whole suite.
struct TestServer {
  TestServer() {
    HttpServerOptions o;
    o.listen = {"127.0.0.1", 0};
    o.worker_threads = 4;
    o.request_timeout_ms = 3000;
    // ConcurrentRequests runs 8 clients from one address against 4 workers: queued and
    // closing connections would reach a per-client cap (tested on its own below).
    o.max_connections_per_client = 0;
    server = std::make_unique<HttpServer>(o);
    server->Route("GET", "/metrics", [](const HttpRequest&) {
      return HttpResponse::Text(200, "metrics here\n");
    });
    server->Route("GET", "/api/v1/sources/{}", [](const HttpRequest& r) {
      return HttpResponse::Text(200, "param=" + r.param + " path=" + r.path);
    });
    server->Route("GET", "/api/v1/sources/special", [](const HttpRequest&) {
      return HttpResponse::Text(200, "exact wins");
    });
    server->Route(
        "POST", "/echo",
        [this](const HttpRequest& r) {
          echo_calls++;
          HttpResponse resp = HttpResponse::Text(200, r.body);
          resp.headers.emplace_back("X-Query", r.query);
          resp.headers.emplace_back("X-Remote", r.remote);
          return resp;
        },
        RouteOptions{Access::kPublic, /*max_body=*/1000, [this] { oversize++; }});
    server->Route("PUT", "/echo", [](const HttpRequest&) { return HttpResponse::Text(200, "put"); },
                  RouteOptions{Access::kPublic, 10, nullptr});
    server->Route("GET", "/throws", [](const HttpRequest&) -> HttpResponse {
      throw std::runtime_error("boom");
    });
    server->Route("GET", "/nocontent", [](const HttpRequest&) {
      HttpResponse r;
      r.status = 204;
      return r;
    });
    server->SetObserver([this](const std::string& route, int status) {
      std::lock_guard lock(mu);
      observed.emplace_back(route, status);
    });
  }
  // The server (its workers call the observer) stops before the members it writes to go.
  ~TestServer() { server.reset(); }
  void Reset() {
    echo_calls = 0;
    oversize = 0;
    std::lock_guard lock(mu);
    observed.clear();
  }
  std::vector<std::pair<std::string, int>> Observed() {
    std::lock_guard lock(mu);
    return observed;
  }

  std::unique_ptr<HttpServer> server;
  std::atomic<int> echo_calls{0};
  std::atomic<int> oversize{0};
  std::mutex mu;
  std::vector<std::pair<std::string, int>> observed;
};

class HttpServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    shared_ = new TestServer();
    Status s = shared_->server->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  static void TearDownTestSuite() {
    delete shared_;  // stops
    shared_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(shared_, nullptr);
    shared_->Reset();
    port_ = shared_->server->port();
    ASSERT_NE(port_, 0);
  }
  std::vector<std::pair<std::string, int>> Observed() { return shared_->Observed(); }
  std::pair<std::string, int> LastObserved() {
    auto all = Observed();
    return all.empty() ? std::pair<std::string, int>{"(none)", 0} : all.back();
  }
  int echo_calls() const { return shared_->echo_calls.load(); }
  int oversize() const { return shared_->oversize.load(); }

  static inline TestServer* shared_ = nullptr;
  uint16_t port_ = 0;
};

TEST_F(HttpServerTest, BindsAnEphemeralPort) { EXPECT_NE(port_, 0); }

TEST_F(HttpServerTest, RoutesExactlyNotByPrefix) {
  Reply ok = Fetch(port_, "/metrics");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "metrics here\n");
  EXPECT_EQ(ok.Header("Connection"), "close");

  for (const char* path : {"/metricsXYZ", "/metrics/", "//metrics", "/metrics/x", "/",
                           "/api/v1/sources/a/b", "/api/v1/sources/", "/api/v1/sources",
                           "/nope/../metrics"}) {
    Reply r = Fetch(port_, path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_NE(r.Header("Content-Type").find("application/json"), std::string::npos) << path;
    EXPECT_NE(r.body.find("\"error\""), std::string::npos) << path;
  }
  auto seen = Observed();
  ASSERT_EQ(seen.size(), 10u);
  EXPECT_EQ(seen.front(), (std::pair<std::string, int>{"/metrics", 200}));
  EXPECT_EQ(seen.back(), (std::pair<std::string, int>{"unmatched", 404}));
}

TEST_F(HttpServerTest, WrongMethodIs405WithAllow) {
  Reply r = Fetch(port_, "/metrics", "POST", std::string("x"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("Allow"), "GET, HEAD");
  EXPECT_NE(r.body.find("\"error\""), std::string::npos);

  Reply d = Fetch(port_, "/echo", "DELETE");
  EXPECT_EQ(d.status, 405);
  EXPECT_EQ(d.Header("Allow"), "POST, PUT");
  EXPECT_EQ(LastObserved(), (std::pair<std::string, int>{"/echo", 405}));
}

TEST_F(HttpServerTest, HeadAnswersLikeGetWithoutBody) {
  Reply r = Fetch(port_, "/metrics", "HEAD");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.Header("Content-Length"), "13");
}

TEST_F(HttpServerTest, CaptureIsOneSegmentUrlDecoded) {
  Reply r = Fetch(port_, "/api/v1/sources/web%2001");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "param=web 01 path=/api/v1/sources/web 01");

  Reply slash = Fetch(port_, "/api/v1/sources/a%2Fb");
  EXPECT_EQ(slash.status, 200);
  EXPECT_EQ(slash.body, "param=a/b path=/api/v1/sources/a/b");

  Reply plus = Fetch(port_, "/api/v1/sources/a+b%3C");  // '+' is literal in paths
  EXPECT_EQ(plus.body, "param=a+b< path=/api/v1/sources/a+b<");

  Reply exact = Fetch(port_, "/api/v1/sources/special");
  EXPECT_EQ(exact.body, "exact wins");
  EXPECT_EQ(LastObserved(), (std::pair<std::string, int>{"/api/v1/sources/special", 200}));
}

TEST_F(HttpServerTest, MalformedEscapesAre400) {
  for (const char* path : {"/api/v1/sources/%zz", "/api/v1/sources/%4", "/api/v1/sources/a%00b"}) {
    Reply r = Fetch(port_, path);
    EXPECT_EQ(r.status, 400) << path;
    EXPECT_NE(r.body.find("malformed"), std::string::npos) << path;
  }
}

TEST_F(HttpServerTest, EchoesBodyAndQuery) {
  Reply r = Fetch(port_, "/echo?a=1&b=%20", "POST", std::string("hello\0x", 7));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, std::string("hello\0x", 7));
  EXPECT_EQ(r.Header("X-Query"), "a=1&b=%20");
  EXPECT_EQ(r.Header("X-Remote").rfind("127.0.0.1:", 0), 0u);
  EXPECT_EQ(r.Header("X-Content-Type-Options"), "nosniff");
}

TEST_F(HttpServerTest, BodyAtTheLimitIsAccepted) {
  std::string body(1000, 'a');
  Reply r = Fetch(port_, "/echo", "POST", body);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), 1000u);
  EXPECT_EQ(oversize(), 0);
}

TEST_F(HttpServerTest, OversizeDeclaredLengthIs413FromHeadersAlone) {
  // Declares 100 MB, sends 3 bytes and keeps the connection open for writing: the
  // answer can only come from the headers, without reading the body.
  std::string req =
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\nabc";
  std::string out = RawExchange(port_, req, /*half_close=*/false);
  EXPECT_EQ(out.rfind("HTTP/1.1 413", 0), 0u) << out;
  EXPECT_NE(out.find("\"error\""), std::string::npos);
  EXPECT_EQ(echo_calls(), 0);
  EXPECT_EQ(oversize(), 1);
  EXPECT_EQ(LastObserved(), (std::pair<std::string, int>{"/echo", 413}));
}

TEST_F(HttpServerTest, OversizeViaCurlIs413) {
  // curl asks "Expect: 100-continue" for large bodies; we answer 413 before it sends.
  Reply r = Fetch(port_, "/echo", "POST", std::string(2'000'000, 'x'));
  EXPECT_EQ(r.status, 413) << r.error;
  EXPECT_EQ(echo_calls(), 0);
  Reply small = Fetch(port_, "/echo", "POST", std::string(1001, 'x'));
  EXPECT_EQ(small.status, 413) << small.error;
  EXPECT_EQ(oversize(), 2);
}

TEST_F(HttpServerTest, ChunkedBodiesAreBoundedToo) {
  Reply ok = Fetch(port_, "/echo", "POST", std::string(500, 'c'),
                    {"Transfer-Encoding: chunked"});
  EXPECT_EQ(ok.status, 200) << ok.error;
  EXPECT_EQ(ok.body, std::string(500, 'c'));

  // Raw chunked stream that never ends: refused once max_body + 1 bytes arrived.
  std::string req = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) req += "200\r\n" + std::string(0x200, 'z') + "\r\n";
  std::string out = RawExchange(port_, req, /*half_close=*/false);
  EXPECT_EQ(out.rfind("HTTP/1.1 413", 0), 0u) << out;
  EXPECT_EQ(oversize(), 1);
}

TEST_F(HttpServerTest, RouteWithoutBodyLimitRefusesAnyBody) {
  Reply r = Fetch(port_, "/api/v1/sources/x", "GET", std::string("data"));
  EXPECT_EQ(r.status, 413);
}

TEST_F(HttpServerTest, ShortBodyIs400) {
  std::string out = RawExchange(port_, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
  EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
  EXPECT_EQ(echo_calls(), 0);
}

TEST_F(HttpServerTest, GarbageDoesNotHurtTheServer) {
  const std::string garbage[] = {
      std::string("\x01\x02\x03 garbage \xff\xfe\r\n\r\n"),
      "GET\r\n\r\n",
      "GET /metrics HTTP/9.9\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nBad Header Line\r\n\r\n",
      "POST /echo HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcde",
      "GET /metrics HTTP/1.1\r\nHost: " + std::string(40'000, 'h') + "\r\n\r\n",
      "GET /metri",  // then the client goes away
      std::string(1, '\0'),
  };
  for (const auto& g : garbage) {
    std::string out = RawExchange(port_, g);
    if (!out.empty()) {
      // civetweb echoes the request's version in its own errors ("HTTP/9.9 505").
      EXPECT_EQ(out.rfind("HTTP/", 0), 0u) << out.substr(0, 80);
    }
  }
  Reply r = Fetch(port_, "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(echo_calls(), 0);
  // What civetweb refuses itself is still observed (as "unmatched").
  auto seen = Observed();
  EXPECT_GE(std::count(seen.begin(), seen.end(), std::pair<std::string, int>{"unmatched", 400}), 3);
}

TEST_F(HttpServerTest, ThrowingHandlerIs500AndServerLivesOn) {
  Reply r = Fetch(port_, "/throws");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("boom"), std::string::npos);  // internals are logged, not sent
  EXPECT_EQ(LastObserved(), (std::pair<std::string, int>{"/throws", 500}));
  EXPECT_EQ(Fetch(port_, "/metrics").status, 200);
}

TEST_F(HttpServerTest, NoContentHasNoBodyHeaders) {
  Reply r = Fetch(port_, "/nocontent");
  EXPECT_EQ(r.status, 204);
  EXPECT_FALSE(r.HasHeader("Content-Length"));
  EXPECT_EQ(r.body, "");
}

TEST_F(HttpServerTest, ConcurrentRequests) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        if (Fetch(port_, "/metrics").status == 200) ok++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 80);
}

TEST_F(HttpServerTest, BindFailureNamesTheAddress) {
  HttpServerOptions o;
  o.listen = {"127.0.0.1", port_};
  HttpServer second(o);
  Status s = second.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kUnavailable);
  EXPECT_NE(s.message().find("127.0.0.1:" + std::to_string(port_)), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("in use"), std::string::npos) << s.message();
  EXPECT_EQ(second.port(), 0);
  // The first server is unaffected.
  EXPECT_EQ(Fetch(port_, "/metrics").status, 200);
}

TEST(HttpServerLifecycle, StopIsCleanAndIdempotent) {
  TestServer t;
  EXPECT_EQ(t.server->port(), 0);  // not started yet
  ASSERT_TRUE(t.server->Start().ok());
  const uint16_t port = t.server->port();
  EXPECT_EQ(Fetch(port, "/metrics").status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // accept loop is in poll()
  auto before = std::chrono::steady_clock::now();
  t.server->Stop();
  // civetweb alone needs up to its 2 s poll quantum; Stop() wakes the accept loop.
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(1000));
  EXPECT_EQ(t.server->port(), 0);
  // The wake-up connections are never served as requests.
  EXPECT_EQ(t.Observed(), (std::vector<std::pair<std::string, int>>{{"/metrics", 200}}));
  Reply r = Fetch(port, "/metrics");
  EXPECT_EQ(r.status, 0);  // connection refused
  t.server->Stop();
  // Can start again (on a fresh ephemeral port).
  ASSERT_TRUE(t.server->Start().ok());
  EXPECT_EQ(Fetch(t.server->port(), "/metrics").status, 200);
  EXPECT_FALSE(t.server->Start().ok());  // already started
}

TEST(HttpServerLifecycle, StopWaitsForRunningHandlers) {
  HttpServerOptions o;
  o.listen = {"127.0.0.1", 0};
  HttpServer server(o);
  std::atomic<bool> entered{false};
  std::atomic<bool> finished{false};
  server.Route("GET", "/slow", [&](const HttpRequest&) {
    entered = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    finished = true;
    return HttpResponse::Text(200, "done");
  });
  ASSERT_TRUE(server.Start().ok());
  Reply reply;
  std::thread client([&] { reply = Fetch(server.port(), "/slow"); });
  while (!entered) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server.Stop();
  EXPECT_TRUE(finished.load());
  client.join();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "done");
}

TEST(HttpServerStart, UnresolvableHostFailsClearly) {
  HttpServerOptions o;
  o.listen = {"no-such-host.invalid", 0};
  HttpServer s(o);
  Status st = s.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("no-such-host.invalid"), std::string::npos) << st.message();
}

TEST(HttpServerStart, NonLocalAddressFailsClearly) {
  HttpServerOptions o;
  o.listen = {"192.0.2.1", 0};  // TEST-NET-1: never a local address
  HttpServer s(o);
  Status st = s.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("192.0.2.1:0"), std::string::npos) << st.message();
}

TEST(HttpServerStart, Ipv6EitherWorksOrSaysWhy) {
  HttpServerOptions o;
  o.listen = {"::1", 0};
  HttpServer s(o);
  Status st = s.Start();
  if (st.ok()) {
    EXPECT_NE(s.port(), 0);
  } else {  // Debian's libcivetweb is built without IPv6
    EXPECT_NE(st.message().find("IPv6"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("[::1]:0"), std::string::npos) << st.message();
  }
}

// ---- Dispatch (no sockets) -----------------------------------------------------------

HttpRequest Req(std::string method, std::string path, std::string body = "") {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.body = std::move(body);
  return r;
}

TEST(HttpServerDispatch, RoutesLikeTheServer) {
  HttpServer s(HttpServerOptions{});
  s.Route("GET", "/metrics", [](const HttpRequest&) { return HttpResponse::Text(200, "m"); });
  s.Route("GET", "/api/v1/sources/{}", [](const HttpRequest& r) {
    return HttpResponse::Text(200, r.param);
  });
  s.Route("POST", "/beat", [](const HttpRequest& r) { return HttpResponse::Text(200, r.body); },
          RouteOptions{Access::kPublic, 4, nullptr});

  HttpRequest req = Req("GET", "/metrics");
  EXPECT_EQ(s.Dispatch(req).status, 200);
  req.path = "/metricsXYZ";
  EXPECT_EQ(s.Dispatch(req).status, 404);
  req.path = "/api/v1/sources/web-01";
  HttpResponse one = s.Dispatch(req);
  EXPECT_EQ(one.body, "web-01");
  EXPECT_EQ(req.param, "web-01");
  req.path = "/api/v1/sources/a/b";
  EXPECT_EQ(s.Dispatch(req).status, 404);
  req.path = "relative";
  EXPECT_EQ(s.Dispatch(req).status, 400);

  HttpRequest post = Req("POST", "/metrics");
  HttpResponse r405 = s.Dispatch(post);
  EXPECT_EQ(r405.status, 405);
  ASSERT_NE(r405.Header("allow"), nullptr);
  EXPECT_EQ(*r405.Header("allow"), "GET, HEAD");

  HttpRequest beat = Req("POST", "/beat", "12345");
  EXPECT_EQ(s.Dispatch(beat).status, 413);
  beat.body = "1234";
  EXPECT_EQ(s.Dispatch(beat).body, "1234");
}

// "/api/v1/incidents/{}/resolve": the capture may sit in the middle; literal segments
// around it still match exactly, and an exact route still wins over a capture.
TEST(HttpServerDispatch, CaptureInTheMiddleOfThePath) {
  HttpServer s(HttpServerOptions{});
  s.Route("GET", "/api/v1/things/{}/state",
          [](const HttpRequest& r) { return HttpResponse::Text(200, "state of " + r.param); });
  s.Route("GET", "/api/v1/things/all/state",
          [](const HttpRequest&) { return HttpResponse::Text(200, "every state"); });
  HttpRequest req = Req("GET", "/api/v1/things/K7Q2MX/state");
  EXPECT_EQ(s.Dispatch(req).body, "state of K7Q2MX");
  req.path = "/api/v1/things/k7q2mx/state";
  EXPECT_EQ(s.Dispatch(req).body, "state of k7q2mx");
  req.path = "/api/v1/things/all/state";
  EXPECT_EQ(s.Dispatch(req).body, "every state");
  for (const char* miss : {"/api/v1/things//state", "/api/v1/things/K7Q2MX/status",
                           "/api/v1/things/K7Q2MX", "/api/v1/things/K7Q2MX/state/x"}) {
    req.path = miss;
    EXPECT_EQ(s.Dispatch(req).status, 404) << miss;
  }
}

TEST(HttpServerDispatch, CatchesExceptions) {
  HttpServer s(HttpServerOptions{});
  s.Route("GET", "/x", [](const HttpRequest&) -> HttpResponse { throw std::logic_error("no"); });
  s.Route("GET", "/y", [](const HttpRequest&) -> HttpResponse { throw 42; });
  HttpRequest req = Req("GET", "/x");
  EXPECT_EQ(s.Dispatch(req).status, 500);
  req.path = "/y";
  EXPECT_EQ(s.Dispatch(req).status, 500);
}

TEST(HttpServerHelpers, ErrorBodyIsJson) {
  HttpResponse r = HttpResponse::Error(404, "no \"such\" \\ thing\n\x01");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"error": "no \"such\" \\ thing\n\u0001"})");
}

TEST(HttpServerHelpers, ErrorKeepsUtf8AndReplacesBadBytes) {
  // Source ids and labels in error messages are UTF-8 text: they must come back as sent
  // (the copy of JSON escaping this server had wrote each byte as \u00XX: "cafÃ©").
  const std::string label = "caf\xc3\xa9/\xe6\x9d\xb1\xe4\xba\xac";  // café/東京
  HttpResponse r = HttpResponse::Error(404, "no source " + label);
  auto parsed = nlohmann::json::parse(r.body);
  EXPECT_EQ(parsed["error"], "no source " + label);
  EXPECT_EQ(r.body, "{\"error\": \"no source " + label + "\"}");
  // A stray byte becomes U+FFFD and the body stays valid JSON.
  r = HttpResponse::Error(400, "bad \xff byte");
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "bad \xef\xbf\xbd byte");
}

TEST(HttpServerHelpers, QueryParam) {
  EXPECT_EQ(QueryParam("state=DOWN", "state"), "DOWN");
  EXPECT_EQ(QueryParam("a=1&state=LATE&state=UP", "state"), "LATE");
  EXPECT_EQ(QueryParam("a=1&flag", "flag"), "");
  EXPECT_EQ(QueryParam("a=1", "state"), std::nullopt);
  EXPECT_EQ(QueryParam("", "state"), std::nullopt);
  EXPECT_EQ(QueryParam("q=a+b%21", "q"), "a b!");
  EXPECT_EQ(QueryParam("st%61te=x", "state"), "x");
  EXPECT_EQ(QueryParam("state=%zz", "state"), std::nullopt);
}

TEST(HttpServerHelpers, QueryParams) {
  using V = std::vector<std::string>;
  EXPECT_EQ(QueryParams("match[]=a&x=1&match%5B%5D=b+c&match[]", "match[]"), (V{"a", "b c", ""}));
  EXPECT_EQ(QueryParams("x=1", "match[]"), V{});
  EXPECT_EQ(QueryParams("", "match[]"), V{});
  EXPECT_EQ(QueryParams("match[]=a&match[]=%zz", "match[]"), std::nullopt);  // refused, not dropped
  EXPECT_EQ(QueryParams("%zz=1", "match[]"), std::nullopt);  // might have been the key
}


// ---- access policy over real sockets -------------------------------------------------

namespace {

std::shared_ptr<const AccessPolicy> PolicyWith(const std::string& name, const std::string& token,
                                               bool read_requires_token = false) {
  auto tokens = OperatorTokens::Make({{name, *ParseSha256Hex(TokenSha256Hex(token))}});
  EXPECT_TRUE(tokens.ok());
  auto p = std::make_shared<AccessPolicy>();
  p->operators = std::make_shared<const OperatorTokens>(std::move(tokens).value());
  p->read_requires_token = read_requires_token;
  p->own_hosts = {"collector-a.example"};
  p->own_origins = {"https://collector-a.example"};
  return p;
}

}  // namespace

class HttpServerAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions o;
    o.listen = {"127.0.0.1", 0};
    server_ = std::make_unique<HttpServer>(o);
    server_->Route("POST", "/api/v1/change", [this](const HttpRequest& r) {
      calls_++;
      return HttpResponse::Text(200, "by " + r.operator_name);
    }, 100);
    server_->Route("DELETE", "/api/v1/things/{}", [this](const HttpRequest& r) {
      calls_++;
      return HttpResponse::Text(200, "deleted " + r.param + " by " + r.operator_name);
    });
    server_->Route("GET", "/api/v1/read", [](const HttpRequest& r) {
      return HttpResponse::Text(200, "read by '" + r.operator_name + "'");
    });
    server_->Route("GET", "/healthz", [](const HttpRequest&) { return HttpResponse::Text(200, "ok"); },
                   RouteOptions{Access::kPublic, 0, nullptr});
    server_->SetRefusalObserver([this](HttpRefusal r) {
      std::lock_guard lock(mu_);
      refusals_.push_back(r);
    });
    server_->SetAccessPolicy(PolicyWith("alice", kToken));
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->port();
  }
  // The server (its workers call the refusal observer) stops before the members it
  // writes to go.
  void TearDown() override { server_.reset(); }
  std::vector<HttpRefusal> Refusals() {
    std::lock_guard lock(mu_);
    return refusals_;
  }

  static constexpr const char* kToken = "fwop_test-token-of-alice-0123456789abcdefghijk";
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
  std::atomic<int> calls_{0};
  std::mutex mu_;
  std::vector<HttpRefusal> refusals_;
};

TEST_F(HttpServerAccessTest, OperatorRouteWithoutTokenIs401AndRunsNothing) {
  Reply r = Fetch(port_, "/api/v1/change", "POST", std::string("{}"),
                  {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Header("WWW-Authenticate"), "Bearer realm=\"firewatch\"");
  Reply bad = Fetch(port_, "/api/v1/change", "POST", std::string("{}"),
                    {"Content-Type: application/json", "Authorization: Bearer fwop_guess"});
  EXPECT_EQ(bad.status, 401);
  EXPECT_NE(bad.Header("WWW-Authenticate").find("invalid_token"), std::string::npos);
  Reply del = Fetch(port_, "/api/v1/things/x", "DELETE");
  EXPECT_EQ(del.status, 401);
  EXPECT_EQ(calls_.load(), 0);
  EXPECT_EQ(Refusals(), (std::vector<HttpRefusal>{HttpRefusal::kNoToken, HttpRefusal::kBadToken,
                                                  HttpRefusal::kNoToken}));
}

TEST_F(HttpServerAccessTest, ValidTokenNamesTheOperator) {
  const std::string auth = std::string("Authorization: Bearer ") + kToken;
  Reply r = Fetch(port_, "/api/v1/change", "POST", std::string("{\"by\": \"mallory\"}"),
                  {"Content-Type: application/json; charset=utf-8", auth});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "by alice");
  Reply del = Fetch(port_, "/api/v1/things/x", "DELETE", std::nullopt, {auth});
  EXPECT_EQ(del.status, 200);
  EXPECT_EQ(del.body, "deleted x by alice");
  // Same-origin and own-name requests are fine.
  Reply same = Fetch(port_, "/api/v1/change", "POST", std::string("{}"),
                     {"Content-Type: application/json", auth,
                      "Origin: http://127.0.0.1:" + std::to_string(port_)});
  EXPECT_EQ(same.status, 200);
  Reply named = Fetch(port_, "/api/v1/change", "POST", std::string("{}"),
                      {"Content-Type: application/json", auth, "Host: Collector-A.example:9760",
                       "Origin: https://collector-a.example"});
  EXPECT_EQ(named.status, 200);
  EXPECT_EQ(calls_.load(), 4);
}

TEST_F(HttpServerAccessTest, FormsForeignOriginsAndForeignHostsAreRefused) {
  const std::string auth = std::string("Authorization: Bearer ") + kToken;
  Reply form = Fetch(port_, "/api/v1/change", "POST", std::string("a=1"),
                     {"Content-Type: application/x-www-form-urlencoded", auth});
  EXPECT_EQ(form.status, 415);
  Reply none = Fetch(port_, "/api/v1/change", "POST", std::string("{}"),
                     {"Content-Type:", auth});
  EXPECT_EQ(none.status, 415);
  Reply origin = Fetch(port_, "/api/v1/change", "POST", std::string("{}"),
                       {"Content-Type: application/json", auth, "Origin: https://evil.example"});
  EXPECT_EQ(origin.status, 403);
  Reply null_origin = Fetch(port_, "/api/v1/change", "POST", std::string("{}"),
                            {"Content-Type: application/json", auth, "Origin: null"});
  EXPECT_EQ(null_origin.status, 403);
  Reply fetch_site = Fetch(port_, "/api/v1/change", "POST", std::string("{}"),
                           {"Content-Type: application/json", auth, "Sec-Fetch-Site: cross-site"});
  EXPECT_EQ(fetch_site.status, 403);
  Reply host = Fetch(port_, "/api/v1/change", "POST", std::string("{}"),
                     {"Content-Type: application/json", auth, "Host: rebound.evil.example:9760"});
  EXPECT_EQ(host.status, 421);
  EXPECT_EQ(calls_.load(), 0);
  EXPECT_EQ(Refusals(),
            (std::vector<HttpRefusal>{HttpRefusal::kNotJson, HttpRefusal::kNotJson,
                                      HttpRefusal::kForeignOrigin, HttpRefusal::kForeignOrigin,
                                      HttpRefusal::kForeignOrigin, HttpRefusal::kForeignHost}));
}

TEST_F(HttpServerAccessTest, ReadsAreOpenUnlessTheyRequireAToken) {
  EXPECT_EQ(Fetch(port_, "/api/v1/read").body, "read by ''");
  server_->SetAccessPolicy(PolicyWith("alice", kToken, /*read_requires_token=*/true));
  Reply r = Fetch(port_, "/api/v1/read");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(std::find(r.headers.begin(), r.headers.end(),
                      "WWW-Authenticate: Basic realm=\"firewatch\"\r\n"),
            r.headers.end());
  EXPECT_EQ(Fetch(port_, "/api/v1/read", "GET", std::nullopt,
                  {std::string("Authorization: Bearer ") + kToken}).body,
            "read by 'alice'");
  // A browser's Basic prompt: any user name, the token as password.
  const std::string basic = "Authorization: Basic " +
                            text::Base64Std("me:fwop_test-token-of-alice-0123456789abcdefghijk");
  EXPECT_EQ(Fetch(port_, "/api/v1/read", "GET", std::nullopt, {basic}).body, "read by 'alice'");
  // ... but never for a change.
  EXPECT_EQ(Fetch(port_, "/api/v1/change", "POST", std::string("{}"),
                  {"Content-Type: application/json", basic}).status,
            401);
  EXPECT_EQ(Fetch(port_, "/healthz").status, 200);  // public stays public
  // A new policy replaces the old one at once (SIGHUP): the old token stops working.
  server_->SetAccessPolicy(PolicyWith("bob", "fwop_bobs-new-token-9876543210zyxwvutsrqpo"));
  EXPECT_EQ(Fetch(port_, "/api/v1/change", "POST", std::string("{}"),
                  {"Content-Type: application/json", std::string("Authorization: Bearer ") + kToken})
                .status,
            401);
}

// ---- slow clients -------------------------------------------------------------------

namespace {

// A TCP connection to 127.0.0.1:port from `source` (any 127.0.0.0/8 address is local).
int ConnectFrom(const char* source, uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  inet_pton(AF_INET, source, &src.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
    close(fd);
    return -1;
  }
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// True when the server closed `fd` (EOF or reset) within `wait`.
bool ClosedWithin(int fd, std::chrono::milliseconds wait) {
  timeval tv{static_cast<time_t>(wait.count() / 1000),
             static_cast<suseconds_t>(wait.count() % 1000 * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char c;
  const ssize_t n = recv(fd, &c, 1, 0);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

}  // namespace

struct SlowClientServer {
  explicit SlowClientServer(HttpServerOptions o) {
    o.listen = {"127.0.0.1", 0};
    server = std::make_unique<HttpServer>(o);
    server->Route("GET", "/healthz", [](const HttpRequest&) { return HttpResponse::Text(200, "ok"); });
    server->Route("POST", "/upload", [](const HttpRequest& r) {
      return HttpResponse::Text(200, std::to_string(r.body.size()));
    }, RouteOptions{Access::kPublic, 1 << 20, nullptr});
    server->SetRefusalObserver([this](HttpRefusal r) {
      std::lock_guard lock(mu);
      refusals.push_back(r);
    });
    EXPECT_TRUE(server->Start().ok());
  }
  int Count(HttpRefusal r) {
    std::lock_guard lock(mu);
    return static_cast<int>(std::count(refusals.begin(), refusals.end(), r));
  }
  // Count(r) once it reached `n`, or after a second (the worker counts a refusal just
  // after the client saw its connection end).
  int CountSoon(HttpRefusal r, int n) {
    for (int i = 0; i < 100 && Count(r) < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return Count(r);
  }
  std::unique_ptr<HttpServer> server;
  std::mutex mu;
  std::vector<HttpRefusal> refusals;
};

TEST(HttpServerSlowClients, ConnectionsOverThePerClientCapAreClosedAtAccept) {
  HttpServerOptions o;
  o.max_connections_per_client = 3;
  SlowClientServer s(o);
  const uint16_t port = s.server->port();
  std::vector<int> idle;
  for (int i = 0; i < 3; ++i) {
    int fd = ConnectFrom("127.0.0.2", port);
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
    EXPECT_FALSE(ClosedWithin(fd, std::chrono::milliseconds(100)));  // admitted, idle
  }
  // The fourth from the same address is closed at once, before any header is read.
  int extra = ConnectFrom("127.0.0.2", port);
  ASSERT_GE(extra, 0);
  EXPECT_TRUE(ClosedWithin(extra, std::chrono::milliseconds(2000)));
  close(extra);
  EXPECT_EQ(s.CountSoon(HttpRefusal::kClientLimit, 1), 1);
  // Other addresses are served meanwhile.
  EXPECT_EQ(Fetch(port, "/healthz").status, 200);
  // Once one of them is gone, the address may connect again.
  close(idle.back());
  idle.pop_back();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  int again = ConnectFrom("127.0.0.2", port);
  ASSERT_GE(again, 0);
  EXPECT_FALSE(ClosedWithin(again, std::chrono::milliseconds(200)));
  idle.push_back(again);
  for (int fd : idle) close(fd);
}

TEST(HttpServerSlowClients, EightTricklingClientsDoNotStallOthers) {
  HttpServerOptions o;  // defaults: 32 workers, 8 connections per client
  o.request_timeout_ms = 3000;
  SlowClientServer s(o);
  const uint16_t port = s.server->port();
  std::vector<int> slow;
  for (int i = 0; i < 8; ++i) {
    int fd = ConnectFrom("127.0.0.2", port);
    ASSERT_GE(fd, 0);
    const std::string head = i % 2 == 0 ? "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
                                        : "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
    ASSERT_GT(send(fd, head.data(), head.size(), MSG_NOSIGNAL), 0);
    slow.push_back(fd);
  }
  for (int round = 0; round < 5; ++round) {
    for (int fd : slow) send(fd, "x", 1, MSG_NOSIGNAL);
    const auto before = std::chrono::steady_clock::now();
    EXPECT_EQ(Fetch(port, "/healthz").status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(500));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  for (int fd : slow) close(fd);
}

TEST(HttpServerSlowClients, ATrickledBodyIsCutOffAtTheMinimumRate) {
  HttpServerOptions o;
  o.min_body_rate = 1000;
  o.body_timeout_ms = 6000;
  SlowClientServer s(o);
  int fd = ConnectFrom("127.0.0.1", s.server->port());
  ASSERT_GE(fd, 0);
  const std::string head = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
  send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  const auto start = std::chrono::steady_clock::now();
  std::string reply;
  bool closed = false;
  timeval tv{0, 200'000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  while (!closed && std::chrono::steady_clock::now() - start < std::chrono::seconds(8)) {
    send(fd, "xxxxxxxxxx", 10, MSG_NOSIGNAL);  // 50 bytes/s: far below 1000
    char buf[512];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) reply.append(buf, static_cast<size_t>(n));
    closed = n == 0 || (n < 0 && errno == ECONNRESET);
  }
  close(fd);
  // The socket is shut down under the blocked read once the 2 s grace is over and the
  // rate is below the minimum (a 408 when the check falls between two reads).
  EXPECT_TRUE(closed);
  EXPECT_TRUE(reply.empty() || reply.substr(0, 12) == "HTTP/1.1 408") << reply;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(3000));
  EXPECT_EQ(s.CountSoon(HttpRefusal::kSlowRequest, 1), 1);
}

TEST(HttpServerSlowClients, ABodyPastTheDeadlineIsCutOff) {
  HttpServerOptions o;
  o.min_body_rate = 0;  // only the deadline
  o.body_timeout_ms = 1500;
  SlowClientServer s(o);
  int fd = ConnectFrom("127.0.0.1", s.server->port());
  ASSERT_GE(fd, 0);
  const std::string head = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc";
  send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(ClosedWithin(fd, std::chrono::milliseconds(4000)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2500));
  close(fd);
  EXPECT_EQ(s.CountSoon(HttpRefusal::kSlowRequest, 1), 1);
}

TEST(HttpServerSlowClients, ABodyAtAFairRateIsRead) {
  HttpServerOptions o;
  o.min_body_rate = 1000;
  SlowClientServer s(o);
  std::string big(300'000, 'b');
  Reply r = Fetch(s.server->port(), "/upload", "POST", big, {"Content-Type: application/octet-stream"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "300000");
}

}  // namespace
}  // namespace firewatch::collector
