// The outbox's storage contract: idempotent enqueue, due ordering, cancel, reopen,
// crash recovery (with a real process crash) and SQLite errors as Status values.
#include "outbox/outbox.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "outbox/dispatcher.h"
#include "outbox/test/test_util.h"
#include "sqlite/restore_dump.h"

namespace firewatch::alerting::outbox {
namespace {

using testing::MustGet;
using testing::MustOpen;
using testing::Page;
using testing::TempDir;

class OutboxTest : public ::testing::Test {
 protected:
  TempDir dir_;
  FakeClock clock_;
  std::string path_ = dir_.File("outbox.db");
  int64_t Now() const { return ToUnixMillis(clock_.WallNow()); }
};

TEST_F(OutboxTest, EnqueueIsIdempotentByKey) {
  auto box = MustOpen(path_, clock_);
  auto first = box->Enqueue(Page("k1"), {"sms", "email"}, Now());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, EnqueueOutcome::kEnqueued);

  Notification changed = Page("k1");
  changed.subject = "recomputed after a restart";
  auto again = box->Enqueue(changed, {"email"}, Now() + 5000);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, EnqueueOutcome::kAlreadyKnown);

  const Item it = MustGet(*box, "k1");
  EXPECT_EQ(it.notification.subject, "subject of k1");  // the first one stays
  EXPECT_EQ(it.channel_chain, (std::vector<std::string>{"sms", "email"}));
  EXPECT_EQ(it.due_ms, Now());
  EXPECT_EQ(it.state, State::kPending);
  EXPECT_EQ(box->DepthByState()->at(State::kPending), 1);

  // Still known after it was sent: a recomputed escalation must not page again.
  ASSERT_TRUE(*box->Claim("k1"));
  ASSERT_TRUE(box->Record("k1", {0, "sms", 0, AttemptResult::kDelivered, "ok"},
                          {State::kSent, 0, 1, it.due_ms, "delivered"})
                  .ok());
  EXPECT_EQ(*box->Enqueue(Page("k1"), {"sms"}, Now()), EnqueueOutcome::kAlreadyKnown);
}

TEST_F(OutboxTest, EnqueueRejectsBadInput) {
  auto box = MustOpen(path_, clock_);
  EXPECT_EQ(box->Enqueue(Page(""), {"sms"}, 0).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(box->Enqueue(Page("k"), {}, 0).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(box->Enqueue(Page("k"), {"sms", ""}, 0).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(box->Enqueue(Page("k"), {"s m s"}, 0).status().code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(box->Get("k")->has_value());
}

TEST_F(OutboxTest, DueReturnsItemsByDueTimeThenEnqueueOrder) {
  auto box = MustOpen(path_, clock_);
  const int64_t t = Now();
  ASSERT_TRUE(box->Enqueue(Page("c"), {"sms"}, t + 300).ok());
  ASSERT_TRUE(box->Enqueue(Page("a"), {"sms"}, t + 100).ok());
  ASSERT_TRUE(box->Enqueue(Page("b"), {"sms"}, t + 100).ok());
  ASSERT_TRUE(box->Enqueue(Page("later"), {"sms"}, t + 10'000).ok());

  auto keys = [](const std::vector<Item>& items) {
    std::vector<std::string> out;
    for (const Item& i : items) out.push_back(i.key());
    return out;
  };
  EXPECT_TRUE(box->Due(t + 99, 10)->empty());
  EXPECT_EQ(keys(*box->Due(t + 100, 10)), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(keys(*box->Due(t + 1000, 10)), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(keys(*box->Due(t + 1000, 2)), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(**box->NextDueMs(), t + 100);
  EXPECT_EQ(keys(*box->Pending()), (std::vector<std::string>{"a", "b", "c", "later"}));

  // A claimed item is no longer due, and cannot be claimed twice.
  ASSERT_TRUE(*box->Claim("a"));
  EXPECT_FALSE(*box->Claim("a"));
  EXPECT_EQ(keys(*box->Due(t + 1000, 10)), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(MustGet(*box, "a").state, State::kSending);
  EXPECT_EQ(MustGet(*box, "a").claimed_ms, t);
}

// What one per-channel sender sees: due, held and next due of its channel only, by the
// item's current channel (which follows failover); and where work waits at all.
TEST_F(OutboxTest, ChannelFilteredQueriesFollowTheCurrentChannel) {
  auto box = MustOpen(path_, clock_);
  const int64_t t = Now();
  ASSERT_TRUE(box->Enqueue(Page("m1"), {"email", "sms"}, t + 100).ok());
  ASSERT_TRUE(box->Enqueue(Page("s1"), {"sms"}, t + 200).ok());
  ASSERT_TRUE(box->Enqueue(Page("m2"), {"email"}, t + 300).ok());
  ASSERT_TRUE(box->Enqueue(Page("h1"), {"pager"}, t).ok());
  ASSERT_TRUE(box->Enqueue(Page("done"), {"old"}, t).ok());
  auto keys = [](const Result<std::vector<Item>>& items) {
    std::vector<std::string> out;
    for (const Item& i : *items) out.push_back(i.key());
    return out;
  };
  EXPECT_EQ(keys(box->Due(t + 1000, 10, "email")), (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(keys(box->Due(t + 1000, 10, "sms")), (std::vector<std::string>{"s1"}));
  EXPECT_EQ(keys(box->Due(t + 1000, 1, "email")), (std::vector<std::string>{"m1"}));
  EXPECT_TRUE(box->Due(t + 1000, 10, "nothing")->empty());
  EXPECT_EQ(**box->NextDueMs("email"), t + 100);
  EXPECT_EQ(**box->NextDueMs("sms"), t + 200);
  EXPECT_FALSE(box->NextDueMs("nothing")->has_value());

  // m1 fails over to sms: it is sms's now.
  ASSERT_TRUE(*box->Move("m1", State::kPending, {State::kPending, 1, 0, t + 50, "failed over"}));
  EXPECT_EQ(keys(box->Due(t + 1000, 10, "sms")), (std::vector<std::string>{"m1", "s1"}));
  EXPECT_EQ(**box->NextDueMs("email"), t + 300);
  // h1 is held on pager; "done" is final on "old": not active any more.
  ASSERT_TRUE(*box->Move("h1", State::kPending, {State::kHeld, 0, 0, t, "held"}));
  ASSERT_TRUE(*box->Move("done", State::kPending, {State::kCancelled, 0, 0, t, "acked"}));
  ASSERT_EQ(box->Held("pager")->size(), 1u);
  EXPECT_TRUE(box->Held("sms")->empty());
  EXPECT_EQ(box->Held()->size(), 1u);
  EXPECT_EQ(*box->ActiveChannels(), (std::vector<std::string>{"email", "pager", "sms"}));
}

TEST_F(OutboxTest, CancelIncidentCancelsOnlyUnsentTriggersOfThatIncident) {
  auto box = MustOpen(path_, clock_);
  ASSERT_TRUE(box->Enqueue(Page("t1"), {"sms"}, Now()).ok());
  ASSERT_TRUE(box->Enqueue(Page("t2"), {"sms"}, Now() + 60'000).ok());
  ASSERT_TRUE(box->Enqueue(Page("t3"), {"sms"}, Now()).ok());
  ASSERT_TRUE(box->Enqueue(Page("r1", "inc1", "resolve"), {"sms"}, Now()).ok());
  ASSERT_TRUE(box->Enqueue(Page("other", "inc2"), {"sms"}, Now()).ok());
  ASSERT_TRUE(*box->Claim("t3"));  // in flight: cannot be taken back

  auto n = box->CancelIncident("inc1", {"trigger"});
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(MustGet(*box, "t1").state, State::kCancelled);
  EXPECT_EQ(MustGet(*box, "t2").state, State::kCancelled);
  EXPECT_EQ(MustGet(*box, "t3").state, State::kSending);
  EXPECT_EQ(MustGet(*box, "r1").state, State::kPending);
  EXPECT_EQ(MustGet(*box, "other").state, State::kPending);
  EXPECT_FALSE(*box->Claim("t1"));
  EXPECT_EQ(*box->CancelIncident("inc1", {"trigger"}), 0);
  EXPECT_EQ(*box->CancelIncident("nope", {"trigger", "resolve"}), 0);
}

TEST_F(OutboxTest, ReopenPreservesEverythingByteForByte) {
  Notification n = Page("k1");
  n.subject = "disk \xe9t\xe9 93% on db-1";  // Latin-1 from a Nagios plugin: not UTF-8
  n.ack_url = "https://c1.example/ack?sig=abc";
  n.group_labels = {{"dc", "pangyo"}, {"alertname", "HostDown"}};
  Alert a;
  a.labels = {{"source", "db-1"}, {"dc", "pangyo"}};
  a.annotations = {{"runbook", "call the DC"}};
  a.starts_at_ms = 1'665'800'000'000;
  a.status = AlertStatus::kResolved;
  a.ends_at_ms = 1'665'800'060'000;
  a.generator_url = "http://c1/source/db-1";
  n.alerts = {a, a};
  n.alerts[1].labels["source"] = "db-2";
  {
    auto box = MustOpen(path_, clock_);
    ASSERT_TRUE(box->Enqueue(n, {"sms", "email"}, Now() + 10).ok());
    ASSERT_TRUE(box->Enqueue(Page("k2"), {"email"}, Now()).ok());
    ASSERT_TRUE(*box->Claim("k2"));
    ASSERT_TRUE(box->Record("k2", {0, "email", Now(), AttemptResult::kRetryable, "421 busy"},
                            {State::kPending, 0, 1, Now() + 5000, "retry"})
                    .ok());
  }
  auto box = MustOpen(path_, clock_);
  EXPECT_EQ(box->recovered_at_open(), 0);
  const Item it = MustGet(*box, "k1");
  const Notification& m = it.notification;
  EXPECT_EQ(m.idempotency_key, n.idempotency_key);
  EXPECT_EQ(m.incident_id, n.incident_id);
  EXPECT_EQ(m.kind, n.kind);
  EXPECT_EQ(m.contact, n.contact);
  EXPECT_EQ(m.address, n.address);
  EXPECT_EQ(m.subject, n.subject);
  EXPECT_EQ(m.text, n.text);
  EXPECT_EQ(m.ack_url, n.ack_url);
  EXPECT_EQ(m.group_labels, n.group_labels);
  ASSERT_EQ(m.alerts.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(m.alerts[i].labels, n.alerts[i].labels);
    EXPECT_EQ(m.alerts[i].annotations, n.alerts[i].annotations);
    EXPECT_EQ(m.alerts[i].starts_at_ms, n.alerts[i].starts_at_ms);
    EXPECT_EQ(m.alerts[i].ends_at_ms, n.alerts[i].ends_at_ms);
    EXPECT_EQ(m.alerts[i].status, n.alerts[i].status);
    EXPECT_EQ(m.alerts[i].generator_url, n.alerts[i].generator_url);
  }
  EXPECT_EQ(it.due_ms, Now() + 10);
  EXPECT_EQ(it.enqueued_ms, Now());

  const Item k2 = MustGet(*box, "k2");
  EXPECT_EQ(k2.state, State::kPending);
  EXPECT_EQ(k2.attempts, 1);
  EXPECT_EQ(k2.channel_attempts, 1);
  EXPECT_EQ(k2.due_ms, Now() + 5000);
  auto attempts = box->Attempts("k2");
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ((*attempts)[0].number, 1);
  EXPECT_EQ((*attempts)[0].channel, "email");
  EXPECT_EQ((*attempts)[0].result, AttemptResult::kRetryable);
  EXPECT_EQ((*attempts)[0].detail, "421 busy");
  EXPECT_TRUE(box->Attempts("unknown")->empty());
}

// The real thing: a child process claims an item, reaches the send hook and dies there
// (_exit: no destructors, no Record). The parent reopens and delivers it exactly once.
TEST_F(OutboxTest, CrashWhileSendingIsRedeliveredAfterReopen) {
  {
    auto box = MustOpen(path_, clock_);
    ASSERT_TRUE(box->Enqueue(Page("k1"), {"sms", "email"}, Now()).ok());
    ASSERT_TRUE(box->Enqueue(Page("k2"), {"sms"}, Now() + 60'000).ok());
  }
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    FakeClock clock;
    OutboxOptions o;
    o.clock = &clock;
    auto box = Outbox::Open(path_, o);
    if (!box.ok()) _exit(1);
    DispatcherOptions d;
    d.clock = &clock;
    Dispatcher dispatcher(**box, [](const std::string&, const Notification&) -> SendResult {
      _exit(42);  // the provider has it; we die before recording
    }, d);
    (void)dispatcher.Process();
    _exit(2);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 42) << "the child should have died inside the send hook";

  clock_.Advance(std::chrono::seconds(30));
  auto box = MustOpen(path_, clock_);
  EXPECT_EQ(box->recovered_at_open(), 1);
  Item it = MustGet(*box, "k1");
  EXPECT_EQ(it.state, State::kPending);
  EXPECT_EQ(it.due_ms, Now());
  EXPECT_EQ(it.attempts, 1);
  auto attempts = *box->Attempts("k1");
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].result, AttemptResult::kInterrupted);
  EXPECT_EQ(attempts[0].channel, "sms");
  EXPECT_EQ(MustGet(*box, "k2").state, State::kPending);  // untouched

  std::vector<std::string> sent;
  DispatcherOptions d;
  d.clock = &clock_;
  Dispatcher dispatcher(*box, [&](const std::string& channel, const Notification& n) {
    sent.push_back(channel + ":" + n.idempotency_key);
    return SendResult::Delivered("queued");
  }, d);
  ASSERT_TRUE(dispatcher.Process().ok());
  ASSERT_TRUE(dispatcher.Process().ok());
  EXPECT_EQ(sent, (std::vector<std::string>{"sms:k1"}));
  EXPECT_EQ(MustGet(*box, "k1").state, State::kSent);
  attempts = *box->Attempts("k1");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[1].number, 2);
  EXPECT_EQ(attempts[1].result, AttemptResult::kDelivered);

  // A third open finds nothing to recover.
  box.reset();
  box = MustOpen(path_, clock_);
  EXPECT_EQ(box->recovered_at_open(), 0);
}

TEST_F(OutboxTest, MissingDirectoryIsIoError) {
  auto r = Outbox::Open(dir_.File("no/such/dir/outbox.db"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIoError);
  EXPECT_NE(r.status().message().find("does not exist"), std::string::npos);
}

TEST_F(OutboxTest, NotAnSqliteFileIsCorruption) {
  std::ofstream(path_) << "smtp:\n  host: mail.example\n" << std::string(4096, 'x');
  auto r = Outbox::Open(path_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << r.status().ToString();
}

TEST_F(OutboxTest, AnotherApplicationsDatabaseIsCorruption) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto r = Outbox::Open(path_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find("not a firewatch outbox"), std::string::npos);
}

TEST_F(OutboxTest, NewerSchemaIsCorruption) {
  { auto box = MustOpen(path_, clock_); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto r = Outbox::Open(path_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find("newer firewatch"), std::string::npos);
}

// outbox.db as written by the release before the SQLite foundation (schema 2;
// tests/testdata/storage/README.md): opened as it is, every item and attempt read back.
TEST_F(OutboxTest, OpensOutboxDbFromBeforeTheFoundation) {
  ASSERT_TRUE(
      sqlite::testing::RestoreDump(sqlite::testing::StorageTestdata("outbox.sql"), path_).ok());
  auto box = MustOpen(path_, clock_);
  EXPECT_EQ(box->recovered_at_open(), 0);
  const Item page = MustGet(*box, "SHBR68/0/0/alice/sms");
  EXPECT_EQ(page.state, State::kSent);
  EXPECT_EQ(page.notification.incident_id, "SHBR68");
  EXPECT_EQ(page.notification.kind, "trigger");
  EXPECT_EQ(page.notification.contact, "alice");
  EXPECT_EQ(page.channel_chain, (std::vector<std::string>{"sms"}));
  auto attempts = box->Attempts("SHBR68/0/0/alice/sms");
  ASSERT_TRUE(attempts.ok()) << attempts.status().ToString();
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ(attempts->front().result, AttemptResult::kDelivered);
  auto items = box->ForIncident("SHBR68");
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  EXPECT_EQ(items->size(), 4u);
  EXPECT_EQ(MustGet(*box, "SHBR68/acknowledge/alice/email").notification.kind, "acknowledge");
  // Still known: a restart recomputing the escalation does not page again.
  EXPECT_EQ(*box->Enqueue(Page("SHBR68/0/0/alice/sms"), {"sms"}, Now()),
            EnqueueOutcome::kAlreadyKnown);
  box.reset();
  auto header = sqlite::testing::ReadHeader(path_);
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_EQ(header->application_id, 0x46574F42);
  EXPECT_EQ(header->user_version, 2);
}

// Another connection (an operator's sqlite3 shell) holds the write lock: writes fail
// with IoError after busy_timeout instead of blocking or throwing, and nothing is lost.
TEST_F(OutboxTest, LockedDatabaseSurfacesAsIoError) {
  OutboxOptions o;
  o.clock = &clock_;
  o.busy_timeout = std::chrono::milliseconds(20);
  auto opened = Outbox::Open(path_, o);
  ASSERT_TRUE(opened.ok());
  auto& box = *opened;
  ASSERT_TRUE(box->Enqueue(Page("k1"), {"sms"}, Now()).ok());

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto r = box->Enqueue(Page("k2"), {"sms"}, Now());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIoError);
  EXPECT_NE(r.status().message().find("locked"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(box->Claim("k1").status().code(), Status::Code::kIoError);
  EXPECT_EQ(box->CancelIncident("inc1", {"trigger"}).status().code(), Status::Code::kIoError);
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);

  EXPECT_EQ(*box->Enqueue(Page("k2"), {"sms"}, Now()), EnqueueOutcome::kEnqueued);
  EXPECT_EQ(MustGet(*box, "k1").state, State::kPending);
}

// The database is locked exactly while the provider accepts the page: the outcome
// cannot be committed. Process() reports the error, keeps the outcome, and records it
// on the next call without sending again.
TEST_F(OutboxTest, OutcomeThatCannotBeCommittedIsRecordedLaterWithoutResending) {
  OutboxOptions o;
  o.clock = &clock_;
  o.busy_timeout = std::chrono::milliseconds(20);
  auto opened = Outbox::Open(path_, o);
  ASSERT_TRUE(opened.ok());
  auto& box = *opened;
  ASSERT_TRUE(box->Enqueue(Page("k1"), {"sms"}, Now()).ok());

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
  int sends = 0;
  DispatcherOptions d;
  d.clock = &clock_;
  Dispatcher dispatcher(*box, [&](const std::string&, const Notification&) {
    ++sends;
    EXPECT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
    return SendResult::Delivered("accepted");
  }, d);
  auto r = dispatcher.Process();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIoError);
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  EXPECT_EQ(MustGet(*box, "k1").state, State::kSending);

  r = dispatcher.Process();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(sends, 1);
  EXPECT_EQ(MustGet(*box, "k1").state, State::kSent);
  EXPECT_EQ(box->Attempts("k1")->size(), 1u);
}

TEST_F(OutboxTest, CorruptPayloadIsCorruptionNamingTheKey) {
  {
    auto box = MustOpen(path_, clock_);
    ASSERT_TRUE(box->Enqueue(Page("k1"), {"sms"}, Now()).ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE notifications SET payload = x'ff00'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto box = MustOpen(path_, clock_);
  auto r = box->Get("k1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find("k1"), std::string::npos);
}

// Retention: old final rows go with their attempts; what is not final, what is recent and
// what belongs to a kept (unresolved) incident stays; the per-channel counts never drop.
TEST_F(OutboxTest, PruneDeletesOldFinalRowsAndKeepsTheirCounts) {
  using namespace std::chrono_literals;
  constexpr int64_t kThirtyDaysMs = 30LL * 24 * 3600 * 1000;
  auto box = MustOpen(path_, clock_);
  auto finish = [&](const std::string& key, AttemptResult result, const Transition& to) {
    ASSERT_TRUE(*box->Claim(key)) << key;
    ASSERT_TRUE(box->Record(key, {0, "sms", 0, result, "reply"}, to).ok()) << key;
  };
  ASSERT_TRUE(box->Enqueue(Page("old-sent"), {"sms"}, Now()).ok());
  finish("old-sent", AttemptResult::kDelivered, {State::kSent, 0, 1, Now(), "delivered"});
  ASSERT_TRUE(box->Enqueue(Page("old-failed"), {"sms", "email"}, Now()).ok());
  finish("old-failed", AttemptResult::kPermanent, {State::kFailed, 2, 0, Now(), "gave up"});
  ASSERT_TRUE(box->Enqueue(Page("old-cancelled"), {"sms"}, Now() + 60'000).ok());
  ASSERT_EQ(*box->CancelIncident("inc1", {"trigger"}), 1);
  ASSERT_TRUE(box->Enqueue(Page("old-pending", "inc2"), {"sms"}, Now() + 3'600'000).ok());
  ASSERT_TRUE(box->Enqueue(Page("open-sent", "inc-open"), {"sms"}, Now()).ok());
  finish("open-sent", AttemptResult::kDelivered, {State::kSent, 0, 1, Now(), "delivered"});
  clock_.Advance(31 * 24h);
  ASSERT_TRUE(box->Enqueue(Page("new-sent", "inc3"), {"sms"}, Now()).ok());
  finish("new-sent", AttemptResult::kDelivered, {State::kSent, 0, 1, Now(), "delivered"});
  const auto before = *box->CountsByChannel();

  auto pruned = box->Prune(Now() - kThirtyDaysMs, {"inc-open"});
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  EXPECT_EQ(pruned->items, 3);     // old-sent, old-failed, old-cancelled
  EXPECT_EQ(pruned->attempts, 2);  // old-sent's and old-failed's
  for (const char* gone : {"old-sent", "old-failed", "old-cancelled"}) {
    EXPECT_FALSE(box->Get(gone)->has_value()) << gone;
    EXPECT_TRUE(box->Attempts(gone)->empty()) << gone;
  }
  EXPECT_EQ(MustGet(*box, "old-pending").state, State::kPending);
  EXPECT_EQ(MustGet(*box, "open-sent").state, State::kSent);
  EXPECT_EQ(box->Attempts("open-sent")->size(), 1u);
  EXPECT_EQ(MustGet(*box, "new-sent").state, State::kSent);

  auto counts_equal = [](const std::map<std::string, ChannelCounts>& a,
                         const std::map<std::string, ChannelCounts>& b) {
    if (a.size() != b.size()) return false;
    for (const auto& [ch, c] : a) {
      auto it = b.find(ch);
      if (it == b.end()) return false;
      const ChannelCounts& d = it->second;
      if (c.delivered != d.delivered || c.retryable != d.retryable ||
          c.permanent != d.permanent || c.interrupted != d.interrupted ||
          c.failed_items != d.failed_items) {
        return false;
      }
    }
    return true;
  };
  EXPECT_TRUE(counts_equal(*box->CountsByChannel(), before));
  EXPECT_EQ(before.at("sms").delivered, 3u);
  EXPECT_EQ(before.at("sms").permanent, 1u);
  EXPECT_EQ(before.at("email").failed_items, 1u);

  // Nothing more to do; the tally survives a reopen and a second prune adds to it.
  pruned = box->Prune(Now() - kThirtyDaysMs, {"inc-open"});
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(pruned->items, 0);
  box.reset();
  box = MustOpen(path_, clock_);
  EXPECT_TRUE(counts_equal(*box->CountsByChannel(), before));
  clock_.Advance(31 * 24h);
  pruned = box->Prune(Now() - kThirtyDaysMs);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(pruned->items, 2);  // open-sent (no longer kept) and new-sent
  EXPECT_TRUE(counts_equal(*box->CountsByChannel(), before));
  EXPECT_EQ(box->DepthByState()->at(State::kPending), 1);

  // A pruned key is forgotten: enqueuing it again is a new page (hence keep_incidents).
  EXPECT_EQ(*box->Enqueue(Page("old-sent"), {"sms"}, Now()), EnqueueOutcome::kEnqueued);
}

}  // namespace
}  // namespace firewatch::alerting::outbox
