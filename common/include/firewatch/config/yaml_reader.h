// Strict YAML config reading with precise errors.
//
// Every error names the file, the line and what is wrong ("agent.yml:12: interval: expected
// a duration like 5s or 500ms, got 'fast'"). Unknown keys are errors, so a typo never
// silently falls back to a default. Errors are collected so --check-config shows them all.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/status.h"

namespace firewatch::config {

// Collected errors for one file.
class Errors {
 public:
  explicit Errors(std::string file) : file_(std::move(file)) {}
  void At(const YAML::Node& node, const std::string& msg);
  void General(const std::string& msg) { msgs_.push_back(file_ + ": " + msg); }
  bool empty() const { return msgs_.empty(); }
  const std::string& file() const { return file_; }
  // OK when empty, else InvalidArgument with one error per line.
  Status ToStatus() const;

 private:
  std::string file_;
  std::vector<std::string> msgs_;
};

// Loads a YAML file. Syntax errors come back as "file:line:col: message".
Result<YAML::Node> LoadFile(const std::string& path);
Result<YAML::Node> LoadString(const std::string& text, const std::string& name);

// "250ms", "5s", "1.5s", "2m", "1h", "1d"; a bare number is refused (units are required).
Result<Duration> ParseDuration(std::string_view text);
std::string FormatDuration(Duration d);

struct HostPort {
  std::string host;  // name or IP literal, without brackets
  uint16_t port = 0;
  std::string ToString() const;
};
// "127.0.0.1:9760", "[::1]:9760", "collector-a.example:9761".
Result<HostPort> ParseHostPort(std::string_view text);

// Reads one YAML mapping strictly. Each getter leaves `out` unchanged when the key is
// absent (so callers set defaults first) and records an error when it is present but
// wrong. Finish() records every key that no getter asked for.
class MapReader {
 public:
  MapReader(Errors& errors, const YAML::Node& node, std::string path);
  bool valid() const { return valid_; }
  bool Has(const std::string& key) const;

  void String(const std::string& key, std::string& out, bool required = false);
  void Duration(const std::string& key, firewatch::Duration& out, firewatch::Duration min,
                firewatch::Duration max);
  void Double(const std::string& key, double& out, double min, double max);
  void Uint(const std::string& key, uint64_t& out, uint64_t min, uint64_t max);
  void Bool(const std::string& key, bool& out);
  void HostPort(const std::string& key, config::HostPort& out, bool required = false);
  void StringMap(const std::string& key, std::map<std::string, std::string>& out);
  // The raw node for nested structures (marked as used); null node when absent.
  YAML::Node Node(const std::string& key);
  void Finish();
  // Dotted path of a key, for messages ("collector.http_listen").
  std::string PathOf(const std::string& key) const;
  Errors& errors() { return errors_; }

 private:
  YAML::Node Take(const std::string& key);
  Errors& errors_;
  YAML::Node node_;
  std::string path_;
  bool valid_ = true;
  std::vector<std::string> used_;
};

}  // namespace firewatch::config
