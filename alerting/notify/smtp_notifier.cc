#include "notify/smtp_notifier.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>

#include <unistd.h>

#include "firewatch/protocol/keyring.h"
#include "firewatch/random_id.h"
#include "firewatch/http_client.h"
#include "notify/text_util.h"

namespace firewatch::alerting::notify {

namespace {

struct Upload {
  std::string_view data;
  size_t pos = 0;
};

size_t ReadUpload(char* buf, size_t size, size_t nmemb, void* user) {
  auto* up = static_cast<Upload*>(user);
  size_t n = std::min(size * nmemb, up->data.size() - up->pos);
  std::memcpy(buf, up->data.data() + up->pos, n);
  up->pos += n;
  return n;
}

size_t DiscardBody(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

std::string EmailBody(const Notification& n) {
  std::string body = n.text;
  if (!n.ack_url.empty()) {
    if (!body.empty() && body.back() != '\n') body += "\n";
    body += "\nAcknowledge: " + n.ack_url + "\n";
  }
  return body;
}

SmtpNotifier::SmtpNotifier(std::string name, SmtpConfig config, const Clock& clock)
    : name_(std::move(name)), config_(std::move(config)), clock_(clock) {}

std::string SmtpNotifier::Render(const Notification& n) const {
  EmailParts parts;
  parts.from_address = config_.from;
  parts.from_name = config_.from_name;
  parts.to_address = n.address;
  parts.subject = n.subject;
  parts.body = EmailBody(n);
  parts.encoding = config_.encoding;
  // Derived from the key, so a resend is recognisable; random only without a key.
  const std::string id =
      n.idempotency_key.empty() ? RandomHex(16) : MessageIdLocalPart(n.idempotency_key);
  return BuildEmail(parts, clock_.WallNow(), id);
}

SendResult SmtpNotifier::Send(const Notification& n) {
  if (!IsValidMailAddress(n.address)) {
    return SendResult::Permanent("invalid e-mail address '" + OneLine(n.address) + "'");
  }
  const std::string message = Render(n);
  http_client::EnsureCurlInitialized();
  std::unique_ptr<CURL, CurlDeleter> c(curl_easy_init());
  if (!c) return SendResult::Retryable("curl_easy_init failed");
  CURL* h = c.get();

  std::string url = config_.url;
  if (!config_.hello_name.empty()) url += "/" + config_.hello_name;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  http_client::ApplyTransport(h, config_.transport);
  if (config_.url.rfind("smtps://", 0) != 0) {
    long use_ssl = CURLUSESSL_NONE;
    if (config_.starttls == SmtpConfig::StartTls::kRequired) use_ssl = CURLUSESSL_ALL;
    if (config_.starttls == SmtpConfig::StartTls::kOptional) use_ssl = CURLUSESSL_TRY;
    curl_easy_setopt(h, CURLOPT_USE_SSL, use_ssl);
  }
  if (!config_.username.empty()) {
    curl_easy_setopt(h, CURLOPT_USERNAME, config_.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, config_.password.c_str());
  }
  const std::string mail_from = "<" + config_.from + ">";
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, mail_from.c_str());
  std::unique_ptr<curl_slist, SlistDeleter> rcpt(
      curl_slist_append(nullptr, ("<" + n.address + ">").c_str()));
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt.get());

  Upload up{message, 0};
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, ReadUpload);
  curl_easy_setopt(h, CURLOPT_READDATA, &up);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, DiscardBody);

  CURLcode rc = curl_easy_perform(h);
  long reply = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply);
  std::string detail = rc == CURLE_OK ? "SMTP " + std::to_string(reply) + " accepted"
                                      : std::string(curl_easy_strerror(rc));
  if (rc != CURLE_OK && errbuf[0] != '\0') detail += ": " + std::string(errbuf);
  if (rc != CURLE_OK && reply > 0) detail += " (last reply " + std::to_string(reply) + ")";
  if (rc == CURLE_OK) return SendResult::Delivered(detail);
  if (reply >= 500 && reply <= 599) return SendResult::Permanent(detail);
  if (reply >= 400 && reply <= 499) return SendResult::Retryable(detail);
  return http_client::IsPermanentCurlError(rc) ? SendResult::Permanent(detail) : SendResult::Retryable(detail);
}

}  // namespace firewatch::alerting::notify
