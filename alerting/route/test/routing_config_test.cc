#include "route/routing_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace firewatch::alerting::route {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::set<std::string> kPolicies = {"ops", "dc-oncall", "db-oncall"};

std::string Fixture(const std::string& name) {
  return std::string(FIREWATCH_ROUTE_TESTDATA) + "/" + name;
}

TEST(RoutingConfigTest, GoodFixturesLoad) {
  int loaded = 0;
  for (const auto& entry : fs::directory_iterator(Fixture("good"))) {
    auto c = LoadRoutingConfig(entry.path().string(), kPolicies);
    EXPECT_TRUE(c.ok()) << entry.path() << ": " << c.status().message();
    ++loaded;
  }
  EXPECT_GE(loaded, 2);
}

TEST(RoutingConfigTest, FullFixtureMeansWhatItSays) {
  auto c = LoadRoutingConfig(Fixture("good/full.yml"), kPolicies);
  ASSERT_TRUE(c.ok()) << c.status().message();
  const Route& root = *c->route;
  EXPECT_EQ(root.escalation_policy(), "ops");
  EXPECT_EQ(root.group_by(), (std::vector<std::string>{"alertname", "dc"}));
  ASSERT_EQ(root.routes().size(), 3u);
  EXPECT_EQ(root.routes()[0]->group_wait(), 0s);
  EXPECT_EQ(root.routes()[0]->group_interval(), 5min);
  EXPECT_TRUE(root.routes()[1]->continue_matching());
  EXPECT_EQ(root.routes()[1]->matchers().size(), 2u);
  const Route& nested = *root.routes()[2]->routes()[0];
  EXPECT_EQ(nested.path(), "route.routes[2].routes[0]");
  EXPECT_TRUE(nested.group_by_all());
  EXPECT_EQ(nested.repeat_interval(), 1h);
  EXPECT_EQ(nested.key(), R"({}/{dc=~"dc[12]"}/{team!="web"})");
  EXPECT_EQ(root.routes()[2]->escalation_policy(), "ops");  // inherited
  ASSERT_EQ(c->inhibit_rules.size(), 1u);
  EXPECT_EQ(c->inhibit_rules[0].equal, (std::vector<std::string>{"dc"}));

  // Routing through the loaded tree.
  auto m = root.Match({{"alertname", "SourceDown"}, {"team", "db"}, {"severity", "page"},
                       {"dc", "dc2"}});
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0]->escalation_policy(), "db-oncall");
  EXPECT_EQ(m[1]->escalation_policy(), "dc-oncall");
}

TEST(RoutingConfigTest, DefaultsApplyToTheRoot) {
  auto c = LoadRoutingConfig(Fixture("good/minimal.yml"), kPolicies);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->route->group_wait(), 30s);
  EXPECT_EQ(c->route->group_interval(), 5min);
  EXPECT_EQ(c->route->repeat_interval(), 4h);
  EXPECT_TRUE(c->route->group_by().empty());
  EXPECT_TRUE(c->inhibit_rules.empty());
  RouteDefaults d;
  d.group_wait = 10s;
  auto c2 = LoadRoutingConfig(Fixture("good/minimal.yml"), kPolicies, d);
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(c2->route->group_wait(), 10s);
}

// Each bad fixture starts with comment lines "# expect: <line>: <fragment>".
TEST(RoutingConfigTest, BadFixturesFailWithFileLineAndReason) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(Fixture("bad"))) {
    std::ifstream in(entry.path());
    std::string line;
    std::vector<std::string> expects;
    while (std::getline(in, line) && line.rfind("# expect: ", 0) == 0) {
      expects.push_back(line.substr(10));
    }
    ASSERT_FALSE(expects.empty()) << entry.path() << " has no '# expect:' line";
    auto c = LoadRoutingConfig(entry.path().string(), kPolicies);
    ASSERT_FALSE(c.ok()) << entry.path() << " should fail";
    for (const auto& e : expects) {
      std::string want = entry.path().string() + ":" + e;
      EXPECT_NE(c.status().message().find(want), std::string::npos)
          << "want: " << want << "\ngot:\n" << c.status().message();
    }
    ++checked;
  }
  EXPECT_GE(checked, 7);
}

TEST(RoutingConfigTest, EmbedsInAParentConfig) {
  auto node = config::LoadString(
      "collector: {id: a}\nroute: {escalation_policy: ops, group_wait: 1s}\n", "collector.yml");
  ASSERT_TRUE(node.ok());
  config::Errors errors("collector.yml");
  config::MapReader top(errors, *node, "");
  top.Node("collector");
  RoutingConfig out;
  ReadRouting(top, kPolicies, {}, out);
  top.Finish();
  ASSERT_TRUE(errors.empty()) << errors.ToStatus().message();
  EXPECT_EQ(out.route->group_wait(), 1s);
}

}  // namespace
}  // namespace firewatch::alerting::route
