// The one HTTP call firewatchctl makes to a collector's API (firewatch/http_client.h).
#pragma once

#include <string>

#include "firewatch/status.h"

namespace firewatch::ctl {

struct ApiReply {
  bool reached = false;  // false: no HTTP answer at all (refused, timeout, bad URL)
  std::string error;     // libcurl's reason when !reached
  long status = 0;
  std::string body;
  std::string url;       // the full URL called, for messages
  // The API's {"error": "..."} text, else the body as is.
  std::string Message() const;
};

// `collector_url` without trailing '/' + `path` ("/api/v1/silences").
std::string ApiUrl(const std::string& collector_url, const std::string& path);

// The operator token every call sends as "Authorization: Bearer <token>" (empty: none).
// Set once by main() before any call.
void SetApiToken(std::string token);
// The token firewatchctl uses: the first line of `token_file` when given, else
// $FIREWATCH_TOKEN, else the first line of the file named by $FIREWATCH_TOKEN_FILE;
// empty when none. Fails naming the file when it cannot be read or is empty.
Result<std::string> ResolveApiToken(const std::string& token_file);

// Calls `method` on collector_url + path with the operator token, if any. A non-empty
// `json_body` is sent as application/json; POST, PUT and PATCH always declare
// application/json (the collector refuses anything else on routes that change state).
ApiReply CallApi(const std::string& method, const std::string& collector_url,
                 const std::string& path, const std::string& json_body, int timeout_ms);

// Prints "<what>: cannot reach URL: reason" or "<what>: URL answered N: message" to
// stderr when the reply is not `want_status` (with a hint about tokens on 401); returns
// whether it was.
bool ReplyOk(const ApiReply& reply, const char* what, long want_status = 200);

}  // namespace firewatch::ctl
