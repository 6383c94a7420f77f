// firewatchctl subcommands. Each returns the process exit code (0 ok, 1 failure, 2 usage)
// and prints human-readable output; errors go to stderr.
#pragma once

#include <string>

namespace firewatch::ctl {

// Writes a new random 32-byte key as hex to `out` (mode 0600). Refuses to overwrite an
// existing file unless `force`. "-" prints to stdout.
int Keygen(const std::string& out, bool force);

// Prints the sources a collector knows, DOWN first. `json` prints the raw API answer.
int Status(const std::string& collector_url, bool json, int timeout_ms);

// Validates a collector or agent config file (detected by its top-level keys).
int CheckConfig(const std::string& path);

// Acknowledges incident `id` on a collector (POST /api/v1/ack/{id} with {"by": by}).
int Ack(const std::string& collector_url, const std::string& id, const std::string& by,
        int timeout_ms);

// Sends one test page through channel `channel` of a collector config, directly (no
// collector needed), to `contact` (empty: the first contact in the config).
int TestPage(const std::string& config_path, const std::string& channel,
             const std::string& contact);

}  // namespace firewatch::ctl
