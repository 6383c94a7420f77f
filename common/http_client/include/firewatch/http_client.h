// The one synchronous HTTP client (libcurl easy interface): notifiers, the cluster's peer
// sync and firewatchctl. Blocking; call it from a thread that may block (outbox senders,
// sync threads, the command line), never from the collector's event loop.
//
// Contract of Perform():
//  - one request, one attempt: no retries (the caller's policy: the outbox, the next sync
//    round), and no redirects (an endpoint that redirects is misconfigured);
//  - only http:// and https:// URLs; anything else fails with CURLE_UNSUPPORTED_PROTOCOL;
//  - no signals (CURLOPT_NOSIGNAL), so it is safe on any thread; thread-safe otherwise
//    too: every call has its own handle, and libcurl's global init runs once;
//  - the request body is sent for every method but GET when it is not empty, and always
//    for POST, PUT and PATCH (then possibly empty); "Expect: 100-continue" is never sent;
//  - at most `max_response_body` bytes of the response body are kept (the rest is read
//    and dropped), and at most 100 response headers;
//  - never throws; a transport failure is reported in the Response.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "firewatch/clock.h"

namespace firewatch::http_client {

// How to reach an endpoint: timeouts and TLS.
struct TransportOptions {
  Duration connect_timeout = std::chrono::seconds(5);
  Duration timeout = std::chrono::seconds(10);  // the whole attempt, connect included
  std::string ca_file;                          // PEM bundle; empty = system CAs
  // Skips TLS certificate and host name verification. FOR TESTS ONLY: it lets anyone on
  // the path read and forge what is sent.
  bool insecure_skip_verify = false;
};

struct Request {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // name, value
  std::string body;
  // HTTP Basic credentials, sent when `basic_user` is not empty.
  std::string basic_user;
  std::string basic_password;
  size_t max_response_body = 64 * 1024;  // the rest is read and dropped
};

struct Response {
  bool transport_ok = false;  // a complete HTTP response was received
  int curl_code = 0;          // CURLcode
  std::string error;          // curl's message when !transport_ok
  long status = 0;            // HTTP status when transport_ok
  std::string body;           // at most req.max_response_body bytes
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
};

// Performs `req` once (see the contract above).
Response Perform(const Request& req, const TransportOptions& transport);

// True when a transport failure cannot be cured by retrying the same request
// (malformed URL, unsupported scheme, TLS peer verification failed, login denied).
bool IsPermanentCurlError(int curl_code);

// "HTTP <status>: <first 200 bytes of body>", or curl's error on a transport failure.
std::string Detail(const Response& r);

// For other libcurl uses (the SMTP notifier): runs curl_global_init once per process
// (thread-safe), and applies no-signal mode, the timeouts, the CA file and (tests only)
// disabled verification to a CURL* easy handle.
void EnsureCurlInitialized();
void ApplyTransport(void* curl_easy_handle, const TransportOptions& transport);

}  // namespace firewatch::http_client
