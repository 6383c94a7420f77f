// The collector's configuration: one YAML file (reference: docs/configuration.md), or the
// embedded defaults when started without --config. Loading validates everything and
// reports every problem as "file:line: key: what is wrong"; unknown keys are errors.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "app/operators.h"
#include "checks/check_alert_config.h"
#include "checks/check_config.h"
#include "cluster/cluster_config.h"
#include "domain/domain_config.h"
#include "engine/alerting_config.h"
#include "firewatch/config/yaml_reader.h"
#include "firewatch/protocol/keyring.h"
#include "ingest/key_bindings.h"
#include "tracker/tracker.h"
#include "watch/watch_config.h"

namespace firewatch::collector {

struct KeyConfig {
  std::string id;
  std::string file;                // absolute after loading
  bool create_if_missing = false;  // generate a fresh key when the file does not exist
  // The source ids (exact names or '*' patterns) this key may speak for; empty = every
  // source (a fleet key). See ingest/key_bindings.h.
  std::vector<std::string> sources;
};

// collector.max_sources when it is `auto`: one source per 32 KiB of the machine's
// memory (a source costs about 1 KiB), between 10,000 and 500,000 (a full cluster sync
// table of 500,000 sources is about the 16 MiB sync body limit).
size_t DefaultMaxSources();

struct CollectorConfig {
  std::string source_file = "<embedded defaults>";  // for messages
  std::string id;                                   // default: hostname
  std::string data_dir = "./firewatch-data";        // absolute after loading
  config::HostPort http_listen{"127.0.0.1", 9760};
  config::HostPort udp_listen{"127.0.0.1", 9761};
  int http_threads = 32;
  // Slow clients (docs/security.md): request line + headers within this (also the
  // longest wait for any one body or response byte) ...
  Duration http_header_timeout = std::chrono::seconds(5);
  Duration http_body_timeout = std::chrono::seconds(30);  // ... the whole body within this
  uint64_t http_min_body_rate = 1024;                     // bytes/s, after the first 2 s
  int http_max_connections_per_client = 8;                // per client IP address
  // Host names besides http_listen's and the external URLs' that are this collector's
  // own (a proxy's name): checked in Host on every change (DNS rebinding).
  std::vector<std::string> allowed_hosts;
  int udp_buffer_mib = 64;  // heartbeat socket receive buffer (see UdpReceiver::Bind)
  std::string log_level = "info";
  std::string log_format = "text";  // text or json (firewatch/log_line.h)
  std::vector<KeyConfig> keys;
  DetectionConfig detection;
  SourceLimits limits;  // collector.max_sources, collector.new_sources_per_key_per_minute
  // detection.forget_after: sources not heard for this long are forgotten; 0 = never.
  Duration forget_after = std::chrono::hours(24 * 30);
  Duration evaluate_every = std::chrono::milliseconds(250);
  Duration flush_every = std::chrono::seconds(1);  // metrics, forgetting, limit reports
  // collector.last_seen_every: how often heartbeats' changes are written to the store
  // (transitions are written at once).
  Duration last_seen_every = std::chrono::seconds(5);
  bool per_source_metrics = true;
  std::string pages_file = "pages.log";  // local channel; absolute after loading
  ApiConfig api;                         // operators (app/operators.h)
  alerting::AlertingConfig alerting;     // contacts, channels, schedules, policies, route
  ClusterConfig cluster;                 // peers (docs/cluster.md); digest always set
  WatchConfig watch;                     // watchdogs:, probes: (docs/watching.md)
  ChecksConfig checks;                   // scheduled checks (checks/check_config.h)
  CheckAlertPolicy check_alerts;         // agents' checks (checks/check_alert_config.h)
  DomainConfig domains;                  // failure domains, service map (docs/domains.md)

  std::string DatabasePath() const { return data_dir + "/collector.db"; }
};

// The embedded defaults, as YAML (also printed by --print-default-config).
std::string DefaultConfigYaml();

// Parses and validates YAML text; relative paths resolve against `base_dir`.
Result<CollectorConfig> ParseCollectorConfig(const std::string& text, const std::string& name,
                                             const std::string& base_dir);
// Loads a file (relative paths resolve against the file's directory).
Result<CollectorConfig> LoadCollectorConfig(const std::string& path);
// The embedded defaults (relative paths resolve against the working directory).
Result<CollectorConfig> EmbeddedCollectorConfig();

// Writes a new random key (hex, 32 bytes, mode 0600) to `path` unless it exists;
// creates missing directories. Fails naming the file.
Status CreateKeyFileIfMissing(const std::string& path);

// Reads (or, when allowed, creates) every configured key. Fails naming the file.
Result<std::shared_ptr<const protocol::Keyring>> LoadKeys(const CollectorConfig& config);
// The keys[].sources bindings (already validated by the parser).
std::shared_ptr<const KeyBindings> BindingsOf(const CollectorConfig& config);

}  // namespace firewatch::collector
