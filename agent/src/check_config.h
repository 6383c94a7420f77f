// The `checks:` section of the agent config (docs/agent.md, "Checks"): one entry per
// check, each with a unique name (the name the collector pages with), a type, an
// interval and a timeout, and the type's own settings and thresholds.
//
// Parsing is strict like the rest of the config: unknown keys, wrong types, values out
// of range and duplicate names are "file:line: checks[i].key: what is wrong".
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/config/yaml_reader.h"

namespace firewatch::agent {

enum class CheckType {
  kExec,
  kDisk,
  kLoad,
  kMemory,
  kTcp,
  kHttp,
  kProcess,
  kSystemd,
  kFileAge,
  kClock
};
std::string_view CheckTypeName(CheckType t);

struct CheckConfig {
  std::string name;
  CheckType type = CheckType::kExec;
  Duration interval = std::chrono::seconds(60);
  Duration timeout = std::chrono::seconds(10);
  // Damping (like Nagios' max_check_attempts): a new non-OK state is reported after this
  // many consecutive runs agree, and OK again after recover_after consecutive OK runs.
  uint64_t attempts = 1;
  uint64_t recover_after = 1;

  // exec: argv (no shell), or one command line for /bin/sh -c when shell is true.
  std::vector<std::string> command;
  bool shell = false;
  std::string user;                        // run as (needs root); "" = the agent's user
  std::map<std::string, std::string> env;  // added to the minimal environment

  // disk: mount path. file_age: file. process: pidfile (or name). systemd: unit.
  std::string path;
  std::string process_name;
  std::string unit;
  // tcp: IP literal and port.
  config::HostPort address;
  // http: http(s)://IP[:port]/path, the expected status, optional text the body must
  // contain. https only: the name the certificate must carry (sent as SNI; the connection
  // still goes to the IP in the URL), the CA bundle to trust, and whether to verify.
  std::string url;
  int expect_status = 200;
  std::string body_contains;
  std::string tls_server_name;
  std::string ca_file;
  bool tls_verify = true;

  // Thresholds; their meaning depends on the type (docs/agent.md):
  //   disk: percent used (bytes), inodes_*: percent of inodes used
  //   load: 1-minute load average per CPU
  //   memory: percent available, alert when BELOW
  //   file_age: age in seconds
  //   clock: |offset| from the collector's clock in seconds (address: its HTTP listener)
  double warning = 0, critical = 0;
  double inodes_warning = 0, inodes_critical = 0;
};

inline constexpr size_t kMaxChecks = 64;
inline constexpr Duration kMinCheckInterval = std::chrono::seconds(1);
inline constexpr Duration kMaxCheckInterval = std::chrono::hours(24);
inline constexpr Duration kMaxCheckTimeout = std::chrono::minutes(10);

// Reads `checks:` (a sequence; absent or null means no checks) into `out`.
void ReadChecks(const YAML::Node& seq, config::Errors& errors, std::vector<CheckConfig>& out);

}  // namespace firewatch::agent
