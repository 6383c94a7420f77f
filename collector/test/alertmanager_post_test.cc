// Posting firewatch's alerts to Alertmanager (watch/alertmanager_post.h,
// watch/alertmanager_poster.h): the postableAlerts body, what is posted when, the health
// decision on a fake clock, the config, and the poster thread against a fake sender.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "app/collector_config.h"
#include "firewatch/sync/mutex.h"
#include "test/eventually.h"
#include "watch/alertmanager_post.h"
#include "watch/alertmanager_poster.h"

namespace firewatch::collector {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr int64_t kT0 = 1'700'000'000'000;  // FakeClock's wall start, in ms

alerting::Alert Firing(const std::string& source, int64_t at_ms) {
  alerting::Alert a;
  a.labels = {{"alertname", "SourceDown"}, {"source", source}, {"dc", "pangyo"}};
  a.annotations = {{"summary", source + " is DOWN"}};
  a.starts_at_ms = at_ms;
  a.generator_url = "http://fw.example:9760/api/v1/sources/" + source;
  return a;
}

alerting::Alert Resolved(const std::string& source, int64_t at_ms) {
  alerting::Alert a = Firing(source, at_ms);  // the resolved transition's own time
  a.status = alerting::AlertStatus::kResolved;
  a.ends_at_ms = at_ms;
  return a;
}

TEST(AlertmanagerPostTest, BodyIsPostableAlerts) {
  alerting::Alert a = Firing("db1", kT0);
  a.ends_at_ms = kT0 + 240'000;
  a.labels["agent.version"] = "1.2";  // not a valid Prometheus label name
  a.labels["9lives"] = "x";
  a.labels["empty"] = "";
  a.annotations["description"] = "no heartbeat for 3.1 s";
  alerting::Alert b = Resolved("db2", kT0 + 1500);
  b.starts_at_ms = kT0;
  b.generator_url.clear();
  const json body = json::parse(PostableAlertsJson({a, b}));
  ASSERT_TRUE(body.is_array());
  ASSERT_EQ(body.size(), 2u);
  EXPECT_EQ(body[0], json::parse(R"({
    "labels": {"alertname": "SourceDown", "source": "db1", "dc": "pangyo",
               "agent_version": "1.2", "_9lives": "x"},
    "annotations": {"summary": "db1 is DOWN", "description": "no heartbeat for 3.1 s"},
    "startsAt": "2023-11-14T22:13:20Z",
    "endsAt": "2023-11-14T22:17:20Z",
    "generatorURL": "http://fw.example:9760/api/v1/sources/db1"})"));
  EXPECT_EQ(body[1]["endsAt"], "2023-11-14T22:13:21.500Z");
  EXPECT_FALSE(body[1].contains("generatorURL"));  // Alertmanager refuses "" as a URI
  EXPECT_EQ(json::parse(PostableAlertsJson({})), json::array());
}

TEST(AlertmanagerPostTest, LabelNames) {
  EXPECT_EQ(AlertmanagerLabelName("severity"), "severity");
  EXPECT_EQ(AlertmanagerLabelName("ok-name.1"), "ok_name_1");
  EXPECT_EQ(AlertmanagerLabelName("1x"), "_1x");
  EXPECT_EQ(AlertmanagerLabelName(""), "_");
  EXPECT_EQ(AlertmanagerLabelName("h\xc3\xa9"), "h__");
}

TEST(AlertmanagerMirrorTest, FiringIsResentWithEndsAtAheadAndResolvedKeepsItsStart) {
  AlertmanagerMirror m(1min);
  EXPECT_FALSE(m.changed());
  ASSERT_TRUE(m.Observe(Firing("db1", kT0), kT0));
  EXPECT_TRUE(m.changed());
  auto batch = m.TakeBatch(kT0 + 10);
  EXPECT_FALSE(m.changed());
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].starts_at_ms, kT0);
  EXPECT_EQ(batch[0].ends_at_ms, kT0 + 10 + 4 * 60'000);  // Alertmanager resolves if we die
  // The same alert again (e.g. a cluster verdict repeated) keeps its first start.
  ASSERT_TRUE(m.Observe(Firing("db1", kT0 + 5000), kT0 + 5000));
  batch = m.TakeBatch(kT0 + 60'000);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].starts_at_ms, kT0);
  EXPECT_EQ(batch[0].ends_at_ms, kT0 + 60'000 + 240'000);
  // Recovery: the resolved alert carries the recovery time as its start; the mirror
  // keeps the firing's start and posts endsAt = the recovery (in the past: resolved).
  ASSERT_TRUE(m.Observe(Resolved("db1", kT0 + 90'000), kT0 + 90'000));
  EXPECT_EQ(m.firing(), 0u);
  batch = m.TakeBatch(kT0 + 91'000);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].status, alerting::AlertStatus::kResolved);
  EXPECT_EQ(batch[0].starts_at_ms, kT0);
  EXPECT_EQ(batch[0].ends_at_ms, kT0 + 90'000);
  // Re-posted while within the retention, then forgotten.
  EXPECT_EQ(m.TakeBatch(kT0 + 90'000 + 15 * 60'000).size(), 1u);
  EXPECT_TRUE(m.TakeBatch(kT0 + 90'000 + 15 * 60'000 + 1).empty());
  EXPECT_EQ(m.size(), 0u);
}

TEST(AlertmanagerMirrorTest, RefiringAfterResolveIsANewStartAndEndNeverPrecedesStart) {
  AlertmanagerMirror m(1min);
  ASSERT_TRUE(m.Observe(Firing("db1", kT0), kT0));
  ASSERT_TRUE(m.Observe(Resolved("db1", kT0 + 1000), kT0 + 1000));
  ASSERT_TRUE(m.Observe(Firing("db1", kT0 + 2000), kT0 + 2000));
  auto batch = m.TakeBatch(kT0 + 2000);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].status, alerting::AlertStatus::kFiring);
  EXPECT_EQ(batch[0].starts_at_ms, kT0 + 2000);
  // A resolve never seen firing (e.g. after a restart) is still valid for Alertmanager.
  alerting::Alert odd = Resolved("db2", kT0);
  odd.starts_at_ms = kT0 + 500;  // later than its end
  ASSERT_TRUE(m.Observe(odd, kT0 + 3000));
  for (const auto& a : m.TakeBatch(kT0 + 3000)) EXPECT_LE(a.starts_at_ms, a.ends_at_ms);
}

TEST(AlertmanagerMirrorTest, BoundedResolvedDroppedFirstThenFiringRefused) {
  AlertmanagerMirror m(1min);
  ASSERT_TRUE(m.Observe(Resolved("old", kT0), kT0));
  for (size_t i = 0; i + 1 < kMaxMirroredAlerts; ++i) {
    ASSERT_TRUE(m.Observe(Firing("s" + std::to_string(i), kT0), kT0));
  }
  EXPECT_EQ(m.size(), kMaxMirroredAlerts);
  EXPECT_TRUE(m.Observe(Firing("new", kT0), kT0));  // the resolved one made room
  EXPECT_EQ(m.firing(), kMaxMirroredAlerts);
  EXPECT_FALSE(m.Observe(Firing("over", kT0), kT0));
  EXPECT_EQ(m.size(), kMaxMirroredAlerts);
}

TEST(AlertmanagerHealthTest, ProbeDecidesWithAge) {
  FakeClock clock;
  AlertmanagerHealth h(1s, 800ms);  // a result counts for 2.8 s
  ASSERT_TRUE(h.has_probe());
  EXPECT_FALSE(h.Healthy(clock.Now()));  // no result yet: not proven healthy
  h.Record(true, clock.Now());
  EXPECT_TRUE(h.Healthy(clock.Now()));
  clock.Advance(2800ms);
  EXPECT_TRUE(h.Healthy(clock.Now()));
  clock.Advance(1ms);
  EXPECT_FALSE(h.Healthy(clock.Now()));  // the probe stopped reporting: stale
  h.Record(true, clock.Now());
  EXPECT_TRUE(h.Healthy(clock.Now()));
  clock.Advance(1s);
  h.Record(false, clock.Now());  // stopped vouching (failures_before_down reached)
  EXPECT_FALSE(h.Healthy(clock.Now()));
  clock.Advance(1s);
  h.Record(true, clock.Now());
  EXPECT_TRUE(h.Healthy(clock.Now()));

  AlertmanagerHealth none(Duration::zero(), Duration::zero());
  EXPECT_FALSE(none.has_probe());
  EXPECT_TRUE(none.Healthy(clock.Now()));  // without a probe every round is tried
}

const char* kKeys = "keys:\n  - id: k\n    file: /nonexistent/k.key\n";
Result<CollectorConfig> Parse(const std::string& yaml) {
  return ParseCollectorConfig(std::string(kKeys) + yaml, "test.yml", "/etc/firewatch");
}

TEST(AlertmanagerPostConfigTest, OffByDefaultAndReadWhenPresent) {
  auto off = Parse("");
  ASSERT_TRUE(off.ok()) << off.status().message();
  EXPECT_FALSE(off->watch.alertmanager_post.enabled);

  auto c = Parse(R"(probes:
  - {name: am, http: 'http://am:9093/-/healthy'}
alertmanager_post:
  urls: ['http://am-a:9093/', 'https://am-b:9093/prefix']
  mode: mirror
  health_probe: am
  resend_interval: 30s
  timeout: 5s
  bearer_token_file: am.token
)");
  ASSERT_TRUE(c.ok()) << c.status().message();
  const auto& p = c->watch.alertmanager_post;
  EXPECT_TRUE(p.enabled);
  EXPECT_EQ(p.urls, (std::vector<std::string>{"http://am-a:9093", "https://am-b:9093/prefix"}));
  EXPECT_EQ(p.health_probe, "am");
  EXPECT_EQ(p.resend_interval, 30s);
  EXPECT_EQ(p.timeout, 5s);
  EXPECT_EQ(p.bearer_token_file, "/etc/firewatch/am.token");
}

TEST(AlertmanagerPostConfigTest, ErrorsNameTheLineAndKey) {
  struct Case {
    std::string yaml;
    std::string expect;
  };
  const Case cases[] = {
      {"alertmanager_post: {}\n", "alertmanager_post.urls: expected a list of 1..8"},
      {"alertmanager_post:\n  urls: [ftp://x]\n", "test.yml:5: alertmanager_post.urls[0]: expected"},
      {"alertmanager_post:\n  urls: ['http://u:p@am:9093']\n", "no user:password@"},
      {"alertmanager_post:\n  urls: ['http://a', 'http://a/']\n", "listed twice"},
      {"alertmanager_post:\n  urls: ['http://a']\n  mode: instead\n",
       "the only one is 'mirror'"},
      {"alertmanager_post:\n  urls: ['http://a']\n  health_probe: am\n",
       "alertmanager_post.health_probe: no probe named 'am'"},
      {"alertmanager_post:\n  urls: ['http://a']\n  resend_interval: 5s\n  timeout: 5s\n",
       "must be shorter than resend_interval"},
      {"alertmanager_post:\n  urls: ['http://a']\n  bogus: 1\n", "unknown key 'alertmanager_post.bogus'"},
  };
  for (const auto& tc : cases) {
    auto c = Parse(tc.yaml);
    ASSERT_FALSE(c.ok()) << tc.yaml;
    EXPECT_NE(c.status().message().find(tc.expect), std::string::npos)
        << tc.yaml << "\n got: " << c.status().message();
  }
}

TEST(AlertmanagerPostConfigTest, SighupNamesTheRestartOnlySections) {
  auto a = Parse("probes:\n  - {name: am, tcp: 'am:9093'}\n");
  auto b = Parse("probes:\n  - {name: am, tcp: 'am:9094'}\n"
                 "alertmanager_post:\n  urls: ['http://am:9093']\n");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(WatchRestartOnlyChanges(a->watch, a->watch).empty());
  EXPECT_EQ(WatchRestartOnlyChanges(a->watch, b->watch),
            (std::vector<std::string>{"probes", "alertmanager_post"}));
}

struct FakeAlertmanager {
  Mutex mu;
  std::vector<http_client::Request> requests FW_GUARDED_BY(mu);
  long status FW_GUARDED_BY(mu) = 200;
  bool down FW_GUARDED_BY(mu) = false;
  http_client::Response Send(const http_client::Request& req) {
    MutexLock lock(mu);
    requests.push_back(req);
    http_client::Response r;
    if (down) {
      r.error = "Couldn't connect to server";
      return r;
    }
    r.transport_ok = true;
    r.status = status;
    return r;
  }
  size_t count() {
    MutexLock lock(mu);
    return requests.size();
  }
  http_client::Request last() {
    MutexLock lock(mu);
    return requests.back();
  }
};

double Counter(prometheus::Registry& registry, const std::string& result) {
  for (const auto& f : registry.Collect()) {
    if (f.name != "firewatch_alertmanager_posts_total") continue;
    for (const auto& m : f.metric) {
      for (const auto& l : m.label) {
        if (l.name == "result" && l.value == result) return m.counter.value;
      }
    }
  }
  return -1;
}

TEST(AlertmanagerPosterTest, PostsAtOnceResendsHoldsWhileUnhealthyAndCounts) {
  FakeClock clock;
  WatchConfig config;
  ProbeConfig probe;
  probe.name = "am";
  probe.interval = 1s;
  probe.timeout = 500ms;
  config.probes.push_back(probe);
  config.alertmanager_post.enabled = true;
  config.alertmanager_post.urls = {"http://am:9093"};
  config.alertmanager_post.health_probe = "am";
  config.alertmanager_post.resend_interval = 1min;
  prometheus::Registry registry;
  WatchMetrics metrics(registry, config);
  FakeAlertmanager am;
  auto poster = AlertmanagerPoster::Create(
      clock, config, metrics,
      [&am](const http_client::Request& r, const http_client::TransportOptions&) {
        return am.Send(r);
      });
  ASSERT_TRUE(poster.ok()) << poster.status().message();
  AlertmanagerPoster& p = **poster;
  p.Start();

  // No probe result yet: held, counted as unhealthy, nothing sent.
  p.Observe(Firing("db1", kT0));
  ASSERT_TRUE(Eventually([&] { return Counter(registry, "unhealthy") == 1; }));
  EXPECT_EQ(am.count(), 0u);
  // The probe vouches: what was held goes out at once.
  p.ProbeFinished("other", true);  // not the health probe: ignored
  p.ProbeFinished("am", true);
  ASSERT_TRUE(Eventually([&] { return am.count() == 1; }));
  EXPECT_EQ(am.last().url, "http://am:9093/api/v2/alerts");
  auto body = json::parse(am.last().body);
  ASSERT_EQ(body.size(), 1u);
  EXPECT_EQ(body[0]["labels"]["source"], "db1");
  EXPECT_TRUE(Eventually([&] { return Counter(registry, "ok") == 1; }));

  // Recovery is posted at once, resolved.
  p.Observe(Resolved("db1", kT0 + 1000));
  ASSERT_TRUE(Eventually([&] { return am.count() == 2; }));
  body = json::parse(am.last().body);
  EXPECT_EQ(body[0]["endsAt"], "2023-11-14T22:13:21Z");

  // The resend: a minute later (the probe keeps vouching), the resolved alert again.
  clock.Advance(30s);
  p.ProbeFinished("am", true);
  clock.Advance(30s);
  p.ProbeFinished("am", true);
  ASSERT_TRUE(Eventually([&] { return am.count() == 3; }));

  // Alertmanager down: the post fails and is counted; retried 10 s later.
  {
    MutexLock lock(am.mu);
    am.down = true;
  }
  p.Observe(Firing("db2", kT0 + 61'000));
  ASSERT_TRUE(Eventually([&] { return Counter(registry, "error") == 1; }));
  EXPECT_EQ(am.count(), 4u);
  clock.Advance(10s);
  p.ProbeFinished("am", true);
  ASSERT_TRUE(Eventually([&] { return Counter(registry, "error") == 2; }));
  // A 4xx is a rejection.
  {
    MutexLock lock(am.mu);
    am.down = false;
    am.status = 400;
  }
  clock.Advance(10s);
  p.ProbeFinished("am", true);
  ASSERT_TRUE(Eventually([&] { return Counter(registry, "rejected") == 1; }));
  p.Stop();
}

}  // namespace
}  // namespace firewatch::collector
