#include "firewatch/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <string_view>

namespace firewatch::http_client {

namespace {

struct Sink {
  std::string* body;
  size_t max;
  std::vector<std::pair<std::string, std::string>>* headers;
};

size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t n = size * nmemb;
  if (sink->body->size() < sink->max) {
    sink->body->append(data, std::min(n, sink->max - sink->body->size()));
  }
  return n;
}

// "Name: value\r\n" -> (lower-cased name, trimmed value); status lines are skipped.
size_t WriteHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t n = size * nmemb;
  std::string_view line(data, n);
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos && sink->headers->size() < 100) {
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() &&
           (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    sink->headers->emplace_back(std::move(name), std::string(value));
  }
  return n;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

void EnsureCurlInitialized() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

void ApplyTransport(void* handle, const TransportOptions& t) {
  CURL* c = static_cast<CURL*>(handle);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(
      c, CURLOPT_CONNECTTIMEOUT_MS,
      static_cast<long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(t.connect_timeout).count()));
  curl_easy_setopt(
      c, CURLOPT_TIMEOUT_MS,
      static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(t.timeout).count()));
  if (!t.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, t.ca_file.c_str());
  if (t.insecure_skip_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
}

Response Perform(const Request& req, const TransportOptions& transport) {
  EnsureCurlInitialized();
  Response r;
  std::unique_ptr<CURL, CurlDeleter> c(curl_easy_init());
  if (!c) {
    r.curl_code = CURLE_FAILED_INIT;
    r.error = "curl_easy_init failed";
    return r;
  }
  CURL* h = c.get();
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  ApplyTransport(h, transport);

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const auto& [name, value] : req.headers) {
    headers.reset(curl_slist_append(headers.release(), (name + ": " + value).c_str()));
  }
  // libcurl adds "Expect: 100-continue" to larger POSTs; gateways rarely handle it well.
  headers.reset(curl_slist_append(headers.release(), "Expect:"));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

  if (req.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    const bool body_method = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
    if (!req.body.empty() || body_method) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
  }
  if (!req.basic_user.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, req.basic_user.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, req.basic_password.c_str());
  }
  Sink sink{&r.body, req.max_response_body, &r.headers};
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);

  CURLcode rc = curl_easy_perform(h);
  r.curl_code = rc;
  if (rc != CURLE_OK) {
    r.error = std::string(curl_easy_strerror(rc));
    if (errbuf[0] != '\0') r.error += ": " + std::string(errbuf);
    return r;
  }
  r.transport_ok = true;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  return r;
}

bool IsPermanentCurlError(int curl_code) {
  switch (curl_code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_LOGIN_DENIED:
    case CURLE_USE_SSL_FAILED:
      return true;
    default:
      return false;
  }
}

std::string Detail(const Response& r) {
  if (!r.transport_ok) return r.error;
  std::string d = "HTTP " + std::to_string(r.status);
  if (!r.body.empty()) d += ": " + r.body.substr(0, 200);
  return d;
}

}  // namespace firewatch::http_client
