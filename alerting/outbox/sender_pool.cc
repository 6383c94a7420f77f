#include "outbox/sender_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace firewatch::alerting::outbox {

SenderPool::SenderPool(Dispatcher& dispatcher, std::vector<std::string> channels,
                       SenderPoolOptions options)
    : dispatcher_(dispatcher),
      configured_(std::move(channels)),
      opts_(std::move(options)),
      clock_(opts_.clock != nullptr ? *opts_.clock : SystemClock::Instance()) {}

SenderPool::~SenderPool() { Stop(); }

Status SenderPool::Start() {
  // Read before taking mu_: the outbox query may wait for the database.
  auto active = dispatcher_.ActiveChannels();
  MutexLock lock(mu_);
  if (started_ || stopping_) return Status::Ok();
  started_ = true;
  for (const std::string& channel : configured_) StartWorkerLocked(channel);
  if (!active.ok()) {
    spdlog::error("outbox: cannot list the channels with queued pages: {}",
                  active.status().message());
    return active.status();
  }
  for (const std::string& channel : *active) {
    if (workers_.count(channel) == 0) {
      spdlog::warn("outbox: pages are queued for channel '{}', which is not configured; "
                   "they will fail over to their next channel",
                   channel);
    }
    StartWorkerLocked(channel);
  }
  return Status::Ok();
}

void SenderPool::StartWorkerLocked(const std::string& channel) {
  auto [it, inserted] = workers_.try_emplace(channel);
  if (!inserted) return;
  it->second = std::make_unique<Worker>();
  Worker* w = it->second.get();
  w->channel = channel;
  // The worker takes mu_ first thing, so it runs once this caller releases it.
  w->thread = std::jthread([this, w](std::stop_token stop) { Loop(*w, std::move(stop)); });
}

void SenderPool::Kick() {
  MutexLock lock(mu_);
  for (auto& [channel, w] : workers_) {
    w->kicked = true;
    w->wake.NotifyOne();
  }
}

void SenderPool::Kick(const std::string& channel) {
  MutexLock lock(mu_);
  if (!started_ || stopping_) return;
  StartWorkerLocked(channel);
  Worker& w = *workers_.at(channel);
  w.kicked = true;
  w.wake.NotifyOne();
}

void SenderPool::RequestStop() {
  std::vector<std::stop_source> stops;
  {
    MutexLock lock(mu_);
    stopping_ = true;
    for (auto& [channel, w] : workers_) stops.push_back(w->thread.get_stop_source());
  }
  // Outside mu_, so a waiting worker's stop callback (it notifies `wake`) never meets it.
  for (std::stop_source& s : stops) s.request_stop();
}

void SenderPool::Stop() {
  RequestStop();
  std::vector<std::jthread> threads;
  {
    MutexLock lock(mu_);
    for (auto& [channel, w] : workers_) {
      if (w->thread.joinable()) threads.push_back(std::move(w->thread));
    }
  }
  for (std::jthread& t : threads) t.join();
}

std::vector<std::string> SenderPool::Channels() const {
  MutexLock lock(mu_);
  std::vector<std::string> out;
  for (const auto& [channel, w] : workers_) out.push_back(channel);
  return out;
}

std::chrono::milliseconds SenderPool::WaitAfter(const Result<ProcessReport>& report) const {
  if (!report.ok() || !report->next_due_ms) return opts_.max_wait;
  const int64_t until_due = *report->next_due_ms - ToUnixMillis(clock_.WallNow());
  if (until_due <= 0) return std::chrono::milliseconds(0);  // due already (batch limit)
  return std::min(opts_.max_wait, std::chrono::milliseconds(until_due));
}

void SenderPool::Loop(Worker& w, std::stop_token stop) {
  std::chrono::milliseconds wait(0);
  MutexLock lock(mu_);
  for (;;) {
    // Returns at once when kicked or when stop is requested (also while not waiting).
    w.wake.WaitFor(mu_, stop, wait, [&w] { return w.kicked; });
    if (stop.stop_requested()) return;
    w.kicked = false;
    lock.Unlock();

    auto report = dispatcher_.Process(w.channel, stop);
    if (!report.ok()) {
      spdlog::error("outbox: sending on {}: {}", w.channel, report.status().message());
    } else {
      for (const std::string& next : report->handoffs) Kick(next);
    }
    if (opts_.on_pass) opts_.on_pass(w.channel, report);
    wait = WaitAfter(report);

    lock.Lock();
    if (wait.count() == 0) w.kicked = true;
  }
}

}  // namespace firewatch::alerting::outbox
