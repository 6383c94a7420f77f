#include "notify/twilio_notifier.h"

#include <nlohmann/json.hpp>

#include "firewatch/text/url.h"
#include "notify/text_util.h"

namespace firewatch::alerting::notify {

TwilioNotifier::TwilioNotifier(std::string name, TwilioConfig config)
    : name_(std::move(name)), config_(std::move(config)) {}

SendResult TwilioNotifier::Send(const Notification& n) {
  if (n.address.empty()) return SendResult::Permanent("no phone number");
  http_client::Request req;
  req.method = "POST";
  req.url = config_.base_url + "/2010-04-01/Accounts/" + text::UrlEncode(config_.account_sid) +
            "/Messages.json";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
  req.body = "To=" + text::UrlEncode(n.address) + "&From=" + text::UrlEncode(config_.from) +
             "&Body=" + text::UrlEncode(Utf8TruncateChars(n.text, kTwilioMaxBodyChars));
  req.basic_user = config_.account_sid;
  req.basic_password = config_.auth_token;
  http_client::Response r = http_client::Perform(req, config_.transport);
  SendResult res = ClassifyHttp(r, [](long s) { return s >= 200 && s <= 299; });
  if (!r.transport_ok) return res;
  // Replace the raw body with Twilio's fields when it is the JSON Twilio documents.
  auto j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    std::string detail = "HTTP " + std::to_string(r.status);
    if (res.ok() && j.contains("sid") && j["sid"].is_string()) {
      detail += " sid " + j["sid"].get<std::string>();
    }
    if (j.contains("code") && j["code"].is_number_integer()) {
      detail += " Twilio error " + std::to_string(j["code"].get<int64_t>());
    }
    if (j.contains("message") && j["message"].is_string()) {
      detail += ": " + j["message"].get<std::string>().substr(0, 200);
    }
    res.detail = detail;
  }
  return res;
}

}  // namespace firewatch::alerting::notify
