#include "agent_config.h"

#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

#include "default_config.h"
#include "firewatch/log_line.h"
#include "socket_address.h"
#include "version.h"

namespace firewatch::agent {

namespace {

using config::Errors;
using config::MapReader;

bool IsLabelKey(std::string_view k) {
  if (k.empty()) return false;
  for (size_t i = 0; i < k.size(); ++i) {
    char c = k[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool IsCollectorName(std::string_view n) {
  if (n.empty() || n.size() > protocol::kMaxIdLength) return false;
  for (char c : n) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Non-empty, at most `max` bytes, visible ASCII or UTF-8 (no spaces or control bytes).
std::string CheckId(std::string_view v, size_t max) {
  if (v.empty()) return "must not be empty";
  if (v.size() > max) {
    return "is " + std::to_string(v.size()) + " bytes; the limit is " + std::to_string(max);
  }
  for (unsigned char c : v) {
    if (c <= 0x20 || c == 0x7f) return "must not contain spaces or control characters";
  }
  return "";
}

const std::set<std::string>& LogLevels() {
  static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error",
                                               "critical", "off"};
  return levels;
}

void ReadHttpListen(MapReader& agent, Errors& errors, AgentConfig& c) {
  const std::string path = agent.PathOf("http_listen");
  YAML::Node n = agent.Node("http_listen");
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsScalar()) {
    errors.At(n, path + ": expected host:port, or \"\" to disable");
    return;
  }
  if (n.Scalar().empty()) {
    c.http_listen.reset();
    return;
  }
  auto hp = config::ParseHostPort(n.Scalar());
  if (!hp.ok()) {
    errors.At(n, path + ": " + hp.status().message());
    return;
  }
  if (!SocketAddress::FromLiteral(hp->host, hp->port)) {
    errors.At(n, path + ": must be an IP address and port (the agent does not look up its own "
                        "listen address), got '" + n.Scalar() + "'");
    return;
  }
  c.http_listen = *hp;
}

// Reads agent.labels; returns the node (for frame-size errors) or a null node.
YAML::Node ReadLabels(MapReader& agent, Errors& errors, AgentConfig& c) {
  const std::string path = agent.PathOf("labels");
  YAML::Node n = agent.Node("labels");
  if (!n.IsDefined() || n.IsNull()) return n;
  if (!n.IsMap()) {
    errors.At(n, path + ": expected a mapping of label names to values, like {dc: dc1}");
    return YAML::Node();
  }
  std::map<std::string, std::string> seen;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const YAML::Node k = it->first;  // copies: the iterator yields a temporary
    const YAML::Node v = it->second;
    const std::string key = k.IsScalar() ? k.Scalar() : std::string();
    const std::string where = path + "." + key;
    if (!IsLabelKey(key)) {
      errors.At(k, path + ": label name '" + key +
                       "' must match [a-zA-Z_][a-zA-Z0-9_]* (like Prometheus label names)");
      continue;
    }
    if (key.size() > protocol::kMaxIdLength) {
      errors.At(k, where + ": label name is " + std::to_string(key.size()) +
                       " bytes; the limit is " + std::to_string(protocol::kMaxIdLength));
      continue;
    }
    if (!v.IsScalar()) {
      errors.At(v.IsDefined() && !v.IsNull() ? v : k, where + ": expected a string value");
      continue;
    }
    if (v.Scalar().size() > protocol::kMaxShortText) {
      errors.At(v, where + ": value is " + std::to_string(v.Scalar().size()) +
                       " bytes; the limit is " + std::to_string(protocol::kMaxShortText));
      continue;
    }
    if (!seen.emplace(key, v.Scalar()).second) {
      errors.At(k, where + ": label appears twice");
    }
  }
  c.labels.assign(seen.begin(), seen.end());
  return n;
}

// Reads agent.*; returns the node to blame for frame-size errors.
YAML::Node ReadAgent(MapReader& top, Errors& errors, AgentConfig& c, const std::string& hostname) {
  YAML::Node node = top.Node("agent");
  MapReader agent(errors, node, "agent");
  c.source_id = hostname;
  const bool source_set = agent.Has("source_id");
  YAML::Node source_node = source_set ? node["source_id"] : YAML::Node();
  agent.String("source_id", c.source_id);
  agent.Duration("interval", c.interval, kMinInterval, kMaxInterval);
  agent.Double("jitter", c.jitter, 0.0, kMaxJitter);
  ReadHttpListen(agent, errors, c);
  agent.Duration("resolve_interval", c.resolve_interval, kMinResolveInterval, kMaxResolveInterval);
  YAML::Node labels = ReadLabels(agent, errors, c);
  YAML::Node level_node = agent.Has("log_level") ? node["log_level"] : YAML::Node();
  agent.String("log_level", c.log_level);
  agent.String("log_format", c.log_format);
  agent.Uint("max_concurrent_checks", c.max_concurrent_checks, 1, 64);
  agent.Duration("checks_full_interval", c.checks_full_interval, kMinChecksFullInterval,
                 kMaxChecksFullInterval);
  agent.Uint("protocol_version", c.protocol_version, protocol::kMinVersion, protocol::kVersion);
  agent.Finish();

  if (!LogLevels().count(c.log_level)) {
    errors.At(level_node, "agent.log_level: unknown level '" + c.log_level +
                              "' (use trace, debug, info, warn, error, critical or off)");
  }
  if (LogFormat f; !ParseLogFormat(c.log_format, f)) {
    errors.At(node["log_format"], "agent.log_format: must be text or json");
  }
  if (std::string why = CheckId(c.source_id, protocol::kMaxIdLength); !why.empty()) {
    if (source_set) {
      errors.At(source_node, "agent.source_id: " + why);
    } else {
      errors.General("agent.source_id: not set, and the host name '" + hostname +
                     "' cannot be used (" + why + "); set agent.source_id");
    }
  }
  if (labels.IsDefined() && !labels.IsNull()) return labels;
  return node;
}

void ReadKey(MapReader& top, Errors& errors, AgentConfig& c, const std::string& base_dir) {
  YAML::Node node = top.Node("key");
  MapReader key(errors, node, "key");
  YAML::Node id_node = key.Has("id") ? node["id"] : YAML::Node();
  key.String("id", c.key_id);
  std::string file = "fleet.key";
  YAML::Node file_node = key.Has("file") ? node["file"] : YAML::Node();
  key.String("file", file);
  key.Finish();
  if (std::string why = CheckId(c.key_id, protocol::kMaxIdLength); !why.empty()) {
    errors.At(id_node, "key.id: " + why);
  }
  if (file.empty()) {
    errors.At(file_node, "key.file: must not be empty");
    return;
  }
  std::filesystem::path p(file);
  if (p.is_relative() && !base_dir.empty()) p = std::filesystem::path(base_dir) / p;
  c.key_file = p.lexically_normal().string();
}

// True when `key` is present with a value (not null, not "").
bool HasValue(const YAML::Node& item, const std::string& key) {
  const YAML::Node n = item[key];
  return n.IsDefined() && !n.IsNull() && !(n.IsScalar() && n.Scalar().empty());
}

void ReadEndpoint(MapReader& r, Errors& errors, const YAML::Node& item, const std::string& key,
                  std::optional<config::HostPort>& out) {
  YAML::Node n = item[key];
  if (!n.IsDefined() || n.IsNull()) {
    r.Node(key);  // absent or null: not set
    return;
  }
  if (n.IsScalar() && n.Scalar().empty()) {
    r.Node(key);
    errors.At(n, r.PathOf(key) + ": must not be empty (leave the key out instead)");
    return;
  }
  config::HostPort hp;
  r.HostPort(key, hp);
  if (hp.host.empty()) return;  // error already recorded
  if (hp.port == 0) {
    errors.At(n, r.PathOf(key) + ": port must be between 1 and 65535");
    return;
  }
  out = hp;
}

void ReadCollectors(MapReader& top, Errors& errors, AgentConfig& c) {
  YAML::Node seq = top.Node("collectors");
  if (!seq.IsDefined() || seq.IsNull()) {
    errors.General("collectors: at least one collector is required");
    return;
  }
  if (!seq.IsSequence()) {
    errors.At(seq, "collectors: expected a list of collectors (- name: ...)");
    return;
  }
  if (seq.size() == 0) {
    errors.At(seq, "collectors: at least one collector is required");
    return;
  }
  std::map<std::string, int> first_line;
  for (size_t i = 0; i < seq.size(); ++i) {
    const YAML::Node item = seq[i];
    const std::string path = "collectors[" + std::to_string(i) + "]";
    MapReader r(errors, item, path);
    if (!r.valid()) continue;
    CollectorConfig cc;
    YAML::Node name_node = item["name"];
    r.String("name", cc.name, /*required=*/true);
    ReadEndpoint(r, errors, item, "udp", cc.udp);
    ReadEndpoint(r, errors, item, "http", cc.http);
    r.Finish();
    if (name_node.IsDefined() && !name_node.IsNull()) {
      if (!IsCollectorName(cc.name)) {
        errors.At(name_node, path + ".name: '" + cc.name +
                                 "' must be 1 to 64 characters from [A-Za-z0-9_.-]");
      } else {
        int line = name_node.Mark().line + 1;
        auto [it, inserted] = first_line.emplace(cc.name, line);
        if (!inserted) {
          errors.At(name_node, path + ".name: duplicate collector name '" + cc.name +
                                   "' (first used at line " + std::to_string(it->second) + ")");
        }
      }
    }
    if (!HasValue(item, "udp") && !HasValue(item, "http")) {
      errors.At(item, path + ": needs a udp or an http address (or both)");
    }
    c.collectors.push_back(std::move(cc));
  }
}

// Encodes the largest frame this config will ever send (a goodbye carries everything a
// heartbeat does plus the reason), so an over-long label set fails here, not at runtime.
void CheckFrameFits(const AgentConfig& c, Errors& errors, const YAML::Node& blame) {
  protocol::Heartbeat hb;
  hb.type = protocol::FrameType::kGoodbye;
  hb.version = static_cast<uint8_t>(c.protocol_version);
  hb.key_id = c.key_id;
  hb.source_id = c.source_id;
  hb.sequence = 1;
  hb.timestamp_ms = 1;
  hb.interval_ms = static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(c.interval).count());
  hb.agent_version = std::string(AgentVersion());
  hb.labels = c.labels;
  hb.goodbye_reason = "SIGTERM";
  const protocol::Secret secret(32, 0);
  auto encoded = protocol::Encode(hb, secret);
  if (!encoded.ok()) {
    errors.At(blame, "agent.labels: the heartbeat frame would not fit: " +
                         encoded.status().message());
  }
}

}  // namespace

Result<AgentConfig> ParseAgentConfig(const YAML::Node& doc, const std::string& name,
                                     const std::string& hostname, const std::string& base_dir) {
  Errors errors(name);
  AgentConfig c;
  c.origin = name;
  MapReader top(errors, doc, "");
  if (!top.valid()) return errors.ToStatus();
  YAML::Node blame = ReadAgent(top, errors, c, hostname);
  ReadKey(top, errors, c, base_dir);
  ReadCollectors(top, errors, c);
  ReadChecks(top.Node("checks"), errors, c.checks);
  top.Finish();
  if (errors.empty()) CheckFrameFits(c, errors, blame);
  if (!errors.empty()) return errors.ToStatus();
  return c;
}

Result<AgentConfig> LoadAgentConfigFile(const std::string& path, const std::string& hostname) {
  auto doc = config::LoadFile(path);
  if (!doc.ok()) return doc.status();
  std::string dir = std::filesystem::path(path).parent_path().string();
  return ParseAgentConfig(*doc, path, hostname, dir);
}

Result<AgentConfig> LoadDefaultAgentConfig(const std::string& hostname) {
  const std::string name(kDefaultConfigName);
  auto doc = config::LoadString(std::string(DefaultAgentConfigYaml()), name);
  if (!doc.ok()) return doc.status();
  return ParseAgentConfig(*doc, name, hostname, "");
}

std::string LocalHostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

}  // namespace firewatch::agent
