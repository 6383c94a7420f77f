// The agent's configuration: one YAML file (docs/agent.md, "Configuration"), or the
// embedded defaults when no file is given.
//
// Loading is strict: unknown keys, values out of range, duplicate collector names and
// label sets that would not fit in a heartbeat frame are all errors, each reported as
// "file:line: key: what is wrong". All errors of a file are reported at once. Loading
// never reads the key file (the key is checked at startup, not by --check-config).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "check_config.h"
#include "firewatch/clock.h"
#include "firewatch/config/yaml_reader.h"
#include "firewatch/protocol/frame.h"
#include "firewatch/status.h"

namespace firewatch::agent {

// One collector the agent reports to. At least one of udp/http is set.
struct CollectorConfig {
  std::string name;                       // unique; [A-Za-z0-9_.-], 1..64 bytes
  std::optional<config::HostPort> udp;    // primary transport
  std::optional<config::HostPort> http;   // fallback: POST /api/v1/heartbeat
};

struct AgentConfig {
  std::string origin;                     // the file it came from, for messages
  std::string source_id;                  // default: this host's name
  Duration interval = std::chrono::seconds(5);
  double jitter = 0.1;                    // fraction of the interval
  std::optional<config::HostPort> http_listen = config::HostPort{"127.0.0.1", 9762};  // nullopt: off
  Duration resolve_interval = std::chrono::seconds(60);
  protocol::Labels labels;                // sorted by key
  std::string log_level = "info";
  std::string log_format = "text";        // text or json (firewatch/log_line.h)
  std::string key_id = "default";
  std::string key_file;                   // relative paths already joined to the config dir
  std::vector<CollectorConfig> collectors;
  std::vector<CheckConfig> checks;     // checks: (check_config.h)
  uint64_t max_concurrent_checks = 4;  // plugins running at once
  // Heartbeats carry the full check state at least this often (and on every change);
  // in between, only its digest (docs/protocol.md, "Checks").
  Duration checks_full_interval = std::chrono::seconds(60);
  // The frame version sent: 2 (compact checks), or 1 while collectors are older than
  // this agent (docs/operations.md, "Upgrade order").
  uint64_t protocol_version = protocol::kVersion;
};

// Ranges, shared by the loader, the docs and the tests.
inline constexpr Duration kMinInterval = std::chrono::seconds(1);
inline constexpr Duration kMaxInterval = std::chrono::hours(1);
inline constexpr double kMaxJitter = 0.5;
inline constexpr Duration kMinResolveInterval = std::chrono::seconds(1);
inline constexpr Duration kMaxResolveInterval = std::chrono::hours(24);
inline constexpr Duration kMinChecksFullInterval = std::chrono::seconds(1);
inline constexpr Duration kMaxChecksFullInterval = std::chrono::hours(1);

// Parses an already loaded YAML document. `name` prefixes every error message;
// `hostname` is the default source_id; a relative key.file is joined to `base_dir`
// (left relative, i.e. to the working directory, when `base_dir` is empty).
Result<AgentConfig> ParseAgentConfig(const YAML::Node& doc, const std::string& name,
                                     const std::string& hostname, const std::string& base_dir);

// Reads and parses a config file; relative paths in it are relative to its directory.
Result<AgentConfig> LoadAgentConfigFile(const std::string& path, const std::string& hostname);

// The embedded defaults (DefaultAgentConfigYaml), parsed; key file relative to the
// working directory.
Result<AgentConfig> LoadDefaultAgentConfig(const std::string& hostname);

// This host's name, or "" when the OS will not say.
std::string LocalHostname();

}  // namespace firewatch::agent
