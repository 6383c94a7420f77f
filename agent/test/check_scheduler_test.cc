// The checks section of the config, the built-in probes' arithmetic, and the scheduler
// on a real loop with real plugins (sh) next to a heartbeat-like timer.
#include "check_scheduler.h"

#include <gtest/gtest.h>
#include <pwd.h>

#include <fstream>

#include "agent_config.h"
#include "builtin_probes.h"
#include "firewatch/net/uv_handle.h"
#include "test_util.h"

namespace firewatch::agent {
namespace {

using namespace std::chrono_literals;
using protocol::CheckState;

Result<AgentConfig> Parse(const std::string& checks) {
  std::string yaml = "collectors:\n  - name: a\n    udp: 127.0.0.1:9760\n" + checks;
  auto doc = config::LoadString(yaml, "agent.yml");
  if (!doc.ok()) return doc.status();
  return ParseAgentConfig(*doc, "agent.yml", "host", "");
}

TEST(CheckConfigTest, EveryTypeParses) {
  auto c = Parse(R"(checks:
  - {name: root, type: disk, path: /, warning: 85, critical: 95, interval: 5m, attempts: 3,
     recover_after: 2}
  - {name: load, type: load}
  - {name: mem, type: memory, warning: 15, critical: 5}
  - {name: db, type: tcp, address: "127.0.0.1:5432", timeout: 2s}
  - {name: sshd, type: process, process: sshd}
  - {name: nginx, type: systemd, unit: nginx.service}
  - {name: backup, type: file_age, path: /var/backup/done, warning: 25h, critical: 49h}
  - name: raid
    type: exec
    command: [/usr/lib/nagios/plugins/check_dummy, "0", all fine]
    env: {LC_NUMERIC: C}
  - {name: sh, type: exec, shell: true, command: "echo hi | cat"}
  - {name: web, type: http, url: "http://127.0.0.1:8080/healthz", status: 204, body_contains: ok}
)");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->checks.size(), 10u);
  EXPECT_EQ(c->checks[9].expect_status, 204);
  EXPECT_EQ(c->checks[9].body_contains, "ok");
  EXPECT_EQ(c->checks[0].critical, 95);
  EXPECT_EQ(c->checks[0].inodes_critical, 95);
  EXPECT_EQ(c->checks[0].interval, 5min);
  EXPECT_EQ(c->checks[0].attempts, 3u);
  EXPECT_EQ(c->checks[0].recover_after, 2u);
  EXPECT_EQ(c->checks[1].attempts, 1u);
  EXPECT_EQ(c->checks[1].warning, 1.5);
  EXPECT_EQ(c->checks[3].address.port, 5432);
  EXPECT_EQ(c->checks[6].critical, 49 * 3600);
  EXPECT_EQ(c->checks[7].command.size(), 3u);
  EXPECT_TRUE(c->checks[8].shell);
}

TEST(CheckConfigTest, ErrorsNameTheLineAndTheProblem) {
  auto expect_error = [](const std::string& checks, const std::string& want) {
    auto c = Parse(checks);
    ASSERT_FALSE(c.ok()) << checks;
    EXPECT_NE(c.status().message().find(want), std::string::npos) << c.status().message();
  };
  expect_error("checks:\n  - {name: x, type: exec, command: \"rm -rf /\"}\n",
               "agent.yml:5: checks[0].command: expected a list");
  expect_error("checks:\n  - {name: x, type: bogus}\n", "unknown check type 'bogus'");
  expect_error("checks:\n  - {name: x, type: disk}\n", "checks[0].path: required");
  expect_error("checks:\n  - {name: x, type: load, path: /}\n", "checks[0].path");
  expect_error("checks:\n  - {name: x, type: load}\n  - {name: x, type: load}\n",
               "duplicate check name 'x'");
  expect_error("checks:\n  - {name: x, type: tcp, address: \"db.example:5432\"}\n",
               "must be an IP address");
  expect_error("checks:\n  - {name: x, type: process}\n", "exactly one of pidfile or process");
  expect_error("checks:\n  - {name: x, type: exec, command: [a], env: {PATH: /tmp}}\n",
               "'PATH' is not a variable name a check may set");
  expect_error("checks:\n  - {name: x, type: disk, path: /, warning: 95, critical: 90}\n",
               "warning must not be above critical");
  expect_error("checks:\n  - {name: 'a b', type: load}\n", "must be 1 to 128 characters");
  expect_error("checks:\n  - {name: x, type: http, url: \"http://10.0.0.1/\", ca_file: /x}\n",
               "checks[0].ca_file: only for https:// URLs");
  expect_error("checks:\n  - {name: x, type: http, url: \"https://10.0.0.1/\", "
               "ca_file: /nonexistent/ca.pem}\n",
               "checks[0].ca_file: cannot read /nonexistent/ca.pem");
  expect_error("checks:\n  - {name: x, type: http, url: \"https://10.0.0.1/\", "
               "tls_server_name: \"db:5432\"}\n",
               "checks[0].tls_server_name: expected a DNS name");
  expect_error("checks:\n  - {name: x, type: http, url: \"https://db.example/\", "
               "tls_server_name: db.example}\n",
               "for https, name the certificate's host in tls_server_name");
  expect_error("checks:\n  - {name: x, type: http, url: \"http://example.org/\"}\n",
               "the host must be an IP address");
}

TEST(BuiltinProbesTest, ProcParsersAndThresholds) {
  EXPECT_EQ(ParseLoadAvg("0.52 0.58 0.59 2/1234 5678\n"), 0.52);
  EXPECT_FALSE(ParseLoadAvg("garbage"));
  EXPECT_FALSE(ParseLoadAvg("-1 2 3"));
  auto m =
      ParseMemInfo("MemTotal:       16000000 kB\nMemFree: 1 kB\nMemAvailable:    4000000 kB\n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->available_kb, 4000000u);
  EXPECT_FALSE(ParseMemInfo("MemTotal: 10 kB\nMemAvailable: 20 kB\n"));
  EXPECT_FALSE(ParseMemInfo("MemTotal: 10 kB\n"));
  EXPECT_EQ(AtOrAbove(90, 80, 90), CheckState::kCritical);
  EXPECT_EQ(AtOrAbove(85, 80, 90), CheckState::kWarning);
  EXPECT_EQ(AtOrBelow(4, 10, 5), CheckState::kCritical);
  EXPECT_EQ(AtOrBelow(50, 10, 5), CheckState::kOk);
  double pct = 0, ipct = 0;
  // 100 blocks, 10 free of which 5 available to users: 90 / 95 used, like df.
  auto r = EvaluateDisk("/var", {100, 10, 5, 4096, 1000, 900}, 80, 90, 80, 90, &pct, &ipct);
  EXPECT_EQ(r.state, CheckState::kCritical);
  EXPECT_NEAR(pct, 94.7, 0.1);
  EXPECT_NEAR(ipct, 10, 0.01);
  // Hostile counts (free > total) are clamped, not wrapped.
  r = EvaluateDisk("/x", {10, 50, 60, 1, 0, 5}, 80, 90, 80, 90, &pct, &ipct);
  EXPECT_EQ(r.state, CheckState::kOk);
  EXPECT_EQ(pct, 0);
}

TEST(BuiltinProbesTest, HttpUrlAndAnswer) {
  HttpTarget t;
  EXPECT_EQ(ParseHttpUrl("http://127.0.0.1:8080/health?x=1", t), "");
  EXPECT_EQ(t.port, 8080);
  EXPECT_EQ(t.path, "/health?x=1");
  EXPECT_EQ(t.host_header, "127.0.0.1:8080");
  EXPECT_EQ(ParseHttpUrl("http://[::1]", t), "");
  EXPECT_EQ(t.host, "::1");
  EXPECT_EQ(t.port, 80);
  EXPECT_EQ(t.path, "/");
  EXPECT_FALSE(t.tls);
  EXPECT_EQ(ParseHttpUrl("https://10.0.0.1/ready", t), "");
  EXPECT_TRUE(t.tls);
  EXPECT_EQ(t.port, 443);
  EXPECT_EQ(t.path, "/ready");
  EXPECT_EQ(ParseHttpUrl("https://[::1]:8443", t), "");
  EXPECT_EQ(t.port, 8443);
  EXPECT_NE(ParseHttpUrl("httpsx://10.0.0.1/", t), "");
  EXPECT_NE(ParseHttpUrl("http://10.0.0.1:99999/", t), "");
  EXPECT_NE(ParseHttpUrl("http://10.0.0.1/a b", t), "");
  EXPECT_NE(ParseHttpUrl("ftp://x", t), "");

  EXPECT_EQ(EvaluateHttpAnswer(200, "all good", 200, "good", false).state, CheckState::kOk);
  EXPECT_EQ(EvaluateHttpAnswer(204, "", 200, "", false).message, "HTTP 204 (expected 200)");
  EXPECT_EQ(EvaluateHttpAnswer(200, "x", 200, "good", true).message,
            "HTTP 200 but the body (first bytes read) does not contain the expected text");

  auto ok = EvaluateHttpResponse("HTTP/1.1 200 OK\r\nA: b\r\n\r\nall good", 200, "good", false);
  EXPECT_EQ(ok.state, CheckState::kOk);
  EXPECT_EQ(ok.message, "HTTP 200");
  EXPECT_EQ(EvaluateHttpResponse("HTTP/1.1 503 Busy\r\n\r\n", 200, "", false).message,
            "HTTP 503 (expected 200)");
  EXPECT_EQ(EvaluateHttpResponse("HTTP/1.1 200 OK\r\n\r\nbad", 200, "good", false).state,
            CheckState::kCritical);
  EXPECT_EQ(EvaluateHttpResponse("SSH-2.0-OpenSSH", 200, "", false).state, CheckState::kCritical);
  EXPECT_EQ(EvaluateHttpResponse("HTTP/1.1 2x0", 200, "", false).state, CheckState::kCritical);
}

TEST(BuiltinProbesTest, ClockOffset) {
  EXPECT_EQ(ParseCollectorTime(
                "HTTP/1.1 200 OK\r\n\r\n{\"status\":\"ok\",\"time_unix_ms\":1700000000123}"),
            1700000000123);
  EXPECT_FALSE(ParseCollectorTime("HTTP/1.1 200 OK\r\n\r\n{\"status\":\"ok\"}"));
  EXPECT_FALSE(ParseCollectorTime("HTTP/1.1 500 x\r\n\r\n\"time_unix_ms\":5"));
  EXPECT_FALSE(
      ParseCollectorTime("HTTP/1.1 200 OK\r\n\r\n\"time_unix_ms\":99999999999999999999999"));
  double off = 0;
  // Sent at 10.000, answered at 10.100 (midpoint 10.050); the collector said 7.050.
  auto r = EvaluateClockOffset(7'050, 10'000, 10'100, 2, 4, &off);
  EXPECT_DOUBLE_EQ(off, 3.0);
  EXPECT_EQ(r.state, CheckState::kWarning);
  EXPECT_EQ(r.message, "clock 3.000s ahead of the collector's (+/- 0.050s)");
  r = EvaluateClockOffset(15'050, 10'000, 10'100, 2, 4, &off);
  EXPECT_EQ(r.state, CheckState::kCritical);
  EXPECT_NE(r.message.find("behind"), std::string::npos);
  // Hostile values do not overflow.
  r = EvaluateClockOffset(INT64_MAX, INT64_MIN, INT64_MAX, 2, 4, &off);
  EXPECT_EQ(r.state, CheckState::kCritical);
}

class CheckSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    if (sched_) sched_->Close();
    sched_.reset();
    EXPECT_EQ(testing::DrainAndClose(&loop_), 0) << "a libuv handle was leaked";
  }
  void Start(std::vector<CheckConfig> checks) {
    CheckScheduler::Options o;
    o.max_output = 256;
    sched_ =
        std::make_unique<CheckScheduler>(&loop_, SystemClock::Instance(), std::move(checks), o);
    ASSERT_TRUE(sched_->Start().ok());
  }
  static CheckConfig Exec(std::string name, std::string script, Duration timeout = 5s) {
    CheckConfig c;
    c.name = std::move(name);
    c.type = CheckType::kExec;
    c.shell = true;
    c.command = {std::move(script)};
    c.interval = 1s;
    c.timeout = timeout;
    return c;
  }
  uv_loop_t loop_{};
  std::unique_ptr<CheckScheduler> sched_;
};

TEST_F(CheckSchedulerTest, PluginsTcpAndProbesReachCurrentAndMetrics) {
  CheckConfig tcp;
  tcp.name = "closed-port";
  tcp.type = CheckType::kTcp;
  tcp.address = {"127.0.0.1", static_cast<uint16_t>(testing::UnusedPort(SOCK_STREAM))};
  tcp.interval = 1s;
  tcp.timeout = 2s;
  CheckConfig disk;
  disk.name = "root";
  disk.type = CheckType::kDisk;
  disk.path = "/";
  disk.warning = 101;  // never
  disk.critical = 101;
  disk.inodes_warning = disk.inodes_critical = 101;
  CheckConfig mem;
  mem.name = "mem";
  mem.type = CheckType::kMemory;
  mem.warning = 0;
  mem.critical = 0;
  Start({Exec("warn", "echo 'WARN - slow | t=1.5s;1;2;0;10'; exit 1"), tcp, disk, mem,
         Exec("weird", "exit 7")});
  ASSERT_TRUE(testing::RunUntil(
      &loop_, [&] { return sched_->Current().size() == 5; }, 10s));
  auto cur = sched_->Current();
  EXPECT_EQ(cur[0], (protocol::CheckResult{"warn", CheckState::kWarning, "WARN - slow"}));
  EXPECT_EQ(cur[1].state, CheckState::kCritical);
  EXPECT_NE(cur[1].output.find("connection refused"), std::string::npos) << cur[1].output;
  EXPECT_EQ(cur[2].state, CheckState::kOk) << cur[2].output;
  EXPECT_EQ(cur[3].state, CheckState::kOk) << cur[3].output;
  EXPECT_EQ(cur[4].state, CheckState::kUnknown);
  EXPECT_EQ(cur[4].output, "exit status 7: ");
  std::string m = sched_->RenderMetrics();
  EXPECT_NE(m.find("firewatch_agent_check_state{check=\"warn\",type=\"exec\"} 1\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("firewatch_agent_check_perfdata{check=\"warn\",type=\"exec\",label=\"t\","
                   "unit=\"s\"} 1.5\n"),
            std::string::npos)
      << m;
  EXPECT_TRUE(sched_->StaleChecks().empty());
}

// A hanging plugin, a forking one and a flooding one never delay a timer on the same
// loop: the heartbeat timer's lateness stays small while they run and are killed.
TEST_F(CheckSchedulerTest, BadPluginsNeverDelayTheLoop) {
  Start({Exec("hang", "sleep 1000", 700ms), Exec("fork", "(sleep 1000 &); sleep 1000", 700ms),
         Exec("flood", "yes firewatch", 700ms)});
  struct State {
    MonoTime expected;
    Duration worst{};
    int beats = 0;
  } st{SystemClock::Instance().Now() + 50ms};
  // Heap-owned by net::UvTimer: closed on every way out of this test (an ASSERT too), and
  // freed by TearDown's loop run after this frame is gone.
  net::UvTimer beat;
  beat.Start(&loop_, 50ms, 50ms, [&st] {
    auto late = SystemClock::Instance().Now() - st.expected;
    st.worst = std::max(st.worst, late);
    st.expected += 50ms;
    ++st.beats;
  });
  ASSERT_TRUE(testing::RunUntil(
      &loop_,
      [&] {
        return sched_->status(0).timeouts >= 2 && sched_->status(1).timeouts >= 2 &&
               sched_->status(2).timeouts >= 2;
      },
      15s));
  beat.Close();
  // A loop that waited on a plugin would be late by its 700 ms timeout at least; the
  // bound leaves room for a loaded machine (CI runs this beside a compiler; 100 ms
  // failed there with nothing wrong) and still catches any wait on a plugin.
  EXPECT_LT(st.worst, 400ms) << "a timer on the checks' loop fired late";
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(sched_->status(i).state, CheckState::kUnknown);
    EXPECT_NE(sched_->status(i).message.find("timed out after"), std::string::npos);
  }
  EXPECT_GT(sched_->status(2).discarded_bytes, 0u);
}

// attempts / recover_after: a plugin that fails, recovers once and fails again is
// reported CRITICAL only after three failures in a row, and OK only after two OKs.
TEST_F(CheckSchedulerTest, AttemptsAndRecoveryDampFlapping) {
  std::string script_path = ::testing::TempDir() + "/flap_states";
  // One exit status per run, read from a file the plugin consumes line by line.
  {
    std::ofstream f(script_path);
    f << "2\n2\n0\n2\n2\n2\n0\n2\n0\n0\n";
  }
  CheckConfig c = Exec("flap", "s=$(head -n1 " + script_path + "); sed -i 1d " + script_path +
                                   "; echo state $s; exit ${s:-0}");
  c.interval = 1s;
  c.attempts = 3;
  c.recover_after = 2;
  Start({c});
  std::vector<CheckState> reported;
  auto& st = sched_->status(0);
  uint64_t seen = 0;
  ASSERT_TRUE(testing::RunUntil(
      &loop_,
      [&] {
        if (st.runs != seen) {
          seen = st.runs;
          auto cur = sched_->Current();
          reported.push_back(cur.empty() ? static_cast<CheckState>(9) : cur[0].state);
        }
        return seen >= 10;
      },
      20s));
  const auto kNone = static_cast<CheckState>(9), kOk = CheckState::kOk,
             kCrit = CheckState::kCritical;
  // runs:   2      2      0    2    2    2     0     2     0     0
  EXPECT_EQ(reported, (std::vector<CheckState>{kNone, kNone, kOk, kOk, kOk, kCrit, kCrit, kCrit,
                                               kCrit, kOk}));
}

// As root, user: switches the plugin to that user; otherwise the scheduler refuses to
// start (rather than run the plugin as the agent's user).
TEST_F(CheckSchedulerTest, RunAsAnotherUser) {
  CheckConfig c = Exec("as-nobody", "echo uid $(id -u) gid $(id -g) groups $(id -G)");
  c.user = "nobody";
  if (::geteuid() != 0) {
    CheckScheduler s(&loop_, SystemClock::Instance(), {c}, {});
    auto st = s.Start();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("needs the agent to run as root"), std::string::npos);
    return;
  }
  struct passwd* pw = ::getpwnam("nobody");
  ASSERT_NE(pw, nullptr);
  Start({c});
  ASSERT_TRUE(testing::RunUntil(
      &loop_, [&] { return sched_->status(0).runs > 0; }, 10s));
  const std::string id = std::to_string(pw->pw_uid), gid = std::to_string(pw->pw_gid);
  EXPECT_EQ(sched_->status(0).message, "uid " + id + " gid " + gid + " groups " + gid);
}

}  // namespace
}  // namespace firewatch::agent
