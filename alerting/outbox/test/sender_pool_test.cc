// SenderPool: one worker thread per channel. A send that hangs on one channel must not
// delay another channel's pages; failover wakes the next channel's worker; Stop joins
// while a send is blocked. Nothing sleeps: the test holds sends with GatedHook and waits
// for passes with a condition variable and a deadline. max_wait is an hour unless a
// test says otherwise, so only kicks (and a worker's first pass) run passes.
#include "outbox/sender_pool.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>

#include "outbox/test/gated_hook.h"
#include "outbox/test/test_util.h"

namespace firewatch::alerting::outbox {
namespace {

using namespace std::chrono_literals;
using testing::GatedHook;
using testing::kDeadline;
using testing::MustGet;
using testing::MustOpen;
using testing::Page;
using testing::TempDir;

class SenderPoolTest : public ::testing::Test {
 protected:
  SenderPoolTest() {
    box_ = MustOpen(dir_.File("outbox.db"), clock_);
    DispatcherOptions o;
    o.clock = &clock_;
    o.rng = [] { return uint64_t{0}; };
    o.retry.max_attempts = 1;  // a failed send fails over at once
    dispatcher_ = std::make_unique<Dispatcher>(
        *box_, [this](const std::string& c, const Notification& n) { return hook_(c, n); }, o);
  }
  ~SenderPoolTest() override {
    hook_.Release("email");
    hook_.Release("sms");
    if (pool_) pool_->Stop();
  }

  void MakePool(std::vector<std::string> channels, std::chrono::milliseconds max_wait = 1h) {
    SenderPoolOptions o;
    o.clock = &clock_;
    o.max_wait = max_wait;
    o.on_pass = [this](const std::string& channel, const Result<ProcessReport>& r) {
      {
        std::lock_guard lock(mu_);
        Pass& p = passes_[channel];
        ++p.count;
        if (r.ok()) p.sent += r->sent;
        if (!r.ok()) p.errors.push_back(r.status().ToString());
      }
      cv_.notify_all();
    };
    pool_ = std::make_unique<SenderPool>(*dispatcher_, std::move(channels), o);
  }
  void Enqueue(const Notification& n, std::vector<std::string> chain, int64_t due = 0) {
    auto r = box_->Enqueue(n, chain, due == 0 ? Now() : due);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  int64_t Now() const { return ToUnixMillis(clock_.WallNow()); }

  struct Pass {
    int count = 0;  // passes finished
    int sent = 0;   // delivered over all passes
    std::vector<std::string> errors;
  };
  // Waits until the passes of `channel` satisfy `pred`.
  template <typename Pred>
  bool WaitPasses(const std::string& channel, Pred pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] { return pred(passes_[channel]); });
  }
  bool WaitSent(const std::string& channel, int n) {
    return WaitPasses(channel, [n](const Pass& p) { return p.sent >= n; });
  }
  Pass PassesOf(const std::string& channel) {
    std::lock_guard lock(mu_);
    return passes_[channel];
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Outbox> box_;
  GatedHook hook_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Pass> passes_;  // guarded by mu_
  std::unique_ptr<SenderPool> pool_;    // last: its workers use everything above
};

// The issue: an SMTP server that hangs until its timeout held up every SMS behind it.
TEST_F(SenderPoolTest, HungEmailDoesNotDelaySms) {
  hook_.Block("email");
  Enqueue(Page("e1"), {"email"});
  MakePool({"email", "sms"});
  ASSERT_TRUE(pool_->Start().ok());
  ASSERT_TRUE(hook_.WaitStarted("email:e1"));

  // A page for sms arrives while the email send hangs, and the engine kicks its channel.
  Enqueue(Page("s1"), {"sms"});
  pool_->Kick("sms");
  ASSERT_TRUE(WaitSent("sms", 1));
  EXPECT_EQ(MustGet(*box_, "s1").state, State::kSent);
  EXPECT_EQ(MustGet(*box_, "e1").state, State::kSending);  // still in its send
  EXPECT_NE(hook_.ThreadOf("sms:s1"), hook_.ThreadOf("email:e1"));

  hook_.Release("email");
  ASSERT_TRUE(WaitSent("email", 1));
  EXPECT_EQ(MustGet(*box_, "e1").state, State::kSent);
  pool_->Stop();
  EXPECT_TRUE(PassesOf("email").errors.empty());
  EXPECT_TRUE(PassesOf("sms").errors.empty());
}

// A blocked email send that then fails moves the page to sms, and the sms worker (idle,
// with an hour to sleep) is kicked and delivers it at once.
TEST_F(SenderPoolTest, FailoverIsDeliveredByTheNextChannelsWorker) {
  hook_.Block("email");
  hook_.Script("email", SendResult::Retryable("timed out after 10000 ms"));
  Enqueue(Page("k"), {"email", "sms"});
  MakePool({"email", "sms"});
  ASSERT_TRUE(pool_->Start().ok());
  ASSERT_TRUE(hook_.WaitStarted("email:k"));
  // sms has had its first pass and sleeps: only a kick wakes it now.
  ASSERT_TRUE(WaitPasses("sms", [](const Pass& p) { return p.count >= 1; }));

  hook_.Release("email");
  ASSERT_TRUE(WaitSent("sms", 1));
  const Item it = MustGet(*box_, "k");
  EXPECT_EQ(it.state, State::kSent);
  EXPECT_EQ(it.channel(), "sms");
  EXPECT_EQ(hook_.Started(), (std::vector<std::string>{"email:k", "sms:k"}));
  EXPECT_NE(hook_.ThreadOf("sms:k"), hook_.ThreadOf("email:k"));
  auto attempts = *box_->Attempts("k");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].result, AttemptResult::kRetryable);
  EXPECT_EQ(attempts[1].channel, "sms");
}

// Stop while a send is blocked: Stop waits for that send (the notifier returns within
// its timeout; here the test releases it), records it, and starts no other send.
TEST_F(SenderPoolTest, StopWaitsForTheSendInFlightAndStartsNoOther) {
  hook_.Block("email");
  Enqueue(Page("e1"), {"email"});
  Enqueue(Page("e2"), {"email"});
  MakePool({"email", "sms"});
  ASSERT_TRUE(pool_->Start().ok());
  ASSERT_TRUE(hook_.WaitStarted("email:e1"));

  pool_->RequestStop();
  auto stopped = std::async(std::launch::async, [this] { pool_->Stop(); });
  EXPECT_EQ(stopped.wait_for(0ms), std::future_status::timeout);  // e1 is still sending
  hook_.Release("email");
  ASSERT_EQ(stopped.wait_for(kDeadline), std::future_status::ready);
  EXPECT_EQ(MustGet(*box_, "e1").state, State::kSent);
  EXPECT_EQ(MustGet(*box_, "e2").state, State::kPending);  // waits for the next start
  EXPECT_EQ(hook_.Started(), (std::vector<std::string>{"email:e1"}));
  pool_->Kick("email");  // after Stop: nothing happens
  pool_->Kick();
  EXPECT_EQ(hook_.Started().size(), 1u);
}

// Idle workers (an hour to sleep) stop at once.
TEST_F(SenderPoolTest, StopOfIdleWorkersIsPrompt) {
  MakePool({"email", "sms", "pager"});
  ASSERT_TRUE(pool_->Start().ok());
  ASSERT_TRUE(WaitPasses("pager", [](const Pass& p) { return p.count >= 1; }));
  auto stopped = std::async(std::launch::async, [this] { pool_->Stop(); });
  ASSERT_EQ(stopped.wait_for(kDeadline), std::future_status::ready);
}

// Pages queued for a channel the configuration no longer has get a worker at Start; the
// send hook answers Permanent for it (as the engine's does) and the page fails over.
TEST_F(SenderPoolTest, LeftoverChannelGetsAWorkerAndFailsOver) {
  hook_.Script("old-mail", SendResult::Permanent("no channel 'old-mail'"));
  Enqueue(Page("k"), {"old-mail", "sms"});
  MakePool({"sms"});
  ASSERT_TRUE(pool_->Start().ok());
  ASSERT_TRUE(WaitSent("sms", 1));
  EXPECT_EQ(pool_->Channels(), (std::vector<std::string>{"old-mail", "sms"}));
  EXPECT_EQ(hook_.Started(), (std::vector<std::string>{"old-mail:k", "sms:k"}));
}

// A channel first named by a kick (or a handoff) gets its worker then.
TEST_F(SenderPoolTest, KickOfANewChannelStartsItsWorker) {
  MakePool({"sms"});
  ASSERT_TRUE(pool_->Start().ok());
  Enqueue(Page("k"), {"pager"});
  pool_->Kick("pager");
  ASSERT_TRUE(WaitSent("pager", 1));
  EXPECT_EQ(pool_->Channels(), (std::vector<std::string>{"pager", "sms"}));
}

// An item due later (fake time) goes out on the pass after the clock reaches it.
TEST_F(SenderPoolTest, ItemDueLaterGoesOutOnceTheClockReachesIt) {
  Enqueue(Page("k"), {"sms"}, Now() + 60'000);
  MakePool({"sms"});
  ASSERT_TRUE(pool_->Start().ok());
  ASSERT_TRUE(WaitPasses("sms", [](const Pass& p) { return p.count >= 1; }));
  EXPECT_EQ(PassesOf("sms").sent, 0);
  clock_.Advance(60s);
  pool_->Kick();
  ASSERT_TRUE(WaitSent("sms", 1));
  EXPECT_EQ(MustGet(*box_, "k").state, State::kSent);
}

// Held items wait for tokens, which nothing signals: the periodic pass (max_wait) sends
// their summary without a kick.
TEST_F(SenderPoolTest, PeriodicPassReleasesHeldItemsWithoutAKick) {
  pool_.reset();
  dispatcher_.reset();
  DispatcherOptions o;
  o.clock = &clock_;
  o.per_contact["sms"] = {1, 10min};
  dispatcher_ = std::make_unique<Dispatcher>(
      *box_, [this](const std::string& c, const Notification& n) { return hook_(c, n); }, o);
  for (const char* k : {"p1", "p2", "p3"}) Enqueue(Page(k), {"sms"});
  MakePool({"sms"}, 20ms);
  ASSERT_TRUE(pool_->Start().ok());
  ASSERT_TRUE(WaitSent("sms", 1));
  EXPECT_EQ(MustGet(*box_, "p2").state, State::kHeld);
  clock_.Advance(10min);  // a token is back; nobody kicks
  ASSERT_TRUE(WaitSent("sms", 2));
  EXPECT_EQ(hook_.Started(), (std::vector<std::string>{"sms:p1", "sms:summary/p2"}));
  EXPECT_EQ(MustGet(*box_, "p3").state, State::kSummarized);
}

}  // namespace
}  // namespace firewatch::alerting::outbox
