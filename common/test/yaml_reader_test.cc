#include "firewatch/config/yaml_reader.h"

#include <gtest/gtest.h>

namespace firewatch::config {
namespace {

using namespace std::chrono_literals;

TEST(DurationTest, ParsesUnits) {
  EXPECT_EQ(*ParseDuration("250ms"), 250ms);
  EXPECT_EQ(*ParseDuration("5s"), 5s);
  EXPECT_EQ(*ParseDuration("1.5s"), 1500ms);
  EXPECT_EQ(*ParseDuration("2m"), 120s);
  EXPECT_EQ(*ParseDuration("1h"), 3600s);
  EXPECT_FALSE(ParseDuration("5").ok());
  EXPECT_FALSE(ParseDuration("fast").ok());
  EXPECT_FALSE(ParseDuration("5 s").ok());
  EXPECT_EQ(FormatDuration(1500ms), "1500ms");
  EXPECT_EQ(FormatDuration(120s), "2m");
}

TEST(HostPortTest, ParsesForms) {
  EXPECT_EQ(ParseHostPort("127.0.0.1:9760")->port, 9760);
  EXPECT_EQ(ParseHostPort("[::1]:9761")->host, "::1");
  EXPECT_EQ(ParseHostPort("collector-a.example:1")->host, "collector-a.example");
  EXPECT_FALSE(ParseHostPort("127.0.0.1").ok());
  EXPECT_FALSE(ParseHostPort("::1:80").ok());
  EXPECT_FALSE(ParseHostPort("host:99999").ok());
  EXPECT_FALSE(ParseHostPort(":80").ok());
}

TEST(MapReaderTest, ErrorsNameFileLineAndKey) {
  auto doc = LoadString("a: 1\nagent:\n  interval: fast\n  typo_key: 3\n", "agent.yml");
  ASSERT_TRUE(doc.ok());
  Errors errors("agent.yml");
  MapReader top(errors, *doc, "");
  uint64_t a = 0;
  top.Uint("a", a, 0, 10);
  MapReader agent(errors, top.Node("agent"), "agent");
  Duration interval = 5s;
  agent.Duration("interval", interval, 100ms, 1h);
  agent.Finish();
  top.Finish();
  Status s = errors.ToStatus();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("agent.yml:3: agent.interval: expected a duration"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("agent.yml:4: unknown key 'agent.typo_key'"), std::string::npos)
      << s.message();
  EXPECT_EQ(interval, 5s);  // unchanged on error
  EXPECT_EQ(a, 1u);
}

TEST(MapReaderTest, RangeAndRequired) {
  auto doc = LoadString("n: 50\n", "c.yml");
  Errors errors("c.yml");
  MapReader top(errors, *doc, "");
  uint64_t n = 0;
  top.Uint("n", n, 1, 10);
  std::string id;
  top.String("id", id, /*required=*/true);
  top.Finish();
  std::string msg = errors.ToStatus().message();
  EXPECT_NE(msg.find("c.yml:1: n: must be between 1 and 10, got 50"), std::string::npos) << msg;
  EXPECT_NE(msg.find("id: required but missing"), std::string::npos) << msg;
}

TEST(MapReaderTest, AScalarWhereAMappingBelongsIsAnErrorNotAThrow) {
  // Found by collector_config_fuzz: `collector: some text` made HostPort subscript a scalar.
  auto doc = LoadString("collector: just text\n", "c.yml");
  ASSERT_TRUE(doc.ok());
  Errors errors("c.yml");
  MapReader top(errors, *doc, "");
  MapReader collector(errors, top.Node("collector"), "collector");
  HostPort hp;
  collector.HostPort("http_listen", hp, /*required=*/false);
  std::string id;
  collector.String("id", id);
  collector.Finish();
  top.Finish();
  EXPECT_NE(errors.ToStatus().message().find("collector: expected a mapping"), std::string::npos)
      << errors.ToStatus().message();
}

TEST(LoadTest, SyntaxErrorHasLineAndColumn) {
  auto doc = LoadString("a: [1, 2\nb: 3\n", "bad.yml");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().message().rfind("bad.yml:", 0), 0u) << doc.status().message();
}

TEST(LoadTest, MissingFileIsNamed) {
  auto doc = LoadFile("/nonexistent/x.yml");
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.status().message().find("/nonexistent/x.yml"), std::string::npos);
}

}  // namespace
}  // namespace firewatch::config
