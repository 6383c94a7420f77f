// E-mail over SMTP with libcurl: smtp:// with STARTTLS (required, optional or off) or
// smtps:// (implicit TLS), optional AUTH, one recipient per Send (Notification.address).
//
// Classification: the reply code of the failing SMTP command decides when there is one
// (4xx -> Retryable, 5xx such as 550 or 535 -> Permanent); otherwise connection refused,
// DNS failures and timeouts are Retryable, while STARTTLS not offered when required,
// TLS verification failures and bad URLs are Permanent. An address that is not a
// plausible addr-spec is Permanent without connecting.
//
// Message-ID: derived from Notification.idempotency_key (MessageIdLocalPart), so a resend
// after a crash carries the first copy's Message-ID; random only when the key is empty.
// The whole attempt, a server that never answers included, is bounded by
// transport.timeout.
#pragma once

#include <memory>
#include <string>

#include "firewatch/clock.h"
#include "notify/email_message.h"
#include "notify/http_call.h"
#include "notify/notifier.h"

namespace firewatch::alerting::notify {

struct SmtpConfig {
  enum class StartTls { kRequired, kOptional, kOff };
  std::string url;           // smtp://host[:port] or smtps://host[:port]
  StartTls starttls = StartTls::kRequired;  // smtp:// only; smtps:// is TLS from the start
  std::string from;          // envelope and header sender, addr-spec
  std::string from_name;     // optional display name
  std::string username;      // AUTH when not empty
  std::string password;      // read from password_file by the config loader
  std::string hello_name;    // EHLO name; empty = libcurl's default
  TransferEncoding encoding = TransferEncoding::kQuotedPrintable;
  http_client::TransportOptions transport;
};

class SmtpNotifier final : public Notifier {
 public:
  // `clock` (for the Date header) must outlive the notifier.
  SmtpNotifier(std::string name, SmtpConfig config, const Clock& clock);

  SendResult Send(const Notification& n) override;
  const std::string& name() const override { return name_; }
  const std::string& type() const override { return type_; }

  // The message Send would upload for `n` (exposed for tests and `test-page --dry-run`).
  std::string Render(const Notification& n) const;

 private:
  std::string name_;
  std::string type_ = "smtp";
  SmtpConfig config_;
  const Clock& clock_;
};

// The e-mail body for `n`: its text, then the ack link when there is one.
std::string EmailBody(const Notification& n);

}  // namespace firewatch::alerting::notify
