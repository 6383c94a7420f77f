// Scheduled checks in the collector's config (the `checks:` section; docs/checks.md,
// docs/configuration.md): healthchecks.io-style jobs that ping /ping/<uuid>.
//
//   checks:
//     ping_key: 9aXc0kVq3nZt5rLw1pYb2s   # optional: enables /ping/<ping_key>/<slug>
//     pings_per_minute: 60               # per check; more are answered 429
//     jobs:
//       - name: nightly-backup           # source id "check/nightly-backup"
//         uuid: 5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278
//         slug: nightly-backup           # optional
//         schedule: "30 2 * * *"         # cron (collector/cron/cron.h), or `period: 1h`
//         tz: Europe/Berlin              # for schedule; default UTC
//         grace: 1h                      # default 1h
//         labels: {service: backup}
//
// The uuid is the secret that lets a job report (healthchecks' model): it never appears in
// source ids, the API, the status page, logs or peer sync. That is why a check has a
// `name` of its own rather than being called by its uuid.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "firewatch/config/yaml_reader.h"
#include "tracker/deadline.h"

namespace firewatch::collector {

inline constexpr size_t kMaxChecks = 10'000;

struct CheckSpec {
  std::string name;      // [a-z0-9._-], 1..64
  std::string uuid;      // lower-case canonical 8-4-4-4-12 hex
  std::string slug;      // optional, [a-z0-9_-], 1..100
  Duration period{};     // zero when `schedule` is used
  std::string schedule;  // cron expression as written; empty when `period` is used
  std::string tz = "UTC";
  Duration grace = std::chrono::hours(1);
  std::map<std::string, std::string> labels;
  std::shared_ptr<const DeadlinePolicy> policy;  // built from the above
  std::string source_id() const { return "check/" + name; }
};

struct ChecksConfig {
  std::string ping_key;  // empty: slug URLs are off
  uint64_t pings_per_minute = 60;
  std::vector<CheckSpec> jobs;
};

// Reads `checks:` from `top` (absent = none). Errors name the file, line and key.
void ReadChecksConfig(config::MapReader& top, ChecksConfig& out);

// The deadline sources the tracker needs for `checks` (labels get check=<name>).
std::vector<DeadlineSource> DeadlineSourcesOf(const ChecksConfig& checks);

// "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278" (any case) -> lower case; nullopt otherwise.
std::optional<std::string> CanonicalUuid(std::string_view text);

}  // namespace firewatch::collector
