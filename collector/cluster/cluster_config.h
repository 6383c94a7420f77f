// The `cluster:` section of the collector config (docs/cluster.md, docs/configuration.md)
// and the config digest collectors compare with each other.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "firewatch/clock.h"
#include "firewatch/config/yaml_reader.h"

namespace firewatch::collector {

struct ClusterMember {
  std::string id;   // == collector.id on that collector
  std::string url;  // base URL of its HTTP API, e.g. http://10.0.1.1:9760
  std::map<std::string, std::string> labels;  // copied onto CollectorDown alerts
  std::string key_file;  // absolute; the cluster's key_file unless the member names one
};

struct ClusterConfig {
  bool enabled = false;  // a `cluster:` section is present
  std::string key_file;  // absolute
  // Keys also accepted on sync (never used to sign): a key rotation in progress
  // (docs/security.md, "Rotating secrets without a paging gap"). Absolute.
  std::vector<std::string> accept_key_files;
  std::vector<ClusterMember> members;  // the stable order: first live member owns pages
  Duration sync_interval = std::chrono::seconds(1);
  Duration peer_timeout = std::chrono::seconds(5);
  Duration full_sync_every = std::chrono::seconds(30);
  Duration claim_timeout = std::chrono::minutes(2);
  Duration alone_hold = std::chrono::seconds(20);
  double isolation_fraction = 0.5;
  std::string digest;  // ConfigDigest of the whole file (set for every config)

  // Index of `id` in members, or -1.
  int IndexOf(const std::string& id) const;
};

// Reads `cluster:` from `top` (absent: enabled = false). Relative key files resolve
// against `base_dir`. Membership of the collector's own id is checked by the caller
// (CheckClusterSelf) once the id is known.
void ReadClusterConfig(config::MapReader& top, const std::string& base_dir, ClusterConfig& out);
// "cluster.members: this collector's id 'x' is not listed" when enabled and absent.
void CheckClusterSelf(const YAML::Node& doc, const std::string& self_id, const ClusterConfig& c,
                      config::Errors& errors);

// What a reload of `cluster:` cannot change in a running collector (membership, keys,
// timings: the sync threads, peer detectors and keys are built at start), one key per
// line ("cluster.members", "cluster.sync_interval", ...); empty when none changed. The
// digest is not among them: it follows reloads (ClusterView::SetConfigDigest).
std::vector<std::string> ClusterRestartOnlyChanges(const ClusterConfig& running,
                                                   const ClusterConfig& next);

// SHA-256 (hex) over the document without its `collector:` section, as canonical JSON
// (sorted keys, every scalar as a string): two collectors with the same contacts,
// routes, detection and cluster settings have the same digest whatever their own
// listen addresses and ids are.
std::string ConfigDigest(const YAML::Node& doc);

}  // namespace firewatch::collector
