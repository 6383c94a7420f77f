#include "cluster/cluster_config.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "firewatch/crypto/hmac_sha256.h"
#include "firewatch/protocol/keyring.h"
#include "firewatch/text/hex.h"

namespace firewatch::collector {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

std::string Absolute(const std::string& base_dir, const std::string& path) {
  if (path.empty()) return path;
  fs::path p(path);
  if (p.is_absolute()) return p.lexically_normal().string();
  return (fs::absolute(fs::path(base_dir)) / p).lexically_normal().string();
}

bool IsHttpUrl(const std::string& url) {
  for (const char* scheme : {"http://", "https://"}) {
    const std::string s(scheme);
    if (url.rfind(s, 0) == 0 && url.size() > s.size()) return true;
  }
  return false;
}

nlohmann::json ToCanonicalJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json j = nlohmann::json::object();  // std::map: keys sorted
      for (auto it = n.begin(); it != n.end(); ++it) j[it->first.Scalar()] = ToCanonicalJson(it->second);
      return j;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& e : n) j.push_back(ToCanonicalJson(e));
      return j;
    }
    case YAML::NodeType::Scalar: return n.Scalar();
    default: return nullptr;
  }
}

}  // namespace

int ClusterConfig::IndexOf(const std::string& id) const {
  for (size_t i = 0; i < members.size(); ++i) {
    if (members[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

void ReadClusterConfig(config::MapReader& top, const std::string& base_dir, ClusterConfig& c) {
  YAML::Node node = top.Node("cluster");
  if (!node.IsDefined() || node.IsNull()) return;
  config::Errors& errors = top.errors();
  c.enabled = true;
  config::MapReader r(errors, node, "cluster");
  r.String("key_file", c.key_file);
  r.Duration("sync_interval", c.sync_interval, milliseconds(100), seconds(60));
  r.Duration("peer_timeout", c.peer_timeout, milliseconds(500), std::chrono::minutes(10));
  r.Duration("full_sync_every", c.full_sync_every, seconds(1), std::chrono::hours(1));
  r.Duration("claim_timeout", c.claim_timeout, seconds(1), std::chrono::hours(1));
  r.Duration("alone_hold", c.alone_hold, milliseconds(0), std::chrono::hours(1));
  r.Double("isolation_fraction", c.isolation_fraction, 0.01, 1.0);
  YAML::Node members = r.Node("members");
  if (YAML::Node accept = r.Node("accept_key_files"); accept.IsDefined() && !accept.IsNull()) {
    if (!accept.IsSequence() || accept.size() > 8) {
      errors.At(accept, "cluster.accept_key_files: expected a list of at most 8 key files");
    } else {
      for (size_t i = 0; i < accept.size(); ++i) {
        const std::string f = accept[i].IsScalar() ? accept[i].as<std::string>() : "";
        if (f.empty()) {
          errors.At(accept[i], "cluster.accept_key_files[" + std::to_string(i) + "]: expected a file");
        } else {
          c.accept_key_files.push_back(Absolute(base_dir, f));
        }
      }
    }
  }
  r.Finish();
  if (!r.valid()) return;
  if (c.peer_timeout < c.sync_interval * 2) {
    errors.At(node, "cluster.peer_timeout must be at least twice cluster.sync_interval");
  }
  if (!members.IsDefined() || !members.IsSequence() || members.size() < 2) {
    errors.At(members.IsDefined() ? members : node,
              "cluster.members: expected a list of at least two collectors ({id, url})");
    return;
  }
  std::set<std::string> ids;
  for (size_t i = 0; i < members.size(); ++i) {
    const std::string path = "cluster.members[" + std::to_string(i) + "]";
    config::MapReader m(errors, members[i], path);
    ClusterMember mem;
    m.String("id", mem.id, true);
    m.String("url", mem.url, true);
    m.StringMap("labels", mem.labels);
    m.String("key_file", mem.key_file);
    m.Finish();
    if (!m.valid()) continue;
    if (!mem.id.empty() && !ids.insert(mem.id).second) {
      errors.At(members[i], path + ".id: collector '" + mem.id + "' is listed twice");
    }
    if (!mem.url.empty() && !IsHttpUrl(mem.url)) {
      errors.At(members[i], path + ".url: expected http://host:port or https://host:port");
    }
    while (!mem.url.empty() && mem.url.back() == '/') mem.url.pop_back();
    if (mem.key_file.empty()) mem.key_file = c.key_file;
    if (mem.key_file.empty()) {
      errors.At(members[i], path + ": no key_file (set cluster.key_file or the member's own)");
    }
    mem.key_file = Absolute(base_dir, mem.key_file);
    c.members.push_back(std::move(mem));
  }
  c.key_file = Absolute(base_dir, c.key_file);
}

void CheckClusterSelf(const YAML::Node& doc, const std::string& self_id, const ClusterConfig& c,
                      config::Errors& errors) {
  if (!c.enabled || c.members.empty() || c.IndexOf(self_id) >= 0) return;
  YAML::Node n = doc["cluster"]["members"];
  errors.At(n.IsDefined() ? n : doc, "cluster.members: this collector's id '" + self_id +
                                         "' (collector.id) is not listed");
}

std::vector<std::string> ClusterRestartOnlyChanges(const ClusterConfig& running,
                                                   const ClusterConfig& next) {
  std::vector<std::string> out;
  if (running.enabled != next.enabled) {
    out.push_back("cluster (section added or removed)");
    return out;
  }
  auto same_member = [](const ClusterMember& a, const ClusterMember& b) {
    return a.id == b.id && a.url == b.url && a.labels == b.labels && a.key_file == b.key_file;
  };
  if (!std::equal(running.members.begin(), running.members.end(), next.members.begin(),
                  next.members.end(), same_member)) {
    out.push_back("cluster.members");
  }
  if (running.key_file != next.key_file) out.push_back("cluster.key_file");
  if (running.accept_key_files != next.accept_key_files) out.push_back("cluster.accept_key_files");
  const std::pair<const char*, bool> timings[] = {
      {"cluster.sync_interval", running.sync_interval != next.sync_interval},
      {"cluster.peer_timeout", running.peer_timeout != next.peer_timeout},
      {"cluster.full_sync_every", running.full_sync_every != next.full_sync_every},
      {"cluster.claim_timeout", running.claim_timeout != next.claim_timeout},
      {"cluster.alone_hold", running.alone_hold != next.alone_hold},
      {"cluster.isolation_fraction", running.isolation_fraction != next.isolation_fraction},
  };
  for (const auto& [key, changed] : timings) {
    if (changed) out.emplace_back(key);
  }
  return out;
}

std::string ConfigDigest(const YAML::Node& doc) {
  nlohmann::json j = ToCanonicalJson(doc);
  if (j.is_object()) j.erase("collector");
  // YAML scalars may hold bytes that are not UTF-8 (found by fuzzing: dump() threw and
  // the collector died at start). Replacing them with U+FFFD keeps every valid config's
  // digest unchanged.
  const std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto digest = crypto::Sha256::Hash(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  return text::ToHex(digest);
}

}  // namespace firewatch::collector
