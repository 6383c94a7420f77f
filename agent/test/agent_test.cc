// The whole agent on a real loop, against stand-in collectors on loopback.
#include "agent.h"

#include <gtest/gtest.h>

#include <memory>

#include "test_util.h"

namespace firewatch::agent {
namespace {

using namespace std::chrono_literals;
using testing::HttpSink;
using testing::RawHttpClient;
using testing::RunUntil;
using testing::UdpSink;
using testing::UnusedPort;

config::HostPort Local(int port) { return config::HostPort{"127.0.0.1", static_cast<uint16_t>(port)}; }

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    ASSERT_TRUE(keys_.Add("fleet", secret_).ok());
    config_.source_id = "test-host";
    config_.key_id = "fleet";
    config_.interval = 1h;  // only the immediate first heartbeat happens during a test
    config_.jitter = 0;
    config_.http_listen = Local(0);
    config_.labels = {{"dc", "test"}};
  }
  void TearDown() override {
    agent_.reset();
    EXPECT_EQ(testing::DrainAndClose(&loop_), 0) << "a libuv handle was leaked";
  }

  void StartAgent() {
    Agent::Options o;
    o.handle_signals = false;
    agent_ = std::make_unique<Agent>(&loop_, config_, secret_,
                                     Agent::Deps{&SystemClock::Instance(), &random_, &checks_}, o);
    Status s = agent_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  protocol::Heartbeat Decode(const std::vector<uint8_t>& bytes) {
    auto out = protocol::Decode(bytes, keys_);
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().detail);
    return out.heartbeat();
  }

  // Runs the loop until the agent has closed (the sinks stay open: close them after).
  void RunToCompletion() {
    ASSERT_TRUE(RunUntil(&loop_, [&] { return agent_->closed(); }, 5s)) << "agent did not close";
  }

  uv_loop_t loop_{};
  protocol::Secret secret_ = protocol::Secret(32, 7);
  protocol::Keyring keys_;
  AgentConfig config_;
  SeededRandom random_{1};
  NoChecks checks_;
  std::unique_ptr<Agent> agent_;
};

TEST_F(AgentTest, SendsAHeartbeatAtOnceAndAGoodbyeOnShutdown) {
  UdpSink collector(&loop_);
  config_.collectors = {CollectorConfig{"a", Local(collector.port()), std::nullopt}};
  StartAgent();
  ASSERT_TRUE(RunUntil(&loop_, [&] { return collector.datagrams().size() >= 1; }, 5s));
  protocol::Heartbeat hb = Decode(collector.datagrams()[0]);
  EXPECT_EQ(hb.type, protocol::FrameType::kHeartbeat);
  EXPECT_EQ(hb.sequence, 1u);
  EXPECT_EQ(hb.source_id, "test-host");
  EXPECT_EQ(hb.interval_ms, 3'600'000u);
  EXPECT_EQ(hb.labels, config_.labels);
  EXPECT_NEAR(static_cast<double>(hb.timestamp_ms),
              static_cast<double>(ToUnixMillis(SystemClock::Instance().WallNow())), 5000.0);
  EXPECT_EQ(agent_->metrics().sent("a", Transport::kUdp), 1u);

  agent_->Shutdown("SIGTERM");
  ASSERT_TRUE(RunUntil(&loop_, [&] { return collector.datagrams().size() >= 2; }, 5s));
  protocol::Heartbeat bye = Decode(collector.datagrams()[1]);
  EXPECT_EQ(bye.type, protocol::FrameType::kGoodbye);
  EXPECT_EQ(bye.goodbye_reason, "SIGTERM");
  EXPECT_EQ(bye.sequence, 2u);
  EXPECT_EQ(bye.boot_id, hb.boot_id);
  RunToCompletion();
  collector.Close();
  EXPECT_EQ(collector.datagrams().size(), 2u);
}

TEST_F(AgentTest, FallsBackToHttpWhenUdpBounces) {
  HttpSink http(&loop_);
  const int closed_udp = UnusedPort(SOCK_DGRAM);
  config_.collectors = {CollectorConfig{"a", Local(closed_udp), Local(http.port())}};
  StartAgent();
  // The datagram bounces (ICMP port unreachable); the same frame then goes over HTTP.
  ASSERT_TRUE(RunUntil(&loop_, [&] { return agent_->metrics().sent("a", Transport::kHttp) >= 1; },
                       5s));
  ASSERT_EQ(http.bodies().size(), 1u);
  EXPECT_EQ(http.paths()[0], "/api/v1/heartbeat");
  EXPECT_EQ(Decode(http.bodies()[0]).sequence, 1u);
  EXPECT_GE(agent_->metrics().send_errors("a", Transport::kUdp), 1u);

  agent_->Shutdown("SIGINT");
  RunToCompletion();
  ASSERT_EQ(http.bodies().size(), 2u) << "the goodbye must reach the collector over HTTP too";
  protocol::Heartbeat bye = Decode(http.bodies()[1]);
  EXPECT_EQ(bye.type, protocol::FrameType::kGoodbye);
  EXPECT_EQ(bye.goodbye_reason, "SIGINT");
  EXPECT_EQ(bye.sequence, 2u);
  http.Close();
}

TEST_F(AgentTest, HttpOnlyCollectorGetsPosts) {
  HttpSink http(&loop_);
  config_.collectors = {CollectorConfig{"h", std::nullopt, Local(http.port())}};
  StartAgent();
  ASSERT_TRUE(RunUntil(&loop_, [&] { return agent_->metrics().sent("h", Transport::kHttp) >= 1; },
                       5s));
  EXPECT_EQ(Decode(http.bodies()[0]).sequence, 1u);
  agent_->Shutdown("SIGTERM");
  RunToCompletion();
  ASSERT_EQ(http.bodies().size(), 2u);
  EXPECT_EQ(Decode(http.bodies()[1]).type, protocol::FrameType::kGoodbye);
  http.Close();
}

TEST_F(AgentTest, ADeadCollectorNeverDelaysALiveOne) {
  UdpSink live(&loop_);
  config_.collectors = {
      CollectorConfig{"dead", Local(UnusedPort(SOCK_DGRAM)), Local(UnusedPort(SOCK_STREAM))},
      CollectorConfig{"live", Local(live.port()), std::nullopt},
  };
  StartAgent();
  ASSERT_TRUE(RunUntil(&loop_, [&] { return !live.datagrams().empty(); }, 5s));
  EXPECT_EQ(Decode(live.datagrams()[0]).sequence, 1u);
  // The dead one's errors are counted: the bounce, then the refused HTTP connection.
  ASSERT_TRUE(RunUntil(&loop_, [&] {
    return agent_->metrics().send_errors("dead", Transport::kHttp) >= 1;
  }, 5s));
  EXPECT_GE(agent_->metrics().send_errors("dead", Transport::kUdp), 1u);
  EXPECT_EQ(agent_->metrics().sent("dead", Transport::kHttp), 0u);
  agent_->Shutdown("SIGTERM");
  RunToCompletion();
  live.Close();
}

TEST_F(AgentTest, ServesHealthzAndMetrics) {
  UdpSink collector(&loop_);
  config_.collectors = {CollectorConfig{"a", Local(collector.port()), std::nullopt}};
  StartAgent();
  ASSERT_NE(agent_->http_port(), 0);
  ASSERT_TRUE(RunUntil(&loop_, [&] { return !collector.datagrams().empty(); }, 5s));
  {
    RawHttpClient c(&loop_, agent_->http_port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(RunUntil(&loop_, [&] { return c.done(); }, 5s));
    EXPECT_EQ(c.status(), 200) << c.response();
    EXPECT_NE(c.response().find("{\"status\":\"ok\",\"source_id\":\"test-host\","
                                "\"last_heartbeat_unix_ms\":1"),
              std::string::npos)
        << c.response();
    EXPECT_NE(c.response().find("\"sequence\":1"), std::string::npos) << c.response();
  }
  {
    RawHttpClient c(&loop_, agent_->http_port(), "GET /metrics HTTP/1.1\r\n\r\n");
    ASSERT_TRUE(RunUntil(&loop_, [&] { return c.done(); }, 5s));
    EXPECT_EQ(c.status(), 200);
    EXPECT_NE(c.response().find(
                  "firewatch_agent_heartbeats_sent_total{collector=\"a\",transport=\"udp\"} 1\n"),
              std::string::npos)
        << c.response();
  }
  {
    RawHttpClient c(&loop_, agent_->http_port(), "DELETE /metrics HTTP/1.1\r\n\r\n");
    ASSERT_TRUE(RunUntil(&loop_, [&] { return c.done(); }, 5s));
    EXPECT_EQ(c.status(), 405);
  }
  agent_->Shutdown("SIGTERM");
  RunToCompletion();
  collector.Close();
}

TEST_F(AgentTest, StartFailsCleanlyWhenTheListenPortIsTaken) {
  UdpSink collector(&loop_);
  HttpSink taken(&loop_);
  config_.http_listen = Local(taken.port());
  config_.collectors = {CollectorConfig{"a", Local(collector.port()), std::nullopt}};
  agent_ = std::make_unique<Agent>(&loop_, config_, secret_,
                                   Agent::Deps{&SystemClock::Instance(), &random_, &checks_},
                                   Agent::Options{.handle_signals = false});
  Status s = agent_->Start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("127.0.0.1:" + std::to_string(taken.port())), std::string::npos);
  EXPECT_TRUE(agent_->closed());
  collector.Close();
  taken.Close();
  EXPECT_TRUE(collector.datagrams().empty());  // nothing was sent
}

TEST_F(AgentTest, NamedCollectorGetsTheFirstHeartbeatOnceResolved) {
  const std::string ip = testing::FirstAddressOf("localhost");
  if (ip.empty()) GTEST_SKIP() << "localhost does not resolve here";
  UdpSink collector(&loop_, ip);
  config_.collectors = {CollectorConfig{
      "named", config::HostPort{"localhost", static_cast<uint16_t>(collector.port())}, std::nullopt}};
  StartAgent();
  // Heartbeat 1 was built before the lookup finished; it waits for the first address.
  ASSERT_TRUE(RunUntil(&loop_, [&] { return !collector.datagrams().empty(); }, 5s));
  EXPECT_EQ(Decode(collector.datagrams()[0]).sequence, 1u);
  EXPECT_EQ(agent_->metrics().send_errors("named", Transport::kUdp), 0u);
  EXPECT_EQ(agent_->metrics().resolve_failures("named"), 0u);
  agent_->Shutdown("SIGTERM");
  RunToCompletion();
  collector.Close();
}

TEST_F(AgentTest, UnresolvableCollectorIsCountedAndDoesNotBlockShutdown) {
  UdpSink live(&loop_);
  // ".invalid" never resolves (RFC 6761); the lookup fails fast or at least never
  // succeeds. Either way the live collector is served and shutdown completes.
  config_.collectors = {
      CollectorConfig{"nowhere", config::HostPort{"collector.invalid", 9761}, std::nullopt},
      CollectorConfig{"live", Local(live.port()), std::nullopt},
  };
  StartAgent();
  ASSERT_TRUE(RunUntil(&loop_, [&] { return !live.datagrams().empty(); }, 5s));
  EXPECT_EQ(agent_->metrics().sent("nowhere", Transport::kUdp), 0u);
  // Where the resolver answers (NXDOMAIN or no resolver at all), the failure is counted.
  RunUntil(&loop_, [&] { return agent_->metrics().resolve_failures("nowhere") >= 1; }, 2s);
  agent_->Shutdown("SIGTERM");
  RunToCompletion();
  live.Close();
}

}  // namespace
}  // namespace firewatch::agent
