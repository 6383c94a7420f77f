// firewatchctl subcommands. Each returns the process exit code (0 ok, 1 failure, 2 usage)
// and prints human-readable output; errors go to stderr.
#pragma once

#include <string>
#include <vector>

namespace firewatch::ctl {

// Writes a new random 32-byte key as hex to `out` (mode 0600). Refuses to overwrite an
// existing file unless `force`. "-" prints to stdout.
int Keygen(const std::string& out, bool force);

// Prints the sources a collector knows, DOWN first. `json` prints the raw API answer.
int Status(const std::string& collector_url, bool json, int timeout_ms);

// Prints a collector's incidents (GET /api/v1/incidents), newest first: open and acked
// ones, or every one kept with `all`; who was paged and at which escalation step, who
// acked. `json` prints the API's answer. Exit 0 also when there is none.
int Incidents(const std::string& collector_url, bool all, bool json, int timeout_ms);

// A bash completion script for these subcommands (and their aliases).
std::string BashCompletion(const std::vector<std::string>& subcommands);

// Validates a collector or agent config file (detected by its top-level keys).
int CheckConfig(const std::string& path);

// Acknowledges incident `id` on a collector (POST /api/v1/ack/{id}); the collector
// records the operator of the token as who acked.
int Ack(const std::string& collector_url, const std::string& id, int timeout_ms);

// Resolves incident `id` by hand (POST /api/v1/incidents/{id}/resolve) with an optional
// `comment`; the collector records the operator of the token as who resolved it. Prints
// a table line (or the API's JSON with `json`); "(already resolved ...)" when it was.
int Resolve(const std::string& collector_url, const std::string& id, const std::string& comment,
            bool json, int timeout_ms);

// `firewatchctl token create NAME`: a new operator token. Prints the token (or writes
// it to `token_file`, mode 0600, never replacing a file) and the config entry with its
// SHA-256 (or adds that entry to `operators_file`, creating it). Exit 2 for a bad name.
int TokenCreate(const std::string& name, const std::string& operators_file,
                const std::string& token_file);
// `firewatchctl token revoke WHO --operators-file FILE`: removes every token of operator
// WHO, or the one token whose token_sha256 starts with WHO (8+ hex digits).
int TokenRevoke(const std::string& who, const std::string& operators_file);

// Forgets source `source` on a collector (DELETE /api/v1/sources/{id}): it leaves the
// collector's memory and store, its pages resolve, and the collector's peers forget it
// too unless they heard it since. A source that is still sending comes back as new.
int Forget(const std::string& collector_url, const std::string& source, int timeout_ms);

// `firewatchctl silence add`: mutes alerts matching every matcher ("source=web-1",
// "dc=~dc1.*", Alertmanager syntax) from now until `until` (RFC 3339) or for `duration`
// ("2h"). Prints the new silence's id on stdout (a summary on stderr). The silence is
// checked as the collector will check it (route::ValidateSilence) before any request;
// a broad one (route::IsBroad: nothing but alertname pinned) needs `force`.
struct SilenceAddOptions {
  std::string collector_url;
  std::vector<std::string> matchers;
  std::string duration = "1h";
  std::string until;    // wins over duration when set
  std::string comment;  // the author is the token's operator
  bool force = false;   // send "force": true: mute broadly on purpose
  int timeout_ms = 5000;
};
int SilenceAdd(const SilenceAddOptions& options);
// Lists pending and active silences (`all`: expired ones too), soonest end first;
// `json` prints the API's answer.
int SilenceList(const std::string& collector_url, bool all, bool json, int timeout_ms);
// Expires silence `id` now (DELETE /api/v1/silences/{id}).
int SilenceExpire(const std::string& collector_url, const std::string& id, int timeout_ms);

// Maintenance windows (alerting/route/maintenance.h) on a collector, like silences:
// one-off from `start` (default now) for `duration` or until `until`; recurring when
// `cron` is set: each occurrence (cron in `time_zone`) lasts `duration`, the series runs
// until `until` or until expired. Checked locally (route::ValidateWindow) first.
struct MaintenanceAddOptions {
  std::string collector_url;
  std::vector<std::string> matchers;
  std::string start;
  std::string duration = "1h";
  std::string until;
  std::string cron;
  std::string time_zone = "UTC";
  std::string comment;
  bool force = false;
  int timeout_ms = 5000;
};
int MaintenanceAdd(const MaintenanceAddOptions& options);
// Lists windows with their state and current/next occurrence (`all`: expired too).
int MaintenanceList(const std::string& collector_url, bool all, bool json, int timeout_ms);
// Expires window `id` now (DELETE /api/v1/maintenance/{id}).
int MaintenanceExpire(const std::string& collector_url, const std::string& id, int timeout_ms);

// Sends one test page through channel `channel` of a collector config, directly (no
// collector needed), to `contact` (empty: the first contact in the config).
int TestPage(const std::string& config_path, const std::string& channel,
             const std::string& contact);

}  // namespace firewatch::ctl
