#include "http/deadline_watch.h"

#include <sys/socket.h>

namespace firewatch::collector {

DeadlineWatch::DeadlineWatch(std::chrono::milliseconds tick) : tick_(tick) {
  thread_ = std::thread([this] { Run(); });
}

DeadlineWatch::~DeadlineWatch() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  wake_.NotifyAll();
  thread_.join();
}

DeadlineWatch::Watch DeadlineWatch::Start(int fd, Clock::time_point deadline, size_t min_rate,
                                          std::chrono::milliseconds grace) {
  if (fd < 0) return Watch();
  MutexLock lock(mu_);
  const uint64_t id = next_id_++;
  Entry& e = entries_[id];
  e.fd = fd;
  e.start = Clock::now();
  e.deadline = deadline;
  e.min_rate = min_rate;
  e.grace = grace;
  return Watch(this, id);
}

void DeadlineWatch::Run() {
  MutexLock lock(mu_);
  while (!stopping_) {
    wake_.WaitFor(mu_, tick_, [this]() FW_REQUIRES(mu_) { return stopping_; });
    const auto now = Clock::now();
    for (auto& [id, e] : entries_) {
      if (e.tripped) continue;
      const auto elapsed = now - e.start;
      const double seconds = std::chrono::duration<double>(elapsed).count();
      const bool late = now >= e.deadline;
      const bool slow = e.min_rate > 0 && elapsed >= e.grace &&
                        static_cast<double>(e.bytes) < static_cast<double>(e.min_rate) * seconds;
      if (late || slow) {
        e.tripped = true;
        ::shutdown(e.fd, SHUT_RDWR);  // the blocked recv/send returns; civetweb closes the fd
      }
    }
  }
}

void DeadlineWatch::Progress(uint64_t id, size_t bytes) {
  MutexLock lock(mu_);
  auto it = entries_.find(id);
  if (it != entries_.end()) it->second.bytes += bytes;
}

bool DeadlineWatch::End(uint64_t id) {
  MutexLock lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;
  const bool tripped = it->second.tripped;
  entries_.erase(it);
  return tripped;
}

bool DeadlineWatch::Tripped(uint64_t id) {
  MutexLock lock(mu_);
  auto it = entries_.find(id);
  return it != entries_.end() && it->second.tripped;
}

DeadlineWatch::Watch::Watch(Watch&& other) noexcept
    : owner_(other.owner_), id_(other.id_), ended_tripped_(other.ended_tripped_) {
  other.owner_ = nullptr;
}

DeadlineWatch::Watch& DeadlineWatch::Watch::operator=(Watch&& other) noexcept {
  if (this != &other) {
    End();
    owner_ = other.owner_;
    id_ = other.id_;
    ended_tripped_ = other.ended_tripped_;
    other.owner_ = nullptr;
  }
  return *this;
}

DeadlineWatch::Watch::~Watch() { End(); }

void DeadlineWatch::Watch::Progress(size_t bytes) {
  if (owner_ != nullptr) owner_->Progress(id_, bytes);
}

bool DeadlineWatch::Watch::End() {
  if (owner_ != nullptr) {
    ended_tripped_ = owner_->End(id_);
    owner_ = nullptr;
  }
  return ended_tripped_;
}

bool DeadlineWatch::Watch::tripped() const {
  return owner_ != nullptr ? owner_->Tripped(id_) : ended_tripped_;
}

}  // namespace firewatch::collector
