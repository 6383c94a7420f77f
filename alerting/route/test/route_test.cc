#include "route/route.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace firewatch::alerting::route {
namespace {

using namespace std::chrono_literals;
using testing::Ms;

std::vector<std::string> Policies(const std::vector<const Route*>& routes) {
  std::vector<std::string> out;
  for (const Route* r : routes) out.push_back(r->escalation_policy());
  return out;
}

// route (ops, group_by [alertname])
//  [0] team="db" -> dba, continue
//      [0] severity="critical" -> dba-critical
//  [1] team=~"db|web" -> web
//  [2] dc="dc1" -> dc1-oncall, group_by ['...']
RouteSpec Tree() {
  RouteSpec root;
  root.escalation_policy = "ops";
  root.group_by = std::vector<std::string>{"alertname"};
  root.group_wait = 10s;
  RouteSpec db;
  db.matchers = Ms({R"(team="db")"});
  db.escalation_policy = "dba";
  db.continue_matching = true;
  db.repeat_interval = 1h;
  RouteSpec crit;
  crit.matchers = Ms({R"(severity="critical")"});
  crit.escalation_policy = "dba-critical";
  db.routes.push_back(crit);
  RouteSpec web;
  web.matchers = Ms({R"(team=~"db|web")"});
  web.escalation_policy = "web";
  RouteSpec dc1;
  dc1.matchers = Ms({R"(dc="dc1")"});
  dc1.escalation_policy = "dc1-oncall";
  dc1.group_by = std::vector<std::string>{"..."};
  root.routes = {db, web, dc1};
  return root;
}

TEST(RouteTest, UnmatchedAlertStaysOnTheRoot) {
  auto root = Route::Build(Tree());
  ASSERT_TRUE(root.ok()) << root.status().message();
  auto m = (*root)->Match({{"alertname", "X"}, {"team", "mobile"}});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0], root->get());
  EXPECT_EQ(m[0]->path(), "route");
  EXPECT_EQ(m[0]->key(), "{}");
}

TEST(RouteTest, FirstMatchWinsDepthFirst) {
  auto root = Route::Build(Tree());
  ASSERT_TRUE(root.ok());
  // web matches [1] only; [2] is never tried because [1] has no continue.
  EXPECT_EQ(Policies((*root)->Match({{"team", "web"}, {"dc", "dc1"}})),
            (std::vector<std::string>{"web"}));
  EXPECT_EQ(Policies((*root)->Match({{"dc", "dc1"}})), (std::vector<std::string>{"dc1-oncall"}));
}

TEST(RouteTest, ContinueKeepsLookingAtLaterSiblings) {
  auto root = Route::Build(Tree());
  ASSERT_TRUE(root.ok());
  // db (continue) -> its child critical matches; then web matches and stops.
  auto m = (*root)->Match({{"team", "db"}, {"severity", "critical"}, {"dc", "dc1"}});
  EXPECT_EQ(Policies(m), (std::vector<std::string>{"dba-critical", "web"}));
  EXPECT_EQ(m[0]->path(), "route.routes[0].routes[0]");
  EXPECT_EQ(m[0]->key(), R"({}/{team="db"}/{severity="critical"})");
  // Without a matching child, the continue route itself matches.
  EXPECT_EQ(Policies((*root)->Match({{"team", "db"}})), (std::vector<std::string>{"dba", "web"}));
}

TEST(RouteTest, ChildrenInheritUnsetSettings) {
  auto root = Route::Build(Tree());
  ASSERT_TRUE(root.ok());
  const Route& db = *(*root)->routes()[0];
  const Route& crit = *db.routes()[0];
  EXPECT_EQ((*root)->group_wait(), 10s);
  EXPECT_EQ((*root)->group_interval(), 5min);  // default
  EXPECT_EQ((*root)->repeat_interval(), 4h);   // default
  EXPECT_EQ(crit.group_wait(), 10s);
  EXPECT_EQ(crit.repeat_interval(), 1h);  // from db
  EXPECT_EQ(crit.group_by(), (std::vector<std::string>{"alertname"}));
  EXPECT_FALSE(crit.continue_matching());  // never inherited
  EXPECT_TRUE(crit.matchers().size() == 1);
  EXPECT_TRUE((*root)->routes()[2]->group_by_all());

  RouteSpec s;
  s.escalation_policy = "ops";
  RouteSpec child;
  child.matchers = Ms({R"(a="b")"});
  s.routes = {child};
  auto r = Route::Build(s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->routes()[0]->escalation_policy(), "ops");
}

TEST(RouteTest, GroupLabels) {
  auto root = Route::Build(Tree());
  ASSERT_TRUE(root.ok());
  const LabelSet labels = {{"alertname", "SourceDown"}, {"dc", "dc1"}, {"source", "web-1"}};
  EXPECT_EQ((*root)->GroupLabels(labels), (LabelSet{{"alertname", "SourceDown"}}));
  EXPECT_EQ((*root)->routes()[2]->GroupLabels(labels), labels);  // '...'
  EXPECT_EQ((*root)->GroupLabels({{"dc", "dc1"}}), LabelSet{});  // absent labels left out
  EXPECT_EQ(LabelSetString(labels), R"({alertname="SourceDown", dc="dc1", source="web-1"})");
}

TEST(RouteTest, SiblingsWithEqualMatchersGetDistinctKeys) {
  RouteSpec s;
  s.escalation_policy = "ops";
  RouteSpec a;
  a.matchers = Ms({R"(dc="dc1")"});
  a.continue_matching = true;
  s.routes = {a, a};
  auto r = Route::Build(s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->routes()[0]->key(), R"({}/{dc="dc1"})");
  EXPECT_EQ((*r)->routes()[1]->key(), R"({}/{dc="dc1"}/1)");
}

TEST(RouteTest, MatchersAreSortedInKeys) {
  RouteSpec s;
  s.escalation_policy = "ops";
  RouteSpec a;
  a.matchers = Ms({R"(team="db")", R"(dc="dc1")"});
  s.routes = {a};
  auto r = Route::Build(s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->routes()[0]->key(), R"({}/{dc="dc1",team="db"})");
}

TEST(RouteTest, BuildRejectsBadTrees) {
  RouteSpec none;
  EXPECT_FALSE(Route::Build(none).ok());
  RouteSpec s;
  s.escalation_policy = "ops";
  s.matchers = Ms({R"(a="b")"});
  EXPECT_NE(Route::Build(s).status().message().find("root route must not have matchers"),
            std::string::npos);
  s.matchers.clear();
  RouteSpec child;
  child.group_by = std::vector<std::string>{"...", "dc"};
  s.routes = {child};
  EXPECT_NE(Route::Build(s).status().message().find("route.routes[0].group_by: '...' must be"),
            std::string::npos);
  s.routes[0].group_by = std::vector<std::string>{"dc", "dc"};
  EXPECT_NE(Route::Build(s).status().message().find("duplicated label 'dc'"), std::string::npos);
  s.routes[0].group_by.reset();
  s.routes[0].group_interval = 0s;
  EXPECT_NE(Route::Build(s).status().message().find("route.routes[0].group_interval"),
            std::string::npos);
}

}  // namespace
}  // namespace firewatch::alerting::route
