// An asynchronous HTTP client on a libuv loop, built on libcurl's multi interface
// (curl_multi_socket_action driven by uv_poll and uv_timer). No threads of its own:
// every transfer runs on the loop that owns the client.
//
// Threading: construct, call and destroy on the loop thread only. Callbacks run on the
// loop thread, from inside uv_run.
//
// Lifetime: call Close() (or destroy the client) before the loop is closed; the loop
// must run afterwards so the libuv handles the client used can finish closing. The
// client's memory does not depend on that: it may be destroyed right after Close().
//
// Proxies: environment proxy variables (http_proxy, ...) are ignored on purpose. The
// callers are monitoring traffic that must take the direct path.
//
// Footprint: libcurl (libcurl.so.4) is loaded with dlopen on the first Post, so a
// process that never posts never maps it (about 8 MB of RSS with its dependencies).
// When it cannot be loaded, Post fails with kUnavailable naming the reason.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/status.h"

namespace firewatch::net {

// What the server answered. Any HTTP status counts as an answer; the caller decides
// whether it is a success (see IsSuccess).
struct HttpResponse {
  long status = 0;            // HTTP status code, e.g. 200
  std::string body;           // at most Options::max_response_body bytes
  bool body_truncated = false;
  bool IsSuccess() const { return status >= 200 && status < 300; }
};

class UvHttpClient {
 public:
  // Called exactly once per started request: with the response, or with a non-OK
  // Status (kUnavailable: connect failure, timeout, reset, cancelled by Close()).
  using Callback = std::function<void(Result<HttpResponse>)>;

  struct Options {
    size_t max_response_body = 64 * 1024;  // the rest of a longer body is discarded
    std::string user_agent = "firewatch";
  };

  // `loop` must outlive the client.
  explicit UvHttpClient(uv_loop_t* loop);
  UvHttpClient(uv_loop_t* loop, Options options);
  ~UvHttpClient();  // Close()s if still open
  UvHttpClient(const UvHttpClient&) = delete;
  UvHttpClient& operator=(const UvHttpClient&) = delete;

  // Starts a POST of `body` to `url` (http:// or https://). `headers` are full header
  // lines ("Content-Type: application/octet-stream"). `timeout` bounds the whole
  // transfer, connect included. The body is copied.
  //
  // On OK the callback will run exactly once, later, on the loop (never inside Post).
  // On error (closed client, libcurl refused the request) the callback is not run.
  Status Post(const std::string& url, std::span<const uint8_t> body,
              const std::vector<std::string>& headers, Duration timeout, Callback callback);

  // How an https:// request checks the server (defaults: the system's CA store, full
  // verification of the certificate and its name).
  struct TlsOptions {
    std::string ca_file;  // PEM bundle to trust instead of the system's; empty: the system's
    bool verify = true;   // false: any certificate is accepted (proves only that TLS answers)
    // "name:port:address" (libcurl's CURLOPT_RESOLVE): connect to `address` for the URL's
    // name and port without looking the name up, and still check the certificate
    // against the name. Empty: libcurl resolves the URL's host itself.
    std::string resolve;
  };
  // Starts a GET of `url`, like Post otherwise.
  Status Get(const std::string& url, const std::vector<std::string>& headers, Duration timeout,
             const TlsOptions& tls, Callback callback);

  // Requests started and not yet completed.
  size_t in_flight() const;

  // Cancels every in-flight request (their callbacks run now, inside Close(), with
  // Unavailable "cancelled") and starts closing the libuv handles. Idempotent. Must
  // not be called from inside one of this client's callbacks' destructors; calling it
  // from a callback is fine.
  void Close();
  bool closed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace firewatch::net
