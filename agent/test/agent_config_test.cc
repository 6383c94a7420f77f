#include "agent_config.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "default_config.h"

namespace firewatch::agent {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::string kTestdata = FIREWATCH_AGENT_TESTDATA;

std::vector<std::string> FixturesIn(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(kTestdata + "/" + dir)) {
    if (e.path().extension() == ".yml") names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(AgentConfigTest, EveryGoodFixtureLoads) {
  auto names = FixturesIn("good");
  ASSERT_GE(names.size(), 5u);
  for (const auto& name : names) {
    auto c = LoadAgentConfigFile(kTestdata + "/good/" + name, "test-host");
    EXPECT_TRUE(c.ok()) << name << ": " << c.status().message();
  }
}

// Each bad fixture with a fragment its error must contain, "file:line: key: problem".
// A fixture without an entry here fails the test, so none goes unchecked.
const std::map<std::string, std::string>& BadFixtureExpectations() {
  static const std::map<std::string, std::string> m = {
      {"agent_not_map.yml", "agent_not_map.yml:1: agent: expected a mapping"},
      {"checks_full_interval_too_long.yml",
       "checks_full_interval_too_long.yml:2: agent.checks_full_interval: must be between 1s and "
       "1h, got 2h"},
      {"protocol_version_3.yml",
       "protocol_version_3.yml:2: agent.protocol_version: must be between 1 and 2"},
      {"collector_bad_name.yml",
       "collector_bad_name.yml:2: collectors[0].name: 'collector a' must be 1 to 64 characters"},
      {"collector_empty_udp.yml", "collector_empty_udp.yml:3: collectors[0].udp: must not be empty"},
      {"collector_missing_name.yml",
       "collector_missing_name.yml:2: collectors[0].name: required but missing"},
      {"collector_no_port.yml",
       "collector_no_port.yml:3: collectors[0].udp: expected host:port"},
      {"collector_no_transport.yml",
       "collector_no_transport.yml:4: collectors[1]: needs a udp or an http address"},
      {"collector_port_zero.yml",
       "collector_port_zero.yml:3: collectors[0].http: port must be between 1 and 65535"},
      {"collector_unknown_key.yml", "collector_unknown_key.yml:4: unknown key 'collectors[0].tcp'"},
      {"collectors_not_list.yml", "collectors_not_list.yml:2: collectors: expected a list"},
      {"duplicate_collector.yml",
       "duplicate_collector.yml:6: collectors[2].name: duplicate collector name 'a' (first used "
       "at line 2)"},
      {"empty_collectors.yml", "empty_collectors.yml:3: collectors: at least one collector"},
      {"http_listen_hostname.yml",
       "http_listen_hostname.yml:2: agent.http_listen: must be an IP address"},
      {"interval_no_unit.yml", "interval_no_unit.yml:2: agent.interval: expected a duration"},
      {"interval_too_short.yml",
       "interval_too_short.yml:2: agent.interval: must be between 1s and 1h, got 500ms"},
      {"jitter_too_big.yml", "jitter_too_big.yml:2: agent.jitter: must be between 0 and 0.5, got 0.7"},
      {"key_id_too_long.yml", "key_id_too_long.yml:2: key.id: is 65 bytes; the limit is 64"},
      {"label_bad_name.yml", "label_bad_name.yml:4: agent.labels: label name 'bad-name' must match"},
      {"label_not_string.yml", "label_not_string.yml:3: agent.labels.dc: expected a string value"},
      {"label_value_too_long.yml",
       "label_value_too_long.yml:3: agent.labels.role: value is 200 bytes; the limit is 128"},
      {"labels_too_big_for_frame.yml",
       "labels_too_big_for_frame.yml:4: agent.labels: the heartbeat frame would not fit: frame "
       "would be"},
      {"log_level_bad.yml", "log_level_bad.yml:2: agent.log_level: unknown level 'loud'"},
      {"no_collectors.yml", "no_collectors.yml: collectors: at least one collector is required"},
      {"resolve_interval_too_long.yml",
       "resolve_interval_too_long.yml:2: agent.resolve_interval: must be between 1s and 24h, got "
       "48h"},
      {"source_id_space.yml",
       "source_id_space.yml:2: agent.source_id: must not contain spaces or control characters"},
      {"syntax_error.yml", "syntax_error.yml:4:"},
      {"top_level_list.yml", "top_level_list.yml:1: the top level must be a mapping"},
      {"unknown_agent_key.yml", "unknown_agent_key.yml:3: unknown key 'agent.intervall'"},
      {"unknown_top_key.yml", "unknown_top_key.yml:1: unknown key 'agnet'"},
  };
  return m;
}

TEST(AgentConfigTest, EveryBadFixtureFailsWithItsMessage) {
  const auto& expected = BadFixtureExpectations();
  auto names = FixturesIn("bad");
  EXPECT_EQ(names.size(), expected.size());
  for (const auto& name : names) {
    auto it = expected.find(name);
    if (it == expected.end()) {
      ADD_FAILURE() << "bad fixture " << name << " has no expected message";
      continue;
    }
    auto c = LoadAgentConfigFile(kTestdata + "/bad/" + name, "test-host");
    ASSERT_FALSE(c.ok()) << name << " loaded but should not";
    const std::string msg = c.status().message();
    EXPECT_NE(msg.find(it->second), std::string::npos)
        << name << "\n  expected fragment: " << it->second << "\n  got: " << msg;
    // Every message starts with the file's path.
    EXPECT_EQ(msg.rfind(kTestdata + "/bad/" + name, 0), 0u) << msg;
  }
}

TEST(AgentConfigTest, FullFixtureValues) {
  auto c = LoadAgentConfigFile(kTestdata + "/good/full.yml", "test-host");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->source_id, "web-01");
  EXPECT_EQ(c->interval, 10s);
  EXPECT_DOUBLE_EQ(c->jitter, 0.2);
  ASSERT_TRUE(c->http_listen.has_value());
  EXPECT_EQ(c->http_listen->ToString(), "127.0.0.1:19762");
  EXPECT_EQ(c->resolve_interval, 120s);
  protocol::Labels want = {{"dc", "dc1"}, {"role", "web"}, {"service", "shop"}};
  EXPECT_EQ(c->labels, want);
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->checks_full_interval, 30s);
  EXPECT_EQ(c->protocol_version, 1u);
  EXPECT_EQ(c->key_id, "fleet-2024");
  EXPECT_EQ(c->key_file, kTestdata + "/good/keys/fleet.key");  // relative to the file
  ASSERT_EQ(c->collectors.size(), 3u);
  EXPECT_EQ(c->collectors[0].name, "a");
  EXPECT_EQ(c->collectors[0].udp->ToString(), "10.0.0.1:9761");
  EXPECT_EQ(c->collectors[0].http->ToString(), "10.0.0.1:9760");
  EXPECT_EQ(c->collectors[1].udp->host, "2001:db8::1");
  EXPECT_FALSE(c->collectors[1].http.has_value());
  EXPECT_FALSE(c->collectors[2].udp.has_value());
  EXPECT_EQ(c->collectors[2].http->host, "collector-c.example.net");
}

TEST(AgentConfigTest, MinimalFixtureTakesDefaults) {
  auto c = LoadAgentConfigFile(kTestdata + "/good/minimal.yml", "test-host");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->source_id, "test-host");
  EXPECT_EQ(c->interval, 5s);
  EXPECT_DOUBLE_EQ(c->jitter, 0.1);
  ASSERT_TRUE(c->http_listen.has_value());
  EXPECT_EQ(c->http_listen->ToString(), "127.0.0.1:9762");
  EXPECT_EQ(c->resolve_interval, 60s);
  EXPECT_TRUE(c->labels.empty());
  EXPECT_EQ(c->checks_full_interval, 60s);
  EXPECT_EQ(c->protocol_version, 2u);
  EXPECT_EQ(c->key_id, "default");
  EXPECT_EQ(c->key_file, kTestdata + "/good/fleet.key");
}

TEST(AgentConfigTest, EmptyHttpListenDisablesTheServer) {
  auto c = LoadAgentConfigFile(kTestdata + "/good/http_listen_disabled.yml", "h");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_FALSE(c->http_listen.has_value());
}

TEST(AgentConfigTest, AbsoluteKeyFileIsKept) {
  auto c = LoadAgentConfigFile(kTestdata + "/good/absolute_key.yml", "h");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->key_file, "/etc/firewatch/fleet.key");
}

TEST(AgentConfigTest, EmbeddedDefaultsMatchTheDocumentedDefaults) {
  auto c = LoadDefaultAgentConfig("web-01.example");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->source_id, "web-01.example");
  EXPECT_EQ(c->interval, 5s);
  EXPECT_DOUBLE_EQ(c->jitter, 0.1);
  EXPECT_EQ(c->http_listen->ToString(), "127.0.0.1:9762");
  EXPECT_EQ(c->key_id, "default");
  EXPECT_EQ(c->key_file, "firewatch-data/fleet.key");  // relative to the working directory
  ASSERT_EQ(c->collectors.size(), 1u);
  EXPECT_EQ(c->collectors[0].name, "local");
  EXPECT_EQ(c->collectors[0].udp->ToString(), "127.0.0.1:9761");
  EXPECT_EQ(c->collectors[0].http->ToString(), "127.0.0.1:9760");
}

TEST(AgentConfigTest, PrintedDefaultsPassTheLoaderAsAFile) {
  // What --print-default-config prints must pass --check-config when saved to a file.
  fs::path dir = fs::temp_directory_path() / ("fw-agent-cfg-" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::path file = dir / "agent.yml";
  {
    std::ofstream out(file);
    out << DefaultAgentConfigYaml();
  }
  auto c = LoadAgentConfigFile(file.string(), "h");
  EXPECT_TRUE(c.ok()) << c.status().message();
  if (c.ok()) {
    EXPECT_EQ(c->key_file, (dir / "firewatch-data/fleet.key").string());
  }
  fs::remove_all(dir);
}

TEST(AgentConfigTest, UnusableHostnameNeedsAnExplicitSourceId) {
  auto c = LoadDefaultAgentConfig("");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("agent.source_id: not set, and the host name '' cannot be "
                                      "used"),
            std::string::npos)
      << c.status().message();
  auto doc = config::LoadString("collectors: [{name: a, udp: '127.0.0.1:1'}]\n", "x.yml");
  ASSERT_TRUE(doc.ok());
  auto long_host = ParseAgentConfig(*doc, "x.yml", std::string(65, 'h'), "");
  ASSERT_FALSE(long_host.ok());
  EXPECT_NE(long_host.status().message().find("is 65 bytes; the limit is 64"), std::string::npos);
}

TEST(AgentConfigTest, AllErrorsOfAFileAreReported) {
  auto doc = config::LoadString(
      "agent:\n  interval: 0s\n  jitter: 2\ncollectors:\n  - name: a\n", "many.yml");
  ASSERT_TRUE(doc.ok());
  auto c = ParseAgentConfig(*doc, "many.yml", "h", "");
  ASSERT_FALSE(c.ok());
  const std::string msg = c.status().message();
  EXPECT_NE(msg.find("many.yml:2: agent.interval"), std::string::npos) << msg;
  EXPECT_NE(msg.find("many.yml:3: agent.jitter"), std::string::npos) << msg;
  EXPECT_NE(msg.find("many.yml:5: collectors[0]: needs a udp or an http address"),
            std::string::npos)
      << msg;
}

TEST(AgentConfigTest, MissingFileIsNamed) {
  auto c = LoadAgentConfigFile("/nonexistent/agent.yml", "h");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("/nonexistent/agent.yml"), std::string::npos);
}

}  // namespace
}  // namespace firewatch::agent
