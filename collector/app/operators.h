// Operator tokens in the collector's configuration, and the HTTP access policy built from
// it (docs/security.md, "Operator tokens"; docs/configuration.md, "API access").
//
//   api:
//     operators:                        # inline entries (part of the cluster's config digest)
//       - name: alice                   # what acked_by / createdBy record
//         token_sha256: 9f86d08...      # hex SHA-256 of the token (firewatchctl token create)
//     operators_file: ./operators.yml   # more entries, same shape under a top-level
//                                       # `operators:` key; re-read on SIGHUP. A missing
//                                       # file is no entries (logged): create it any time.
//     read_requires_token: false        # true: every read route needs a token too
//
// An operator may have several tokens (one entry each, same name): that is how a token
// is rotated without a gap (add the new one, reload, switch, remove the old one).
// Errors name the file and line; unknown keys are errors.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "firewatch/config/yaml_reader.h"
#include "firewatch/status.h"
#include "http/access.h"

namespace firewatch::collector {

struct CollectorConfig;

struct ApiConfig {
  std::vector<OperatorEntry> operators;  // inline entries
  std::string operators_file;            // absolute after loading; empty = none
  bool read_requires_token = false;
};

// Reads the `api:` section of a collector config (relative paths against base_dir).
void ReadApiConfig(config::MapReader& top, const std::string& base_dir, ApiConfig& out);

// Reads entries from the node of an `operators:` list into `out`; `path` names it in
// messages ("api.operators").
void ReadOperatorList(config::Errors& errors, const YAML::Node& list, const std::string& path,
                      std::vector<OperatorEntry>& out);

// The entries of an operators file (a mapping with one key, `operators:`). A missing
// file is NotFound; anything else wrong is InvalidArgument naming file:line. Read as a
// secret file (firewatch/secret_file.h): writable by group or others is refused, at most
// kMaxOperatorsFileBytes (about 10,000 entries).
inline constexpr size_t kMaxOperatorsFileBytes = 1u << 20;
Result<std::vector<OperatorEntry>> LoadOperatorsFile(const std::string& path);

// Writes `entries` to `path` as an operators file (mode 0600, atomically: a temporary
// file renamed over it). Fails naming the file.
Status WriteOperatorsFile(const std::string& path, const std::vector<OperatorEntry>& entries);

// The operators of a loaded config: the inline entries plus those of operators_file
// (missing: none, with a warning in the log). Fails naming the file and entry.
Result<std::shared_ptr<const OperatorTokens>> LoadOperators(const ApiConfig& api);

// The access policy for a collector: its operators, read_requires_token, and its own
// names: the hosts of collector.http_listen, the external URLs (collector.external_url,
// alerting.external_url, its own cluster member url) and collector.allowed_hosts.
std::shared_ptr<const AccessPolicy> MakeAccessPolicy(const CollectorConfig& config,
                                                     std::shared_ptr<const OperatorTokens> ops);

}  // namespace firewatch::collector
