// The notifier interface: one delivery attempt of one Notification over one channel.
//
// Notifiers are dumb on purpose (like Alertmanager's integrations): Send() makes exactly
// one attempt, synchronously, bounded by the channel's connect and total timeouts, and
// reports whether it worked and, if not, whether trying again could help. Retries,
// backoff, failover to another channel, rate limits and bookkeeping live in the outbox.
#pragma once

#include <string>

#include "model/alert.h"

namespace firewatch::alerting::notify {

class Notifier {
 public:
  virtual ~Notifier() = default;

  // Delivers `n` once. Blocks the calling thread for at most about the channel's total
  // timeout (plus DNS). Never throws. Returns
  //   Delivered  - the far end accepted the message (SMTP 250 after DATA, HTTP 2xx...);
  //   Retryable  - a transient failure: network error, timeout, SMTP 4xx, HTTP 429/5xx;
  //   Permanent  - retrying the same channel will not help: SMTP 5xx, HTTP 4xx other
  //                than 429, bad address, TLS verification failure, misconfiguration.
  // `detail` names the cause (status code, server reply) for logs and attempt records;
  // it never contains secrets. Thread-safe: Send may run on several threads at once.
  virtual SendResult Send(const Notification& n) = 0;

  // The channel's configured name ("ops-mail") and its type ("smtp", "twilio",
  // "http_sms", "webhook", "pagerduty").
  virtual const std::string& name() const = 0;
  virtual const std::string& type() const = 0;
};

}  // namespace firewatch::alerting::notify
