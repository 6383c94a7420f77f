#include "watch/watch_config.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "firewatch/secret_file.h"
#include "watch/own_sources.h"

namespace firewatch::collector {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

std::string Resolve(const std::string& base_dir, const std::string& file) {
  if (fs::path(file).is_absolute()) return fs::path(file).lexically_normal().string();
  return (fs::absolute(fs::path(base_dir)) / file).lexically_normal().string();
}

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > kMaxWatchNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return std::isalnum(c) || c == '.' || c == '_' || c == '-';
  });
}

// name (required, unique within `seen`) and labels, common to both lists. `kind`
// ("watchdog", "probe") gives the identity labels kind=<kind>, <kind>=<name>, which win
// over configured ones of the same name; severity=critical unless configured.
void ReadNameAndLabels(config::MapReader& r, const std::string& path, std::set<std::string>& seen,
                       const std::string& kind, std::string& name, protocol::Labels& labels) {
  r.String("name", name, true);
  if (r.Has("name") && !ValidName(name)) {
    r.errors().At(r.Node("name"), path + ".name: '" + name + "' must be 1.." +
                                      std::to_string(kMaxWatchNameLength) +
                                      " characters of A-Z a-z 0-9 . _ -");
  } else if (!name.empty() && !seen.insert(name).second) {
    r.errors().At(r.Node("name"), path + ".name: '" + name + "' is listed twice");
  }
  std::map<std::string, std::string> configured;
  r.StringMap("labels", configured);
  if (configured.size() > kMaxWatchLabels) {
    r.errors().At(r.Node("labels"),
                  path + ".labels: at most " + std::to_string(kMaxWatchLabels) + " labels");
  }
  for (const auto& [k, v] : configured) {
    if (k.empty() || k.size() > protocol::kMaxIdLength || v.size() > protocol::kMaxShortText) {
      r.errors().At(r.Node("labels"),
                    path + ".labels." + k + ": names are 1..64 bytes, values at most 128");
    }
  }
  std::map<std::string, std::string> all = {{"severity", "critical"}};  // a default
  for (const auto& [k, v] : configured) all[k] = v;
  all["kind"] = kind;
  all[kind] = name;
  labels.assign(all.begin(), all.end());
}

void CheckInterval(config::MapReader& r, const std::string& path, Duration interval,
                   const DetectionConfig& detection) {
  if (interval < detection.min_interval || interval > detection.max_interval) {
    r.errors().At(r.Node("interval"), path + ".interval: " + config::FormatDuration(interval) +
                                          " is outside detection.min_interval..max_interval (" +
                                          config::FormatDuration(detection.min_interval) + ".." +
                                          config::FormatDuration(detection.max_interval) + ")");
  }
}

// Marks `key` used and returns its node (null when absent).
YAML::Node List(config::MapReader& top, const std::string& key, size_t max,
                const std::string& what) {
  YAML::Node n = top.Node(key);
  if (!n.IsDefined() || n.IsNull()) return YAML::Node();
  if (!n.IsSequence()) {
    top.errors().At(n, key + ": expected a list of " + what);
    return YAML::Node();
  }
  if (n.size() > max) {
    top.errors().At(
        n, key + ": at most " + std::to_string(max) + " entries, got " + std::to_string(n.size()));
    return YAML::Node();
  }
  return n;
}

void ReadWatchdogs(config::MapReader& top, const std::string& base_dir,
                   const DetectionConfig& detection, WatchConfig& out) {
  YAML::Node list = List(top, "watchdogs", kMaxWatchdogs, "{name, token_file, interval}");
  if (!list) return;
  std::set<std::string> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = "watchdogs[" + std::to_string(i) + "]";
    config::MapReader r(top.errors(), list[i], path);
    WatchdogConfig w;
    ReadNameAndLabels(r, path, seen, "watchdog", w.name, w.labels);
    r.String("token_file", w.token_file, true);
    if (YAML::Node prev = r.Node("previous_token_files"); prev.IsDefined() && !prev.IsNull()) {
      if (!prev.IsSequence() || prev.size() > 4) {
        r.errors().At(prev, path + ".previous_token_files: expected a list of at most 4 files");
      } else {
        for (size_t j = 0; j < prev.size(); ++j) {
          if (!prev[j].IsScalar() || prev[j].Scalar().empty()) {
            r.errors().At(prev[j], path + ".previous_token_files[" + std::to_string(j) +
                                       "]: expected a file name");
          } else {
            w.previous_token_files.push_back(Resolve(base_dir, prev[j].Scalar()));
          }
        }
      }
    }
    r.Duration("interval", w.interval, seconds(1), std::chrono::hours(24));
    CheckInterval(r, path, w.interval, detection);
    r.Finish();
    if (!w.token_file.empty()) w.token_file = Resolve(base_dir, w.token_file);
    out.watchdogs.push_back(std::move(w));
  }
}

void ReadProbes(config::MapReader& top, const DetectionConfig& detection, WatchConfig& out) {
  YAML::Node list = List(top, "probes", kMaxProbes, "{name, http or tcp, interval, timeout}");
  if (!list) return;
  std::set<std::string> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = "probes[" + std::to_string(i) + "]";
    config::MapReader r(top.errors(), list[i], path);
    ProbeConfig p;
    ReadNameAndLabels(r, path, seen, "probe", p.name, p.labels);
    const bool http = r.Has("http"), tcp = r.Has("tcp");
    if (http == tcp) {
      r.errors().At(list[i], path + ": give exactly one of http: URL or tcp: host:port");
    }
    if (http) {
      r.String("http", p.url);
      p.kind = ProbeKind::kHttp;
      const bool scheme = p.url.rfind("http://", 0) == 0 || p.url.rfind("https://", 0) == 0;
      if (!scheme || p.url.size() > 2048 || p.url.find_first_of(" \t\r\n") != std::string::npos) {
        r.errors().At(r.Node("http"), path +
                                          ".http: expected an http:// or https:// URL "
                                          "(at most 2048 bytes, no spaces), got '" +
                                          p.url.substr(0, 200) + "'");
      }
    }
    if (tcp) {
      p.kind = ProbeKind::kTcp;
      r.HostPort("tcp", p.address);
    }
    uint64_t status = static_cast<uint64_t>(p.expect_status);
    r.Uint("expect_status", status, 100, 599);
    p.expect_status = static_cast<long>(status);
    r.String("expect_body", p.expect_body);
    if (p.expect_body.size() > 1024) {
      r.errors().At(r.Node("expect_body"), path + ".expect_body: at most 1024 bytes");
    }
    if (tcp && (r.Has("expect_status") || r.Has("expect_body"))) {
      r.errors().At(list[i], path + ": expect_status and expect_body apply to http probes only");
    }
    r.Duration("interval", p.interval, seconds(1), std::chrono::hours(24));
    CheckInterval(r, path, p.interval, detection);
    r.Duration("timeout", p.timeout, milliseconds(100), std::chrono::minutes(5));
    if (p.timeout >= p.interval) {
      r.errors().At(r.Has("timeout") ? r.Node("timeout") : list[i],
                    path + ".timeout: " + config::FormatDuration(p.timeout) +
                        " must be shorter than the interval (" +
                        config::FormatDuration(p.interval) + ")");
    }
    uint64_t failures = p.failures_before_down;
    r.Uint("failures_before_down", failures, 1, 100);
    p.failures_before_down = static_cast<uint32_t>(failures);
    r.Finish();
    out.probes.push_back(std::move(p));
  }
}

void ReadAlertmanagerPost(config::MapReader& top, const std::string& base_dir, WatchConfig& out) {
  YAML::Node node = top.Node("alertmanager_post");
  if (!node.IsDefined() || node.IsNull()) return;
  const std::string path = "alertmanager_post";
  if (!node.IsMap()) {
    top.errors().At(node, path + ": expected a map {urls, mode, health_probe, ...}");
    return;
  }
  AlertmanagerPostConfig& c = out.alertmanager_post;
  c.enabled = true;
  config::MapReader r(top.errors(), node, path);
  YAML::Node urls = r.Node("urls");
  if (!urls.IsDefined() || !urls.IsSequence() || urls.size() == 0 ||
      urls.size() > kMaxAlertmanagerUrls) {
    r.errors().At(urls.IsDefined() ? urls : node,
                  path + ".urls: expected a list of 1.." + std::to_string(kMaxAlertmanagerUrls) +
                      " Alertmanager base URLs (http://host:9093)");
  } else {
    std::set<std::string> seen;
    for (size_t i = 0; i < urls.size(); ++i) {
      const std::string at = path + ".urls[" + std::to_string(i) + "]";
      std::string url = urls[i].IsScalar() ? urls[i].Scalar() : "";
      while (!url.empty() && url.back() == '/') url.pop_back();
      const bool scheme = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
      const size_t authority = url.find("://") + 3;
      const bool userinfo = scheme && url.find('@', authority) < url.find('/', authority);
      if (!scheme || url.size() > 2048 || url.find_first_of(" \t\r\n?#") != std::string::npos) {
        r.errors().At(urls[i], at + ": expected an http:// or https:// base URL (at most 2048 "
                                    "bytes, no spaces, query or fragment), got '" +
                                    url.substr(0, 200) + "'");
      } else if (userinfo) {
        // The URL is a metric label and a log field: credentials go in bearer_token_file.
        r.errors().At(urls[i], at + ": no user:password@ in the URL; use bearer_token_file");
      } else if (!seen.insert(url).second) {
        r.errors().At(urls[i], at + ": '" + url + "' is listed twice");
      } else {
        c.urls.push_back(url);
      }
    }
  }
  std::string mode = "mirror";
  r.String("mode", mode);
  if (mode != "mirror") {
    r.errors().At(r.Node("mode"),
                  path + ".mode: '" + mode +
                      "' is not a mode; the only one is 'mirror' (post AND page directly): "
                      "firewatch never hands its pages to Alertmanager instead "
                      "(docs/watching.md)");
  }
  r.String("health_probe", c.health_probe);
  if (!c.health_probe.empty() &&
      std::none_of(out.probes.begin(), out.probes.end(),
                   [&](const ProbeConfig& p) { return p.name == c.health_probe; })) {
    r.errors().At(r.Node("health_probe"), path + ".health_probe: no probe named '" +
                                              c.health_probe + "' under probes:");
  }
  r.Duration("resend_interval", c.resend_interval, seconds(1), std::chrono::hours(1));
  r.Duration("timeout", c.timeout, milliseconds(100), std::chrono::minutes(1));
  if (c.timeout >= c.resend_interval) {
    r.errors().At(r.Has("timeout") ? r.Node("timeout") : node,
                  path + ".timeout: " + config::FormatDuration(c.timeout) +
                      " must be shorter than resend_interval (" +
                      config::FormatDuration(c.resend_interval) + ")");
  }
  r.String("bearer_token_file", c.bearer_token_file);
  if (!c.bearer_token_file.empty()) c.bearer_token_file = Resolve(base_dir, c.bearer_token_file);
  r.String("ca_file", c.ca_file);
  if (!c.ca_file.empty()) c.ca_file = Resolve(base_dir, c.ca_file);
  r.Finish();
}

}  // namespace

std::string ProbeConfig::Target() const {
  return kind == ProbeKind::kHttp ? url : "tcp " + address.ToString();
}

std::string WatchdogSourceId(const std::string& name) {
  return std::string(kWatchdogPrefix) + name;
}
std::string ProbeSourceId(const std::string& name) {
  return std::string(kProbePrefix) + name;
}

void ReadWatchConfig(config::MapReader& top, const std::string& base_dir,
                     const DetectionConfig& detection, WatchConfig& out) {
  ReadWatchdogs(top, base_dir, detection, out);
  ReadProbes(top, detection, out);
  ReadAlertmanagerPost(top, base_dir, out);  // after probes: health_probe names one
}

std::vector<std::string> WatchRestartOnlyChanges(const WatchConfig& running, const WatchConfig& next) {
  auto watchdog_key = [](const WatchdogConfig& w) {
    return std::tie(w.name, w.token_file, w.previous_token_files, w.interval, w.labels);
  };
  auto probe_key = [](const ProbeConfig& p) {
    return std::make_tuple(p.name, p.kind, p.Target(), p.expect_status, p.expect_body, p.interval,
                           p.timeout, p.failures_before_down, p.labels);
  };
  auto post_key = [](const AlertmanagerPostConfig& a) {
    return std::tie(a.enabled, a.urls, a.health_probe, a.resend_interval, a.timeout,
                    a.bearer_token_file, a.ca_file);
  };
  auto same = [](const auto& a, const auto& b, const auto& key) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(),
                      [&](const auto& x, const auto& y) { return key(x) == key(y); });
  };
  std::vector<std::string> out;
  if (!same(running.watchdogs, next.watchdogs, watchdog_key)) out.emplace_back("watchdogs");
  if (!same(running.probes, next.probes, probe_key)) out.emplace_back("probes");
  if (post_key(running.alertmanager_post) != post_key(next.alertmanager_post)) {
    out.emplace_back("alertmanager_post");
  }
  return out;
}

Result<std::vector<WatchdogCredential>> LoadWatchdogTokens(const WatchConfig& config) {
  std::vector<WatchdogCredential> out;
  for (const auto& w : config.watchdogs) {
    WatchdogCredential c;
    c.name = w.name;
    std::vector<std::string> files = {w.token_file};
    files.insert(files.end(), w.previous_token_files.begin(), w.previous_token_files.end());
    for (const auto& file : files) {
      auto text = ReadSecretFile(file, "watchdog '" + w.name + "' token");
      if (!text.ok()) return text.status();
      std::string token = *text;
      while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
        token.pop_back();
      }
      if (token.size() < kMinWatchdogTokenBytes ||
          token.find_first_of(" \t\r\n") != std::string::npos) {
        return Status::InvalidArgument("watchdog '" + w.name + "' token file " + file +
                                       ": expected one token of at least " +
                                       std::to_string(kMinWatchdogTokenBytes) +
                                       " characters without spaces (make one with: "
                                       "firewatchctl keygen --out " +
                                       file + ")");
      }
      c.token_sha256.push_back(crypto::Sha256::Hash(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(token.data()), token.size())));
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace firewatch::collector
