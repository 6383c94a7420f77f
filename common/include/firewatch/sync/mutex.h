// Lock rules the compiler checks. `Mutex` is a std::mutex that Clang's thread-safety
// analysis (-Wthread-safety; an error in the sanitize build) knows as a capability:
// mark what it protects FW_GUARDED_BY(mu_), private helpers that expect it held
// FW_REQUIRES(mu_), and public entry points that take it FW_EXCLUDES(mu_) where calling
// them with it held would self-deadlock. Lock with the scoped `MutexLock`; wait with
// `CondVar`. On g++ the macros are empty and the classes cost what std::mutex costs.
//
// The analysis is per function: a lambda (a predicate, a callback) runs with no lock
// known to be held, so a predicate that reads guarded members starts with
// `mu_.AssertHeld();` (it runs under the lock by CondVar's contract). What it cannot see
// (a lock held across threads, objects reached through a container) is said in a comment
// and, rarely, opted out with FW_NO_THREAD_SAFETY_ANALYSIS.
// Reference: https://clang.llvm.org/docs/ThreadSafetyAnalysis.html
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>
#include <stop_token>
#include <thread>

#if defined(__clang__)
#define FW_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define FW_THREAD_ANNOTATION(x)  // g++ has no thread-safety analysis
#endif

#define FW_CAPABILITY(name) FW_THREAD_ANNOTATION(capability(name))
#define FW_SCOPED_CAPABILITY FW_THREAD_ANNOTATION(scoped_lockable)
// The member (FW_GUARDED_BY) or what the pointer points to (FW_PT_GUARDED_BY) may only be
// touched with the lock held.
#define FW_GUARDED_BY(x) FW_THREAD_ANNOTATION(guarded_by(x))
#define FW_PT_GUARDED_BY(x) FW_THREAD_ANNOTATION(pt_guarded_by(x))
// Lock order: this lock is taken after / before the named ones.
#define FW_ACQUIRED_AFTER(...) FW_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define FW_ACQUIRED_BEFORE(...) FW_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
// The caller must hold (FW_REQUIRES) or must not hold (FW_EXCLUDES) the lock.
#define FW_REQUIRES(...) FW_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define FW_REQUIRES_SHARED(...) FW_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define FW_EXCLUDES(...) FW_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// The function takes (FW_ACQUIRE), gives back (FW_RELEASE) or tries to take the lock.
#define FW_ACQUIRE(...) FW_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define FW_RELEASE(...) FW_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define FW_ACQUIRE_SHARED(...) FW_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define FW_RELEASE_SHARED(...) FW_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define FW_TRY_ACQUIRE(...) FW_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
// Tells the analysis the lock is held here (checked by nothing at run time).
#define FW_ASSERT_CAPABILITY(x) FW_THREAD_ANNOTATION(assert_capability(x))
// The function returns a reference to this lock (lets callers' locks be matched).
#define FW_RETURN_CAPABILITY(x) FW_THREAD_ANNOTATION(lock_returned(x))
// Opts one function out; say why next to it.
#define FW_NO_THREAD_SAFETY_ANALYSIS FW_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace firewatch {

class CondVar;

// A std::mutex the analysis tracks. Not recursive. Prefer MutexLock to Lock()/Unlock().
class FW_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() FW_ACQUIRE() { mu_.lock(); }
  void Unlock() FW_RELEASE() { mu_.unlock(); }
  bool TryLock() FW_TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // For code the analysis cannot follow (a predicate lambda run under the lock).
  void AssertHeld() const FW_ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds `mu` for its scope. Unlock()/Lock() release and retake it inside the scope (to
// call out of the component without the lock); the destructor unlocks only if held.
class FW_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) FW_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() FW_RELEASE() {
    if (held_) mu_.Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() FW_RELEASE() {
    mu_.Unlock();
    held_ = false;
  }
  void Lock() FW_ACQUIRE() {
    mu_.Lock();
    held_ = true;
  }

 private:
  Mutex& mu_;
  bool held_ = true;
};

// For a Mutex that a long walk takes and releases slice by slice while a hot path (a
// collector's heartbeat ingest) needs it too. std::mutex is not fair: a thread that
// unlocks and locks again at once nearly always wins over one the kernel must first
// wake, so a walk that only releases the lock between slices still keeps the others out
// for the whole walk (measured: a /metrics scrape over a million sources kept ingest
// waiting 45 ms in slices of 0.1 ms). Everyone else locks with WaitCountedLock, counted
// while it waits; the walk calls GiveWay() between slices, without the lock.
class LockWaiters {
 public:
  // Returns once nobody counted is still waiting (each has had the lock by then, or
  // holds it now). Never call it holding the lock.
  void GiveWay() const {
    while (waiting_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  }
  uint32_t waiting() const { return waiting_.load(std::memory_order_relaxed); }

 private:
  friend class WaitCountedLock;
  std::atomic<uint32_t> waiting_{0};
};

// MutexLock (without Unlock/Lock in scope), counted in `waiters` until it holds `mu`.
class FW_SCOPED_CAPABILITY WaitCountedLock {
 public:
  WaitCountedLock(Mutex& mu, LockWaiters& waiters) FW_ACQUIRE(mu) : mu_(mu) {
    waiters.waiting_.fetch_add(1, std::memory_order_relaxed);
    mu_.Lock();
    waiters.waiting_.fetch_sub(1, std::memory_order_release);
  }
  ~WaitCountedLock() FW_RELEASE() { mu_.Unlock(); }
  WaitCountedLock(const WaitCountedLock&) = delete;
  WaitCountedLock& operator=(const WaitCountedLock&) = delete;

 private:
  Mutex& mu_;
};

// A std::shared_mutex the analysis tracks: many readers (ReaderMutexLock) or one writer
// (MutexLock-like WriterMutexLock).
class FW_CAPABILITY("shared_mutex") SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void Lock() FW_ACQUIRE() { mu_.lock(); }
  void Unlock() FW_RELEASE() { mu_.unlock(); }
  void ReaderLock() FW_ACQUIRE_SHARED() { mu_.lock_shared(); }
  void ReaderUnlock() FW_RELEASE_SHARED() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

// Holds `mu` exclusively for its scope.
class FW_SCOPED_CAPABILITY WriterMutexLock {
 public:
  explicit WriterMutexLock(SharedMutex& mu) FW_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~WriterMutexLock() FW_RELEASE() { mu_.Unlock(); }
  WriterMutexLock(const WriterMutexLock&) = delete;
  WriterMutexLock& operator=(const WriterMutexLock&) = delete;

 private:
  SharedMutex& mu_;
};

// Holds `mu` shared for its scope.
class FW_SCOPED_CAPABILITY ReaderMutexLock {
 public:
  explicit ReaderMutexLock(SharedMutex& mu) FW_ACQUIRE_SHARED(mu) : mu_(mu) { mu_.ReaderLock(); }
  ~ReaderMutexLock() FW_RELEASE() { mu_.ReaderUnlock(); }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;

 private:
  SharedMutex& mu_;
};

// A condition variable waited on with a Mutex the caller holds; every wait releases the
// mutex while blocked and holds it again when it returns. Predicates run with the mutex
// held (start them with `mu.AssertHeld();` when they read guarded members).
class CondVar {
 public:
  void NotifyOne() { cv_.notify_one(); }
  void NotifyAll() { cv_.notify_all(); }

  // Until notified (or a spurious wake-up: callers loop on their condition).
  void Wait(Mutex& mu) FW_REQUIRES(mu) { cv_.wait(mu.mu_); }
  // Until `pred()` holds.
  template <typename Pred>
  void Wait(Mutex& mu, Pred pred) FW_REQUIRES(mu) {
    cv_.wait(mu.mu_, std::move(pred));
  }
  // Until `pred()` holds or `deadline` passed; returns pred().
  template <typename TimePoint, typename Pred>
  bool WaitUntil(Mutex& mu, const TimePoint& deadline, Pred pred) FW_REQUIRES(mu) {
    return cv_.wait_until(mu.mu_, deadline, std::move(pred));
  }
  // Until `pred()` holds or `timeout` passed; returns pred().
  template <typename Rep, typename Period, typename Pred>
  bool WaitFor(Mutex& mu, std::chrono::duration<Rep, Period> timeout, Pred pred) FW_REQUIRES(mu) {
    return cv_.wait_for(mu.mu_, timeout, std::move(pred));
  }
  // As above, and also returns (false) as soon as `stop` is requested.
  template <typename Rep, typename Period, typename Pred>
  bool WaitFor(Mutex& mu, std::stop_token stop, std::chrono::duration<Rep, Period> timeout,
               Pred pred) FW_REQUIRES(mu) {
    return cv_.wait_for(mu.mu_, std::move(stop), timeout, std::move(pred));
  }

 private:
  // _any: waits on the std::mutex inside Mutex directly, and supports stop tokens.
  std::condition_variable_any cv_;
};

}  // namespace firewatch
