// A send hook for the concurrency tests: thread-safe, it records every call as
// "channel:key" with its thread, answers from a per-channel script (Delivered by
// default) and holds the sends of a blocked channel until the test releases them.
// Every wait has a deadline, so a broken build fails instead of hanging.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "model/alert.h"

namespace firewatch::alerting::outbox::testing {

inline constexpr std::chrono::seconds kDeadline{10};

class GatedHook {
 public:
  // Sends on `channel` block once started, until Release(channel).
  void Block(const std::string& channel) {
    std::lock_guard lock(mu_);
    blocked_.insert(channel);
  }
  void Release(const std::string& channel) {
    {
      std::lock_guard lock(mu_);
      blocked_.erase(channel);
    }
    cv_.notify_all();
  }
  // The next results on `channel`, in order; then Delivered.
  void Script(const std::string& channel, SendResult result) {
    std::lock_guard lock(mu_);
    script_[channel].push_back(std::move(result));
  }

  SendResult operator()(const std::string& channel, const Notification& n) {
    const std::string call = channel + ":" + n.idempotency_key;
    std::unique_lock lock(mu_);
    started_.push_back(call);
    threads_[call] = std::this_thread::get_id();
    cv_.notify_all();
    // The deadline only keeps a failing test from hanging; a test releases long before.
    if (!cv_.wait_for(lock, 3 * kDeadline, [&] { return blocked_.count(channel) == 0; })) {
      return SendResult::Retryable("test never released " + channel);
    }
    finished_.push_back(call);
    cv_.notify_all();
    auto& q = script_[channel];
    if (q.empty()) return SendResult::Delivered("250 ok");
    SendResult r = q.front();
    q.pop_front();
    return r;
  }

  // Waits until the send `call` ("channel:key") has started / returned.
  bool WaitStarted(const std::string& call) { return WaitFor(started_, call); }
  bool WaitFinished(const std::string& call) { return WaitFor(finished_, call); }

  std::vector<std::string> Started() const {
    std::lock_guard lock(mu_);
    return started_;
  }
  std::thread::id ThreadOf(const std::string& call) const {
    std::lock_guard lock(mu_);
    auto it = threads_.find(call);
    return it == threads_.end() ? std::thread::id() : it->second;
  }

 private:
  bool WaitFor(const std::vector<std::string>& list, const std::string& call) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] {
      for (const auto& c : list) {
        if (c == call) return true;
      }
      return false;
    });
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> blocked_;
  std::map<std::string, std::deque<SendResult>> script_;
  std::vector<std::string> started_;
  std::vector<std::string> finished_;
  std::map<std::string, std::thread::id> threads_;
};

}  // namespace firewatch::alerting::outbox::testing
