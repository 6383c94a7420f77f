#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "http/http_server.h"
#include "metrics/collector_metrics.h"
#include "tracker/tracker.h"
#include "test/eventually.h"
#include "watch/own_source_feed.h"
#include "watch/probe_runner.h"
#include "watch/probe_schedule.h"

namespace firewatch::collector {
namespace {

using namespace std::chrono_literals;

ProbeConfig Probe(const std::string& name, Duration interval, uint32_t failures = 1) {
  ProbeConfig p;
  p.name = name;
  p.kind = ProbeKind::kTcp;
  p.address = {"127.0.0.1", 1};
  p.interval = interval;
  p.timeout = interval / 2;
  p.failures_before_down = failures;
  p.labels = {{"kind", "probe"}, {"probe", name}};
  return p;
}

TEST(ProbeScheduleTest, FixedRateNoOverlapNoCatchUpBurst) {
  FakeClock clock;
  ProbeSchedule s({Probe("a", 10s), Probe("b", 3s)}, clock.Now());
  // Everything is due at start.
  auto due = s.TakeDue(clock.Now(), 8);
  EXPECT_EQ(due.size(), 2u);
  EXPECT_TRUE(s.TakeDue(clock.Now(), 8).empty());  // running: never twice at once
  EXPECT_FALSE(s.NextDue());                       // all running
  clock.Advance(1s);
  s.Finished(1, true, clock.Now());
  EXPECT_EQ(*s.NextDue() - clock.Now(), 2s);  // b: 3 s after its previous due time
  clock.Advance(2s);
  EXPECT_EQ(s.TakeDue(clock.Now(), 8), std::vector<size_t>{1});
  // "a" is stuck for a long time; when it ends it is due one interval from its last due,
  // and after a long stall one interval from now, not a burst.
  clock.Advance(60s);
  s.Finished(0, false, clock.Now());
  s.Finished(1, true, clock.Now());
  auto both = s.TakeDue(clock.Now(), 8);
  EXPECT_EQ(both.size(), 2u);
  s.Finished(0, true, clock.Now());
  s.Finished(1, true, clock.Now());
  EXPECT_TRUE(s.TakeDue(clock.Now(), 8).empty());
  clock.Advance(3s);
  EXPECT_EQ(s.TakeDue(clock.Now(), 8), std::vector<size_t>{1});
}

TEST(ProbeScheduleTest, BoundedByMaxEarliestFirst) {
  FakeClock clock;
  ProbeSchedule s({Probe("a", 10s), Probe("b", 10s), Probe("c", 10s)}, clock.Now());
  EXPECT_EQ(s.TakeDue(clock.Now(), 1).size(), 1u);
  EXPECT_EQ(s.TakeDue(clock.Now(), 1).size(), 1u);
  EXPECT_EQ(s.TakeDue(clock.Now(), 1).size(), 1u);
  EXPECT_TRUE(s.TakeDue(clock.Now(), 1).empty());
}

TEST(ProbeScheduleTest, FailuresBeforeDownAreToleratedThenStopCounting) {
  FakeClock clock;
  ProbeSchedule s({Probe("a", 1s, 3)}, clock.Now());
  auto run = [&](bool ok) {
    EXPECT_EQ(s.TakeDue(clock.Now(), 1).size(), 1u);
    const bool hb = s.Finished(0, ok, clock.Now());
    clock.Advance(1s);
    return hb;
  };
  EXPECT_TRUE(run(true));
  EXPECT_TRUE(run(false));   // 1 of 3
  EXPECT_TRUE(run(false));   // 2 of 3
  EXPECT_FALSE(run(false));  // 3rd: no longer vouches
  EXPECT_FALSE(run(false));
  EXPECT_TRUE(run(true));  // the streak ends
  EXPECT_TRUE(run(false));
  ProbeSchedule once({Probe("b", 1s, 1)}, clock.Now());
  once.TakeDue(clock.Now(), 1);
  EXPECT_FALSE(once.Finished(0, false, clock.Now()));
}

class ProbeRunnerTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  Tracker tracker_{clock_, DetectionConfig{}};
  CollectorMetrics metrics_{"test", "0", false};
  OwnSourceFeed feed_{clock_, tracker_, nullptr};
};

TEST_F(ProbeRunnerTest, SuccessesAreHeartbeatsAndConcurrencyIsBounded) {
  WatchConfig config;
  for (int i = 0; i < 6; ++i) config.probes.push_back(Probe("p" + std::to_string(i), 10s));
  WatchMetrics wm(metrics_.registry(), config);
  std::atomic<int> running{0}, most{0}, calls{0};
  std::atomic<bool> release{false};
  ProbeRunner runner(
      clock_, config, feed_, wm,
      [&](const ProbeConfig& p, const std::atomic<bool>& stop) {
        const int now = ++running;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        while (!release && !stop) std::this_thread::sleep_for(1ms);
        --running;
        ++calls;
        return ProbeOutcome{p.name != "p5", "scripted"};
      },
      2);
  runner.Start();
  ASSERT_TRUE(Eventually([&] { return running == 2; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(most.load(), 2);  // 6 due, 2 threads
  release = true;
  ASSERT_TRUE(Eventually([&] { return calls == 6; }));
  ASSERT_TRUE(Eventually([&] { return tracker_.size() == 5; }));
  EXPECT_EQ(tracker_.Get("probe/p0")->heartbeats, 1u);
  EXPECT_FALSE(tracker_.Get("probe/p5"));  // failed: not heard
  // Nothing more until the fake clock reaches the next interval.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(calls.load(), 6);
  clock_.Advance(10s);
  ASSERT_TRUE(Eventually([&] { return calls == 12; }));
  ASSERT_TRUE(Eventually([&] { return tracker_.Get("probe/p0")->heartbeats == 2u; }));
  runner.Stop();
  const std::string text = metrics_.Render(tracker_, nullptr);
  EXPECT_NE(text.find("firewatch_probe_runs_total{probe=\"p5\",result=\"failed\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("firewatch_probe_up{probe=\"p5\"} 0"), std::string::npos);
  EXPECT_NE(text.find("firewatch_probe_up{probe=\"p0\"} 1"), std::string::npos);
}

TEST_F(ProbeRunnerTest, StopAbortsAHungProbe) {
  WatchConfig config;
  config.probes.push_back(Probe("hung", 10s));
  WatchMetrics wm(metrics_.registry(), config);
  std::atomic<bool> started{false};
  ProbeRunner runner(clock_, config, feed_, wm,
                     [&](const ProbeConfig&, const std::atomic<bool>& stop) {
                       started = true;
                       while (!stop) std::this_thread::sleep_for(1ms);
                       return ProbeOutcome{false, "aborted"};
                     });
  runner.Start();
  ASSERT_TRUE(Eventually([&] { return started.load(); }));
  const auto t0 = std::chrono::steady_clock::now();
  runner.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
}

// RunProbe against real sockets on loopback.
class RunProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Route(
        "GET", "/-/healthy",
        [this](const HttpRequest&) {
          return healthy_ ? HttpResponse::Text(200, "Prometheus Server is Healthy.\n")
                          : HttpResponse::Text(503, "not yet");
        },
        RouteOptions{Access::kPublic, 0, nullptr});
    ASSERT_TRUE(server_.Start().ok());
  }
  ProbeConfig Http(const std::string& path) {
    ProbeConfig p;
    p.name = "prom";
    p.kind = ProbeKind::kHttp;
    p.url = "http://127.0.0.1:" + std::to_string(server_.port()) + path;
    p.timeout = 2s;
    return p;
  }
  // A port nothing listens on: bound, never listening, so connects are refused.
  uint16_t ClosedPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }
  void TearDown() override {
    server_.Stop();
    if (fd_ >= 0) ::close(fd_);
  }
  HttpServer server_{HttpServerOptions{{"127.0.0.1", 0}, 4}};
  std::atomic<bool> healthy_{true};
  std::atomic<bool> stop_{false};
  int fd_ = -1;
};

TEST_F(RunProbeTest, HttpStatusAndBody) {
  ProbeConfig p = Http("/-/healthy");
  EXPECT_TRUE(RunProbe(p, stop_).ok);
  p.expect_body = "Healthy";
  EXPECT_TRUE(RunProbe(p, stop_).ok);
  p.expect_body = "Ready";
  ProbeOutcome body = RunProbe(p, stop_);
  EXPECT_FALSE(body.ok);
  EXPECT_NE(body.detail.find("does not contain"), std::string::npos) << body.detail;
  p.expect_body.clear();
  healthy_ = false;
  ProbeOutcome down = RunProbe(p, stop_);
  EXPECT_FALSE(down.ok);
  EXPECT_NE(down.detail.find("HTTP 503, expected 200"), std::string::npos) << down.detail;
  p.expect_status = 503;
  EXPECT_TRUE(RunProbe(p, stop_).ok);
  EXPECT_FALSE(RunProbe(Http("/nope"), stop_).ok);  // 404
}

TEST_F(RunProbeTest, TcpConnects) {
  ProbeConfig p;
  p.name = "tcp";
  p.kind = ProbeKind::kTcp;
  p.timeout = 2s;
  p.address = {"127.0.0.1", server_.port()};
  ProbeOutcome open = RunProbe(p, stop_);
  EXPECT_TRUE(open.ok) << open.detail;
  p.address.port = ClosedPort();
  ProbeOutcome closed = RunProbe(p, stop_);
  EXPECT_FALSE(closed.ok);
  EXPECT_NE(closed.detail.find("connect:"), std::string::npos) << closed.detail;
}

}  // namespace
}  // namespace firewatch::collector
