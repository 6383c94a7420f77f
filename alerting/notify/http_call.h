// One synchronous HTTP request with libcurl, for the HTTP-based notifiers, and the shared
// classification of its outcome.
//
// No redirects are followed (a notification endpoint that redirects is misconfigured),
// only http:// and https:// are allowed, no signals are used (safe on any thread), and
// the response body is kept up to a limit (64 KiB by default).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "firewatch/clock.h"
#include "model/alert.h"

namespace firewatch::alerting::notify {

// How to reach an endpoint: timeouts and TLS. Shared by every channel type.
struct TransportOptions {
  Duration connect_timeout = std::chrono::seconds(5);
  Duration timeout = std::chrono::seconds(10);  // the whole attempt, connect included
  std::string ca_file;                          // PEM bundle; empty = system CAs
  // Skips TLS certificate and host name verification. FOR TESTS ONLY: it lets anyone on
  // the path read and forge pages.
  bool insecure_skip_verify = false;
};

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // name, value
  std::string body;
  // HTTP Basic credentials, sent when `basic_user` is not empty.
  std::string basic_user;
  std::string basic_password;
  size_t max_response_body = 64 * 1024;  // the rest is read and dropped
};

struct HttpResponse {
  bool transport_ok = false;  // a complete HTTP response was received
  int curl_code = 0;          // CURLcode
  std::string error;          // curl's message when !transport_ok
  long status = 0;            // HTTP status when transport_ok
  std::string body;           // at most req.max_response_body (64 KiB by default)
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
};

// Performs `req` once. Never throws.
HttpResponse PerformHttp(const HttpRequest& req, const TransportOptions& transport);

// True when a transport failure cannot be cured by retrying the same request
// (malformed URL, unsupported scheme, TLS peer verification failed, login denied).
bool IsPermanentCurlError(int curl_code);

// The common HTTP classification: `ok_status(status)` -> Delivered; 408, 429 and 5xx ->
// Retryable; any other status -> Permanent; transport errors -> Retryable unless
// IsPermanentCurlError. `detail` is "HTTP <status>: <first 200 bytes of body>" or the
// curl error.
template <typename OkStatus>
SendResult ClassifyHttp(const HttpResponse& r, OkStatus ok_status);

std::string HttpDetail(const HttpResponse& r);

template <typename OkStatus>
SendResult ClassifyHttp(const HttpResponse& r, OkStatus ok_status) {
  if (!r.transport_ok) {
    return IsPermanentCurlError(r.curl_code) ? SendResult::Permanent(HttpDetail(r))
                                             : SendResult::Retryable(HttpDetail(r));
  }
  if (ok_status(r.status)) return SendResult::Delivered(HttpDetail(r));
  if (r.status == 408 || r.status == 429 || r.status >= 500) {
    return SendResult::Retryable(HttpDetail(r));
  }
  return SendResult::Permanent(HttpDetail(r));
}

}  // namespace firewatch::alerting::notify
