#include "firewatch/net/loop_mailbox.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "firewatch/net/uv_handle.h"

namespace firewatch::net {
namespace {

using namespace std::chrono_literals;

// A loop turning on its own thread until stopped; the mailbox is opened on it.
class LoopThread {
 public:
  LoopThread() {
    uv_loop_init(&loop_);
    std::promise<void> opened;
    thread_ = std::thread([this, &opened] {
      mailbox.Open(&loop_);
      stop_.Init(&loop_, [this] {
        mailbox.Close();
        stop_.Close();
      });
      opened.set_value();
      uv_run(&loop_, UV_RUN_DEFAULT);
    });
    opened.get_future().wait();
  }
  ~LoopThread() {
    stop_.Send();
    thread_.join();
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle was not freed";
  }
  std::thread::id id() const { return thread_.get_id(); }
  LoopMailbox mailbox;

 private:
  uv_loop_t loop_{};
  UvAsync stop_;
  std::thread thread_;
};

TEST(LoopMailboxTest, PostedWorkRunsOnTheLoopThreadInOrder) {
  LoopThread lt;
  std::vector<int> seen;  // touched only on the loop thread
  std::atomic<bool> wrong_thread{false};
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(lt.mailbox.Post([&, i] {
      if (std::this_thread::get_id() != lt.id()) wrong_thread = true;
      seen.push_back(i);
    }));
  }
  // A Call after the posts runs after them (FIFO) and sees all of them.
  auto n = lt.mailbox.Call<size_t>([&] { return seen.size(); }, 5000ms);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 100u);
  auto in_order = lt.mailbox.Call<bool>(
      [&] { return std::is_sorted(seen.begin(), seen.end()); }, 5000ms);
  EXPECT_TRUE(in_order.ok() && *in_order);
  EXPECT_FALSE(wrong_thread.load());
}

TEST(LoopMailboxTest, CallsFromManyThreadsAreSerializedOnTheLoop) {
  LoopThread lt;
  int counter = 0;  // no lock: only the loop thread touches it
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < 250; ++i) {
        auto r = lt.mailbox.Call<int>([&] { return ++counter; }, 5000ms);
        EXPECT_TRUE(r.ok());
      }
    });
  }
  for (auto& w : workers) w.join();
  auto total = lt.mailbox.Call<int>([&] { return counter; }, 5000ms);
  ASSERT_TRUE(total.ok());
  EXPECT_EQ(*total, 1000);
}

TEST(LoopMailboxTest, ACallTimesOutWhenTheLoopDoesNotTurn) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  LoopMailbox mailbox;
  mailbox.Open(&loop);  // "loop thread" = this one, which never runs the loop below
  std::thread other([&] {
    auto r = mailbox.Call<int>([] { return 1; }, 50ms);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  });
  other.join();
  EXPECT_EQ(mailbox.queued(), 1u) << "the late work stays queued; it owns what it uses";
  mailbox.Close();
  EXPECT_FALSE(mailbox.Post([] {})) << "closed: refuses new work";
  uv_run(&loop, UV_RUN_NOWAIT);  // frees the async handle
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST(LoopMailboxTest, CloseReleasesWaitingCallersAtOnce) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  LoopMailbox mailbox;
  mailbox.Open(&loop);
  std::atomic<bool> returned{false};
  std::thread caller([&] {
    auto r = mailbox.Call<int>([] { return 1; }, 60000ms);
    EXPECT_FALSE(r.ok());
    returned = true;
  });
  while (mailbox.queued() == 0) std::this_thread::yield();
  const auto t0 = std::chrono::steady_clock::now();
  mailbox.Close();
  caller.join();
  EXPECT_TRUE(returned.load());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s) << "waited out its timeout";
  uv_run(&loop, UV_RUN_NOWAIT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST(LoopMailboxTest, OnTheLoopThreadACallRunsInline) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  LoopMailbox mailbox;
  mailbox.Open(&loop);
  auto r = mailbox.Call<int>([] { return 7; }, 0ms);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 7);
  mailbox.Close();
  uv_run(&loop, UV_RUN_NOWAIT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace firewatch::net
