#include "firewatch/net/loop_mailbox.h"

namespace firewatch::net {

void LoopMailbox::Open(uv_loop_t* loop) {
  loop_thread_.store(std::this_thread::get_id());
  async_.Init(loop, [this] { Drain(); });
  MutexLock lock(mu_);
  open_ = true;
}

void LoopMailbox::Close() {
  std::deque<std::function<void()>> dropped;
  {
    MutexLock lock(mu_);
    open_ = false;
    dropped.swap(queue_);
  }
  async_.Close();
  // `dropped` dies here, outside the lock: each Call's promise is broken, so its caller
  // returns at once instead of waiting out its timeout.
}

bool LoopMailbox::Post(std::function<void()> fn) {
  {
    MutexLock lock(mu_);
    if (!open_) return false;
    queue_.push_back(std::move(fn));
  }
  async_.Send();
  return true;
}

size_t LoopMailbox::queued() const {
  MutexLock lock(mu_);
  return queue_.size();
}

void LoopMailbox::Drain() {
  // What is queued now; what is posted meanwhile wakes the loop again.
  std::deque<std::function<void()>> work;
  {
    MutexLock lock(mu_);
    work.swap(queue_);
  }
  for (auto& fn : work) fn();
}

}  // namespace firewatch::net
