// The watchdog timer pings from the loop at half the period, only while the loop runs,
// and never keeps the loop alive by itself.
#include "firewatch/net/sd_watchdog.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace firewatch::net {
namespace {

class SdWatchdogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    name_ = "@firewatch-watchdog-test-" + std::to_string(::getpid());
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, name_.data() + 1, name_.size() - 1);
    ASSERT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr),
                     static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size())),
              0);
    ::setenv("NOTIFY_SOCKET", name_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd_);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }
  int Received() {
    int n = 0;
    char buf[64];
    ssize_t got;
    while ((got = ::recv(fd_, buf, sizeof buf, 0)) > 0) {
      EXPECT_EQ(std::string(buf, got), "WATCHDOG=1");
      ++n;
    }
    return n;
  }
  uv_loop_t loop_{};
  std::string name_;
  int fd_ = -1;
};

TEST_F(SdWatchdogTest, PingsAtHalfThePeriodWhileTheLoopRuns) {
  SdWatchdog dog;
  ASSERT_TRUE(dog.Start(&loop_, std::chrono::milliseconds(100)).ok());
  EXPECT_TRUE(dog.running());
  EXPECT_EQ(Received(), 1);  // at once
  // Something else keeps the loop running for ~230 ms: pings at 50, 100, 150, 200 ms.
  uv_timer_t work;
  uv_timer_init(&loop_, &work);
  uv_timer_start(
      &work, [](uv_timer_t*) {}, 230, 0);
  uv_run(&loop_, UV_RUN_DEFAULT);
  const int pings = Received();
  EXPECT_GE(pings, 3);
  EXPECT_LE(pings, 5);
  EXPECT_EQ(dog.pings(), static_cast<uint64_t>(1 + pings));
  // The loop has stopped turning: no more pings, however long we wait.
  ::usleep(120 * 1000);
  EXPECT_EQ(Received(), 0);
  dog.Close();
  uv_close(reinterpret_cast<uv_handle_t*>(&work), nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
}

TEST_F(SdWatchdogTest, DoesNotKeepTheLoopAlive) {
  SdWatchdog dog;
  ASSERT_TRUE(dog.Start(&loop_, std::chrono::milliseconds(20)).ok());
  EXPECT_EQ(uv_run(&loop_, UV_RUN_DEFAULT), 0);  // returns at once: only the unref'd timer
  dog.Close();
  dog.Close();  // idempotent
  uv_run(&loop_, UV_RUN_DEFAULT);
}

TEST_F(SdWatchdogTest, NoPeriodNoTimer) {
  SdWatchdog dog;
  EXPECT_TRUE(dog.Start(&loop_, std::chrono::microseconds(0)).ok());
  EXPECT_FALSE(dog.running());
  EXPECT_EQ(Received(), 0);
  ::unsetenv("WATCHDOG_USEC");
  EXPECT_TRUE(dog.Start(&loop_).ok());  // the environment's period: none
  EXPECT_FALSE(dog.running());
}

TEST_F(SdWatchdogTest, DestroyingBeforeTheLoopRunsIsSafe) {
  {
    SdWatchdog dog;
    ASSERT_TRUE(dog.Start(&loop_, std::chrono::seconds(10)).ok());
  }
  uv_run(&loop_, UV_RUN_DEFAULT);  // the close callback frees the handle
  EXPECT_EQ(Received(), 1);
}

}  // namespace
}  // namespace firewatch::net
