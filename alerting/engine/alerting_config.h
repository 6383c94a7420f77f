// The alerting part of a collector's config file: who gets paged (contacts), over what
// (channels), when (schedules, escalation_policies) and about which alerts (route,
// inhibit_rules), plus message settings. All keys live at the top level of the
// collector's YAML, beside `collector:`; docs/configuration.md is the reference.
//
//   contacts:
//     - name: alice
//       email: alice@example.com
//       phone: "+15550100"
//       channels: [sms, email]   # failover order when a channel fails for good
//   channels: [...]              # docs/notifiers.md
//   schedules: [...]             # docs/oncall.md
//   escalation_policies: [...]   # docs/oncall.md
//   route: {...}                 # docs/routing.md
//   inhibit_rules: [...]
//   alerting:
//     external_url: http://collector-a.example:9760   # links in messages
//     runbooks:                                        # text added to emails, per alertname
//       SourceDown: "Check the host's power and network; see wiki/runbooks/host-down"
//     retry_base: 10s          # first retry within this (full jitter), doubling
//     retry_max_delay: 5m
//     max_attempts: 4          # per channel, then fail over to the contact's next one
//     sms_per_contact_per_hour: 20   # over it, pages are held and then summarised
//     outbox_retention: 30d    # delivered/failed/cancelled pages kept this long (1d..3650d)
//     reopen_window: 2m        # a group firing again this soon reopens its incident
//     ack_secret_file: ack.key # hex key (like keygen output) signing email ack links;
//                              # default: <data_dir>/ack.key, made on first start. Never
//                              # a heartbeat key (every agent host has those)
//     ack_secret_previous_files: [old-ack.key]  # still accepted, never used to sign: keep
//                              # for ack_link_ttl after a rotation, then remove
//     ack_link_ttl: 24h        # how long an email ack link stays valid
//     twilio_inbound_url: https://collector-a.example/api/v1/twilio/inbound
//                              # the URL Twilio calls for SMS replies (signature input)
//
// Without a `channels:` key alerting is disabled and pages go to the local channel.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "firewatch/config/yaml_reader.h"
#include "notify/channel_config.h"
#include "route/routing_config.h"
#include "schedule/oncall_config.h"

namespace firewatch::alerting {

struct Contact {
  std::string name;
  std::string email;
  std::string phone;                  // E.164
  std::vector<std::string> channels;  // failover order (channel names)
};

struct AlertingConfig {
  bool enabled = false;
  std::vector<Contact> contacts;
  std::vector<notify::ChannelConfig> channels;
  schedule::OnCallConfig oncall;
  route::RoutingConfig routing;
  std::string external_url;
  std::map<std::string, std::string> runbooks;  // alertname -> text
  // Outbox retry policy for every channel (alerting.retry_base, .retry_max_delay,
  // .max_attempts) and SMS rate limit per contact (alerting.sms_per_contact_per_hour).
  Duration retry_base = std::chrono::seconds(10);
  Duration retry_max_delay = std::chrono::minutes(5);
  uint64_t max_attempts = 4;
  uint64_t sms_per_contact_per_hour = 20;
  // How long final outbox rows (sent, failed, cancelled, summarized) and their attempts
  // are kept (alerting.outbox_retention); older ones are pruned hourly.
  Duration outbox_retention = std::chrono::hours(24 * 30);
  // Flap damping (alerting.reopen_window, 0s..24h): a group that fires again within this
  // long after its incident resolved reopens that incident (same id, escalation resumes
  // where it was, step contacts already paged are not paged again) instead of opening a
  // new one. 0s: every new outage is a new incident. docs/routing.md, "Incident life".
  Duration reopen_window = std::chrono::minutes(2);
  // Email ack links (alerting.ack_secret_file, read and hex-decoded at load; empty = the
  // collector's own <data_dir>/ack.key), the keys of a rotation still accepted
  // (alerting.ack_secret_previous_files) and the links' lifetime (alerting.ack_link_ttl).
  std::string ack_secret_file;
  std::vector<uint8_t> ack_secret;
  std::vector<std::string> ack_secret_previous_files;
  std::vector<std::vector<uint8_t>> ack_previous_secrets;
  Duration ack_link_ttl = std::chrono::hours(24);
  // The full URL Twilio posts SMS replies to (alerting.twilio_inbound_url), used verbatim
  // when validating X-Twilio-Signature. Empty: the inbound endpoint is not registered.
  std::string twilio_inbound_url;

  const Contact* FindContact(const std::string& name) const;
  const notify::ChannelConfig* FindChannel(const std::string& name) const;
};

// Reads every alerting key of `top` (marking them used). Errors go to top.errors().
void ReadAlertingConfig(config::MapReader& top, const std::string& base_dir, AlertingConfig& out);

// The address a contact is reached at on a channel of `type` ("smtp" -> email,
// "twilio"/"http_sms" -> phone, others -> the channel's own URL: empty).
std::string AddressFor(const Contact& c, const std::string& channel_type);

}  // namespace firewatch::alerting
