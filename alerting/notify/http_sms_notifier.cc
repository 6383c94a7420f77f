#include "notify/http_sms_notifier.h"

#include <algorithm>

#include "firewatch/text/json_escape.h"
#include "firewatch/text/url.h"
#include "notify/text_util.h"

namespace firewatch::alerting::notify {

HttpSmsNotifier::HttpSmsNotifier(std::string name, HttpSmsConfig config)
    : name_(std::move(name)), config_(std::move(config)) {}

SendResult HttpSmsNotifier::Send(const Notification& n) {
  http_client::Request req;
  req.method = config_.method;
  req.url = ExpandTemplate(config_.url, n, [](const std::string& v) { return text::UrlEncode(v); });
  bool has_content_type = false;
  for (const auto& [k, v] : config_.headers) {
    std::string lower = k;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (lower == "content-type") has_content_type = true;
    req.headers.emplace_back(k, ExpandTemplate(v, n, [](const std::string& s) { return OneLine(s); }));
  }
  if (config_.method != "GET") {
    if (config_.body_encoding == HttpSmsConfig::BodyEncoding::kJson) {
      req.body = ExpandTemplate(config_.body_template, n,
                                [](const std::string& v) { return text::JsonEscape(v); });
      if (!has_content_type) req.headers.emplace_back("Content-Type", "application/json");
    } else {
      req.body = ExpandTemplate(config_.body_template, n,
                                [](const std::string& v) { return text::UrlEncode(v); });
      if (!has_content_type) {
        req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
      }
    }
  }
  if (!config_.bearer_token.empty()) {
    req.headers.emplace_back("Authorization", "Bearer " + config_.bearer_token);
  } else if (!config_.username.empty()) {
    req.basic_user = config_.username;
    req.basic_password = config_.password;
  }
  http_client::Response r = http_client::Perform(req, config_.transport);
  const auto& ok = config_.success_status;
  return ClassifyHttp(r, [&ok](long s) {
    if (ok.empty()) return s >= 200 && s <= 299;
    return std::find(ok.begin(), ok.end(), s) != ok.end();
  });
}

}  // namespace firewatch::alerting::notify
