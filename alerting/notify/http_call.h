// The notifiers' classification of one HTTP attempt made with firewatch/http_client.h
// (the one synchronous HTTP client, shared with peer sync and firewatchctl).
#pragma once

#include "firewatch/http_client.h"
#include "model/alert.h"

namespace firewatch::alerting::notify {

// The common HTTP classification: `ok_status(status)` -> Delivered; 408, 429 and 5xx ->
// Retryable; any other status -> Permanent; transport errors -> Retryable unless
// http_client::IsPermanentCurlError. `detail` is http_client::Detail(r): "HTTP <status>:
// <first 200 bytes of body>" or the curl error.
template <typename OkStatus>
SendResult ClassifyHttp(const http_client::Response& r, OkStatus ok_status) {
  const std::string detail = http_client::Detail(r);
  if (!r.transport_ok) {
    return http_client::IsPermanentCurlError(r.curl_code) ? SendResult::Permanent(detail)
                                                          : SendResult::Retryable(detail);
  }
  if (ok_status(r.status)) return SendResult::Delivered(detail);
  if (r.status == 408 || r.status == 429 || r.status >= 500) return SendResult::Retryable(detail);
  return SendResult::Permanent(detail);
}

}  // namespace firewatch::alerting::notify
