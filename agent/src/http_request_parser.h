// Incremental parser for the head of an HTTP/1.x request (request line and header
// fields), for the agent's tiny local server. It keeps no body: the server answers
// and closes after one request, so anything after the head is ignored.
//
// Untrusted input: the parser never reads past what it was fed, bounds what it
// buffers, and rejects with the HTTP status to answer:
//   400  malformed request line or header field, control bytes, obsolete line folding
//   414  request target longer than Limits::max_target
//   431  head larger than Limits::max_head
//   505  a well-formed version other than HTTP/1.0 or HTTP/1.1
// Bare LF line endings are accepted (RFC 9112 section 2.2 allows it).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace firewatch::agent {

struct HttpRequest {
  std::string method;   // "GET"
  std::string target;   // "/metrics?x=1" as sent (origin form), or the path of an absolute URI
  std::string path;     // "/metrics": target without the query
  std::string version;  // "HTTP/1.1"
};

class HttpRequestParser {
 public:
  struct Limits {
    size_t max_head = 8192;    // request line + headers + blank line
    size_t max_target = 2048;  // the request target
  };
  enum class State { kNeedMore, kComplete, kError };

  HttpRequestParser() : HttpRequestParser(Limits{}) {}
  explicit HttpRequestParser(Limits limits) : limits_(limits) {}

  // Consumes the next bytes of the connection. Once kComplete or kError is returned,
  // further calls return the same state and ignore their input.
  State Feed(std::string_view data);

  State state() const { return state_; }
  // Valid when state() == kComplete.
  const HttpRequest& request() const { return request_; }
  // Valid when state() == kError: the status to answer (400, 414, 431, 505) and why.
  int error_status() const { return error_status_; }
  const std::string& error_reason() const { return error_reason_; }

 private:
  State Fail(int status, std::string reason);
  State ParseRequestLine(std::string_view line);
  State ParseHeaderLine(std::string_view line);

  Limits limits_;
  State state_ = State::kNeedMore;
  std::string buffer_;        // the current, incomplete line
  bool have_request_line_ = false;
  size_t head_bytes_ = 0;
  HttpRequest request_;
  int error_status_ = 0;
  std::string error_reason_;
};

}  // namespace firewatch::agent
