// Deadlines for blocking socket I/O that we do not control (docs/security.md, "Slow
// clients"). civetweb's mg_read() returns only when the requested bytes arrived or when
// no byte came for request_timeout_ms: a client that sends one byte every few seconds
// keeps a single call blocked indefinitely, so a check between calls is not enough.
// A DeadlineWatch runs one thread that shuts a watched socket down (shutdown(2),
// SHUT_RDWR; the fd stays open and owned by civetweb) when its deadline passes or when,
// after a grace period, fewer bytes than `min_rate` per second have been reported for it.
// The blocked call then returns at once and the handler answers 408.
//
// The socket must stay open while it is watched: watch only the connection whose
// handler is running, and end the watch before the handler returns (Watch's destructor
// does; after it returns no shutdown can happen).
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <thread>

#include "firewatch/sync/mutex.h"

namespace firewatch::collector {

class DeadlineWatch {
 public:
  using Clock = std::chrono::steady_clock;

  // `tick`: how often deadlines and rates are checked.
  explicit DeadlineWatch(std::chrono::milliseconds tick = std::chrono::milliseconds(100));
  ~DeadlineWatch();  // stops the thread; no watch may outlive it
  DeadlineWatch(const DeadlineWatch&) = delete;
  DeadlineWatch& operator=(const DeadlineWatch&) = delete;

  // One watched phase of one connection (RAII). A default-constructed Watch (fd < 0)
  // watches nothing and never trips.
  class Watch {
   public:
    Watch() = default;
    Watch(Watch&& other) noexcept;
    Watch& operator=(Watch&& other) noexcept;
    ~Watch();  // End()
    // Reports that `bytes` more were transferred (for the minimum rate).
    void Progress(size_t bytes);
    // Stops watching; returns whether the socket was shut down for this watch.
    bool End();
    bool tripped() const;

   private:
    friend class DeadlineWatch;
    Watch(DeadlineWatch* owner, uint64_t id) : owner_(owner), id_(id) {}
    DeadlineWatch* owner_ = nullptr;
    uint64_t id_ = 0;
    bool ended_tripped_ = false;
  };

  // Watches `fd` from now until `deadline`; with min_rate > 0, also trips when, `grace`
  // or more after now, the reported bytes are fewer than min_rate x elapsed seconds.
  Watch Start(int fd, Clock::time_point deadline, size_t min_rate = 0,
              std::chrono::milliseconds grace = std::chrono::seconds(2)) FW_EXCLUDES(mu_);

 private:
  struct Entry {
    int fd = -1;
    Clock::time_point start, deadline;
    size_t min_rate = 0;
    std::chrono::milliseconds grace{0};
    size_t bytes = 0;
    bool tripped = false;
  };
  void Run() FW_EXCLUDES(mu_);
  void Progress(uint64_t id, size_t bytes) FW_EXCLUDES(mu_);
  bool End(uint64_t id) FW_EXCLUDES(mu_);
  bool Tripped(uint64_t id) FW_EXCLUDES(mu_);

  const std::chrono::milliseconds tick_;
  Mutex mu_;
  CondVar wake_;
  bool stopping_ FW_GUARDED_BY(mu_) = false;
  uint64_t next_id_ FW_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, Entry> entries_ FW_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace firewatch::collector
