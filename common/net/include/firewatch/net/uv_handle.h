// Small owners of libuv handles (timers, signals, async wake-ups), so that no daemon
// manages uv_close by hand. libuv closes a handle asynchronously: its memory must stay
// valid until the close callback runs on a later turn of the loop. These keep the handle
// on the heap and give it to uv_close with a callback that frees it, so the owner may be
// destroyed right after Close() — or without it: the destructor closes. Close() also
// cuts the handle's link to its owner, so a callback can never reach a destroyed owner.
// The loop must turn once more after Close() to free the handle (uv_run does, until no
// handle is left; a test that closes its loop runs it with UV_RUN_NOWAIT first).
//
// Threading: libuv's rule, everything on the loop's thread; except UvAsync::Send, which
// any thread may call at any time, also during or after Close().
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>

#include "firewatch/sync/mutex.h"

namespace firewatch::net {

template <typename T>
class UvHandle {
 public:
  UvHandle() = default;
  ~UvHandle() { Close(); }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;

  bool open() const { return h_ != nullptr; }
  // A handle that does not keep uv_run going on its own (libuv's uv_unref).
  void Unref() {
    if (h_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(h_));
  }
  void Close() {
    if (h_ == nullptr) return;
    h_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(h_),
             [](uv_handle_t* h) { delete reinterpret_cast<T*>(h); });
    h_ = nullptr;
  }

 protected:
  // A fresh handle whose data points at `owner` (any previous one is closed first).
  T* Make(void* owner) {
    Close();
    h_ = new T{};
    h_->data = owner;
    return h_;
  }
  T* h_ = nullptr;
};

// A repeating (or one-shot) timer.
class UvTimer : public UvHandle<uv_timer_t> {
 public:
  // Calls `fn` after `first`, then every `repeat` (zero: once).
  void Start(uv_loop_t* loop, std::chrono::milliseconds first, std::chrono::milliseconds repeat,
             std::function<void()> fn) {
    Init(loop, std::move(fn));
    Again(first, repeat);
  }
  // A timer that calls `fn` once armed by Again (not armed yet: it keeps no loop alive).
  void Init(uv_loop_t* loop, std::function<void()> fn) {
    fn_ = std::move(fn);
    uv_timer_init(loop, Make(this));
  }
  // (Re-)arms the open timer with its callback: after `first`, then every `repeat` (zero:
  // once). Safe from inside the callback (the callback itself is not replaced).
  void Again(std::chrono::milliseconds first,
             std::chrono::milliseconds repeat = std::chrono::milliseconds::zero()) {
    if (h_ == nullptr) return;
    uv_timer_start(
        h_,
        [](uv_timer_t* t) {
          if (t->data != nullptr) static_cast<UvTimer*>(t->data)->fn_();
        },
        static_cast<uint64_t>(first.count()), static_cast<uint64_t>(repeat.count()));
  }
  void Stop() {
    if (h_ != nullptr) uv_timer_stop(h_);
  }
  // From the next expiry on (a config reload changing a period).
  void SetRepeat(std::chrono::milliseconds repeat) {
    if (h_ != nullptr) uv_timer_set_repeat(h_, static_cast<uint64_t>(repeat.count()));
  }

 private:
  std::function<void()> fn_;
};

// A signal watched on the loop (the handler runs on the loop's thread, not in a signal
// handler, so it may do anything).
class UvSignal : public UvHandle<uv_signal_t> {
 public:
  void Start(uv_loop_t* loop, int signum, std::function<void(int)> fn) {
    fn_ = std::move(fn);
    uv_signal_init(loop, Make(this));
    uv_signal_start(
        h_,
        [](uv_signal_t* s, int caught) {
          if (s->data != nullptr) static_cast<UvSignal*>(s->data)->fn_(caught);
        },
        signum);
  }

 private:
  std::function<void(int)> fn_;
};

// Wakes the loop from another thread: Send() from anywhere makes `fn` run on the loop's
// thread (several Sends before it runs may run it once). A Send after Close() does
// nothing.
class UvAsync {
 public:
  UvAsync() = default;
  ~UvAsync() { Close(); }
  UvAsync(const UvAsync&) = delete;
  UvAsync& operator=(const UvAsync&) = delete;

  void Init(uv_loop_t* loop, std::function<void()> fn) {
    Close();
    fn_ = std::move(fn);
    auto* h = new uv_async_t{};
    h->data = this;
    uv_async_init(loop, h, [](uv_async_t* a) {
      if (a->data != nullptr) static_cast<UvAsync*>(a->data)->fn_();
    });
    MutexLock lock(mu_);
    h_ = h;
  }
  void Send() {
    MutexLock lock(mu_);
    if (h_ != nullptr) uv_async_send(h_);
  }
  void Unref() {
    MutexLock lock(mu_);
    if (h_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(h_));
  }
  void Close() {
    uv_async_t* h = nullptr;
    {
      MutexLock lock(mu_);
      h = h_;
      h_ = nullptr;
    }
    if (h == nullptr) return;
    h->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(h),
             [](uv_handle_t* x) { delete reinterpret_cast<uv_async_t*>(x); });
  }

 private:
  Mutex mu_;  // Send (any thread) against Init/Close (the loop's)
  uv_async_t* h_ FW_GUARDED_BY(mu_) = nullptr;
  std::function<void()> fn_;
};

}  // namespace firewatch::net
