#include "http.h"

#include <curl/curl.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>

#include "firewatch/secret_file.h"

namespace firewatch::ctl {

namespace {

size_t Append(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

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
    return std::string(env);
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

std::string PathSegment(const std::string& text) {
  char* escaped = curl_easy_escape(nullptr, text.c_str(), static_cast<int>(text.size()));
  std::string out = escaped != nullptr ? escaped : text;
  curl_free(escaped);
  return out;
}

ApiReply CallApi(const std::string& method, const std::string& collector_url,
                 const std::string& path, const std::string& json_body, int timeout_ms) {
  ApiReply reply;
  reply.url = ApiUrl(collector_url, path);
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    reply.error = "cannot initialise libcurl";
    return reply;
  }
  curl_slist* headers = nullptr;
  curl_easy_setopt(curl, CURLOPT_URL, reply.url.c_str());
  if (method != "GET") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  const bool body_method = method == "POST" || method == "PUT" || method == "PATCH";
  if (!json_body.empty() || body_method) {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json_body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(json_body.size()));
  }
  const std::string auth = "Authorization: Bearer " + g_token;
  if (!g_token.empty()) headers = curl_slist_append(headers, auth.c_str());
  if (headers != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    reply.reached = true;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  } else {
    reply.error = curl_easy_strerror(rc);
  }
  curl_easy_cleanup(curl);
  curl_slist_free_all(headers);
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
