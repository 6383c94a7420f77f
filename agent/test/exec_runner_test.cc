// ExecRunner with real processes on a real loop (sh scripts; no sleeping in the test:
// RunUntil wakes on the loop's own events).
#include "exec_runner.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>

#include "test_util.h"

namespace firewatch::agent {
namespace {

using namespace std::chrono_literals;
using Kind = ExecRunner::Outcome::Kind;

class ExecRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    runner_.reset();
    EXPECT_EQ(testing::DrainAndClose(&loop_), 0) << "a libuv handle was leaked";
  }
  ExecRunner& Runner(ExecRunner::Limits l = {}) {
    runner_ = std::make_unique<ExecRunner>(&loop_, SystemClock::Instance(), l);
    return *runner_;
  }
  static ExecRunner::Spec Sh(const std::string& script, Duration timeout = 5s) {
    ExecRunner::Spec s;
    s.argv = {"/bin/sh", "-c", script};
    s.env = {"PATH=/usr/bin:/bin", "ONLY=this"};
    s.timeout = timeout;
    return s;
  }
  std::optional<ExecRunner::Outcome> RunOne(const ExecRunner::Spec& spec, Duration wait = 10s) {
    std::optional<ExecRunner::Outcome> out;
    EXPECT_TRUE(runner_->Run(spec, [&](ExecRunner::Outcome o) { out = std::move(o); }));
    testing::RunUntil(
        &loop_, [&] { return out.has_value(); }, wait);
    return out;
  }

  uv_loop_t loop_{};
  std::unique_ptr<ExecRunner> runner_;
};

TEST_F(ExecRunnerTest, ExitStatusAndOutput) {
  Runner();
  auto o = RunOne(Sh("echo 'WARN - x | a=1'; exit 1"));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->kind, Kind::kExited);
  EXPECT_EQ(o->exit_status, 1);
  EXPECT_EQ(o->output, "WARN - x | a=1\n");
}

TEST_F(ExecRunnerTest, EnvironmentIsExactlyTheSpec) {
  setenv("FIREWATCH_TEST_SECRET", "s3cret", 1);
  Runner();
  auto o = RunOne(Sh("env | sort | tr '\\n' ' '"));
  unsetenv("FIREWATCH_TEST_SECRET");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->output.find("s3cret"), std::string::npos) << o->output;
  EXPECT_NE(o->output.find("ONLY=this"), std::string::npos) << o->output;
}

TEST_F(ExecRunnerTest, TimeoutKillsTheWholeProcessGroup) {
  Runner();
  // The plugin forks a grandchild that would outlive it, and both hang.
  std::string pidfile = ::testing::TempDir() + "/exec_runner_grandchild.pid";
  auto o = RunOne(Sh("sleep 1000 & echo $! > " + pidfile + "; sleep 1000", 300ms));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->kind, Kind::kTimedOut);
  EXPECT_LT(o->duration, 3s);
  std::ifstream f(pidfile);
  pid_t grandchild = 0;
  f >> grandchild;
  ASSERT_GT(grandchild, 0);
  // Killed with the group: gone (reaped by init) or a zombie on its way out.
  bool gone = testing::RunUntil(
      &loop_,
      [&] {
        if (::kill(grandchild, 0) != 0) return true;
        std::ifstream stat("/proc/" + std::to_string(grandchild) + "/stat");
        std::string pid, comm, state;
        stat >> pid >> comm >> state;
        return state == "Z";
      },
      5s);
  EXPECT_TRUE(gone);
}

TEST_F(ExecRunnerTest, FloodIsCutAndDiscarded) {
  Runner(ExecRunner::Limits{.max_concurrent = 1, .max_output = 100});
  auto o = RunOne(Sh("head -c 3000000 /dev/zero | tr '\\0' x; echo; exit 2"));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->kind, Kind::kExited);
  EXPECT_EQ(o->exit_status, 2);
  EXPECT_EQ(o->output.size(), 100u);
  EXPECT_EQ(o->discarded_bytes, 3000001u - 100u);
}

TEST_F(ExecRunnerTest, MissingProgramAndConcurrencyLimit) {
  Runner(ExecRunner::Limits{.max_concurrent = 1});
  ExecRunner::Spec missing;
  missing.argv = {"/nonexistent/check_nothing"};
  auto o = RunOne(missing);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->kind, Kind::kSpawnFailed);
  EXPECT_NE(o->error.find("/nonexistent/check_nothing"), std::string::npos);

  std::optional<ExecRunner::Outcome> first;
  ASSERT_TRUE(runner_->Run(Sh("sleep 1000", 200ms), [&](auto x) { first = std::move(x); }));
  EXPECT_FALSE(runner_->Run(Sh("true"), [](auto) { FAIL() << "refused runs never complete"; }));
  ASSERT_TRUE(testing::RunUntil(
      &loop_, [&] { return first.has_value(); }, 5s));
  EXPECT_EQ(runner_->running(), 0u);
}

TEST_F(ExecRunnerTest, CloseKillsRunningPlugins) {
  Runner();
  bool called = false;
  ASSERT_TRUE(runner_->Run(Sh("sleep 1000"), [&](auto) { called = true; }));
  runner_->Close();
  EXPECT_EQ(testing::DrainAndClose(&loop_), 0);
  ASSERT_EQ(uv_loop_init(&loop_), 0);
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace firewatch::agent
