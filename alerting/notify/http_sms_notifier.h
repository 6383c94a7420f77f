// A generic HTTP SMS gateway: one request per message, shaped by config.
//
// The URL, the header values and the body template may contain the placeholders {to}
// (Notification.address), {text} (Notification.text) and {incident}
// (Notification.incident_id). In the URL they are always percent-encoded; in the body
// they are percent-encoded (body_encoding: form) or JSON-string-escaped without the
// quotes (body_encoding: json, so the template writes "{text}" inside quotes); in
// header values they are inserted with CR/LF removed. Unknown {names} stay as they are.
//
// Classification: a status in success_status (default: any 2xx) -> Delivered; 408, 429,
// 5xx and network errors -> Retryable; anything else -> Permanent.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "notify/http_call.h"
#include "notify/notifier.h"

namespace firewatch::alerting::notify {

struct HttpSmsConfig {
  enum class BodyEncoding { kForm, kJson };
  std::string method = "POST";  // GET, POST or PUT
  std::string url;
  std::map<std::string, std::string> headers;
  std::string body_template;  // empty for GET
  BodyEncoding body_encoding = BodyEncoding::kForm;
  std::vector<long> success_status;  // empty = 200..299
  std::string username;              // basic auth when not empty
  std::string password;              // from password_file
  std::string bearer_token;          // from bearer_token_file
  http_client::TransportOptions transport;
};

class HttpSmsNotifier final : public Notifier {
 public:
  HttpSmsNotifier(std::string name, HttpSmsConfig config);
  SendResult Send(const Notification& n) override;
  const std::string& name() const override { return name_; }
  const std::string& type() const override { return type_; }

 private:
  std::string name_;
  std::string type_ = "http_sms";
  HttpSmsConfig config_;
};

// Replaces {to}, {text} and {incident} in `tmpl`, each value passed through `escape`.
template <typename Escape>
std::string ExpandTemplate(const std::string& tmpl, const Notification& n, Escape escape) {
  std::string out;
  for (size_t i = 0; i < tmpl.size();) {
    if (tmpl[i] == '{') {
      size_t close = tmpl.find('}', i);
      if (close != std::string::npos) {
        std::string key = tmpl.substr(i + 1, close - i - 1);
        const std::string* value = key == "to"         ? &n.address
                                   : key == "text"     ? &n.text
                                   : key == "incident" ? &n.incident_id
                                                       : nullptr;
        if (value != nullptr) {
          out += escape(*value);
          i = close + 1;
          continue;
        }
      }
    }
    out += tmpl[i++];
  }
  return out;
}

}  // namespace firewatch::alerting::notify
