// sd_notify without libsystemd, against a real AF_UNIX datagram socket standing in for
// systemd's: by path and by abstract name ('@').
#include "firewatch/sd_notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace firewatch {
namespace {

// A datagram socket bound to `name` (a path, or '@' + abstract name), like systemd's.
class FakeSystemd {
 public:
  explicit FakeSystemd(const std::string& name) : name_(name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    const bool abstract = name[0] == '@';
    if (abstract) addr.sun_path[0] = '\0';
    const auto len =
        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + (abstract ? 0 : 1));
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0) << std::strerror(errno);
    timeval tv{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~FakeSystemd() {
    ::close(fd_);
    if (name_[0] == '/') ::unlink(name_.c_str());
  }
  std::string Receive() {
    char buf[512];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n < 0 ? std::string("<nothing: ") + std::strerror(errno) + ">" : std::string(buf, n);
  }

 private:
  std::string name_;
  int fd_ = -1;
};

class SdNotifyTest : public ::testing::Test {
 protected:
  void TearDown() override {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
  }
  std::string TempSocketPath() {
    dir_ = std::filesystem::temp_directory_path() /
           ("fw-sdnotify-" + std::to_string(::getpid()) + "-" + std::to_string(++n_));
    std::filesystem::create_directories(dir_);
    return (dir_ / "notify").string();
  }
  ~SdNotifyTest() override {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path dir_;
  int n_ = 0;
};

TEST_F(SdNotifyTest, SendsToThePathInNotifySocket) {
  const std::string path = TempSocketPath();
  FakeSystemd systemd(path);
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  ASSERT_TRUE(SdNotify("READY=1").ok());
  EXPECT_EQ(systemd.Receive(), "READY=1");
  ASSERT_TRUE(SdNotify("STOPPING=1\nSTATUS=bye").ok());
  EXPECT_EQ(systemd.Receive(), "STOPPING=1\nSTATUS=bye");
}

TEST_F(SdNotifyTest, SendsToAnAbstractSocket) {
  const std::string name = "@firewatch-sdnotify-test-" + std::to_string(::getpid());
  FakeSystemd systemd(name);
  ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  ASSERT_TRUE(SdNotify("WATCHDOG=1").ok());
  EXPECT_EQ(systemd.Receive(), "WATCHDOG=1");
  ASSERT_TRUE(SdNotifyTo(name, "READY=1").ok());
  EXPECT_EQ(systemd.Receive(), "READY=1");
}

TEST_F(SdNotifyTest, WithoutNotifySocketDoesNothing) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_TRUE(SdNotify("READY=1").ok());
  ::setenv("NOTIFY_SOCKET", "", 1);
  EXPECT_TRUE(SdNotify("READY=1").ok());
}

TEST_F(SdNotifyTest, BadOrAbsentSocketIsAnError) {
  EXPECT_FALSE(SdNotifyTo("relative/path", "READY=1").ok());
  EXPECT_FALSE(SdNotifyTo("@", "READY=1").ok());
  EXPECT_FALSE(SdNotifyTo(std::string(200, '/'), "READY=1").ok());
  // Nobody listening: sendto fails (ENOENT / ECONNREFUSED) and says where it tried.
  Status s = SdNotifyTo(TempSocketPath(), "READY=1");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("notify"), std::string::npos) << s.message();
}

TEST_F(SdNotifyTest, WatchdogPeriodFollowsTheEnvironment) {
  EXPECT_EQ(SdWatchdogPeriod().count(), 0);
  ::setenv("WATCHDOG_USEC", "30000000", 1);
  EXPECT_EQ(SdWatchdogPeriod(), std::chrono::seconds(30));
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  EXPECT_EQ(SdWatchdogPeriod(), std::chrono::seconds(30));
  // Meant for another process (a parent that started us with its environment).
  ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
  EXPECT_EQ(SdWatchdogPeriod().count(), 0);
  ::unsetenv("WATCHDOG_PID");
  for (const char* bad : {"", "0", "-5", "12abc", "abc"}) {
    ::setenv("WATCHDOG_USEC", bad, 1);
    EXPECT_EQ(SdWatchdogPeriod().count(), 0) << bad;
  }
}

}  // namespace
}  // namespace firewatch
