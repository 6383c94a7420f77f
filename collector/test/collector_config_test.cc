#include "app/collector_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "app/operators.h"

namespace firewatch::collector {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string Fixture(const std::string& name) {
  return std::string(FIREWATCH_COLLECTOR_TESTDATA) + "/" + name;
}

TEST(CollectorConfigTest, EmbeddedDefaultsAreValid) {
  auto c = EmbeddedCollectorConfig();
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->http_listen.ToString(), "127.0.0.1:9760");
  EXPECT_EQ(c->udp_listen.ToString(), "127.0.0.1:9761");
  EXPECT_EQ(c->udp_buffer_mib, 64);
  EXPECT_FALSE(c->id.empty());
  ASSERT_EQ(c->keys.size(), 1u);
  EXPECT_TRUE(c->keys[0].create_if_missing);
  EXPECT_TRUE(fs::path(c->data_dir).is_absolute());
  EXPECT_EQ(c->pages_file, c->data_dir + "/pages.log");
}

TEST(CollectorConfigTest, GoodFixturesLoad) {
  for (const auto& entry : fs::directory_iterator(Fixture("good"))) {
    if (entry.path().extension() != ".yml") continue;
    auto c = LoadCollectorConfig(entry.path().string());
    EXPECT_TRUE(c.ok()) << entry.path() << ": " << c.status().message();
  }
  auto c = LoadCollectorConfig(Fixture("good/full.yml"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->id, "dc1-a");
  EXPECT_EQ(c->udp_buffer_mib, 128);
  EXPECT_EQ(c->detection.down_phi, 10);
  EXPECT_EQ(c->detection.backstop_grace, 5s);
  EXPECT_EQ(c->detection.phi.window, 10u);
  EXPECT_FALSE(c->per_source_metrics);
  // Relative paths resolve against the file's directory.
  EXPECT_EQ(c->keys[0].file, fs::path(Fixture("good/fleet.key")).lexically_normal().string());
}

TEST(CollectorConfigTest, HardenedFixtureBindsKeysAndSetsLimits) {
  auto c = LoadCollectorConfig(Fixture("good/hardened.yml"));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->limits.max_sources, 20000u);
  EXPECT_EQ(c->limits.new_sources_per_key_per_minute, 500u);
  EXPECT_EQ(c->detection.max_clock_skew, 1min);
  EXPECT_EQ(c->detection.max_future_skew, 2s);
  EXPECT_EQ(c->detection.min_interval, 500ms);
  EXPECT_EQ(c->detection.max_interval, 10min);
  EXPECT_EQ(c->forget_after, std::chrono::hours(24 * 7));
  ASSERT_EQ(c->keys.size(), 3u);
  EXPECT_EQ(c->keys[0].sources, (std::vector<std::string>{"web-*", "lb-1", "lb-2"}));
  auto bindings = BindingsOf(*c);
  EXPECT_TRUE(bindings->Allows("web", "web-17"));
  EXPECT_TRUE(bindings->Allows("web", "lb-2"));
  EXPECT_FALSE(bindings->Allows("web", "db-1.dc1"));
  EXPECT_TRUE(bindings->Allows("db", "db-1.dc1"));
  EXPECT_FALSE(bindings->Allows("db", "db-1.dc2"));
  EXPECT_TRUE(bindings->Allows("fleet", "anything")) << "an unbound key is a fleet key";
}

TEST(CollectorConfigTest, LimitDefaultsAreSizedForTheMachine) {
  auto c = EmbeddedCollectorConfig();
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->limits.max_sources, DefaultMaxSources());
  EXPECT_GE(c->limits.max_sources, 10'000u);
  EXPECT_LE(c->limits.max_sources, 1'000'000u);
  EXPECT_EQ(c->limits.new_sources_per_key_per_minute,
            std::max<size_t>(1000, c->limits.max_sources / 10));
  EXPECT_EQ(c->detection.max_future_skew, 5s);
  EXPECT_EQ(c->detection.max_clock_skew, 2min);
  EXPECT_EQ(c->detection.min_interval, 1s);
  EXPECT_EQ(c->detection.max_interval, 1h);
  EXPECT_EQ(c->forget_after, std::chrono::hours(24 * 30));
  EXPECT_TRUE(BindingsOf(*c)->empty());
  // `0` turns the per-key budget off; forget_after 0s never forgets.
  auto off = ParseCollectorConfig(
      "collector: {new_sources_per_key_per_minute: 0}\nkeys: [{id: a, file: a.key}]\n"
      "detection: {forget_after: 0s}\n",
      "t.yml", "/tmp");
  ASSERT_TRUE(off.ok()) << off.status().message();
  EXPECT_EQ(off->limits.new_sources_per_key_per_minute, 0u);
  EXPECT_EQ(off->forget_after, Duration::zero());
}

// Each bad fixture starts with a comment line "# expect: <fragment>" (one or more).
TEST(CollectorConfigTest, BadFixturesFailWithFileLineAndReason) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(Fixture("bad"))) {
    std::ifstream in(entry.path());
    std::string line;
    std::vector<std::string> expects;
    while (std::getline(in, line) && line.rfind("# expect: ", 0) == 0) {
      expects.push_back(line.substr(10));
    }
    ASSERT_FALSE(expects.empty()) << entry.path() << " has no '# expect:' line";
    auto c = LoadCollectorConfig(entry.path().string());
    ASSERT_FALSE(c.ok()) << entry.path() << " should fail";
    for (const auto& e : expects) {
      std::string want = entry.path().string() + ":" + e;
      EXPECT_NE(c.status().message().find(want), std::string::npos)
          << "want: " << want << "\ngot:\n" << c.status().message();
    }
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

TEST(CollectorConfigTest, KeysAreCreatedOnlyWhenAllowed) {
  fs::path dir = fs::temp_directory_path() / ("fw-keys-" + std::to_string(getpid()));
  fs::remove_all(dir);
  CollectorConfig c;
  c.keys.push_back({"a", (dir / "k" / "fleet.key").string(), false, {}});
  auto missing = LoadKeys(c);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("firewatchctl keygen"), std::string::npos);
  c.keys[0].create_if_missing = true;
  auto made = LoadKeys(c);
  ASSERT_TRUE(made.ok()) << made.status().message();
  EXPECT_NE((*made)->Find("a"), nullptr);
  EXPECT_EQ(fs::status(c.keys[0].file).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  // A second load reads the same key rather than replacing it.
  auto again = LoadKeys(c);
  EXPECT_EQ(*(*again)->Find("a"), *(*made)->Find("a"));
  fs::remove_all(dir);
}

TEST(CollectorConfigTest, ApiSectionOperatorsAndSlowClientLimits) {
  auto c = LoadCollectorConfig(Fixture("good/full.yml"));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->http_header_timeout, 3s);
  EXPECT_EQ(c->http_body_timeout, 20s);
  EXPECT_EQ(c->http_min_body_rate, 2048u);
  EXPECT_EQ(c->http_max_connections_per_client, 4);
  EXPECT_EQ(c->allowed_hosts, (std::vector<std::string>{"collector-a.example", "fw.internal"}));
  EXPECT_TRUE(c->api.read_requires_token);
  EXPECT_EQ(c->api.operators_file,
            fs::path(Fixture("good/operators.yaml")).lexically_normal().string());
  auto ops = LoadOperators(c->api);
  ASSERT_TRUE(ops.ok()) << ops.status().message();
  EXPECT_EQ((*ops)->size(), 3u);
  EXPECT_EQ((*ops)->Find("abc"), "alice");   // inline entry
  EXPECT_EQ((*ops)->Find("hello"), "bob");   // from the file; bob has two tokens
  EXPECT_EQ((*ops)->Find("world"), "bob");
  EXPECT_EQ((*ops)->Find("nope"), std::nullopt);
  auto policy = MakeAccessPolicy(*c, *ops);
  EXPECT_TRUE(policy->read_requires_token);
  for (const char* host : {"collector-a.example", "fw.internal"}) {
    EXPECT_NE(std::find(policy->own_hosts.begin(), policy->own_hosts.end(), host),
              policy->own_hosts.end())
        << host;
  }
  // Defaults: 32 workers, 8 connections per client address, no operators.
  auto d = EmbeddedCollectorConfig();
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->http_threads, 32);
  EXPECT_EQ(d->http_max_connections_per_client, 8);
  EXPECT_FALSE(d->api.read_requires_token);
  EXPECT_EQ(d->api.operators_file, d->data_dir + "/operators.yml");
}

TEST(CollectorConfigTest, OperatorsFileMissingIsEmptyMalformedNamesTheLine) {
  fs::path dir = fs::temp_directory_path() / ("fw-ops-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  ApiConfig api;
  api.operators_file = (dir / "operators.yml").string();
  auto none = LoadOperators(api);
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_EQ((*none)->size(), 0u);
  // Written by firewatchctl token create: mode 0600, read back as written.
  ASSERT_TRUE(WriteOperatorsFile(api.operators_file,
                                 {{"alice", *ParseSha256Hex(TokenSha256Hex("t1"))}})
                  .ok());
  EXPECT_EQ(fs::status(api.operators_file).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  auto one = LoadOperators(api);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ((*one)->Find("t1"), "alice");
  {
    std::ofstream out(api.operators_file);
    out << "operators:\n  - name: alice\n    token_sha256: zz\n";
  }
  auto bad = LoadOperators(api);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(api.operators_file + ":3: operators[0].token_sha256"),
            std::string::npos)
      << bad.status().message();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace firewatch::collector
