#include "outbox/dispatcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <random>
#include <vector>

namespace firewatch::alerting::outbox {

namespace {

std::string PairKey(const std::string& contact, const std::string& channel) {
  return contact + '\x1f' + channel;
}

Rng DefaultRng() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [engine] { return (*engine)(); };
}

const RateLimit* Find(const std::map<std::string, RateLimit>& limits, const std::string& channel) {
  auto it = limits.find(channel);
  return it == limits.end() ? nullptr : &it->second;
}

void AddHandoff(ProcessReport& report, const std::string& channel) {
  auto it = std::lower_bound(report.handoffs.begin(), report.handoffs.end(), channel);
  if (it == report.handoffs.end() || *it != channel) report.handoffs.insert(it, channel);
}

}  // namespace

Dispatcher::Dispatcher(Outbox& outbox, SendHook send, DispatcherOptions options)
    : outbox_(outbox),
      send_(std::move(send)),
      opts_(std::move(options)),
      clock_(opts_.clock != nullptr ? *opts_.clock : SystemClock::Instance()) {
  if (!opts_.rng) opts_.rng = DefaultRng();
  if (opts_.batch_limit == 0) opts_.batch_limit = 1;
  rng_ = [this] {
    MutexLock lock(rng_mu_);
    return opts_.rng();
  };
}

Mutex& Dispatcher::ChannelMutex(const std::string& channel) {
  MutexLock lock(channels_mu_);
  auto& mu = channel_mu_[channel];
  if (!mu) mu = std::make_unique<Mutex>();
  return *mu;
}

Result<std::vector<std::string>> Dispatcher::ActiveChannels() { return outbox_.ActiveChannels(); }

const RetryPolicy& Dispatcher::PolicyFor(const std::string& channel) const {
  auto it = opts_.retry_by_channel.find(channel);
  return it == opts_.retry_by_channel.end() ? opts_.retry : it->second;
}

bool Dispatcher::TokensAvailable(const std::string& contact, const std::string& channel,
                                 MonoTime now) {
  MutexLock lock(state_mu_);
  if (const RateLimit* l = Find(opts_.per_contact, channel);
      l != nullptr && !buckets_.Available("c\x1f" + PairKey(contact, channel), *l, now)) {
    return false;
  }
  if (const RateLimit* l = Find(opts_.per_channel, channel);
      l != nullptr && !buckets_.Available("k\x1f" + channel, *l, now)) {
    return false;
  }
  return true;
}

void Dispatcher::TakeTokens(const std::string& contact, const std::string& channel, MonoTime now) {
  MutexLock lock(state_mu_);
  if (const RateLimit* l = Find(opts_.per_contact, channel)) {
    buckets_.Take("c\x1f" + PairKey(contact, channel), *l, now);
  }
  if (const RateLimit* l = Find(opts_.per_channel, channel)) buckets_.Take("k\x1f" + channel, *l, now);
}

Transition Dispatcher::FailOver(const Item& item, const std::string& why, int64_t now_ms) {
  Transition t;
  t.channel_index = item.channel_index + 1;
  t.channel_attempts = 0;
  t.due_ms = now_ms;
  if (t.channel_index >= item.channel_chain.size()) {
    t.channel_index = item.channel_chain.size();
    t.state = State::kFailed;
    t.detail = "every channel failed; last: " + item.channel() + ": " + why;
  } else {
    t.state = State::kPending;
    t.detail = "failed over from " + item.channel() + ": " + why;
  }
  return t;
}

Transition Dispatcher::Next(const Item& item, const SendResult& result, int64_t now_ms) {
  const int attempts_here = item.channel_attempts + 1;
  switch (result.kind) {
    case SendResult::Kind::kDelivered:
      return {State::kSent, item.channel_index, attempts_here, item.due_ms,
              "delivered via " + item.channel() + (result.detail.empty() ? "" : ": " + result.detail)};
    case SendResult::Kind::kPermanent:
      return FailOver(item, "permanent error: " + result.detail, now_ms);
    case SendResult::Kind::kRetryable: {
      const RetryPolicy& policy = PolicyFor(item.channel());
      if (attempts_here >= policy.max_attempts) {
        return FailOver(item,
                        std::to_string(attempts_here) + " attempts, last: " + result.detail, now_ms);
      }
      const int64_t delay = BackoffDelayMs(policy, attempts_here, rng_);
      return {State::kPending, item.channel_index, attempts_here, now_ms + delay,
              "retry in " + std::to_string(delay) + " ms: " + result.detail};
    }
  }
  return FailOver(item, "unknown result", now_ms);
}

Status Dispatcher::Deliver(const Item& item, ProcessReport& report) {
  const std::string channel = item.channel();
  auto claimed = outbox_.Claim(item.key());
  if (!claimed.ok()) return claimed.status();
  if (!*claimed) {
    ++report.lost_claims;
    return Status::Ok();
  }
  TakeTokens(item.notification.contact, channel, clock_.Now());
  SendResult result;
  try {
    result = send_(channel, item.notification);
  } catch (const std::exception& e) {
    result = SendResult::Retryable(std::string("send hook threw: ") + e.what());
  } catch (...) {
    result = SendResult::Retryable("send hook threw a non-standard exception");
  }
  const int64_t now_ms = ToUnixMillis(clock_.WallNow());
  const Transition next = Next(item, result, now_ms);
  Attempt attempt;
  attempt.channel = channel;
  attempt.at_ms = now_ms;
  attempt.result = FromSendResult(result.kind);
  attempt.detail = result.detail;
  if (auto st = outbox_.Record(item.key(), attempt, next); !st.ok()) {
    // The send happened: never lose its outcome. Recorded again on the next Process().
    spdlog::error("outbox: cannot record the outcome of '{}' ({}): {}; will retry", item.key(),
                  AttemptResultName(attempt.result), st.ToString());
    MutexLock lock(unrecorded_mu_);
    unrecorded_.push_back({item.key(), std::move(attempt), next});
    return st;
  }

  switch (next.state) {
    case State::kSent: ++report.sent; break;
    case State::kFailed:
      ++report.failed;
      spdlog::error("outbox: notification '{}' to {} FAILED on every channel: {}", item.key(),
                    item.notification.contact, next.detail);
      break;
    default:
      if (next.channel_index != item.channel_index) {
        ++report.failed_over;
        AddHandoff(report, item.channel_chain[next.channel_index]);
        spdlog::warn("outbox: notification '{}' to {}: {}", item.key(), item.notification.contact,
                     next.detail);
      } else {
        ++report.retried;
      }
  }
  return Status::Ok();
}

Status Dispatcher::ReleaseHeld(const HeldGroup& group, ProcessReport& report) {
  const int64_t now_ms = ToUnixMillis(clock_.WallNow());
  const Item& first = group.items.front();
  if (group.items.size() == 1) {
    // One held page: send it as itself, it carries more than a summary would.
    Transition t{State::kPending, first.channel_index, first.channel_attempts, now_ms,
                 "released after rate limit"};
    auto moved = outbox_.Move(first.key(), State::kHeld, t);
    if (!moved.ok()) return moved.status();
    if (!*moved) return Status::Ok();
    Item item = first;
    item.state = State::kPending;
    ++report.released;
    return Deliver(item, report);
  }
  Notification summary;
  summary.idempotency_key = "summary/" + first.key();
  summary.kind = "summary";
  summary.contact = group.contact;
  summary.address = first.notification.address;
  summary.subject = std::to_string(group.items.size()) + " more pages held back by rate limit";
  summary.text = summary.subject + ":";
  std::vector<std::string> covered;
  for (size_t i = 0; i < group.items.size(); ++i) {
    summary.text += (i == 0 ? " " : "; ") + group.items[i].notification.subject;
    covered.push_back(group.items[i].key());
  }
  // The summary fails over like the first held page would have.
  const std::vector<std::string> chain(
      first.channel_chain.begin() + static_cast<std::ptrdiff_t>(first.channel_index),
      first.channel_chain.end());
  auto n = outbox_.Summarize(summary, chain, covered);
  if (!n.ok()) return n.status();
  if (*n == 0) return Status::Ok();
  ++report.summaries;
  spdlog::warn("outbox: {} page(s) to {} over {} held back by rate limit, sent as one summary '{}'",
               *n, group.contact, group.channel, summary.idempotency_key);
  auto item = outbox_.Get(summary.idempotency_key);
  if (!item.ok()) return item.status();
  if (!item->has_value()) return Status::Ok();
  return Deliver(**item, report);
}

Status Dispatcher::RecordUnrecorded() {
  // Held across the Records, so two senders never record one outcome twice.
  MutexLock lock(unrecorded_mu_);
  while (!unrecorded_.empty()) {
    const Unrecorded& u = unrecorded_.front();
    Status st = outbox_.Record(u.key, u.attempt, u.to);
    if (st.code() == Status::Code::kNotFound) {
      // No longer sending: a reopen requeued it already. Nothing left to record.
      st = Status::Ok();
    }
    if (!st.ok()) return st;
    unrecorded_.erase(unrecorded_.begin());
  }
  return Status::Ok();
}

Result<ProcessReport> Dispatcher::Process(std::stop_token stop) {
  WriterMutexLock every_channel(process_mu_);
  return Run(std::nullopt, stop);
}

Result<ProcessReport> Dispatcher::Process(const std::string& channel, std::stop_token stop) {
  ReaderMutexLock some_channel(process_mu_);
  MutexLock this_channel(ChannelMutex(channel));
  return Run(channel, stop);
}

Result<ProcessReport> Dispatcher::Run(const std::optional<std::string>& only,
                                      const std::stop_token& stop) {
  ProcessReport report;
  if (auto st = RecordUnrecorded(); !st.ok()) return st;
  const int64_t now_ms = ToUnixMillis(clock_.WallNow());

  auto held = outbox_.Held(only);
  if (!held.ok()) return held.status();
  std::set<Pair> held_pairs;
  for (const HeldGroup& g : *held) held_pairs.emplace(g.contact, g.channel);

  auto due = outbox_.Due(now_ms, opts_.batch_limit, only);
  if (!due.ok()) return due.status();
  for (Item& item : *due) {
    if (stop.stop_requested()) break;
    // Attempts may already have used up the channel (interrupted sends found at Open).
    if (item.channel_index < item.channel_chain.size() &&
        item.channel_attempts >= PolicyFor(item.channel()).max_attempts) {
      const Transition t = FailOver(
          item, std::to_string(item.channel_attempts) + " attempts (" + item.detail + ")", now_ms);
      auto moved = outbox_.Move(item.key(), State::kPending, t);
      if (!moved.ok()) return moved.status();
      if (!*moved) continue;
      if (t.state == State::kFailed) {
        ++report.failed;
        spdlog::error("outbox: notification '{}' to {} FAILED on every channel: {}", item.key(),
                      item.notification.contact, t.detail);
        continue;
      }
      ++report.failed_over;
      item.channel_index = t.channel_index;
      item.channel_attempts = 0;
      if (only && item.channel() != *only) {  // that channel's sender sends it
        AddHandoff(report, item.channel());
        continue;
      }
    }
    if (item.channel_index >= item.channel_chain.size()) continue;  // not reachable via Enqueue
    if (opts_.gate) {
      const GateDecision d = opts_.gate(item, now_ms);
      if (d.kind != GateDecision::Kind::kSend) {
        const bool skip = d.kind == GateDecision::Kind::kSkip;
        const Transition t{skip ? State::kCancelled : State::kPending, item.channel_index,
                           item.channel_attempts, skip ? item.due_ms : d.until_ms, d.detail};
        auto moved = outbox_.Move(item.key(), State::kPending, t);
        if (!moved.ok()) return moved.status();
        if (*moved) ++(skip ? report.skipped : report.deferred);
        continue;
      }
    }
    const std::string channel = item.channel();
    const Pair pair(item.notification.contact, channel);
    // Behind already held pages of the same pair: join them (they go out together).
    if (held_pairs.count(pair) > 0 || !TokensAvailable(pair.first, channel, clock_.Now())) {
      const Transition t{State::kHeld, item.channel_index, item.channel_attempts, item.due_ms,
                         "held back by the " + channel + " rate limit"};
      auto moved = outbox_.Move(item.key(), State::kPending, t);
      if (!moved.ok()) return moved.status();
      if (*moved) {
        ++report.held;
        held_pairs.insert(pair);
      }
      continue;
    }
    if (auto st = Deliver(item, report); !st.ok()) return st;
  }

  if (!held_pairs.empty() && !stop.stop_requested()) {
    held = outbox_.Held(only);
    if (!held.ok()) return held.status();
    for (const HeldGroup& g : *held) {
      if (stop.stop_requested()) break;
      if (!TokensAvailable(g.contact, g.channel, clock_.Now())) continue;
      if (auto st = ReleaseHeld(g, report); !st.ok()) return st;
    }
  }

  // After the sends: a slow or locked prune never delays a page of this channel.
  if (!stop.stop_requested()) PruneIfDue(now_ms);
  auto next = outbox_.NextDueMs(only);
  if (!next.ok()) return next.status();
  report.next_due_ms = *next;
  return report;
}

void Dispatcher::PruneIfDue(int64_t now_ms) {
  if (opts_.retention.count() <= 0) return;
  {
    // Claim this interval's prune: of concurrent senders, one prunes and the rest go on.
    MutexLock lock(state_mu_);
    const MonoTime now = clock_.Now();
    if (last_prune_ && now - *last_prune_ < opts_.prune_interval) return;
    last_prune_ = now;
  }
  const std::vector<std::string> keep = opts_.prune_keep ? opts_.prune_keep()
                                                         : std::vector<std::string>{};
  auto pruned = outbox_.Prune(now_ms - opts_.retention.count(), keep);
  if (!pruned.ok()) {
    spdlog::warn("outbox: pruning rows older than {} ms failed (retrying in {} min): {}",
                 opts_.retention.count(),
                 std::chrono::duration_cast<std::chrono::minutes>(opts_.prune_interval).count(),
                 pruned.status().message());
  } else if (pruned->items > 0) {
    spdlog::info("outbox: pruned {} final notification(s) and {} attempt(s) past retention",
                 pruned->items, pruned->attempts);
  }
}

}  // namespace firewatch::alerting::outbox
