#include "check_config.h"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <set>

#include "builtin_probes.h"
#include "firewatch/protocol/frame.h"
#include "socket_address.h"

namespace firewatch::agent {

namespace {

// A host name as a certificate names it: 1..253 bytes of letters, digits, '-' and '.'
// (it goes into libcurl's CURLOPT_RESOLVE entry, where ':' would split it).
bool ValidServerName(const std::string& name) {
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.front() == '-') return false;
  for (unsigned char ch : name) {
    if (!std::isalnum(ch) && ch != '-' && ch != '.') return false;
  }
  return true;
}

using config::Errors;
using config::MapReader;

struct TypeName {
  CheckType type;
  std::string_view name;
};
constexpr TypeName kTypes[] = {
    {CheckType::kExec, "exec"},        {CheckType::kDisk, "disk"},
    {CheckType::kLoad, "load"},        {CheckType::kMemory, "memory"},
    {CheckType::kTcp, "tcp"},          {CheckType::kHttp, "http"},
    {CheckType::kProcess, "process"},  {CheckType::kSystemd, "systemd"},
    {CheckType::kFileAge, "file_age"}, {CheckType::kClock, "clock"},
};

bool GoodCheckName(std::string_view n) {
  if (n.empty() || n.size() > protocol::kMaxShortText) return false;
  for (char c : n) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-' || c == '/' || c == ':';
    if (!ok) return false;
  }
  return true;
}

// Environment names a plugin may be given; PATH and friends are the agent's to set.
bool GoodEnvName(std::string_view n) {
  if (n.empty() || n.size() > 64 || n == "PATH" || n == "LD_PRELOAD" || n == "LD_LIBRARY_PATH") {
    return false;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void ReadCommand(MapReader& r, Errors& errors, const YAML::Node& item, CheckConfig& c) {
  const std::string path = r.PathOf("command");
  YAML::Node n = r.Node("command");
  if (!n.IsDefined() || n.IsNull()) {
    errors.At(item, path + ": required for an exec check");
    return;
  }
  if (n.IsScalar()) {
    if (!c.shell) {
      errors.At(n, path +
                       ": expected a list [program, arg, ...]; a command line is run by "
                       "/bin/sh only with shell: true");
      return;
    }
    c.command = {n.Scalar()};
  } else if (n.IsSequence() && n.size() > 0 && n.size() <= 64 && !c.shell) {
    for (const auto& a : n) {
      if (!a.IsScalar() || a.Scalar().find('\0') != std::string::npos) {
        errors.At(a, path + ": every element must be a string");
        return;
      }
      c.command.push_back(a.Scalar());
    }
  } else {
    errors.At(n, path + (c.shell ? ": with shell: true, expected one command line string"
                                 : ": expected a list of 1 to 64 strings"));
    return;
  }
  if (c.command[0].empty()) errors.At(n, path + ": the program must not be empty");
}

void ReadThresholds(MapReader& r, CheckConfig& c, double w, double cr, double max) {
  c.warning = w;
  c.critical = cr;
  r.Double("warning", c.warning, 0, max);
  r.Double("critical", c.critical, 0, max);
}

void ReadOne(MapReader& r, Errors& errors, const YAML::Node& item, const std::string& path,
             CheckConfig& c) {
  r.String("name", c.name, /*required=*/true);
  std::string type;
  YAML::Node type_node = item["type"];
  r.String("type", type, /*required=*/true);
  bool known = false;
  for (const auto& t : kTypes) {
    if (type == t.name) {
      c.type = t.type;
      known = true;
    }
  }
  if (!known) {
    if (!type.empty()) {
      errors.At(type_node, path + ".type: unknown check type '" + type +
                               "' (exec, disk, load, memory, tcp, http, process, systemd, "
                               "file_age, clock)");
    }
    r.Finish();
    return;
  }
  r.Duration("interval", c.interval, kMinCheckInterval, kMaxCheckInterval);
  r.Duration("timeout", c.timeout, std::chrono::milliseconds(100), kMaxCheckTimeout);
  r.Uint("attempts", c.attempts, 1, 100);
  r.Uint("recover_after", c.recover_after, 1, 100);
  switch (c.type) {
    case CheckType::kExec: {
      r.Bool("shell", c.shell);
      ReadCommand(r, errors, item, c);
      r.String("user", c.user);
      r.StringMap("env", c.env);
      for (const auto& [k, v] : c.env) {
        if (!GoodEnvName(k)) {
          errors.At(item["env"], path + ".env: '" + k +
                                     "' is not a variable name a check may set (PATH and "
                                     "LD_* are the agent's)");
        }
      }
      break;
    }
    case CheckType::kDisk:
      r.String("path", c.path, /*required=*/true);
      ReadThresholds(r, c, 80, 90, 100);
      c.inodes_warning = c.warning;
      c.inodes_critical = c.critical;
      r.Double("inodes_warning", c.inodes_warning, 0, 100);
      r.Double("inodes_critical", c.inodes_critical, 0, 100);
      break;
    case CheckType::kLoad:
      ReadThresholds(r, c, 1.5, 3.0, 1e6);
      break;
    case CheckType::kMemory:
      ReadThresholds(r, c, 10, 5, 100);
      if (c.critical > c.warning) {
        errors.At(item, path +
                            ": memory thresholds are percent available: critical must be "
                            "at most warning");
      }
      break;
    case CheckType::kTcp:
    case CheckType::kClock: {
      if (c.type == CheckType::kClock) ReadThresholds(r, c, 2, 4, 3600);
      r.HostPort("address", c.address, /*required=*/true);
      if (!c.address.host.empty() && !SocketAddress::FromLiteral(c.address.host, c.address.port)) {
        errors.At(item["address"], path +
                                       ".address: must be an IP address and port (checks "
                                       "do not look names up)");
      }
      break;
    }
    case CheckType::kHttp: {
      r.String("url", c.url, /*required=*/true);
      uint64_t status = 200;
      r.Uint("status", status, 100, 599);
      c.expect_status = static_cast<int>(status);
      r.String("body_contains", c.body_contains);
      if (c.body_contains.size() > 256) {
        errors.At(item["body_contains"], path + ".body_contains: longer than 256 bytes");
      }
      r.String("tls_server_name", c.tls_server_name);
      r.String("ca_file", c.ca_file);
      r.Bool("tls_verify", c.tls_verify);
      HttpTarget t;
      if (c.url.empty()) break;
      if (std::string why = ParseHttpUrl(c.url, t); !why.empty()) {
        errors.At(item["url"], path + ".url: " + why);
        break;
      } else if (!SocketAddress::FromLiteral(t.host, t.port)) {
        errors.At(item["url"], path +
                                   ".url: the host must be an IP address (checks do not "
                                   "look names up; for https, name the certificate's host "
                                   "in tls_server_name)");
      }
      if (!t.tls) {
        for (const char* key : {"tls_server_name", "ca_file", "tls_verify"}) {
          if (item[key]) errors.At(item[key], path + "." + key + ": only for https:// URLs");
        }
      }
      if (!c.tls_server_name.empty() && !ValidServerName(c.tls_server_name)) {
        errors.At(item["tls_server_name"],
                  path + ".tls_server_name: expected a DNS name (letters, digits, '-', '.')");
      }
      if (!c.ca_file.empty() && access(c.ca_file.c_str(), R_OK) != 0) {
        errors.At(item["ca_file"], path + ".ca_file: cannot read " + c.ca_file + ": " +
                                       std::strerror(errno));
      }
      break;
    }
    case CheckType::kProcess:
      r.String("pidfile", c.path);
      r.String("process", c.process_name);
      if (c.path.empty() == c.process_name.empty()) {
        errors.At(item, path + ": set exactly one of pidfile or process");
      } else if (c.process_name.size() > 15) {
        errors.At(item["process"], path +
                                       ".process: longer than a process name can be (15 "
                                       "bytes, /proc/PID/comm)");
      }
      break;
    case CheckType::kSystemd:
      r.String("unit", c.unit, /*required=*/true);
      if (!c.unit.empty() && (c.unit[0] == '-' || c.unit.find('/') != std::string::npos)) {
        errors.At(item["unit"], path + ".unit: not a unit name");
      }
      break;
    case CheckType::kFileAge: {
      r.String("path", c.path, /*required=*/true);
      Duration w{}, cr{};
      r.Duration("critical", cr, std::chrono::seconds(1), std::chrono::days(3650));
      w = cr;
      r.Duration("warning", w, std::chrono::seconds(1), std::chrono::days(3650));
      if (cr == Duration::zero()) errors.At(item, path + ".critical: required for file_age");
      c.warning = std::chrono::duration<double>(w).count();
      c.critical = std::chrono::duration<double>(cr).count();
      break;
    }
  }
  const bool larger_is_worse = c.type == CheckType::kDisk || c.type == CheckType::kLoad ||
                               c.type == CheckType::kFileAge || c.type == CheckType::kClock;
  if (larger_is_worse && c.warning > c.critical) {
    errors.At(item, path + ": warning must not be above critical");
  }
  r.Finish();
}

}  // namespace

std::string_view CheckTypeName(CheckType t) {
  for (const auto& x : kTypes) {
    if (x.type == t) return x.name;
  }
  return "?";
}

void ReadChecks(const YAML::Node& seq, Errors& errors, std::vector<CheckConfig>& out) {
  if (!seq.IsDefined() || seq.IsNull()) return;
  if (!seq.IsSequence()) {
    errors.At(seq, "checks: expected a list of checks (- name: ...)");
    return;
  }
  if (seq.size() > kMaxChecks) {
    errors.At(seq, "checks: " + std::to_string(seq.size()) + " checks; the limit is " +
                       std::to_string(kMaxChecks));
    return;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < seq.size(); ++i) {
    const YAML::Node item = seq[i];
    const std::string path = "checks[" + std::to_string(i) + "]";
    MapReader r(errors, item, path);
    if (!r.valid()) continue;
    CheckConfig c;
    ReadOne(r, errors, item, path, c);
    if (!c.name.empty()) {
      if (!GoodCheckName(c.name)) {
        errors.At(item["name"], path + ".name: '" + c.name +
                                    "' must be 1 to 128 characters from [A-Za-z0-9_.:/-]");
      } else if (!names.insert(c.name).second) {
        errors.At(item["name"], path + ".name: duplicate check name '" + c.name + "'");
      }
    }
    out.push_back(std::move(c));
  }
}

}  // namespace firewatch::agent
