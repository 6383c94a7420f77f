#include "watch/watch_config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "app/collector_config.h"

namespace firewatch::collector {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const char* kKeys = "keys:\n  - id: k\n    file: /nonexistent/k.key\n";

Result<CollectorConfig> Parse(const std::string& yaml) {
  return ParseCollectorConfig(std::string(kKeys) + yaml, "test.yml", "/etc/firewatch");
}

std::string LabelValue(const protocol::Labels& labels, const std::string& key) {
  for (const auto& [k, v] : labels) {
    if (k == key) return v;
  }
  return "<absent>";
}

TEST(WatchConfigTest, ReadsWatchdogsAndProbes) {
  auto c = Parse(R"(
watchdogs:
  - name: main
    token_file: wd.token
    previous_token_files: [/etc/old.token]
    interval: 30s
    labels: {team: ops, kind: nope}
probes:
  - name: prometheus
    http: http://127.0.0.1:9090/-/healthy
    expect_body: Healthy
    interval: 5s
    timeout: 2s
    failures_before_down: 2
  - name: am-port
    tcp: 127.0.0.1:9093
)");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->watch.watchdogs.size(), 1u);
  const WatchdogConfig& w = c->watch.watchdogs[0];
  EXPECT_EQ(w.name, "main");
  EXPECT_EQ(w.token_file, "/etc/firewatch/wd.token");
  EXPECT_EQ(w.previous_token_files, std::vector<std::string>{"/etc/old.token"});
  EXPECT_EQ(w.interval, 30s);
  EXPECT_EQ(LabelValue(w.labels, "team"), "ops");
  EXPECT_EQ(LabelValue(w.labels, "kind"), "watchdog");  // identity wins
  EXPECT_EQ(LabelValue(w.labels, "watchdog"), "main");
  EXPECT_EQ(LabelValue(w.labels, "severity"), "critical");
  ASSERT_EQ(c->watch.probes.size(), 2u);
  const ProbeConfig& p = c->watch.probes[0];
  EXPECT_EQ(p.kind, ProbeKind::kHttp);
  EXPECT_EQ(p.expect_status, 200);
  EXPECT_EQ(p.expect_body, "Healthy");
  EXPECT_EQ(p.interval, 5s);
  EXPECT_EQ(p.timeout, 2s);
  EXPECT_EQ(p.failures_before_down, 2u);
  EXPECT_EQ(c->watch.probes[1].kind, ProbeKind::kTcp);
  EXPECT_EQ(c->watch.probes[1].Target(), "tcp 127.0.0.1:9093");
  EXPECT_EQ(WatchdogSourceId("main"), "watchdog/main");
  EXPECT_EQ(ProbeSourceId("am-port"), "probe/am-port");
}

TEST(WatchConfigTest, ErrorsNameTheLineAndKey) {
  struct Case {
    std::string yaml;
    std::string expect;
  };
  const Case cases[] = {
      {"watchdogs:\n  - name: a b\n    token_file: t\n", "test.yml:5: watchdogs[0].name"},
      {"watchdogs:\n  - name: a\n", "test.yml:5: watchdogs[0].token_file: required but missing"},
      {"watchdogs:\n  - {name: a, token_file: t}\n  - {name: a, token_file: t}\n",
       "'a' is listed twice"},
      {"watchdogs:\n  - {name: a, token_file: t, interval: 2h}\n",
       "watchdogs[0].interval: 2h is outside detection.min_interval..max_interval"},
      {"probes:\n  - {name: p}\n", "give exactly one of http: URL or tcp: host:port"},
      {"probes:\n  - {name: p, http: ftp://x}\n", "probes[0].http: expected an http://"},
      {"probes:\n  - {name: p, tcp: 'x:1', expect_status: 200}\n", "apply to http probes only"},
      {"probes:\n  - {name: p, tcp: 'x:1', interval: 2s, timeout: 2s}\n",
       "must be shorter than the interval"},
      {"probes:\n  - {name: p, tcp: 'x:1', failures_before_down: 0}\n", "failures_before_down"},
      {"probes:\n  - {name: p, tcp: 'x:1', bogus: 1}\n", "unknown key 'probes[0].bogus'"},
      {"probes: {}\n", "probes: expected a list"},
  };
  for (const auto& tc : cases) {
    auto c = Parse(tc.yaml);
    ASSERT_FALSE(c.ok()) << tc.yaml;
    EXPECT_NE(c.status().message().find(tc.expect), std::string::npos)
        << tc.yaml << "\n got: " << c.status().message();
  }
}

TEST(WatchConfigTest, TokensAreReadAsSecretsAndKeptAsHashes) {
  const fs::path dir = fs::temp_directory_path() / ("watch_cfg_" + std::to_string(getpid()));
  fs::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text, mode_t mode) {
    const fs::path p = dir / name;
    std::ofstream(p) << text;
    ::chmod(p.c_str(), mode);
    return p.string();
  };
  WatchConfig c;
  c.watchdogs.push_back({"main",
                         write("good", "0123456789abcdef0123\n", 0600),
                         {write("old", "old-token-0123456789\n", 0600)},
                         1min,
                         {}});
  auto ok = LoadWatchdogTokens(c);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  ASSERT_EQ(ok->size(), 1u);
  const std::string token = "0123456789abcdef0123", old = "old-token-0123456789";
  ASSERT_EQ((*ok)[0].token_sha256.size(), 2u);
  EXPECT_EQ((*ok)[0].token_sha256[0],
            crypto::Sha256::Hash({reinterpret_cast<const uint8_t*>(token.data()), token.size()}));
  EXPECT_EQ((*ok)[0].token_sha256[1],
            crypto::Sha256::Hash({reinterpret_cast<const uint8_t*>(old.data()), old.size()}));
  c.watchdogs[0].previous_token_files.clear();

  c.watchdogs[0].token_file = write("short", "abc\n", 0600);
  auto short_token = LoadWatchdogTokens(c);
  ASSERT_FALSE(short_token.ok());
  EXPECT_NE(short_token.status().message().find("at least 16"), std::string::npos);

  c.watchdogs[0].token_file = write("writable", "0123456789abcdef0123\n", 0666);
  auto writable = LoadWatchdogTokens(c);
  ASSERT_FALSE(writable.ok());
  EXPECT_NE(writable.status().message().find(c.watchdogs[0].token_file), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace firewatch::collector
