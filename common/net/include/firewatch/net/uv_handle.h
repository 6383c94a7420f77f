// Small owners of libuv handles, so that no daemon manages uv_close by hand. libuv closes
// a handle asynchronously: its memory must stay valid until the close callback runs on a
// later turn of the loop. Two shapes:
//  - UvTimer, UvSignal, UvPoll, UvAsync: one long-lived handle held by a member. The
//    handle lives on the heap and uv_close gets a callback that frees it, so the owner
//    may be destroyed right after Close() -- or without it: the destructor closes.
//    Close() also cuts the handle's link to its owner, so a callback can never reach a
//    destroyed owner.
//  - UvHandleOwner<Derived>: a per-operation object (a child process with its pipe and
//    timer, one TCP connection with its deadline) that embeds its handles and requests and
//    frees itself after the last of its handles has closed (see below).
// Either way the loop must turn once more after closing to free the memory (uv_run does,
// until no handle is left; a test that closes its loop runs it with UV_RUN_NOWAIT first).
//
// Threading: libuv's rule, everything on the loop's thread; except UvAsync::Send, which
// any thread may call at any time, also during or after Close().
#pragma once

#include <uv.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
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
  // Frees a handle from Make() whose uv_*_init failed (libuv never saw it).
  void Discard() {
    delete h_;
    h_ = nullptr;
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
  // Arms the timer to run once on a later turn of the loop, after the I/O that is ready
  // by then (a long job done in slices, each on its own turn). Not Again(0): libuv
  // before 1.48 (Debian 12 has 1.44) runs a zero-timeout timer armed from a timer
  // callback in the same pass over the timers, before any I/O (libuv issue #4245);
  // 1 ms is past the loop's cached time, so it waits for the next turn.
  void Soon() { Again(std::chrono::milliseconds(1)); }
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

// Readiness of a descriptor the caller owns (uv_poll): `fn(status, events)` runs on the
// loop when it is readable/writable as asked by Start (status < 0: a poll error). Close()
// stops watching; it never closes the descriptor.
class UvPoll : public UvHandle<uv_poll_t> {
 public:
  // Returns 0, or libuv's error with the handle left closed.
  int Init(uv_loop_t* loop, int fd, std::function<void(int status, int events)> fn) {
    fn_ = std::move(fn);
    int rc = uv_poll_init(loop, Make(this), fd);
    if (rc != 0) Discard();
    return rc;
  }
  // Watches for `events` (UV_READABLE | UV_WRITABLE ...); returns 0 or libuv's error.
  int Start(int events) {
    if (h_ == nullptr) return UV_EBADF;
    return uv_poll_start(h_, events, [](uv_poll_t* p, int status, int ev) {
      if (p->data != nullptr) static_cast<UvPoll*>(p->data)->fn_(status, ev);
    });
  }

 private:
  std::function<void(int, int)> fn_;
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

// Base for a heap object that embeds libuv handles, and the requests made on them, and
// must live until libuv is done with all of them: one per operation, e.g.
//
//   struct Probe : net::UvHandleOwner<Probe> {
//     uv_tcp_t tcp{};
//     uv_timer_t timer{};
//     uv_write_t write{};  // a request on `tcp`
//   };
//   auto* p = new Probe;
//   uv_tcp_init(loop, &p->tcp);
//   uv_timer_init(loop, &p->timer);
//   p->Adopt(&p->tcp, &p->timer);  // both handles' data now point at p
//   ...
//   p->Release();  // from anywhere on the loop thread, also inside one of p's callbacks
//
// Contract:
//  - Allocate with new; never delete it yourself once a handle is adopted, never put it on
//    the stack. Adopt() takes initialised handles that are members of the object (at most
//    kMaxHandles) and sets their data to the object (a Derived*, so callbacks cast back
//    with static_cast<Derived*>(h->data), and requests may point at it the same way).
//  - Release() closes every adopted handle, in the order adopted, and is idempotent. The
//    object is deleted (as Derived) on the loop thread, in the close callback of the last
//    handle, on a later turn of the loop; never inside Release() itself -- unless nothing
//    was adopted, then it is deleted at once.
//  - After Release() no handle callback runs (libuv's rule), but callbacks of requests
//    still pending on a closed stream (connect, write, shutdown) do run, with
//    UV_ECANCELED, before the close callbacks: the object is still alive then, and
//    closing() tells them that it is over.
//  - The loop must turn after Release() for the memory to be freed; an object whose loop
//    never runs again leaks (uv_loop_close reports the loop busy).
template <typename Derived>
class UvHandleOwner {
 public:
  static constexpr int kMaxHandles = 4;

  UvHandleOwner(const UvHandleOwner&) = delete;
  UvHandleOwner& operator=(const UvHandleOwner&) = delete;

  // Ties initialised member handles to this object (see above). Adopting after Release()
  // or more than kMaxHandles is a bug and aborts.
  template <typename... H>
  void Adopt(H*... handles) {
    (AdoptOne(reinterpret_cast<uv_handle_t*>(handles)), ...);
  }
  // Closes every adopted handle; the object is freed after the last close callback.
  void Release() {
    if (closing_) return;
    closing_ = true;
    if (count_ == 0) {
      delete static_cast<Derived*>(this);
      return;
    }
    open_ = count_;
    for (int i = 0; i < count_; ++i) {
      uv_close(handles_[static_cast<size_t>(i)], [](uv_handle_t* h) {
        auto* self = static_cast<Derived*>(h->data);
        if (--self->UvHandleOwner::open_ == 0) delete self;
      });
    }
  }
  // True once Release() was called (the object is waiting for its close callbacks).
  bool closing() const { return closing_; }

 protected:
  UvHandleOwner() = default;
  ~UvHandleOwner() = default;

 private:
  void AdoptOne(uv_handle_t* h) {
    if (closing_ || count_ == kMaxHandles) std::abort();
    h->data = static_cast<Derived*>(this);
    handles_[static_cast<size_t>(count_++)] = h;
  }

  std::array<uv_handle_t*, kMaxHandles> handles_{};
  int count_ = 0;  // adopted
  int open_ = 0;   // still closing, after Release()
  bool closing_ = false;
};

}  // namespace firewatch::net
