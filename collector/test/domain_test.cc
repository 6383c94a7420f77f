// Failure domains: DomainDown on a fake timeline (the verdicts' times), the service map's
// restore order and cycle errors, and the domains: config section.
#include <gtest/gtest.h>

#include "domain/domain_config.h"
#include "domain/domain_watch.h"
#include "firewatch/config/yaml_reader.h"

namespace firewatch::collector {
namespace {

using alerting::AlertStatus;

constexpr int64_t kT0 = 1'800'000'000'000;  // Unix ms

ServiceSpec Svc(std::string name, std::string matcher, std::vector<std::string> deps = {}) {
  ServiceSpec s;
  s.name = std::move(name);
  s.sources.push_back(*alerting::route::ParseMatcher(matcher));
  s.depends_on = std::move(deps);
  return s;
}

Transition T(int i, SourceState from, SourceState to, int64_t at_ms, std::string dc = "pangyo",
             std::string role = "web") {
  Transition t;
  t.source_id = "host-" + std::to_string(i);
  t.labels = {{"dc", dc}, {"role", role}};
  t.from = from;
  t.to = to;
  t.at_ms = at_ms;
  t.new_source = from == to;
  return t;
}

// A watch that knows `n` sources of dc=pangyo (role by index: db, api, web).
DomainWatch Known(int n, DomainConfig cfg = {}) {
  DomainWatch w(std::move(cfg), "");
  std::vector<Transition> ts;
  const char* roles[] = {"db", "api", "web"};
  for (int i = 0; i < n; ++i) ts.push_back(T(i, SourceState::kUp, SourceState::kUp, kT0, "pangyo", roles[i % 3]));
  w.Learn(ts);
  return w;
}

TEST(DomainWatchTest, FiresOnceWhenThresholdReachedWithinWindow) {
  DomainWatch w = Known(50);  // threshold 0.5, min 5: 25 needed
  for (int i = 0; i < 24; ++i) {
    auto out = w.Observe({T(i, SourceState::kUp, SourceState::kDown, kT0 + i * 100)});
    EXPECT_TRUE(out.empty()) << i;
  }
  auto out = w.Observe({T(24, SourceState::kUp, SourceState::kDown, kT0 + 2400)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, AlertStatus::kFiring);
  EXPECT_EQ(out[0].labels.at("alertname"), "DomainDown");
  EXPECT_EQ(out[0].labels.at("dc"), "pangyo");
  EXPECT_EQ(out[0].annotations.at("summary"), "dc=pangyo is DOWN: 25 of 50 sources");
  EXPECT_EQ(out[0].starts_at_ms, kT0 + 2400);
  // More losses update the annotations (same labels: no new group, no new page).
  out = w.Observe({T(25, SourceState::kUp, SourceState::kDown, kT0 + 2500)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].annotations.at("summary"), "dc=pangyo is DOWN: 26 of 50 sources");
  EXPECT_EQ(w.Firing().size(), 1u);
}

TEST(DomainWatchTest, SlowLossesOutsideTheWindowPageHostByHost) {
  DomainWatch w = Known(10);  // 5 needed
  for (int i = 0; i < 8; ++i) {
    // One every 10 s: never 5 within 20 s.
    EXPECT_TRUE(w.Observe({T(i, SourceState::kUp, SourceState::kDown, kT0 + i * 10'000)}).empty());
  }
  EXPECT_TRUE(w.Firing().empty());
}

// A restart in the middle of a domain outage: the restored DOWN states re-derive the
// firing DomainDown (same start), so its incident goes on and its hosts stay inhibited;
// losses that were spread out (host-by-host pages before the restart) stay that way.
TEST(DomainWatchTest, ResumeAfterARestartRederivesOnlyWhatFired) {
  std::vector<SourceSnapshot> restored;
  for (int i = 0; i < 50; ++i) {
    SourceSnapshot s;
    s.source_id = "host-" + std::to_string(i);
    s.labels = {{"dc", "pangyo"}, {"role", "web"}};
    s.state = i < 40 ? SourceState::kDown : SourceState::kUp;
    s.state_since_ms = kT0 + i * 100;  // 40 within 4 s
    restored.push_back(s);
  }
  DomainWatch w(DomainConfig{}, "");
  w.Seed(restored, /*with_states=*/true);
  auto out = w.Resume();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, AlertStatus::kFiring);
  EXPECT_EQ(out[0].annotations.at("summary"), "dc=pangyo is DOWN: 40 of 50 sources");
  EXPECT_EQ(out[0].starts_at_ms, kT0 + 3900);
  EXPECT_EQ(w.Firing().size(), 1u);
  EXPECT_TRUE(w.Resume().empty()) << "resumed twice";

  for (int i = 0; i < 40; ++i) restored[i].state_since_ms = kT0 + i * 60'000;  // a slow decay
  DomainWatch slow(DomainConfig{}, "");
  slow.Seed(restored, /*with_states=*/true);
  EXPECT_TRUE(slow.Resume().empty());
}

TEST(DomainWatchTest, MinSourcesGuardsSmallDomains) {
  DomainWatch w = Known(4);  // 4 known < min_sources 5: never a domain alert
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(w.Observe({T(i, SourceState::kUp, SourceState::kDown, kT0)}).empty());
  }
}

TEST(DomainWatchTest, ResolvesWhenBackUnderThreshold) {
  DomainWatch w = Known(10);
  std::vector<Transition> down;
  for (int i = 0; i < 7; ++i) down.push_back(T(i, SourceState::kUp, SourceState::kDown, kT0));
  ASSERT_EQ(w.Observe(down).size(), 1u);
  // 7 -> 5 down: still firing (5 needed), annotations updated.
  auto out = w.Observe({T(0, SourceState::kDown, SourceState::kUp, kT0 + 60'000),
                        T(1, SourceState::kDown, SourceState::kUp, kT0 + 60'000)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, AlertStatus::kFiring);
  out = w.Observe({T(2, SourceState::kDown, SourceState::kUp, kT0 + 70'000)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, AlertStatus::kResolved);
  EXPECT_EQ(out[0].ends_at_ms, kT0 + 70'000);
  EXPECT_TRUE(w.Firing().empty());
}

TEST(DomainWatchTest, DomainsAreSeparateAndCleanStopsAreNotKnown) {
  DomainWatch w = Known(10);
  std::vector<Transition> other;
  for (int i = 100; i < 110; ++i) other.push_back(T(i, SourceState::kUp, SourceState::kDown, kT0, "seoul"));
  auto out = w.Observe(other);  // unknown until now: learnt from the verdicts themselves
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].labels.at("dc"), "seoul");
  // 6 of pangyo's 10 said goodbye: 4 known, min 5 -> no alert for the other 4.
  std::vector<Transition> ts;
  for (int i = 0; i < 6; ++i) ts.push_back(T(i, SourceState::kUp, SourceState::kStopped, kT0));
  for (int i = 6; i < 10; ++i) ts.push_back(T(i, SourceState::kUp, SourceState::kDown, kT0));
  EXPECT_TRUE(w.Observe(ts).empty());
}

TEST(DomainWatchTest, ForgettingResolves) {
  DomainWatch w = Known(10);
  std::vector<Transition> down;
  for (int i = 0; i < 6; ++i) down.push_back(T(i, SourceState::kUp, SourceState::kDown, kT0));
  ASSERT_EQ(w.Observe(down).size(), 1u);
  auto out = w.Forget({"host-0", "host-1"}, kT0 + 1000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, AlertStatus::kResolved);
}

TEST(DomainWatchTest, NamesServicesAndRestoreOrder) {
  DomainConfig cfg;
  cfg.services = *ServiceMap::Build({Svc("web", "role=\"web\"", {"api"}),
                                     Svc("api", "role=\"api\"", {"db"}),
                                     Svc("db", "role=\"db\""),
                                     Svc("batch", "role=\"batch\"")});
  DomainWatch w = Known(10, cfg);
  std::vector<Transition> down;  // hosts 0, 3, 6, 9 are db; 1, 4, 7 api
  for (int i : {0, 3, 6, 9, 1}) down.push_back(T(i, SourceState::kUp, SourceState::kDown, kT0));
  for (auto& t : down) t.labels = {{"dc", "pangyo"}, {"role", std::stoi(t.source_id.substr(5)) % 3 == 0 ? "db" : "api"}};
  auto out = w.Observe(down);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].annotations.at("services"), "api, db; through dependencies: web");
  EXPECT_EQ(out[0].annotations.at("restore_order"), "db -> api -> web");
}

// The services named follow the hosts: one coming back (the domain still firing) or
// forgotten takes its service out of the alert, a new loss puts it back.
TEST(DomainWatchTest, ServicesFollowRecoveriesAndForgetting) {
  DomainConfig cfg;
  cfg.threshold = 0.2;
  cfg.min_sources = 2;
  cfg.services = *ServiceMap::Build({Svc("web", "role=\"web\"", {"api"}),
                                     Svc("api", "role=\"api\"", {"db"}), Svc("db", "role=\"db\"")});
  DomainWatch w = Known(12, cfg);  // 3 needed; hosts 0, 3, 6, 9 db; 1, 4, 7, 10 api
  auto down = [](int i, int64_t at) {
    Transition t =
        T(i, SourceState::kUp, SourceState::kDown, at, "pangyo", i % 3 == 0 ? "db" : "api");
    return t;
  };
  auto out = w.Observe({down(0, kT0), down(3, kT0), down(6, kT0), down(1, kT0)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].annotations.at("services"), "api, db; through dependencies: web");
  Transition back = down(1, kT0 + 1000);
  back.from = SourceState::kDown;
  back.to = SourceState::kUp;
  out = w.Observe({back});  // api is whole again: 3 of 12 still down, still firing
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, AlertStatus::kFiring);
  EXPECT_EQ(out[0].annotations.at("services"), "db; through dependencies: web, api");
  out = w.Observe({down(4, kT0 + 2000)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].annotations.at("services"), "api, db; through dependencies: web");
  out = w.Forget({"host-4"}, kT0 + 3000);  // 3 still down, 3 needed of 11: still firing
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, AlertStatus::kFiring);
  EXPECT_EQ(out[0].annotations.at("services"), "db; through dependencies: web, api");
  out = w.Observe({down(7, kT0 + 4000), down(9, kT0 + 4000)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].annotations.at("summary"), "dc=pangyo is DOWN: 5 of 11 sources");
  EXPECT_EQ(out[0].annotations.at("services"), "api, db; through dependencies: web");
  ASSERT_EQ(w.Firing().size(), 1u);
}

TEST(ServiceMapTest, RestoreOrderIsDependenciesFirstTiesInConfigOrder) {
  auto m = ServiceMap::Build({Svc("web", "role=web", {"api", "auth"}), Svc("api", "role=api", {"db"}),
                              Svc("auth", "role=auth", {"db"}), Svc("db", "role=db"),
                              Svc("dns", "role=dns")});
  ASSERT_TRUE(m.ok()) << m.status().message();
  std::vector<std::string> names;
  for (size_t i : m->order()) names.push_back(m->specs()[i].name);
  EXPECT_EQ(names, (std::vector<std::string>{"db", "api", "auth", "web", "dns"}));
  auto impact = m->Affected(std::vector<alerting::LabelSet>{{{"role", "auth"}}});
  EXPECT_EQ(impact.direct, std::vector<std::string>{"auth"});
  EXPECT_EQ(impact.through_deps, std::vector<std::string>{"web"});
  EXPECT_EQ(impact.restore_order, (std::vector<std::string>{"auth", "web"}));
}

TEST(ServiceMapTest, CycleIsNamed) {
  ServiceCycle cycle;
  auto m = ServiceMap::Build({Svc("db", "role=db"), Svc("api", "role=api", {"db", "web"}),
                              Svc("web", "role=web", {"api"})},
                             &cycle);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(), "dependency cycle: api -> web -> api");
  EXPECT_EQ(cycle.start, 1u);
  auto self = ServiceMap::Build({Svc("a", "x=y", {"a"})});
  ASSERT_FALSE(self.ok());
  EXPECT_EQ(self.status().message(), "dependency cycle: a -> a");
  auto unknown = ServiceMap::Build({Svc("a", "x=y", {"nope"})});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("'nope'"), std::string::npos);
}

Result<DomainConfig> Read(const std::string& yaml) {
  auto doc = config::LoadString(yaml, "t.yml");
  if (!doc.ok()) return doc.status();
  config::Errors errors("t.yml");
  config::MapReader top(errors, *doc, "");
  DomainConfig out;
  ReadDomainConfig(top, out);
  top.Finish();
  if (Status s = errors.ToStatus(); !s.ok()) return s;
  return out;
}

TEST(DomainConfigTest, ReadsAndRefusesCyclesWithFileAndLine) {
  auto ok = Read(R"(domains:
  label: zone
  threshold: 0.8
  min_sources: 3
  window: 10s
  services:
    - name: db
      sources: ['role="db"']
    - name: api
      sources: ['role="api"']
      depends_on: [db]
)");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->label, "zone");
  EXPECT_EQ(ok->min_sources, 3u);
  EXPECT_EQ(ok->services.specs().size(), 2u);

  auto cyc = Read(R"(domains:
  services:
    - name: db
      sources: ['role="db"']
      depends_on: [api]
    - name: api
      sources: ['role="api"']
      depends_on: [db]
)");
  ASSERT_FALSE(cyc.ok());
  EXPECT_NE(cyc.status().message().find("t.yml:3"), std::string::npos) << cyc.status().message();
  EXPECT_NE(cyc.status().message().find("dependency cycle: db -> api -> db"), std::string::npos)
      << cyc.status().message();

  auto bad = Read("domains:\n  label: 'not a label'\n  threshold: 2\n  extra: 1\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("domains.label"), std::string::npos);
  EXPECT_NE(bad.status().message().find("threshold"), std::string::npos);
  EXPECT_NE(bad.status().message().find("extra"), std::string::npos);
}

TEST(DomainConfigTest, WarnsAboutHostRoutesFasterThanTheWindow) {
  alerting::route::RouteSpec root;
  root.escalation_policy = "ops";
  root.group_wait = std::chrono::seconds(30);
  alerting::route::RouteSpec fast;
  fast.matchers.push_back(*alerting::route::ParseMatcher("alertname=\"CheckFailing\""));
  fast.group_wait = std::chrono::seconds(0);
  root.routes.push_back(fast);
  auto tree = alerting::route::Route::Build(root);
  ASSERT_TRUE(tree.ok()) << tree.status().message();
  DomainConfig cfg;  // window 20s
  EXPECT_EQ(RoutesFasterThanWindow(cfg, **tree),
            std::vector<std::string>{"route.routes[0] (group_wait 0s)"});
  cfg.enabled = false;
  EXPECT_TRUE(RoutesFasterThanWindow(cfg, **tree).empty());
}

}  // namespace
}  // namespace firewatch::collector
