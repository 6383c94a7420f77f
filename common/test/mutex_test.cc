// firewatch/sync/mutex.h at run time: the wrappers lock, wait and wake as std::mutex and
// std::condition_variable_any do (the compile-time rules are checked in thread_safety/).
#include "firewatch/sync/mutex.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stop_token>
#include <string>
#include <thread>

namespace firewatch {
namespace {

using std::chrono::milliseconds;

struct Box {
  Mutex mu;
  CondVar cv;
  int value FW_GUARDED_BY(mu) = 0;
};

TEST(MutexTest, TryLockFailsWhileHeldElsewhere) {
  Mutex mu;
  MutexLock lock(mu);
  bool got = true;
  std::thread([&] {
    if (mu.TryLock()) {
      mu.Unlock();
    } else {
      got = false;
    }
  }).join();
  EXPECT_FALSE(got);
}

TEST(MutexTest, UnlockInScopeLetsOthersIn) {
  Box b;
  MutexLock lock(b.mu);
  lock.Unlock();
  std::thread([&] {
    MutexLock other(b.mu);
    b.value = 7;
  }).join();
  lock.Lock();
  EXPECT_EQ(b.value, 7);
}

TEST(LockWaitersTest, GiveWayLetsACountedWaiterInBeforeTheWalkLocksAgain) {
  Mutex mu;
  LockWaiters waiters;
  std::string order;  // under mu
  MutexLock walk(mu);
  std::thread hot([&] {
    WaitCountedLock lock(mu, waiters);
    order += 'H';
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (waiters.waiting() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_EQ(waiters.waiting(), 1u);
  // Between two slices: without GiveWay the walk would nearly always win the lock back.
  walk.Unlock();
  waiters.GiveWay();
  walk.Lock();
  order += 'W';
  walk.Unlock();
  hot.join();
  EXPECT_EQ(order, "HW");
  EXPECT_EQ(waiters.waiting(), 0u);
}

TEST(CondVarTest, WaitForTimesOutWithFalsePredicate) {
  Box b;
  MutexLock lock(b.mu);
  EXPECT_FALSE(
      b.cv.WaitFor(b.mu, milliseconds(5), [&b]() FW_REQUIRES(b.mu) { return b.value != 0; }));
}

TEST(CondVarTest, WaitReturnsWhenAnotherThreadChangesTheState) {
  Box b;
  std::thread writer([&] {
    MutexLock lock(b.mu);
    b.value = 1;
    b.cv.NotifyAll();
  });
  {
    MutexLock lock(b.mu);
    // Bounded: fails the test (instead of hanging) if the wake-up were lost.
    EXPECT_TRUE(b.cv.WaitFor(b.mu, std::chrono::seconds(10),
                             [&b]() FW_REQUIRES(b.mu) { return b.value == 1; }));
  }
  writer.join();
}

TEST(CondVarTest, WaitUntilHonoursTheDeadline) {
  Box b;
  MutexLock lock(b.mu);
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(5);
  EXPECT_FALSE(b.cv.WaitUntil(b.mu, deadline, [&b]() FW_REQUIRES(b.mu) { return b.value != 0; }));
  EXPECT_GE(std::chrono::steady_clock::now(), deadline);
}

TEST(CondVarTest, StopRequestEndsTheWait) {
  Box b;
  std::stop_source stop;
  std::thread stopper([&] { stop.request_stop(); });
  {
    MutexLock lock(b.mu);
    // Returns false (predicate still false) once stop is requested, well before 10 s.
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(b.cv.WaitFor(b.mu, stop.get_token(), std::chrono::seconds(10),
                              [&b]() FW_REQUIRES(b.mu) { return b.value != 0; }));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  }
  stopper.join();
}

}  // namespace
}  // namespace firewatch
