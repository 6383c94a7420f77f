// The outbox's sender threads: one worker per channel, each calling
// Dispatcher::Process(channel) for its own channel only, so a channel whose sends hang
// until their timeout (a dead SMTP server) holds up that channel's queue and nothing
// else (docs/outbox.md, "Threading").
//
// A worker runs a pass
//   - at once when it starts (pages left from before a restart go out first thing);
//   - when kicked: Kick() (every worker) or Kick(channel), e.g. after an Enqueue;
//   - when the earliest pending item of its channel is due (ProcessReport::next_due_ms,
//     compared with the injected clock's wall time), and again at once while items are
//     due (batch limit);
//   - at least every max_wait (1 s): held items wait for rate-limit tokens, which
//     nothing signals.
// The sleep itself is a condition variable in real time: with a FakeClock, a test that
// advances the clock kicks the pool (or uses a short max_wait).
//
// An item that fails over to another channel kicks that channel's worker at once
// (ProcessReport::handoffs). A channel without a worker gets one when it is first
// kicked or found: Start() also starts a worker for every channel that has pending,
// sending or held items in the outbox, so pages left from an older configuration still
// go out (or fail over: the send hook answers Permanent for an unknown channel).
//
// Thread-safe: Kick, Channels, RequestStop and Stop may be called from any thread; Kick
// never waits for a send.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/status.h"
#include "firewatch/sync/mutex.h"
#include "outbox/dispatcher.h"

namespace firewatch::alerting::outbox {

struct SenderPoolOptions {
  // Wall time to compare next_due_ms with: the Dispatcher's clock. Null: the system
  // clock. Must outlive the pool.
  const Clock* clock = nullptr;
  // Longest sleep between two passes of a worker.
  std::chrono::milliseconds max_wait{std::chrono::seconds(1)};
  // Called on the worker's thread after each pass (metrics, tests). Must not block, nor
  // call Stop. Errors are logged by the pool whether or not this is set.
  std::function<void(const std::string& channel, const Result<ProcessReport>& report)> on_pass;
};

class SenderPool {
 public:
  // `dispatcher` must outlive the pool. `channels`: the configured channels, each of
  // which gets a worker at Start() (whether or not anything is queued for it yet).
  SenderPool(Dispatcher& dispatcher, std::vector<std::string> channels,
             SenderPoolOptions options = {});
  ~SenderPool();  // Stop()
  SenderPool(const SenderPool&) = delete;
  SenderPool& operator=(const SenderPool&) = delete;

  // Starts the workers of the configured channels and of every channel with work in the
  // outbox (Dispatcher::ActiveChannels). An error means the outbox could not be read:
  // the configured channels' workers run anyway, and a leftover channel gets its worker
  // only when an item fails over to it. A second call, or one after Stop, does nothing.
  Status Start() FW_EXCLUDES(mu_);

  // Wakes every worker for a pass now (a pass already running is followed by another).
  void Kick() FW_EXCLUDES(mu_);
  // Wakes the worker of `channel`, starting one if the channel has none yet (after
  // Start, before Stop; otherwise it does nothing). Use after an Enqueue whose chain
  // starts with `channel`.
  void Kick(const std::string& channel) FW_EXCLUDES(mu_);

  // Asks every worker to stop, without waiting: a worker that is sending finishes that
  // send (the notifier returns within its channel's timeout) and records it, then
  // starts no other. No new worker starts after this.
  void RequestStop() FW_EXCLUDES(mu_);
  // RequestStop(), then joins every worker: returns once every in-flight send has
  // returned and been recorded, so at most about the longest channel timeout. Never
  // interrupts a send. The Dispatcher is not called after it returns. Call it from one
  // thread (a second call returns at once), never from on_pass.
  void Stop() FW_EXCLUDES(mu_);

  // The channels that have a worker, sorted.
  std::vector<std::string> Channels() const FW_EXCLUDES(mu_);

 private:
  struct Worker {
    std::string channel;
    // Guarded by SenderPool::mu_ (a nested struct cannot name it in FW_GUARDED_BY).
    bool kicked = true;  // the first pass runs at once
    CondVar wake;
    std::jthread thread;  // set under mu_ when started; moved out by Stop()
  };
  // Starts `channel`'s worker unless it has one. Caller holds mu_.
  void StartWorkerLocked(const std::string& channel) FW_REQUIRES(mu_);
  void Loop(Worker& w, std::stop_token stop);
  // How long to sleep after a pass, or zero to run again at once.
  std::chrono::milliseconds WaitAfter(const Result<ProcessReport>& report) const;

  Dispatcher& dispatcher_;
  const std::vector<std::string> configured_;
  const SenderPoolOptions opts_;
  const Clock& clock_;

  mutable Mutex mu_;
  bool started_ FW_GUARDED_BY(mu_) = false;
  bool stopping_ FW_GUARDED_BY(mu_) = false;
  // Entries live until the pool is destroyed (workers reference theirs).
  std::map<std::string, std::unique_ptr<Worker>> workers_ FW_GUARDED_BY(mu_);
};

}  // namespace firewatch::alerting::outbox
