// SMS through Twilio's Messages API.
//
// Wire format: POST {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json, HTTP Basic
// auth account_sid:auth_token, Content-Type application/x-www-form-urlencoded, fields
// To (Notification.address, E.164), From (config), Body (Notification.text, cut to 1600
// characters, Twilio's limit).
//
// Classification: 201 (and any 2xx) -> Delivered with the message SID; 429, 408, 5xx and
// network errors -> Retryable; other 4xx (400 with error 21211 "invalid To", 401 bad
// credentials...) -> Permanent. The detail carries Twilio's "code" and "message".
#pragma once

#include <string>
#include <vector>

#include "notify/http_call.h"
#include "notify/notifier.h"

namespace firewatch::alerting::notify {

struct TwilioConfig {
  std::string base_url = "https://api.twilio.com";  // no trailing slash
  std::string account_sid;
  std::string auth_token;  // read from auth_token_file by the config loader
  // auth_token_previous_files: accepted on the inbound webhook only, during a rotation.
  std::vector<std::string> previous_auth_tokens;
  std::string from;        // E.164 sender number
  http_client::TransportOptions transport;
};

class TwilioNotifier final : public Notifier {
 public:
  TwilioNotifier(std::string name, TwilioConfig config);
  SendResult Send(const Notification& n) override;
  const std::string& name() const override { return name_; }
  const std::string& type() const override { return type_; }

 private:
  std::string name_;
  std::string type_ = "twilio";
  TwilioConfig config_;
};

// Twilio's message size limit, in characters.
inline constexpr size_t kTwilioMaxBodyChars = 1600;

}  // namespace firewatch::alerting::notify
