// The `channels:` config section: one entry per delivery channel.
//
//   channels:
//     - name: ops-mail
//       type: smtp            # smtp | twilio | http_sms | webhook | pagerduty
//       url: smtp://mail.example.com:587
//       ...                   # type-specific keys, see docs/notifiers.md
//       rate_limit: {count: 100, per: 1m}   # optional, whole channel
//
// Strict like every firewatch config: unknown keys, wrong types, missing required keys,
// duplicate names and unreadable secret files are errors with file:line. Secrets are
// only read from files (*_file keys); relative paths resolve against `base_dir` (the
// directory of the config file). Secret values never appear in error messages.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "firewatch/config/yaml_reader.h"
#include "firewatch/status.h"
#include "notify/http_sms_notifier.h"
#include "notify/pagerduty_notifier.h"
#include "notify/smtp_notifier.h"
#include "notify/twilio_notifier.h"
#include "notify/webhook_notifier.h"

namespace firewatch::alerting::notify {

// `rate_limit: {count: 100, per: 1m}`: at most `count` sends per `per` over the whole
// channel (all contacts together); the outbox holds the excess and sends it as summaries.
struct ChannelRateLimit {
  int count = 0;                  // 1..1000000
  std::chrono::milliseconds per{0};  // 1s..1d
};

struct ChannelConfig {
  std::string name;  // unique, [a-z0-9_-]+, used by routes and escalation steps
  std::string type;  // "smtp", "twilio", "http_sms", "webhook", "pagerduty"
  std::variant<SmtpConfig, TwilioConfig, HttpSmsConfig, WebhookConfig, PagerDutyConfig> settings;
  std::optional<ChannelRateLimit> rate_limit;  // none: only per-contact limits apply
};

// Parses a `channels:` sequence node. Errors go to `errors` (file:line each); the
// returned vector holds the channels that parsed cleanly. A null node yields no
// channels and no error.
std::vector<ChannelConfig> ParseChannels(config::Errors& errors, const YAML::Node& channels,
                                         const std::string& base_dir);

// Loads a file whose top level holds only `channels:` (used by tests and tools).
Result<std::vector<ChannelConfig>> LoadChannelsFile(const std::string& path);

}  // namespace firewatch::alerting::notify
