// libFuzzer target: the agent's local HTTP endpoint (/healthz, /metrics) as a client on
// the loopback sees it: agent/src/http_request_parser.h (the incremental request-head
// parser) fed the input in pieces, then, for a complete request, what the server does
// with it (method check, RouteLocalRequest, SerializeResponse).
//
// Input: byte 0 chooses the piece sizes (as TCP may deliver them); byte 1 the limits
// (defaults, or small ones so that the 414/431 paths are reached by short inputs); the
// rest is the bytes of the connection. Checks beyond "no crash, no hang":
//  - whether the head is complete, incomplete or refused does not depend on how the bytes
//    were split (whole vs pieces), and a complete request parses to the same fields;
//  - an error is one of 400, 414, 431, 505 with a reason; a request has a method that is a
//    token, a version HTTP/1.0 or 1.1, and a path starting with '/' (or "*");
//  - the request target kept is within the target limit.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "agent_metrics.h"
#include "http_request_parser.h"
#include "local_http_server.h"
#include "local_routes.h"

namespace {

using firewatch::agent::HttpRequestParser;

void Check(bool ok) {
  if (!ok) std::abort();
}

HttpRequestParser::State FeedInPieces(HttpRequestParser& p, std::string_view data, uint8_t mode) {
  if (mode == 0) return p.Feed(data);
  // Piece sizes cycle through 1..mode (mode 1: a byte at a time, the slowloris case).
  size_t step = 1;
  while (!data.empty()) {
    size_t n = std::min(data.size(), step);
    p.Feed(data.substr(0, n));
    data.remove_prefix(n);
    step = step % mode + 1;
  }
  return p.state();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > 64 * 1024) return 0;
  const uint8_t mode = data[0] % 17;
  HttpRequestParser::Limits limits;
  if (data[1] & 1) limits = {.max_head = 64u + data[1], .max_target = 16u + data[1] / 4};
  std::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);

  HttpRequestParser whole(limits), pieces(limits);
  auto a = whole.Feed(bytes);
  auto b = FeedInPieces(pieces, bytes, mode);
  Check(a == b);
  // Once complete or failed, feeding more changes nothing.
  if (a != HttpRequestParser::State::kNeedMore) Check(whole.Feed("GET / HTTP/1.1\r\n\r\n") == a);

  if (a == HttpRequestParser::State::kError) {
    int st = whole.error_status();
    Check(st == 400 || st == 414 || st == 431 || st == 505);
    // (The status may differ with the split: a line cut short is judged on what arrived.)
    Check(!whole.error_reason().empty());
    return 0;
  }
  if (a != HttpRequestParser::State::kComplete) return 0;

  const auto& r = whole.request();
  Check(r.method == pieces.request().method && r.target == pieces.request().target &&
        r.path == pieces.request().path && r.version == pieces.request().version);
  Check(!r.method.empty() && r.method.find_first_of(" \r\n:") == std::string::npos);
  Check(r.version == "HTTP/1.1" || r.version == "HTTP/1.0");
  Check(!r.path.empty() && (r.path[0] == '/' || r.path == "*"));
  Check(r.target.size() <= limits.max_target);

  // What LocalHttpServer does with a complete request.
  static firewatch::agent::AgentMetrics metrics("fuzz", std::chrono::seconds(10));
  firewatch::agent::HealthSnapshot health{"fuzz-host", 1700000000000, 7, "fuzz", {}};
  bool head = r.method == "HEAD";
  if (r.method != "GET" && !head) return 0;  // answered 405 without the handler
  auto response = firewatch::agent::RouteLocalRequest(r, health, metrics);
  auto wire = firewatch::agent::SerializeResponse(response, head);
  Check(wire.rfind("HTTP/1.1 ", 0) == 0);
  return 0;
}
