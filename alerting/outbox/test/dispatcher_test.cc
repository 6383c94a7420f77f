// The delivery policy: due order, retry with backoff, failover, failure, rate limits
// with held pages and summaries, and Process(channel): one channel per call, channels
// concurrently. FakeClock throughout; nothing sleeps (threads wait with deadlines).
#include "outbox/dispatcher.h"

#include <gtest/gtest.h>

#include <deque>
#include <future>
#include <stdexcept>

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

// A scripted notifier: pops the next result per channel (default Delivered) and logs
// every call as "channel:key".
struct FakeNotifier {
  std::map<std::string, std::deque<SendResult>> script;
  std::vector<std::string> calls;
  std::vector<Notification> seen;
  SendResult operator()(const std::string& channel, const Notification& n) {
    calls.push_back(channel + ":" + n.idempotency_key);
    seen.push_back(n);
    auto& q = script[channel];
    if (q.empty()) return SendResult::Delivered("250 ok");
    SendResult r = q.front();
    q.pop_front();
    return r;
  }
};

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() { box_ = MustOpen(dir_.File("outbox.db"), clock_); }

  Dispatcher Make(DispatcherOptions o = {}) {
    o.clock = &clock_;
    if (!o.rng) o.rng = [this] { return rng_value_; };
    return Dispatcher(*box_, [this](const std::string& c, const Notification& n) {
      return notifier_(c, n);
    }, std::move(o));
  }
  ProcessReport Run(Dispatcher& d) {
    auto r = d.Process();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ProcessReport{};
  }
  int64_t Now() const { return ToUnixMillis(clock_.WallNow()); }
  void Enqueue(const Notification& n, std::vector<std::string> chain, int64_t due = 0) {
    auto r = box_->Enqueue(n, chain, due == 0 ? Now() : due);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Outbox> box_;
  FakeNotifier notifier_;
  uint64_t rng_value_ = ~uint64_t{0};  // jitter at its maximum: delay == cap
};

TEST_F(DispatcherTest, SendsDueItemsInDueOrderAndMarksThemSent) {
  Enqueue(Page("b"), {"sms"}, Now() + 200);
  Enqueue(Page("a"), {"sms"}, Now() + 100);
  Enqueue(Page("later"), {"email"}, Now() + 60'000);
  auto d = Make();
  ProcessReport r = Run(d);
  EXPECT_EQ(r.sent, 0);
  EXPECT_EQ(r.next_due_ms, Now() + 100);

  clock_.Advance(1s);
  r = Run(d);
  EXPECT_EQ(r.sent, 2);
  EXPECT_EQ(notifier_.calls, (std::vector<std::string>{"sms:a", "sms:b"}));
  EXPECT_EQ(r.next_due_ms, Now() - 1000 + 60'000);
  const Item a = MustGet(*box_, "a");
  EXPECT_EQ(a.state, State::kSent);
  EXPECT_EQ(a.attempts, 1);
  auto attempts = *box_->Attempts("a");
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].result, AttemptResult::kDelivered);
  EXPECT_EQ(attempts[0].at_ms, Now());
  EXPECT_EQ(attempts[0].detail, "250 ok");

  auto depth = *box_->DepthByState();
  EXPECT_EQ(depth[State::kSent], 2);
  EXPECT_EQ(depth[State::kPending], 1);
  EXPECT_EQ(depth[State::kFailed], 0);
  EXPECT_EQ(box_->CountsByChannel()->at("sms").delivered, 2u);
}

TEST_F(DispatcherTest, RetryableBacksOffExponentiallyUpToTheCap) {
  DispatcherOptions o;
  o.retry = {1000ms, 2.0, 5000ms, 6};
  for (int i = 0; i < 5; ++i) notifier_.script["sms"].push_back(SendResult::Retryable("503"));
  Enqueue(Page("k"), {"sms", "email"});
  auto d = Make(o);
  // rng at max: delay == cap: 1s, 2s, 4s, 5s (max_delay), 5s; then delivered.
  const int64_t expected[] = {1000, 2000, 4000, 5000, 5000};
  for (int64_t delay : expected) {
    ProcessReport r = Run(d);
    EXPECT_EQ(r.retried, 1);
    const Item it = MustGet(*box_, "k");
    EXPECT_EQ(it.state, State::kPending);
    EXPECT_EQ(it.due_ms, Now() + delay);
    EXPECT_EQ(r.next_due_ms, Now() + delay);
    clock_.Advance(std::chrono::milliseconds(delay - 1));
    EXPECT_EQ(Run(d).retried, 0) << "not due yet";
    clock_.Advance(1ms);
  }
  EXPECT_EQ(Run(d).sent, 1);
  const Item it = MustGet(*box_, "k");
  EXPECT_EQ(it.state, State::kSent);
  EXPECT_EQ(it.channel(), "sms");
  EXPECT_EQ(it.attempts, 6);
  EXPECT_EQ(box_->Attempts("k")->size(), 6u);
  EXPECT_EQ(box_->CountsByChannel()->at("sms").retryable, 5u);
}

TEST_F(DispatcherTest, JitterDrawsTheDelayFromTheRng) {
  DispatcherOptions o;
  o.retry = {8000ms, 2.0, 60'000ms, 3};
  notifier_.script["sms"] = {SendResult::Retryable("busy")};
  rng_value_ = 0;  // the low end of full jitter: retry at once
  Enqueue(Page("k"), {"sms"});
  auto d = Make(o);
  Run(d);
  EXPECT_EQ(MustGet(*box_, "k").due_ms, Now());
  EXPECT_EQ(Run(d).sent, 1);

  rng_value_ = uint64_t{1} << 63;  // the middle: half the cap
  notifier_.script["sms"] = {SendResult::Retryable("busy")};
  Enqueue(Page("k2"), {"sms"});
  Run(d);
  EXPECT_EQ(MustGet(*box_, "k2").due_ms, Now() + 4000);
}

TEST_F(DispatcherTest, PermanentErrorFailsOverToTheNextChannelAtOnce) {
  notifier_.script["sms"] = {SendResult::Permanent("21211 invalid 'To' number")};
  Enqueue(Page("k"), {"sms", "email"});
  auto d = Make();
  ProcessReport r = Run(d);
  EXPECT_EQ(r.failed_over, 1);
  Item it = MustGet(*box_, "k");
  EXPECT_EQ(it.state, State::kPending);
  EXPECT_EQ(it.channel(), "email");
  EXPECT_EQ(it.channel_attempts, 0);
  EXPECT_EQ(it.due_ms, Now());
  EXPECT_NE(it.detail.find("21211"), std::string::npos);

  r = Run(d);
  EXPECT_EQ(r.sent, 1);
  EXPECT_EQ(notifier_.calls, (std::vector<std::string>{"sms:k", "email:k"}));
  auto attempts = *box_->Attempts("k");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].channel, "sms");
  EXPECT_EQ(attempts[0].result, AttemptResult::kPermanent);
  EXPECT_EQ(attempts[1].channel, "email");
  EXPECT_EQ(attempts[1].number, 2);
  EXPECT_EQ(MustGet(*box_, "k").state, State::kSent);
}

TEST_F(DispatcherTest, MaxRetriesFailOverToTheNextChannel) {
  DispatcherOptions o;
  o.retry = {1000ms, 2.0, 10'000ms, 5};
  o.retry_by_channel["sms"] = {1000ms, 2.0, 10'000ms, 2};
  notifier_.script["sms"] = {SendResult::Retryable("timeout"), SendResult::Retryable("timeout")};
  Enqueue(Page("k"), {"sms", "email"});
  auto d = Make(o);
  EXPECT_EQ(Run(d).retried, 1);
  clock_.Advance(1s);
  EXPECT_EQ(Run(d).failed_over, 1);
  const Item it = MustGet(*box_, "k");
  EXPECT_EQ(it.channel(), "email");
  EXPECT_EQ(it.attempts, 2);
  EXPECT_EQ(Run(d).sent, 1);
  EXPECT_EQ(notifier_.calls, (std::vector<std::string>{"sms:k", "sms:k", "email:k"}));
}

TEST_F(DispatcherTest, ExhaustedChainIsFailedAndKept) {
  DispatcherOptions o;
  o.retry = {1000ms, 2.0, 10'000ms, 1};
  notifier_.script["sms"] = {SendResult::Retryable("gateway down")};
  notifier_.script["email"] = {SendResult::Permanent("550 no such user")};
  Enqueue(Page("k"), {"sms", "email"});
  auto d = Make(o);
  EXPECT_EQ(Run(d).failed_over, 1);
  ProcessReport r = Run(d);
  EXPECT_EQ(r.failed, 1);
  EXPECT_FALSE(r.next_due_ms.has_value());
  const Item it = MustGet(*box_, "k");
  EXPECT_EQ(it.state, State::kFailed);
  EXPECT_EQ(it.channel(), "");
  EXPECT_NE(it.detail.find("550 no such user"), std::string::npos);
  EXPECT_EQ(Run(d).failed, 0);  // nothing more happens to it
  EXPECT_EQ(box_->DepthByState()->at(State::kFailed), 1);
  auto counts = *box_->CountsByChannel();
  EXPECT_EQ(counts["email"].failed_items, 1u);
  EXPECT_EQ(counts["email"].permanent, 1u);
  EXPECT_EQ(counts["sms"].retryable, 1u);
  EXPECT_EQ(box_->Attempts("k")->size(), 2u);
}

TEST_F(DispatcherTest, AThrowingHookIsARetryableAttempt) {
  Enqueue(Page("k"), {"sms"});
  DispatcherOptions o;
  o.rng = [] { return uint64_t{0}; };
  o.clock = &clock_;
  Dispatcher d(*box_, [](const std::string&, const Notification&) -> SendResult {
    throw std::runtime_error("boom");
  }, o);
  auto r = d.Process();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->retried, 1);
  auto attempts = *box_->Attempts("k");
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].result, AttemptResult::kRetryable);
  EXPECT_NE(attempts[0].detail.find("boom"), std::string::npos);
}

TEST_F(DispatcherTest, CancelledItemsAreNotSent) {
  Enqueue(Page("t1"), {"sms"});
  Enqueue(Page("t2"), {"sms"}, Now() + 1000);
  auto d = Make();
  EXPECT_EQ(Run(d).sent, 1);
  EXPECT_EQ(*box_->CancelIncident("inc1", {"trigger"}), 1);
  clock_.Advance(2s);
  EXPECT_EQ(Run(d).sent, 0);
  EXPECT_EQ(notifier_.calls, (std::vector<std::string>{"sms:t1"}));
}

// Interrupted sends found at Open count as attempts: a page that kills the process
// every time it is sent fails over instead of crash-looping.
TEST_F(DispatcherTest, InterruptedAttemptsCountTowardsFailover) {
  DispatcherOptions o;
  o.retry = {1000ms, 2.0, 10'000ms, 1};
  Enqueue(Page("k"), {"sms", "email"});
  ASSERT_TRUE(*box_->Claim("k"));
  box_.reset();  // "crash": the claim is committed, the outcome never is
  box_ = MustOpen(dir_.File("outbox.db"), clock_);
  ASSERT_EQ(box_->recovered_at_open(), 1);
  auto d = Make(o);
  ProcessReport r = Run(d);
  EXPECT_EQ(r.failed_over, 1);
  EXPECT_EQ(r.sent, 1);
  EXPECT_EQ(notifier_.calls, (std::vector<std::string>{"email:k"}));
  auto attempts = *box_->Attempts("k");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].result, AttemptResult::kInterrupted);
  EXPECT_EQ(attempts[1].channel, "email");
}

TEST_F(DispatcherTest, RateLimitHoldsPagesAndSendsOneSummaryWhenTokensReturn) {
  DispatcherOptions o;
  o.per_contact["sms"] = {2, 10min};  // refills one token every 5 minutes
  for (int i = 1; i <= 5; ++i) Enqueue(Page("p" + std::to_string(i)), {"sms", "email"});
  Enqueue(Page("bob1", "inc1", "trigger", "bob"), {"sms"});
  auto d = Make(o);
  ProcessReport r = Run(d);
  EXPECT_EQ(r.sent, 3);  // p1, p2 and bob's (bob has his own bucket)
  EXPECT_EQ(r.held, 3);
  for (const char* k : {"p3", "p4", "p5"}) {
    EXPECT_EQ(MustGet(*box_, k).state, State::kHeld) << k;
  }
  EXPECT_EQ(box_->DepthByState()->at(State::kHeld), 3);
  EXPECT_EQ(box_->Pending()->size(), 3u);

  // A new page for the same pair joins the held ones, even once a token is back.
  clock_.Advance(1min);
  Enqueue(Page("p6"), {"sms"});
  r = Run(d);
  EXPECT_EQ(r.held, 1);
  EXPECT_EQ(r.summaries, 0);

  clock_.Advance(4min);  // one token
  notifier_.calls.clear();
  r = Run(d);
  EXPECT_EQ(r.summaries, 1);
  EXPECT_EQ(r.sent, 1);
  ASSERT_EQ(notifier_.calls, (std::vector<std::string>{"sms:summary/p3"}));
  const Notification& s = notifier_.seen.back();
  EXPECT_EQ(s.kind, "summary");
  EXPECT_EQ(s.contact, "alice");
  EXPECT_EQ(s.address, "+15550100");
  EXPECT_EQ(s.subject, "4 more pages held back by rate limit");
  EXPECT_EQ(s.text,
            "4 more pages held back by rate limit: subject of p3; subject of p4; subject of p5; "
            "subject of p6");
  for (const char* k : {"p3", "p4", "p5", "p6"}) {
    const Item it = MustGet(*box_, k);
    EXPECT_EQ(it.state, State::kSummarized) << k;
    EXPECT_EQ(it.summary_key, "summary/p3");
  }
  const Item summary = MustGet(*box_, "summary/p3");
  EXPECT_EQ(summary.state, State::kSent);
  EXPECT_EQ(summary.channel_chain, (std::vector<std::string>{"sms", "email"}));
  EXPECT_EQ(box_->DepthByState()->at(State::kSummarized), 4);

  // The bucket is empty again: the next page is held, and alone it goes out as itself.
  Enqueue(Page("p7"), {"sms"});
  notifier_.calls.clear();
  EXPECT_EQ(Run(d).held, 1);
  clock_.Advance(5min);
  r = Run(d);
  EXPECT_EQ(r.released, 1);
  EXPECT_EQ(notifier_.calls, (std::vector<std::string>{"sms:p7"}));
  EXPECT_EQ(MustGet(*box_, "p7").state, State::kSent);
}

TEST_F(DispatcherTest, PerChannelLimitCoversEveryContact) {
  DispatcherOptions o;
  o.per_channel["sms"] = {2, 1min};
  Enqueue(Page("a", "inc1", "trigger", "alice"), {"sms"});
  Enqueue(Page("b", "inc1", "trigger", "bob"), {"sms"});
  Enqueue(Page("c", "inc1", "trigger", "carol"), {"sms"});
  Enqueue(Page("e", "inc1", "trigger", "carol"), {"email"});  // other channel: unlimited
  auto d = Make(o);
  ProcessReport r = Run(d);
  EXPECT_EQ(r.sent, 3);
  EXPECT_EQ(r.held, 1);
  EXPECT_EQ(MustGet(*box_, "c").state, State::kHeld);
  clock_.Advance(30s);
  EXPECT_EQ(Run(d).released, 1);
  EXPECT_EQ(MustGet(*box_, "c").state, State::kSent);
}

TEST_F(DispatcherTest, HeldPagesOfAnAckedIncidentAreCancelled) {
  DispatcherOptions o;
  o.per_contact["sms"] = {1, 10min};
  Enqueue(Page("p1"), {"sms"});
  Enqueue(Page("p2"), {"sms"});
  Enqueue(Page("p3"), {"sms"});
  auto d = Make(o);
  EXPECT_EQ(Run(d).held, 2);
  EXPECT_EQ(*box_->CancelIncident("inc1", {"trigger"}), 2);
  clock_.Advance(1h);
  ProcessReport r = Run(d);
  EXPECT_EQ(r.summaries, 0);
  EXPECT_EQ(r.sent, 0);
  EXPECT_EQ(notifier_.calls, (std::vector<std::string>{"sms:p1"}));
}

TEST_F(DispatcherTest, SummaryAndItsPagesSurviveAReopen) {
  DispatcherOptions o;
  o.per_contact["sms"] = {1, 10min};
  Enqueue(Page("p1"), {"sms"});
  Enqueue(Page("p2"), {"sms"});
  Enqueue(Page("p3"), {"sms"});
  {
    auto d = Make(o);
    Run(d);
  }
  box_.reset();
  box_ = MustOpen(dir_.File("outbox.db"), clock_);
  EXPECT_EQ(MustGet(*box_, "p2").state, State::kHeld);
  // Buckets are in memory: a restart starts them full (fail open), so the held pages
  // go out at once as one summary.
  auto d = Make(o);
  ProcessReport r = Run(d);
  EXPECT_EQ(r.summaries, 1);
  EXPECT_EQ(notifier_.calls, (std::vector<std::string>{"sms:p1", "sms:summary/p2"}));
}

TEST_F(DispatcherTest, PrunesPastRetentionAtFirstCallThenAtMostOncePerInterval) {
  DispatcherOptions o;
  o.retention = 1h;
  o.prune_interval = 6h;
  o.prune_keep = [] { return std::vector<std::string>{"open"}; };
  auto d = Make(o);
  Enqueue(Page("a"), {"sms"});
  Enqueue(Page("b", "open"), {"sms"});
  EXPECT_EQ(Run(d).sent, 2);  // the first call pruned too (nothing old yet)

  clock_.Advance(2h);  // past retention, within the prune interval: kept
  Run(d);
  EXPECT_EQ(MustGet(*box_, "a").state, State::kSent);

  clock_.Advance(5h);  // 7 h since the last prune
  Run(d);
  EXPECT_FALSE(box_->Get("a")->has_value());
  EXPECT_TRUE(box_->Attempts("a")->empty());
  EXPECT_EQ(MustGet(*box_, "b").state, State::kSent);  // its incident is kept
  EXPECT_EQ(box_->CountsByChannel()->at("sms").delivered, 2u);
}

TEST_F(DispatcherTest, ZeroRetentionKeepsEverything) {
  auto d = Make();
  Enqueue(Page("a"), {"sms"});
  Run(d);
  clock_.Advance(24h * 365);
  Run(d);
  EXPECT_EQ(MustGet(*box_, "a").state, State::kSent);
}

// The cluster gate (docs/cluster.md): a peer delivered it -> cancelled, not sent; a peer
// goes first -> the due time moves and the item goes out when the gate says so.
TEST_F(DispatcherTest, ClusterGateSkipsDefersAndSends) {
  Enqueue(Page("peer-sent"), {"sms"});
  Enqueue(Page("wait"), {"sms"});
  DispatcherOptions o;
  int64_t release_at = Now() + 5000;
  o.gate = [&](const Item& item, int64_t now_ms) {
    if (item.key() == "peer-sent") return GateDecision::Skip("delivered by collector b");
    if (now_ms < release_at) return GateDecision::Defer(release_at, "rank 1");
    return GateDecision::Send();
  };
  auto d = Make(std::move(o));
  ProcessReport r = Run(d);
  EXPECT_EQ(r.sent, 0);
  EXPECT_EQ(r.skipped, 1);
  EXPECT_EQ(r.deferred, 1);
  EXPECT_EQ(r.next_due_ms, release_at);
  auto skipped = box_->Get("peer-sent");
  ASSERT_TRUE(skipped.ok() && skipped->has_value());
  EXPECT_EQ((*skipped)->state, State::kCancelled);
  EXPECT_EQ((*skipped)->detail, "delivered by collector b");
  // The log a peer sees: nothing was claimed or delivered here yet.
  EXPECT_TRUE(box_->Log(0)->empty());

  clock_.Advance(5s);
  r = Run(d);
  EXPECT_EQ(r.sent, 1);
  EXPECT_EQ(notifier_.calls, (std::vector<std::string>{"sms:wait"}));
  auto log = box_->Log(0);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].key, "wait");
  EXPECT_EQ((*log)[0].state, State::kSent);
}

// ---- Process(channel): what one channel's sender thread runs ----

TEST_F(DispatcherTest, ProcessOfOneChannelSendsOnlyThatChannelsItems) {
  Enqueue(Page("e1"), {"email"});
  Enqueue(Page("s1"), {"sms"});
  Enqueue(Page("s2"), {"sms"}, Now() + 5000);
  Enqueue(Page("e2"), {"email"}, Now() + 9000);
  auto d = Make();
  ProcessReport r = *d.Process("sms");
  EXPECT_EQ(r.sent, 1);
  EXPECT_EQ(notifier_.calls, (std::vector<std::string>{"sms:s1"}));
  EXPECT_EQ(r.next_due_ms, Now() + 5000);  // sms's own next item, not email's
  EXPECT_TRUE(r.handoffs.empty());
  EXPECT_EQ(MustGet(*box_, "e1").state, State::kPending);

  r = *d.Process("email");
  EXPECT_EQ(r.sent, 1);
  EXPECT_EQ(r.next_due_ms, Now() + 9000);
  EXPECT_EQ(notifier_.calls, (std::vector<std::string>{"sms:s1", "email:e1"}));
  EXPECT_EQ(d.Process("pager")->sent, 0);  // a channel with nothing: no-op
}

// An item that fails over leaves this channel: it is named in handoffs and goes out on
// the next channel's call, not on this one (that channel's sender may be busy or free).
TEST_F(DispatcherTest, FailoverIsHandedOffToTheNextChannel) {
  notifier_.script["email"] = {SendResult::Permanent("550 no such user")};
  Enqueue(Page("k"), {"email", "sms"});
  auto d = Make();
  ProcessReport r = *d.Process("email");
  EXPECT_EQ(r.failed_over, 1);
  EXPECT_EQ(r.handoffs, (std::vector<std::string>{"sms"}));
  EXPECT_FALSE(r.next_due_ms.has_value());  // nothing left for email
  EXPECT_EQ(notifier_.calls, (std::vector<std::string>{"email:k"}));
  EXPECT_EQ(MustGet(*box_, "k").channel(), "sms");

  r = *d.Process("sms");
  EXPECT_EQ(r.sent, 1);
  EXPECT_EQ(notifier_.calls, (std::vector<std::string>{"email:k", "sms:k"}));
}

// Interrupted attempts that used up the channel fail over without a send; with one
// channel per call the item is handed off instead of sent on the next channel here.
TEST_F(DispatcherTest, UsedUpChannelFoundAtOpenIsHandedOff) {
  DispatcherOptions o;
  o.retry = {1000ms, 2.0, 10'000ms, 1};
  Enqueue(Page("k"), {"sms", "email"});
  ASSERT_TRUE(*box_->Claim("k"));
  box_.reset();
  box_ = MustOpen(dir_.File("outbox.db"), clock_);
  auto d = Make(o);
  ProcessReport r = *d.Process("sms");
  EXPECT_EQ(r.failed_over, 1);
  EXPECT_EQ(r.sent, 0);
  EXPECT_EQ(r.handoffs, (std::vector<std::string>{"email"}));
  EXPECT_TRUE(notifier_.calls.empty());
  EXPECT_EQ(d.Process("email")->sent, 1);
  EXPECT_EQ(notifier_.calls, (std::vector<std::string>{"email:k"}));
}

// Rate limits stay per (contact, channel) and per channel: holds and the summary happen
// on the held channel's own calls; another channel of the same contact is unaffected.
TEST_F(DispatcherTest, RateLimitsAndSummariesWorkPerChannel) {
  DispatcherOptions o;
  o.per_contact["sms"] = {1, 10min};
  for (const char* k : {"p1", "p2", "p3"}) Enqueue(Page(k), {"sms", "email"});
  Enqueue(Page("m1"), {"email"});
  auto d = Make(o);
  ProcessReport r = *d.Process("sms");
  EXPECT_EQ(r.sent, 1);
  EXPECT_EQ(r.held, 2);
  EXPECT_EQ(d.Process("email")->sent, 1);  // alice's email is not held by her sms limit
  clock_.Advance(10min);
  EXPECT_EQ(d.Process("email")->summaries, 0);  // email's calls leave sms's held items be
  r = *d.Process("sms");
  EXPECT_EQ(r.summaries, 1);
  EXPECT_EQ(r.sent, 1);
  EXPECT_EQ(notifier_.calls,
            (std::vector<std::string>{"sms:p1", "email:m1", "sms:summary/p2"}));
  EXPECT_EQ(MustGet(*box_, "p3").state, State::kSummarized);
}

// The point of it: a send that hangs on one channel does not hold up another channel's
// call, which runs on another thread meanwhile.
TEST_F(DispatcherTest, ChannelsAreProcessedConcurrently) {
  GatedHook hook;
  hook.Block("email");
  Enqueue(Page("e1"), {"email"});
  Enqueue(Page("s1"), {"sms"});
  DispatcherOptions o;
  o.clock = &clock_;
  Dispatcher d(*box_, [&hook](const std::string& c, const Notification& n) { return hook(c, n); },
               o);
  auto email = std::async(std::launch::async, [&] { return d.Process("email"); });
  ASSERT_TRUE(hook.WaitStarted("email:e1"));
  auto sms = std::async(std::launch::async, [&] { return d.Process("sms"); });
  const bool sms_done = sms.wait_for(kDeadline) == std::future_status::ready;
  hook.Release("email");  // before any assertion can return: the futures join on exit
  ASSERT_TRUE(sms_done) << "Process(\"sms\") waited for the hung email send";
  auto sms_report = sms.get();
  ASSERT_TRUE(sms_report.ok());
  EXPECT_EQ(sms_report->sent, 1);
  auto email_report = email.get();
  ASSERT_TRUE(email_report.ok());
  EXPECT_EQ(email_report->sent, 1);
  EXPECT_EQ(MustGet(*box_, "e1").state, State::kSent);
  EXPECT_EQ(MustGet(*box_, "s1").state, State::kSent);
}

// Process() takes every channel and stops before its next send when asked to.
TEST_F(DispatcherTest, StopTokenEndsACallBeforeItsNextSend) {
  Enqueue(Page("a"), {"sms"});
  Enqueue(Page("b"), {"sms"});
  std::stop_source stop;
  DispatcherOptions o;
  o.clock = &clock_;
  std::vector<std::string> calls;
  Dispatcher d(*box_, [&](const std::string& c, const Notification& n) {
    calls.push_back(c + ":" + n.idempotency_key);
    stop.request_stop();  // asked while "a" is being sent
    return SendResult::Delivered("ok");
  }, o);
  ProcessReport r = *d.Process(stop.get_token());
  EXPECT_EQ(r.sent, 1);
  EXPECT_EQ(calls, (std::vector<std::string>{"sms:a"}));
  EXPECT_EQ(MustGet(*box_, "a").state, State::kSent);  // the send in flight is recorded
  EXPECT_EQ(MustGet(*box_, "b").state, State::kPending);
  EXPECT_EQ(r.next_due_ms, Now());
}

}  // namespace
}  // namespace firewatch::alerting::outbox
