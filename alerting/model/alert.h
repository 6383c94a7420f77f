// The alerting vocabulary shared by every stage of the pipeline (Alertmanager's words
// where they fit): an Alert is one firing or resolved condition with labels; a
// Notification is one message to one contact over one channel.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace firewatch::alerting {

using LabelSet = std::map<std::string, std::string>;  // sorted, keys unique

// Stable 64-bit fingerprint of a label set (FNV-1a over "k\xffv\xff" pairs), printed as
// 16 lowercase hex digits. Same labels, same fingerprint, on every collector.
uint64_t Fingerprint(const LabelSet& labels);
std::string FingerprintHex(const LabelSet& labels);

enum class AlertStatus : uint8_t { kFiring, kResolved };

struct Alert {
  LabelSet labels;        // alertname, source, dc, ... (identity)
  LabelSet annotations;   // summary, description, runbook (not identity)
  int64_t starts_at_ms = 0;
  int64_t ends_at_ms = 0;  // 0 while firing
  AlertStatus status = AlertStatus::kFiring;
  std::string generator_url;  // link to the collector's page for the source
};

// What a notifier is asked to deliver. Channels render it in their own format.
struct Notification {
  std::string idempotency_key;  // stable per (incident, step, contact, channel, kind)
  std::string incident_id;      // short, human-typeable (also the ack code in SMS)
  std::string kind;             // "trigger", "resolve", "acknowledge", "test"
  std::string contact;          // contact name from config
  std::string address;          // e-mail address, E.164 phone number, URL...
  std::string subject;          // one line: what, where
  std::string text;             // full text (email body, SMS text)
  std::string ack_url;          // signed link, may be empty
  std::vector<Alert> alerts;    // the grouped alerts this notification is about
  LabelSet group_labels;        // the group_by labels of the group
};

// The outcome of one delivery attempt, as notifiers report it (notifiers stay dumb:
// retries, backoff, failover and bookkeeping live in the outbox).
struct SendResult {
  enum class Kind : uint8_t { kDelivered, kRetryable, kPermanent };
  Kind kind = Kind::kDelivered;
  std::string detail;  // for the attempt record and logs: status code, server reply
  static SendResult Delivered(std::string d = "") { return {Kind::kDelivered, std::move(d)}; }
  static SendResult Retryable(std::string d) { return {Kind::kRetryable, std::move(d)}; }
  static SendResult Permanent(std::string d) { return {Kind::kPermanent, std::move(d)}; }
  bool ok() const { return kind == Kind::kDelivered; }
};

}  // namespace firewatch::alerting
