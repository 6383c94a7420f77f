#include "app/collector_config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <fstream>
#include <set>
#include <sstream>
#include <cstring>

#include "firewatch/log_line.h"

namespace firewatch::collector {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

std::string Hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "collector";
  return buf;
}

// A whole number in [min, max], or the word `auto` (out = nullopt). Absent: unchanged.
void UintOrAuto(config::MapReader& r, const std::string& key, std::optional<uint64_t>& out,
                uint64_t min, uint64_t max) {
  YAML::Node n = r.Node(key);
  if (!n.IsDefined() || n.IsNull()) return;
  const std::string s = n.IsScalar() ? n.Scalar() : std::string();
  if (s == "auto") {
    out.reset();
    return;
  }
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    r.errors().At(n, r.PathOf(key) + ": expected a whole number or auto");
    return;
  }
  if (v < min || v > max) {
    r.errors().At(n, r.PathOf(key) + ": must be between " + std::to_string(min) + " and " +
                         std::to_string(max) + " (or auto), got " + s);
    return;
  }
  out = v;
}

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty()) return path;
  fs::path p(path);
  if (p.is_absolute()) return p.lexically_normal().string();
  return (fs::absolute(fs::path(base_dir)) / p).lexically_normal().string();
}

// The built-in inhibition of whole failure domains (docs/domains.md): while
// DomainDown{<label>="x"} fires, the SourceDown and CheckFailing alerts of domain x are
// muted. Added after the configured rules, so it works without any routing config.
void AddDomainInhibition(const DomainConfig& domains, alerting::AlertingConfig& alerting) {
  if (!domains.enabled || !alerting.enabled) return;
  auto source = alerting::route::ParseMatcher("alertname=\"DomainDown\"");
  auto target = alerting::route::ParseMatcher("alertname=~\"SourceDown|CheckFailing\"");
  if (!source.ok() || !target.ok()) return;  // constant text: cannot happen
  alerting.routing.inhibit_rules.push_back({{*source}, {*target}, {domains.label}});
}

}  // namespace

size_t DefaultMaxSources() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return 100'000;
  const uint64_t ram = static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size);
  // At most what one collector is measured with (docs/benchmarks.md, section 8). The old
  // cap of 500,000 was the full sync table's 16 MiB body; the sync sends ranges now.
  return static_cast<size_t>(std::clamp<uint64_t>(ram / (32 * 1024), 10'000, 1'000'000));
}

std::string DefaultConfigYaml() {
  return R"(# firewatch-collector embedded defaults (firewatch-collector --print-default-config)
collector:
  id: ""                      # empty: the host name
  data_dir: ./firewatch-data  # SQLite state, pages.log; relative to this file
  http_listen: 127.0.0.1:9760 # API, /ping, /metrics, status page
  udp_listen: 127.0.0.1:9761  # heartbeat datagrams
  http_threads: 32
  http_max_connections_per_client: 8
  udp_buffer_mib: 64          # UDP receive buffer: ~64,000 heartbeats of burst
  last_seen_every: 5s         # heartbeats reach collector.db in batches this often
  log_level: info
  log_format: text            # text or json: one line per event on stderr
  max_sources: auto           # sources tracked at most; auto: 1 per 32 KiB of RAM (10k..1M)
  new_sources_per_key_per_minute: auto  # auto: max_sources / 10 (at least 1000); 0: no limit
keys:
  - id: default
    file: ./firewatch-data/fleet.key
    create_if_missing: true   # convenient for a first run; set false in production
    # sources: ["web-*"]      # source ids this key may speak for; absent: all (a fleet key)
detection:
  window: 20                  # inter-arrival samples per source (2..32)
  min_stddev: 500ms
  acceptable_missed: 1        # heartbeats that may be lost before suspicion rises
  late_phi: 3
  down_phi: 8
  backstop_intervals: 3       # DOWN at the latest after interval * 3 + grace
  backstop_grace: 2s
  recovery_heartbeats: 2      # heartbeats in a row to leave DOWN
  max_clock_skew: 2m          # how old a frame's timestamp may be
  max_future_skew: 5s         # how far ahead of this collector's clock it may be
  min_interval: 1s            # frames declaring another interval are refused
  max_interval: 1h
  forget_after: 30d           # forget sources not heard for this long; 0s: never
  evaluate_every: 250ms
metrics:
  per_source: true            # firewatch_source_* series; turn off for huge fleets
paging:
  local_file: pages.log       # the local channel, inside data_dir
api:
  # Who may ack and silence: firewatchctl token create NAME --operators-file <this file>
  operators_file: ./firewatch-data/operators.yml
)";
}

Result<CollectorConfig> ParseCollectorConfig(const std::string& text, const std::string& name,
                                             const std::string& base_dir) {
  auto doc = config::LoadString(text, name);
  if (!doc.ok()) return doc.status();
  CollectorConfig c;
  c.source_file = name;
  config::Errors errors(name);
  config::MapReader top(errors, *doc, "");

  config::MapReader col(errors, top.Node("collector"), "collector");
  col.String("id", c.id);
  col.String("data_dir", c.data_dir);
  col.HostPort("http_listen", c.http_listen);
  col.HostPort("udp_listen", c.udp_listen);
  uint64_t threads = static_cast<uint64_t>(c.http_threads);
  col.Uint("http_threads", threads, 2, 256);
  c.http_threads = static_cast<int>(threads);
  col.Duration("http_header_timeout", c.http_header_timeout, milliseconds(100), seconds(600));
  col.Duration("last_seen_every", c.last_seen_every, milliseconds(100), seconds(300));
  col.Duration("http_body_timeout", c.http_body_timeout, milliseconds(100), seconds(3600));
  col.Uint("http_min_body_rate", c.http_min_body_rate, 0, 1u << 30);
  uint64_t per_client = static_cast<uint64_t>(c.http_max_connections_per_client);
  col.Uint("http_max_connections_per_client", per_client, 0, 100000);
  c.http_max_connections_per_client = static_cast<int>(per_client);
  if (YAML::Node hosts = col.Node("allowed_hosts"); hosts.IsDefined() && !hosts.IsNull()) {
    if (!hosts.IsSequence()) {
      errors.At(hosts, "collector.allowed_hosts: expected a list of host names");
    } else {
      for (size_t i = 0; i < hosts.size(); ++i) {
        const std::string h = hosts[i].IsScalar() ? hosts[i].as<std::string>() : "";
        if (HostOfAuthority(h).empty()) {
          errors.At(hosts[i], "collector.allowed_hosts[" + std::to_string(i) +
                                  "]: expected a host name like collector-a.example");
        } else {
          c.allowed_hosts.push_back(h);
        }
      }
    }
  }
  uint64_t buffer_mib = static_cast<uint64_t>(c.udp_buffer_mib);
  col.Uint("udp_buffer_mib", buffer_mib, 1, 1024);
  c.udp_buffer_mib = static_cast<int>(buffer_mib);
  col.String("log_level", c.log_level);
  col.String("log_format", c.log_format);
  // Per collector (outside the cluster's config digest): overrides alerting.external_url.
  std::string own_url;
  col.String("external_url", own_url);
  if (!own_url.empty() && own_url.rfind("http://", 0) != 0 && own_url.rfind("https://", 0) != 0) {
    errors.At(col.Node("external_url"), "collector.external_url: must start with http:// or https://");
  }
  if (!std::set<std::string>{"trace", "debug", "info", "warn", "error"}.count(c.log_level)) {
    errors.At(col.Node("log_level"),
              "collector.log_level: must be trace, debug, info, warn or error");
  }
  if (LogFormat f; !ParseLogFormat(c.log_format, f)) {
    errors.At(col.Node("log_format"), "collector.log_format: must be text or json");
  }
  std::optional<uint64_t> max_sources, per_key;
  UintOrAuto(col, "max_sources", max_sources, 1, 5'000'000);
  UintOrAuto(col, "new_sources_per_key_per_minute", per_key, 0, 10'000'000);
  c.limits.max_sources = max_sources ? static_cast<size_t>(*max_sources) : DefaultMaxSources();
  c.limits.new_sources_per_key_per_minute = static_cast<uint32_t>(
      per_key ? *per_key : std::max<uint64_t>(1000, c.limits.max_sources / 10));
  col.Finish();

  YAML::Node keys = top.Node("keys");
  if (keys.IsDefined() && !keys.IsNull()) {
    if (!keys.IsSequence()) {
      errors.At(keys, "keys: expected a list of {id, file}");
    } else {
      std::set<std::string> seen;
      for (size_t i = 0; i < keys.size(); ++i) {
        std::string path = "keys[" + std::to_string(i) + "]";
        config::MapReader k(errors, keys[i], path);
        KeyConfig kc;
        k.String("id", kc.id, true);
        k.String("file", kc.file, true);
        k.Bool("create_if_missing", kc.create_if_missing);
        YAML::Node sources = k.Node("sources");
        if (sources.IsDefined() && !sources.IsNull()) {
          if (!sources.IsSequence()) {
            errors.At(sources, path + ".sources: expected a list of source ids or patterns "
                                      "like [\"web-*\", \"db-7\"]");
          } else {
            for (size_t j = 0; j < sources.size(); ++j) {
              if (!sources[j].IsScalar()) {
                errors.At(sources[j], path + ".sources[" + std::to_string(j) + "]: expected a string");
                continue;
              }
              kc.sources.push_back(sources[j].Scalar());
            }
            KeyBindings probe;
            if (Status bs = probe.Bind(kc.id, kc.sources); !bs.ok()) {
              errors.At(sources, path + ".sources: " + bs.message());
            }
          }
        }
        k.Finish();
        if (!kc.id.empty() && !seen.insert(kc.id).second) {
          errors.At(keys[i], path + ".id: key id '" + kc.id + "' is listed twice");
        }
        if (kc.id.size() > protocol::kMaxIdLength) {
          errors.At(keys[i], path + ".id: longer than 64 bytes");
        }
        kc.file = Resolve(base_dir, kc.file);
        c.keys.push_back(kc);
      }
    }
  }
  if (c.keys.empty()) errors.At(*doc, "keys: at least one heartbeat key is required");

  config::MapReader det(errors, top.Node("detection"), "detection");
  DetectionConfig& d = c.detection;
  uint64_t window = d.phi.window, missed = d.acceptable_missed, backstop = d.backstop_intervals,
           recovery = d.recovery_heartbeats;
  det.Uint("window", window, 2, PhiDetector::kMaxWindow);
  det.Duration("min_stddev", d.phi.min_stddev, milliseconds(1), seconds(600));
  det.Uint("acceptable_missed", missed, 0, 100);
  det.Double("late_phi", d.late_phi, 0.1, 100);
  det.Double("down_phi", d.down_phi, 0.1, 1000);
  det.Uint("backstop_intervals", backstop, 1, 1000);
  det.Duration("backstop_grace", d.backstop_grace, milliseconds(0), std::chrono::hours(24));
  det.Uint("recovery_heartbeats", recovery, 1, 100);
  Duration skew = d.max_clock_skew, future = d.max_future_skew, min_interval = d.min_interval,
           max_interval = d.max_interval;
  det.Duration("max_clock_skew", skew, seconds(1), std::chrono::hours(24));
  det.Duration("max_future_skew", future, milliseconds(0), std::chrono::minutes(10));
  det.Duration("min_interval", min_interval, milliseconds(10), std::chrono::hours(1));
  det.Duration("max_interval", max_interval, seconds(1), std::chrono::hours(24 * 7));
  det.Duration("forget_after", c.forget_after, milliseconds(0), std::chrono::hours(24 * 3650));
  det.Duration("evaluate_every", c.evaluate_every, milliseconds(10), seconds(60));
  if (c.forget_after != Duration::zero() && c.forget_after < std::chrono::hours(1)) {
    errors.At(det.Node("forget_after"),
              "detection.forget_after: must be 0s (never) or at least 1h, got " +
                  config::FormatDuration(c.forget_after));
  }
  det.Finish();
  d.max_future_skew = std::chrono::duration_cast<milliseconds>(future);
  d.min_interval = std::chrono::duration_cast<milliseconds>(min_interval);
  d.max_interval = std::chrono::duration_cast<milliseconds>(max_interval);
  if (d.min_interval > d.max_interval) {
    errors.At(*doc, "detection.min_interval (" + config::FormatDuration(min_interval) +
                        ") must not be above detection.max_interval (" +
                        config::FormatDuration(max_interval) + ")");
  }
  d.phi.window = static_cast<uint32_t>(window);
  d.acceptable_missed = static_cast<uint32_t>(missed);
  d.backstop_intervals = static_cast<uint32_t>(backstop);
  d.recovery_heartbeats = static_cast<uint32_t>(recovery);
  d.max_clock_skew = std::chrono::duration_cast<milliseconds>(skew);
  if (d.late_phi > d.down_phi) {
    errors.At(*doc, "detection.late_phi (" + std::to_string(d.late_phi) +
                        ") must not be above detection.down_phi (" + std::to_string(d.down_phi) +
                        ")");
  }

  config::MapReader met(errors, top.Node("metrics"), "metrics");
  met.Bool("per_source", c.per_source_metrics);
  met.Finish();

  config::MapReader pag(errors, top.Node("paging"), "paging");
  pag.String("local_file", c.pages_file);
  pag.Finish();
  ReadApiConfig(top, base_dir, c.api);
  alerting::ReadAlertingConfig(top, base_dir, c.alerting);
  ReadClusterConfig(top, base_dir, c.cluster);
  ReadWatchConfig(top, base_dir, c.detection, c.watch);
  ReadChecksConfig(top, c.checks);
  ReadCheckAlertsConfig(top, c.check_alerts);
  ReadDomainConfig(top, c.domains);
  top.Finish();
  AddDomainInhibition(c.domains, c.alerting);
  if (!own_url.empty()) c.alerting.external_url = own_url;

  if (c.id.empty()) c.id = Hostname();
  CheckClusterSelf(*doc, c.id, c.cluster, errors);
  if (!errors.empty()) return errors.ToStatus();
  c.cluster.digest = ConfigDigest(*doc);
  c.data_dir = Resolve(base_dir, c.data_dir);
  if (fs::path(c.pages_file).is_relative()) c.pages_file = Resolve(c.data_dir, c.pages_file);
  return c;
}

Result<CollectorConfig> LoadCollectorConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IoError(path + ": cannot open config file");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string dir = fs::absolute(fs::path(path)).parent_path().string();
  return ParseCollectorConfig(ss.str(), path, dir);
}

Result<CollectorConfig> EmbeddedCollectorConfig() {
  return ParseCollectorConfig(DefaultConfigYaml(), "<embedded defaults>",
                              fs::current_path().string());
}

Status CreateKeyFileIfMissing(const std::string& path) {
  std::error_code ec;
  if (fs::exists(path, ec)) return Status::Ok();
  fs::create_directories(fs::path(path).parent_path(), ec);
  const std::string text = protocol::GenerateKeyText();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno != EEXIST) {
    return Status::IoError("cannot create key file " + path + ": " + std::strerror(errno));
  }
  if (fd >= 0) {
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ok = ::fsync(fd) == 0 && ok;
    ::close(fd);
    if (!ok) return Status::IoError("cannot write key file " + path);
  }
  return Status::Ok();
}

std::shared_ptr<const KeyBindings> BindingsOf(const CollectorConfig& config) {
  auto bindings = std::make_shared<KeyBindings>();
  for (const auto& k : config.keys) {
    if (k.sources.empty()) continue;
    // Validated by the parser; a failure here is a broken invariant, not input.
    if (Status s = bindings->Bind(k.id, k.sources); !s.ok()) std::abort();
  }
  return bindings;
}

Result<std::shared_ptr<const protocol::Keyring>> LoadKeys(const CollectorConfig& config) {
  auto ring = std::make_shared<protocol::Keyring>();
  for (const auto& k : config.keys) {
    if (k.create_if_missing) {
      if (Status s = CreateKeyFileIfMissing(k.file); !s.ok()) return s;
    }
    Status s = ring->AddFromFile(k.id, k.file);
    if (!s.ok()) {
      return Status::InvalidArgument("key '" + k.id + "': " + s.message() +
                                     " (create one with: firewatchctl keygen --out " + k.file +
                                     ")");
    }
  }
  return std::shared_ptr<const protocol::Keyring>(std::move(ring));
}

}  // namespace firewatch::collector
