// Watching the primary monitoring stack (docs/watching.md): the `watchdogs:` and
// `probes:` sections of the collector config.
//
//   watchdogs:                      # Alertmanager's always-firing Watchdog, delivered here
//     - name: main                  # source "watchdog/main"; POST /api/v1/watchdog/main
//       token_file: ./watchdog.token
//       previous_token_files: []    # still accepted while Alertmanager switches (rotation)
//       interval: 1m                # how often Alertmanager re-sends it (see docs)
//       labels: {team: ops}         # copied onto the source (routing)
//   probes:                         # health endpoints probed from this collector's site
//     - name: prometheus            # source "probe/prometheus"
//       http: http://prometheus.example:9090/-/healthy   # or  tcp: host:port
//       expect_status: 200          # http only
//       expect_body: Healthy        # http only; optional substring of the body
//       interval: 10s
//       timeout: 5s
//       failures_before_down: 1
//       labels: {team: ops}
//
//   alertmanager_post:              # optional; absent = off (docs/watching.md says why)
//     urls: [http://am.example:9093]  # Alertmanager base URLs (HA: list every instance)
//     mode: mirror                  # post AND page directly (the only mode)
//     health_probe: alertmanager    # optional: a probe above; posts only while it vouches
//     resend_interval: 1m           # re-post firing alerts (endsAt = now + 4 x this)
//     timeout: 10s                  # one POST, connect included
//     bearer_token_file: ./am.token # optional; read through the secret-file rules
//     ca_file: /etc/ssl/am-ca.pem   # optional; https only
//
// Every error names the file, the line and the key ("collector.yml:12: probes[0].http:
// ..."), like the rest of the config. Intervals are heartbeat intervals to the tracker,
// so they must lie within detection.min_interval..max_interval.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/config/yaml_reader.h"
#include "firewatch/crypto/hmac_sha256.h"
#include "firewatch/protocol/frame.h"
#include "firewatch/status.h"
#include "tracker/tracker.h"

namespace firewatch::collector {

// Bounds on what the config may declare (each a config error beyond it).
inline constexpr size_t kMaxWatchdogs = 64;
inline constexpr size_t kMaxProbes = 256;
inline constexpr size_t kMaxWatchNameLength = 48;  // "watchdog/" + name <= 64 (a source id)
inline constexpr size_t kMaxWatchLabels = 16;
inline constexpr size_t kMinWatchdogTokenBytes = 16;

struct WatchdogConfig {
  std::string name;
  std::string token_file;  // absolute after loading
  // Tokens still accepted during a rotation (docs/security.md); absolute after loading.
  std::vector<std::string> previous_token_files;
  Duration interval = std::chrono::minutes(1);
  protocol::Labels labels;  // configured + identity labels, sorted by key
};

enum class ProbeKind : uint8_t { kHttp, kTcp };

struct ProbeConfig {
  std::string name;
  ProbeKind kind = ProbeKind::kHttp;
  std::string url;           // kHttp: http:// or https://
  config::HostPort address;  // kTcp
  long expect_status = 200;  // kHttp
  std::string expect_body;   // kHttp; empty = any body
  Duration interval = std::chrono::seconds(10);
  Duration timeout = std::chrono::seconds(5);
  uint32_t failures_before_down = 1;
  protocol::Labels labels;  // configured + identity labels, sorted by key
  // What is probed, for logs and pages: the URL or "tcp host:port".
  std::string Target() const;
};

inline constexpr size_t kMaxAlertmanagerUrls = 8;

// Posting firewatch's own alerts to Alertmanager's POST /api/v2/alerts (docs/watching.md,
// "Posting firewatch's alerts to Alertmanager"). Off unless the section is present.
struct AlertmanagerPostConfig {
  bool enabled = false;
  std::vector<std::string> urls;  // base URLs without a trailing '/'; "/api/v2/alerts" is appended
  std::string health_probe;       // a configured probe's name; empty = always try
  Duration resend_interval = std::chrono::minutes(1);
  Duration timeout = std::chrono::seconds(10);
  std::string bearer_token_file;  // absolute after loading; empty = no Authorization
  std::string ca_file;            // absolute after loading; empty = system CAs
};

struct WatchConfig {
  std::vector<WatchdogConfig> watchdogs;
  std::vector<ProbeConfig> probes;
  AlertmanagerPostConfig alertmanager_post;
};

// The source ids (watch/own_sources.h).
std::string WatchdogSourceId(const std::string& name);
std::string ProbeSourceId(const std::string& name);

// Reads `watchdogs:`, `probes:` and `alertmanager_post:` from the top-level reader; relative token files
// resolve against `base_dir`; intervals are checked against `detection`.
void ReadWatchConfig(config::MapReader& top, const std::string& base_dir,
                     const DetectionConfig& detection, WatchConfig& out);

// The sections that differ between `running` and `next` ("watchdogs", "probes",
// "alertmanager_post"): they change on restart only, so a SIGHUP names them in its
// "needs a restart" warning. Token files are compared by path, not content.
std::vector<std::string> WatchRestartOnlyChanges(const WatchConfig& running, const WatchConfig& next);

// One watchdog's tokens (token_file, then previous_token_files), each read through
// ReadSecretFile (trailing whitespace trimmed; at least kMinWatchdogTokenBytes) and kept
// only as its SHA-256.
struct WatchdogCredential {
  std::string name;
  std::vector<crypto::Sha256Digest> token_sha256;
};
Result<std::vector<WatchdogCredential>> LoadWatchdogTokens(const WatchConfig& config);

}  // namespace firewatch::collector
