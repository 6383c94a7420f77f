// The handle owners of uv_handle.h: memory is freed after libuv's asynchronous close,
// never before (the sanitizer build catches a use after free here) and never not at all
// (uv_loop_close fails while a handle is left; ASan reports the leak).
#include "firewatch/net/uv_handle.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <memory>
#include <string>

namespace firewatch::net {
namespace {

using namespace std::chrono_literals;

TEST(UvHandleTest, ClosedHandlesAreFreedAndTheirOwnersMayGoAtOnce) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  int fired = 0;
  {
    UvTimer once;
    once.Start(&loop, 0ms, 0ms, [&] { ++fired; });
    uv_run(&loop, UV_RUN_DEFAULT);  // runs the timer once, then nothing is active
    EXPECT_EQ(fired, 1);
    UvTimer never;
    never.Start(&loop, 1000ms, 1000ms, [&] { ++fired; });
    UvSignal sig;
    sig.Start(&loop, SIGUSR2, [&](int) { ++fired; });
    UvAsync wake;
    wake.Init(&loop, [&] { ++fired; });
    wake.Close();
    wake.Send();  // after Close: nothing (and nothing freed twice)
  }  // owners destroyed before the loop turns: the handles are freed by the next turn
  uv_run(&loop, UV_RUN_NOWAIT);
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(uv_loop_close(&loop), 0) << "a handle was not closed or not freed";
}

TEST(UvHandleTest, APollReportsReadinessUntilClosedAndLeavesTheDescriptorOpen) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  int readable = 0;
  {
    UvPoll bad;
    EXPECT_NE(bad.Init(&loop, -1, [](int, int) {}), 0);
    EXPECT_FALSE(bad.open());
    EXPECT_EQ(bad.Start(UV_READABLE), UV_EBADF);

    UvPoll poll;
    ASSERT_EQ(poll.Init(&loop, fds[0],
                        [&](int status, int events) {
                          EXPECT_EQ(status, 0);
                          if (events & UV_READABLE) ++readable;
                          poll.Close();  // from inside its own callback
                        }),
              0);
    ASSERT_EQ(poll.Start(UV_READABLE), 0);
    ASSERT_EQ(::write(fds[1], "x", 1), 1);
    uv_run(&loop, UV_RUN_DEFAULT);  // one callback, then nothing is left to watch
  }
  EXPECT_EQ(readable, 1);
  char c = 0;
  EXPECT_EQ(::read(fds[0], &c, 1), 1) << "Close() must not close the descriptor";
  ::close(fds[0]);
  ::close(fds[1]);
  uv_run(&loop, UV_RUN_NOWAIT);
  EXPECT_EQ(uv_loop_close(&loop), 0) << "a handle was not closed or not freed";
}

TEST(UvHandleTest, SoonRunsOnALaterTurnAfterTheIoReadyByThen) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  std::string order;
  {
    UvPoll poll;
    ASSERT_EQ(poll.Init(&loop, fds[0],
                        [&](int, int) {
                          char buf[16];
                          EXPECT_GT(::read(fds[0], buf, sizeof buf), 0);
                          order += 'P';
                        }),
              0);
    ASSERT_EQ(poll.Start(UV_READABLE), 0);
    UvTimer slice;
    int slices = 0;
    slice.Init(&loop, [&] {
      order += 'T';
      if (++slices == 4) {
        poll.Close();
        return;
      }
      ASSERT_EQ(::write(fds[1], "x", 1), 1);  // I/O ready before the next slice
      slice.Soon();  // Again(0) here gives "TTTT" on libuv 1.44: no poll between slices
    });
    slice.Soon();
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  EXPECT_EQ(order, "TPTPTPT");
  ::close(fds[0]);
  ::close(fds[1]);
  uv_run(&loop, UV_RUN_NOWAIT);
  EXPECT_EQ(uv_loop_close(&loop), 0) << "a handle was not closed or not freed";
}

// What the test sees of an Op, kept outside it (the Op itself is freed by then).
struct Seen {
  int destroyed = 0;
  int connect_status = 1;  // 1: the connect callback has not run
  bool closing_in_callback = false;
  bool alive_in_callback = false;
};

// A per-operation object as the agent uses them: two handles and a request on one.
struct Op : UvHandleOwner<Op> {
  explicit Op(Seen* s) : seen(s) {}
  ~Op() { ++seen->destroyed; }
  uv_tcp_t tcp{};
  uv_timer_t timer{};
  uv_connect_t connect{};
  Seen* seen;
};

class UvHandleOwnerTest : public ::testing::Test {
 protected:
  UvHandleOwnerTest() { uv_loop_init(&loop_); }
  ~UvHandleOwnerTest() override {
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle was not closed or not freed";
  }
  Op* NewOp() {
    auto* op = new Op(&seen_);
    uv_tcp_init(&loop_, &op->tcp);
    uv_timer_init(&loop_, &op->timer);
    op->Adopt(&op->tcp, &op->timer);
    return op;
  }
  uv_loop_t loop_{};
  Seen seen_;
};

TEST_F(UvHandleOwnerTest, ReleasedFromItsOwnCallbackItIsFreedAfterTheLastClose) {
  Op* op = NewOp();
  EXPECT_EQ(op->tcp.data, op);
  EXPECT_EQ(op->timer.data, op);
  uv_timer_start(
      &op->timer,
      [](uv_timer_t* t) {
        auto* self = static_cast<Op*>(t->data);
        self->Release();
        self->Release();  // idempotent
        // Still alive in the callback that released it (ASan: no use after free).
        self->seen->closing_in_callback = self->closing();
        self->seen->alive_in_callback = self->seen->destroyed == 0;
      },
      0, 0);
  uv_run(&loop_, UV_RUN_DEFAULT);  // the timer fires, then both handles close
  EXPECT_TRUE(seen_.closing_in_callback);
  EXPECT_TRUE(seen_.alive_in_callback);
  EXPECT_EQ(seen_.destroyed, 1);
}

TEST_F(UvHandleOwnerTest, APendingRequestIsCancelledWhileTheObjectIsStillAlive) {
  Op* op = NewOp();
  op->connect.data = op;
  sockaddr_in to{};
  uv_ip4_addr("127.0.0.1", 1, &to);  // refused or pending: either way not reported yet
  ASSERT_EQ(uv_tcp_connect(&op->connect, &op->tcp, reinterpret_cast<const sockaddr*>(&to),
                           [](uv_connect_t* c, int status) {
                             auto* self = static_cast<Op*>(c->data);
                             self->seen->connect_status = status;
                             self->seen->closing_in_callback = self->closing();
                             self->seen->alive_in_callback = self->seen->destroyed == 0;
                           }),
            0);
  op->Release();  // before the loop turns: the connect is still pending
  EXPECT_EQ(seen_.destroyed, 0) << "freed inside Release()";
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(seen_.connect_status, UV_ECANCELED);
  EXPECT_TRUE(seen_.closing_in_callback);
  EXPECT_TRUE(seen_.alive_in_callback) << "freed before its cancelled request reported";
  EXPECT_EQ(seen_.destroyed, 1);
}

TEST_F(UvHandleOwnerTest, TheOwnerMayGoRightAfterReleaseAndNoCallbackReachesIt) {
  struct Runner {
    Op* op = nullptr;
  };
  {
    auto runner = std::make_unique<Runner>();
    runner->op = NewOp();
    // A timer due now: it must not fire once released.
    uv_timer_start(
        &runner->op->timer, [](uv_timer_t*) { ADD_FAILURE() << "callback after Release"; }, 0,
        0);
    runner->op->Release();
  }  // the runner is gone before the loop turns
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(seen_.destroyed, 1);
}

TEST_F(UvHandleOwnerTest, ManyOperationsAreEachFreedOnce) {
  for (int i = 0; i < 50; ++i) NewOp()->Release();
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(seen_.destroyed, 50);
}

TEST_F(UvHandleOwnerTest, WithNothingAdoptedReleaseFreesAtOnce) {
  auto* op = new Op(&seen_);  // e.g. its uv_*_init failed
  op->Release();
  EXPECT_EQ(seen_.destroyed, 1);
}

}  // namespace
}  // namespace firewatch::net
