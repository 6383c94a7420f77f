#include "http.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>

#include "firewatch/secret_file.h"

#include "firewatch/http_client.h"

namespace firewatch::ctl {

namespace {

// A collector's answers are small JSON documents; status with many sources is the largest.
constexpr size_t kMaxReplyBody = 64 * 1024 * 1024;

std::string g_token;  // set once by main(), before any call

Result<std::string> FirstLine(const std::string& path) {
  auto text = ReadSecretFile(path, "token");
  if (!text.ok()) return text.status();
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    size_t start = 0;
    while (start < line.size() && std::isspace(static_cast<unsigned char>(line[start]))) ++start;
    line = line.substr(start);
    if (!line.empty() && line[0] != '#') return line;
  }
  return Status::InvalidArgument("token file " + path + " has no token");
}

}  // namespace

void SetApiToken(std::string token) { g_token = std::move(token); }

Result<std::string> ResolveApiToken(const std::string& token_file) {
  if (!token_file.empty()) return FirstLine(token_file);
  if (const char* env = std::getenv("FIREWATCH_TOKEN"); env != nullptr && *env != '\0') {
    std::string token(env);
    // `export FIREWATCH_TOKEN=$(cat token-file)` of a file with comment lines: refused
    // here with the fix, not sent as a header the collector can only answer 400 to.
    for (char c : token) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return Status::InvalidArgument(
            "$FIREWATCH_TOKEN holds a line break or control character (a whole token file "
            "with its comments?): put only the token in it, or use --token-file FILE");
      }
    }
    return token;
  }
  if (const char* file = std::getenv("FIREWATCH_TOKEN_FILE"); file != nullptr && *file != '\0') {
    return FirstLine(file);
  }
  return std::string();
}

std::string ApiReply::Message() const {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_discarded() && doc.is_object() && doc.contains("error") && doc["error"].is_string()) {
    return doc["error"].get<std::string>();
  }
  return body;
}

std::string ApiUrl(const std::string& collector_url, const std::string& path) {
  std::string url = collector_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + path;
}

ApiReply CallApi(const std::string& method, const std::string& collector_url,
                 const std::string& path, const std::string& json_body, int timeout_ms) {
  ApiReply reply;
  reply.url = ApiUrl(collector_url, path);
  http_client::Request req;
  req.method = method;
  req.url = reply.url;
  req.body = json_body;
  req.max_response_body = kMaxReplyBody;
  const bool body_method = method == "POST" || method == "PUT" || method == "PATCH";
  if (!json_body.empty() || body_method) req.headers.emplace_back("Content-Type", "application/json");
  if (!g_token.empty()) req.headers.emplace_back("Authorization", "Bearer " + g_token);
  http_client::TransportOptions transport;
  transport.connect_timeout = std::chrono::milliseconds(timeout_ms);
  transport.timeout = std::chrono::milliseconds(timeout_ms);
  const http_client::Response r = http_client::Perform(req, transport);
  reply.reached = r.transport_ok;
  reply.status = r.status;
  reply.body = r.body;
  reply.error = r.error;
  return reply;
}

bool ReplyOk(const ApiReply& reply, const char* what, long want_status) {
  if (!reply.reached) {
    std::fprintf(stderr, "%s: cannot reach %s: %s (is the collector running? see --collector)\n",
                 what, reply.url.c_str(), reply.error.c_str());
    return false;
  }
  if (reply.status != want_status) {
    std::fprintf(stderr, "%s: %s answered %ld: %s\n", what, reply.url.c_str(), reply.status,
                 reply.Message().c_str());
    if (reply.status == 401) {
      std::fprintf(stderr, "%s: %s\n", what,
                   g_token.empty()
                       ? "no operator token: set FIREWATCH_TOKEN or use --token-file (make one "
                         "with `firewatchctl token create NAME`)"
                       : "the collector does not know this token: is its hash in the "
                         "collector's api.operators (or operators_file), and was it reloaded?");
    }
    return false;
  }
  return true;
}

}  // namespace firewatch::ctl
