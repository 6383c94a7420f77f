// An in-process HTTP server on 127.0.0.1 (port 0) for notifier tests: it records every
// request exactly as received and answers with a status and body the test chooses.
// It can also stall (hold the answer until the server stops or 5 s pass) to test
// client timeouts without sleeping in the test.
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

struct mg_context;
struct mg_connection;

namespace firewatch::alerting::notify::testing {

struct RecordedRequest {
  std::string method;
  std::string path;   // without the query string
  std::string query;  // after '?', may be empty
  std::multimap<std::string, std::string> headers;  // names lower-cased
  std::string body;
  // The first value of header `name` (lower case), "" when absent.
  std::string Header(const std::string& name) const;
};

class TestHttpServer {
 public:
  TestHttpServer();   // starts listening; aborts the test binary on failure
  ~TestHttpServer();  // releases stalled requests, stops civetweb
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The answer for every following request.
  void Respond(int status, std::string body, std::string content_type = "application/json");
  // Following requests get no answer until Reset(), destruction, or 5 s pass.
  void Stall();
  // Back to answering 200 with an empty body; releases stalled requests and forgets
  // the recorded ones.
  void Reset();

  std::vector<RecordedRequest> requests() const;

 private:
  static int Handle(mg_connection* conn, void* self);
  mg_context* ctx_ = nullptr;
  int port_ = 0;
  mutable std::mutex mu_;
  std::condition_variable released_;
  bool stall_ = false;
  bool stopping_ = false;
  uint64_t generation_ = 0;  // bumped by Reset() to release stalled requests
  int status_ = 200;
  std::string body_;
  std::string content_type_ = "application/json";
  std::vector<RecordedRequest> requests_;
};

// A fixture sharing one server per test suite, reset before each test. (Stopping takes
// milliseconds thanks to ListenerWaker; sharing still saves a start per test.)
class HttpServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new TestHttpServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { server_->Reset(); }
  static TestHttpServer* server_;
};


// "Basic " + base64(user:password), what a client must send.
std::string BasicAuth(const std::string& user, const std::string& password);

// A loopback TCP port that nothing listens on right now (bound, then closed).
int UnusedPort();

}  // namespace firewatch::alerting::notify::testing
