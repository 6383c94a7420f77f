// Work that other threads hand to a libuv loop's thread. A daemon whose loop owns some
// state (the collector's loop owns the tracker's transitions: docs/architecture.md)
// lets HTTP workers and sync threads reach that state only through here, so everything
// that changes it happens on one thread, in one order.
//
//   Post(fn)          any thread: fn runs on the loop thread, later, in FIFO order.
//   Call(fn, timeout) any thread: runs fn on the loop thread and waits for its result, up
//                     to `timeout` (Unavailable after it: the loop is busy or stopping;
//                     fn may still run later, so it must own what it uses). On the loop
//                     thread itself fn runs at once.
//
// Open and Close on the loop thread. Close refuses new work and drops what is queued
// (a dropped Call returns Unavailable at once); a daemon closes it when it begins to
// stop, after which nothing may change the loop's state any more.
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "firewatch/net/uv_handle.h"
#include "firewatch/status.h"
#include "firewatch/sync/mutex.h"

namespace firewatch::net {

class LoopMailbox {
 public:
  LoopMailbox() = default;
  LoopMailbox(const LoopMailbox&) = delete;
  LoopMailbox& operator=(const LoopMailbox&) = delete;

  void Open(uv_loop_t* loop);
  void Close();
  // The thread that will run the loop, when it is not the one that called Open().
  void AdoptThisThread() { loop_thread_.store(std::this_thread::get_id()); }
  // The async handle alone does not keep uv_run going (a daemon's loop runs on its
  // timers and sockets; tests may want it to).
  void Unref() { async_.Unref(); }

  // False when closed (fn is dropped).
  bool Post(std::function<void()> fn);

  template <typename R>
  Result<R> Call(std::function<R()> fn, std::chrono::milliseconds timeout) {
    if (OnLoopThread()) return fn();
    auto done = std::make_shared<std::promise<R>>();
    std::future<R> result = done->get_future();
    // The promise lives only in the queued work: dropped by Close(), it breaks, and the
    // wait below ends at once.
    if (!Post([done = std::move(done), fn = std::move(fn)] { done->set_value(fn()); })) {
      return Status::Unavailable("stopping");
    }
    if (result.wait_for(timeout) != std::future_status::ready) {
      return Status::Unavailable("the event loop did not answer within " +
                                 std::to_string(timeout.count()) + " ms");
    }
    try {
      return result.get();
    } catch (const std::future_error&) {  // dropped by Close()
      return Status::Unavailable("stopping");
    }
  }

  bool OnLoopThread() const { return std::this_thread::get_id() == loop_thread_.load(); }
  size_t queued() const;

 private:
  void Drain();

  UvAsync async_;
  std::atomic<std::thread::id> loop_thread_{};
  mutable Mutex mu_;
  std::deque<std::function<void()>> queue_ FW_GUARDED_BY(mu_);
  bool open_ FW_GUARDED_BY(mu_) = false;
};

}  // namespace firewatch::net
