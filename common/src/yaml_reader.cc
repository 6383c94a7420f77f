#include "firewatch/config/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace firewatch::config {

void Errors::At(const YAML::Node& node, const std::string& msg) {
  // Mark() throws on nodes that do not exist (yaml-cpp "zombie" nodes).
  const auto mark = node.IsDefined() ? node.Mark() : YAML::Mark::null_mark();
  if (mark.is_null()) {
    msgs_.push_back(file_ + ": " + msg);
  } else {
    msgs_.push_back(file_ + ":" + std::to_string(mark.line + 1) + ": " + msg);
  }
}

Status Errors::ToStatus() const {
  if (msgs_.empty()) return Status::Ok();
  std::string all;
  for (const auto& m : msgs_) {
    if (!all.empty()) all += "\n";
    all += m;
  }
  return Status::InvalidArgument(all);
}

Result<YAML::Node> LoadString(const std::string& text, const std::string& name) {
  try {
    YAML::Node n = YAML::Load(text);
    if (n.IsNull()) n = YAML::Node(YAML::NodeType::Map);
    if (!n.IsMap()) return Status::InvalidArgument(name + ":1: the top level must be a mapping");
    return n;
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(name + ":" + std::to_string(e.mark.line + 1) + ":" +
                                   std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

Result<YAML::Node> LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IoError(path + ": cannot open config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadString(ss.str(), path);
}

Result<Duration> ParseDuration(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("expected a duration like 5s, 500ms, 2m or 1h, got '" +
                                   std::string(text) + "'");
  };
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  if (i == 0 || i == text.size()) return bad();
  double value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + i, value);
  if (ec != std::errc() || p != text.data() + i) return bad();
  std::string_view unit = text.substr(i);
  double ns_per = 0;
  if (unit == "ms") ns_per = 1e6;
  else if (unit == "s") ns_per = 1e9;
  else if (unit == "m") ns_per = 60e9;
  else if (unit == "h") ns_per = 3600e9;
  else if (unit == "d") ns_per = 86400e9;
  else return bad();
  double ns = value * ns_per;
  if (!std::isfinite(ns) || ns > 1e18) return bad();
  return Duration(static_cast<int64_t>(std::llround(ns)));
}

std::string FormatDuration(Duration d) {
  int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms % 1000 != 0) return std::to_string(ms) + "ms";
  int64_t s = ms / 1000;
  if (s != 0 && s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s != 0 && s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<HostPort> ParseHostPort(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("expected host:port (like 127.0.0.1:9760 or [::1]:9760), got '" +
                                   std::string(text) + "': " + why);
  };
  HostPort hp;
  std::string_view port;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("unbalanced brackets");
    }
    hp.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    hp.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    if (hp.host.find(':') != std::string::npos) return bad("IPv6 addresses need [brackets]");
  }
  if (hp.host.empty()) return bad("no host");
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || value > 65535) {
    return bad("port must be a number from 0 to 65535");
  }
  hp.port = static_cast<uint16_t>(value);
  return hp;
}

MapReader::MapReader(Errors& errors, const YAML::Node& node, std::string path)
    : errors_(errors),
      // Assigning to a node that does not exist throws, so choose before constructing.
      node_(node.IsDefined() && !node.IsNull() ? node : YAML::Node(YAML::NodeType::Map)),
      path_(std::move(path)) {
  if (!node_.IsMap()) {
    errors_.At(node_, (path_.empty() ? std::string("top level") : path_) + ": expected a mapping");
    valid_ = false;
  }
}

std::string MapReader::PathOf(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

bool MapReader::Has(const std::string& key) const {
  const YAML::Node& cn = node_;
  return valid_ && cn[key].IsDefined();
}

YAML::Node MapReader::Take(const std::string& key) {
  used_.push_back(key);
  if (!valid_) return YAML::Node();
  const YAML::Node& cn = node_;
  YAML::Node n = cn[key];
  return n;
}

YAML::Node MapReader::Node(const std::string& key) { return Take(key); }

void MapReader::String(const std::string& key, std::string& out, bool required) {
  YAML::Node n = Take(key);
  if (!n.IsDefined() || n.IsNull()) {
    if (required && valid_) errors_.At(node_, PathOf(key) + ": required but missing");
    return;
  }
  if (!n.IsScalar()) {
    errors_.At(n, PathOf(key) + ": expected a string");
    return;
  }
  out = n.Scalar();
}

void MapReader::Duration(const std::string& key, firewatch::Duration& out, firewatch::Duration min,
                         firewatch::Duration max) {
  YAML::Node n = Take(key);
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsScalar()) {
    errors_.At(n, PathOf(key) + ": expected a duration like 5s");
    return;
  }
  auto d = ParseDuration(n.Scalar());
  if (!d.ok()) {
    errors_.At(n, PathOf(key) + ": " + d.status().message());
    return;
  }
  if (*d < min || *d > max) {
    errors_.At(n, PathOf(key) + ": must be between " + FormatDuration(min) + " and " +
                      FormatDuration(max) + ", got " + n.Scalar());
    return;
  }
  out = *d;
}

void MapReader::Double(const std::string& key, double& out, double min, double max) {
  YAML::Node n = Take(key);
  if (!n.IsDefined() || n.IsNull()) return;
  double v = 0;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !std::isfinite(v)) {
    errors_.At(n, PathOf(key) + ": expected a number");
    return;
  }
  if (v < min || v > max) {
    std::ostringstream os;
    os << PathOf(key) << ": must be between " << min << " and " << max << ", got " << n.Scalar();
    errors_.At(n, os.str());
    return;
  }
  out = v;
}

void MapReader::Uint(const std::string& key, uint64_t& out, uint64_t min, uint64_t max) {
  YAML::Node n = Take(key);
  if (!n.IsDefined() || n.IsNull()) return;
  uint64_t v = 0;
  const std::string& s = n.IsScalar() ? n.Scalar() : std::string();
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    errors_.At(n, PathOf(key) + ": expected a whole number");
    return;
  }
  if (v < min || v > max) {
    errors_.At(n, PathOf(key) + ": must be between " + std::to_string(min) + " and " +
                      std::to_string(max) + ", got " + s);
    return;
  }
  out = v;
}

void MapReader::Bool(const std::string& key, bool& out) {
  YAML::Node n = Take(key);
  if (!n.IsDefined() || n.IsNull()) return;
  bool v = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
    errors_.At(n, PathOf(key) + ": expected true or false");
    return;
  }
  out = v;
}

void MapReader::HostPort(const std::string& key, config::HostPort& out, bool required) {
  std::string s;
  const YAML::Node& cn = node_;
  // Only a mapping may be subscripted (yaml-cpp throws on a scalar: found by fuzzing).
  YAML::Node n = valid_ ? cn[key] : YAML::Node();
  String(key, s, required);
  if (s.empty()) return;
  auto hp = ParseHostPort(s);
  if (!hp.ok()) {
    errors_.At(n, PathOf(key) + ": " + hp.status().message());
    return;
  }
  out = *hp;
}

void MapReader::StringMap(const std::string& key, std::map<std::string, std::string>& out) {
  YAML::Node n = Take(key);
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsMap()) {
    errors_.At(n, PathOf(key) + ": expected a mapping of names to strings");
    return;
  }
  out.clear();
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!it->second.IsScalar()) {
      errors_.At(it->second, PathOf(key) + "." + it->first.Scalar() + ": expected a string");
      continue;
    }
    out[it->first.Scalar()] = it->second.Scalar();
  }
}

void MapReader::Finish() {
  if (!valid_) return;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string& k = it->first.Scalar();
    if (std::find(used_.begin(), used_.end(), k) == used_.end()) {
      errors_.At(it->first, "unknown key '" + PathOf(k) + "'");
    }
  }
}

}  // namespace firewatch::config
