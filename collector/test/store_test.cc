#include "store/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>
#include <thread>

#include "sqlite/restore_dump.h"
#include "store/codec.h"

namespace firewatch::collector {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;

constexpr int64_t kDayMs = 24 * 3600 * 1000LL;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/firewatch_store_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/collector.db";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<Store> MustOpen(StoreOptions opts = {}) {
    auto store = Store::Open(path_, std::move(opts));
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // Runs SQL on the file directly (the store must be closed or in WAL mode).
  void RawExec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }

  std::string dir_;
  std::string path_;
};

// A snapshot with every field set to a non-default, awkward value.
SourceSnapshot FullSnapshot(const std::string& id) {
  SourceSnapshot s;
  s.source_id = id;
  s.labels = {{"dc", "pangyo"}, {"role", "db&cache=hot"}, {"team", "näive 100% \n\t\x01"}};
  s.state = SourceState::kStopped;
  s.first_seen_ms = 1'700'000'000'123;
  s.last_seen_ms = 1'700'000'100'456;
  s.state_since_ms = 1'700'000'050'789;
  s.interval_ms = 4'000'000'000u;
  s.agent_version = "0.1.0+git=abc&def";
  s.goodbye_reason = "SIGTERM (systemctl stop)";
  s.checks = {{"disk", protocol::CheckState::kOk, "12% used"},
              {"load", protocol::CheckState::kWarning, "load=7.1&rising"},
              {"ntp", protocol::CheckState::kCritical, std::string("offset\0 9s", 10)},
              {"raid", protocol::CheckState::kUnknown, "\xff\xfe invalid utf-8 \xc3"},
              {"empty", protocol::CheckState::kOk, ""}};
  s.replay.seen = true;
  for (size_t i = 0; i < s.replay.boot_id.size(); ++i) {
    s.replay.boot_id[i] = static_cast<uint8_t>(0xF0 + i * 7);  // wraps through 0
  }
  s.replay.boot_id[3] = 0;
  s.replay.sequence = std::numeric_limits<uint64_t>::max() - 5;
  s.replay.timestamp_ms = 1'700'000'100'400;
  s.replay.floor_ms = 1'700'000'090'000;
  s.heartbeats = (1ULL << 63) + 17;
  s.last_transport = Transport::kHttp;
  s.phi = 4.2;  // not persisted
  return s;
}

void ExpectSameSource(const SourceSnapshot& want, const SourceSnapshot& got) {
  EXPECT_EQ(got.source_id, want.source_id);
  EXPECT_EQ(got.labels, want.labels);
  EXPECT_EQ(got.state, want.state);
  EXPECT_EQ(got.first_seen_ms, want.first_seen_ms);
  EXPECT_EQ(got.last_seen_ms, want.last_seen_ms);
  EXPECT_EQ(got.state_since_ms, want.state_since_ms);
  EXPECT_EQ(got.interval_ms, want.interval_ms);
  EXPECT_EQ(got.agent_version, want.agent_version);
  EXPECT_EQ(got.goodbye_reason, want.goodbye_reason);
  EXPECT_EQ(got.checks, want.checks);
  EXPECT_EQ(got.replay.seen, want.replay.seen);
  EXPECT_EQ(got.replay.boot_id, want.replay.boot_id);
  EXPECT_EQ(got.replay.sequence, want.replay.sequence);
  EXPECT_EQ(got.replay.timestamp_ms, want.replay.timestamp_ms);
  EXPECT_EQ(got.replay.floor_ms, want.replay.floor_ms);
  EXPECT_EQ(got.heartbeats, want.heartbeats);
  EXPECT_EQ(got.last_transport, want.last_transport);
}

Transition MakeTransition(const std::string& id, int64_t at_ms, SourceState to,
                          std::string reason = "because") {
  Transition t;
  t.source_id = id;
  t.labels = {{"dc", "dc1"}};
  t.from = SourceState::kUp;
  t.to = to;
  t.at_ms = at_ms;
  t.reason = std::move(reason);
  return t;
}

// ---- codec ----

TEST(StoreCodecTest, FieldEscapingRoundTripsEveryByte) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string escaped = codec::EscapeField(all);
  EXPECT_EQ(escaped.find('&'), std::string::npos);
  EXPECT_EQ(escaped.find('='), std::string::npos);
  EXPECT_EQ(escaped.find('\0'), std::string::npos);
  auto back = codec::UnescapeField(escaped);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, all);
}

TEST(StoreCodecTest, KeepsValidUtf8ReadableAndEscapesTheRest) {
  EXPECT_EQ(codec::EscapeField("서울 näive"), "서울 näive");
  EXPECT_EQ(codec::EscapeField("a%b&c=d\n"), "a%25b%26c%3Dd%0A");
  EXPECT_EQ(codec::EscapeField("\xc3"), "%C3");                // truncated sequence
  EXPECT_EQ(codec::EscapeField("\xc0\xaf"), "%C0%AF");         // overlong
  EXPECT_EQ(codec::EscapeField("\xed\xa0\x80"), "%ED%A0%80");  // surrogate
}

TEST(StoreCodecTest, ListsRoundTripAndEmptyIsEmpty) {
  EXPECT_EQ(codec::EncodeLabels({}), "");
  EXPECT_EQ(codec::EncodeChecks({}), "");
  protocol::Labels labels = {{"", ""}, {"k", "v=1&2"}};
  EXPECT_EQ(codec::EncodeLabels(labels), "=&k=v%3D1%262");
  auto back = codec::DecodeLabels(codec::EncodeLabels(labels));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, labels);
  EXPECT_EQ(codec::EncodeChecks({{"disk", protocol::CheckState::kCritical, "93% used"}}),
            "disk=CRITICAL=93%25 used");
}

TEST(StoreCodecTest, MalformedInputIsCorruption) {
  EXPECT_EQ(codec::DecodeLabels("a=b=c").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(codec::DecodeLabels("a").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(codec::DecodeLabels("a=%4").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(codec::DecodeLabels("a=%zz").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(codec::DecodeChecks("x=BAD=out").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(codec::DecodeChecks("x=OK").status().code(), Status::Code::kCorruption);
}

// ---- store ----

TEST_F(StoreTest, RoundTripKeepsEveryField) {
  SourceSnapshot full = FullSnapshot("web-1");
  SourceSnapshot plain;  // defaults: empty labels and checks, zero boot id
  plain.source_id = "plain";
  SourceSnapshot late = FullSnapshot("late-1");
  late.state = SourceState::kLate;
  late.goodbye_reason.clear();
  late.last_transport = Transport::kUdp;
  late.replay.seen = false;
  {
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
    store->Write({full, plain, late}, {});
    ASSERT_TRUE(store->Sync().ok());
    auto loaded = store->LoadSources();
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    ASSERT_EQ(loaded->size(), 3u);  // ordered by source_id
    ExpectSameSource(late, (*loaded)[0]);
    ExpectSameSource(plain, (*loaded)[1]);
    ExpectSameSource(full, (*loaded)[2]);
    EXPECT_EQ((*loaded)[2].phi, 0.0);
  }
}

TEST_F(StoreTest, UpsertOverwrites) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  SourceSnapshot s = FullSnapshot("a");
  store->Write({s}, {});
  s.state = SourceState::kDown;
  s.labels = {{"dc", "dc2"}};
  s.checks.clear();
  s.goodbye_reason.clear();
  s.replay.sequence = 7;
  s.heartbeats = 8;
  s.last_transport = Transport::kUdp;
  store->Write({s}, {});
  ASSERT_TRUE(store->Sync().ok());
  auto loaded = store->LoadSources();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  ExpectSameSource(s, loaded->front());
}

// A heartbeat's progress updates the heartbeat columns of a stored row and leaves the
// rest (labels, checks, state) as the last whole row wrote them; progress of a source
// without a row writes nothing and is no error.
TEST_F(StoreTest, ProgressUpdatesOnlyTheHeartbeatColumns) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  SourceSnapshot s = FullSnapshot("a");
  store->Write({s}, {});
  SourceProgress p;
  p.source_id = "a";
  p.last_seen_ms = s.last_seen_ms + 5000;
  p.heartbeats = 3;
  p.last_transport = Transport::kUdp;
  p.replay = s.replay;
  p.replay.seen = false;
  p.replay.boot_id[0] ^= 0xFF;
  p.replay.sequence = 99;
  p.replay.timestamp_ms = s.replay.timestamp_ms + 5000;
  p.replay.floor_ms = s.replay.floor_ms + 1;
  SourceProgress stray;
  stray.source_id = "no-row";
  store->Write(DirtyRows{{}, {p, stray}});
  ASSERT_TRUE(store->Sync().ok());
  auto loaded = store->LoadSources();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->size(), 1u) << "progress never creates a row";
  SourceSnapshot want = s;
  want.last_seen_ms = p.last_seen_ms;
  want.heartbeats = p.heartbeats;
  want.last_transport = p.last_transport;
  want.replay = p.replay;
  ExpectSameSource(want, loaded->front());
  // A chunk with whole rows and progress: both applied.
  SourceSnapshot b = FullSnapshot("b");
  p.heartbeats = 4;
  store->Write(DirtyRows{{b}, {p}});
  ASSERT_TRUE(store->Sync().ok());
  loaded = store->LoadSources();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].heartbeats, 4u);
  ExpectSameSource(b, (*loaded)[1]);
  store->Write(DirtyRows{});  // nothing queued
  EXPECT_EQ(store->queue_depth(), 0u);
}

// The nice value of each of this process's threads (/proc/self/task/*/stat, field 19).
std::vector<int> ThreadNiceValues() {
  std::vector<int> out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t paren = stat.rfind(')');  // the name may hold spaces and parentheses
    if (paren == std::string::npos) continue;
    std::istringstream fields(stat.substr(paren + 2));
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i) {
      if (i == 19) out.push_back(std::stoi(field));
    }
  }
  return out;
}

// The writer yields to the event loop on busy CPUs (StoreOptions::writer_nice): its
// thread, and only its thread, runs at the nice value asked for.
TEST_F(StoreTest, WriterThreadRunsAtTheNiceValueAskedFor) {
  const auto before = ThreadNiceValues();
  ASSERT_EQ(std::count(before.begin(), before.end(), 13), 0);
  StoreOptions opts;
  opts.writer_nice = 13;
  auto store = MustOpen(opts);
  ASSERT_NE(store, nullptr);
  store->Write({FullSnapshot("a")}, {});
  ASSERT_TRUE(store->Sync().ok());  // the writer has run (and set its priority first)
  const auto during = ThreadNiceValues();
  EXPECT_EQ(std::count(during.begin(), during.end(), 13), 1) << "the writer thread alone";
}

TEST_F(StoreTest, ForgetDeletesTheSourceAndItsTransitionsInQueueOrder) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  store->Write({FullSnapshot("gone"), FullSnapshot("kept")},
               {MakeTransition("gone", 1000, SourceState::kDown),
                MakeTransition("kept", 1000, SourceState::kDown)});
  store->Forget({"gone", "never-stored"});
  ASSERT_TRUE(store->Sync().ok());
  auto loaded = store->LoadSources();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->front().source_id, "kept");
  EXPECT_TRUE(store->LoadTransitions("gone", 10)->empty());
  EXPECT_EQ(store->LoadTransitions("kept", 10)->size(), 1u);
  // Heard again after being forgotten: a later write brings it back.
  store->Write({FullSnapshot("gone")}, {});
  ASSERT_TRUE(store->Sync().ok());
  EXPECT_EQ(store->LoadSources()->size(), 2u);
  store->Forget({});  // nothing to do, nothing queued
  EXPECT_EQ(store->queue_depth(), 0u);
}

TEST_F(StoreTest, SchemaOneFileGetsTheReplayFloorColumn) {
  {
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
    store->Write({FullSnapshot("old")}, {});
    ASSERT_TRUE(store->Sync().ok());
  }
  // Make it a version-1 file again: the column gone, user_version 1.
  RawExec("ALTER TABLE sources DROP COLUMN replay_floor_ms; PRAGMA user_version = 1;");
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto loaded = store->LoadSources();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->front().replay.floor_ms, 0) << "migrated rows have no floor";
  EXPECT_EQ(loaded->front().replay.sequence, FullSnapshot("old").replay.sequence);
}

// collector.db as written by the release before the SQLite foundation (schema 2;
// tests/testdata/storage/README.md): opened as it is, every row read back.
TEST_F(StoreTest, OpensCollectorDbFromBeforeTheFoundation) {
  ASSERT_TRUE(
      sqlite::testing::RestoreDump(sqlite::testing::StorageTestdata("collector.sql"), path_).ok());
  StoreOptions opts;
  opts.max_transition_age = hours(24 * 365 * 100);  // the dump's rows stay whatever today is
  auto store = MustOpen(opts);
  ASSERT_NE(store, nullptr);
  auto sources = store->LoadSources();
  ASSERT_TRUE(sources.ok()) << sources.status().ToString();
  ASSERT_EQ(sources->size(), 1u);
  const SourceSnapshot& s = sources->front();
  EXPECT_EQ(s.source_id, "db-01");
  EXPECT_EQ(s.state, SourceState::kDown);
  EXPECT_EQ(s.labels, (protocol::Labels{{"dc", "dc1"}, {"role", "test"}}));
  EXPECT_EQ(s.interval_ms, 1000u);
  EXPECT_EQ(s.agent_version, "0.1.0");
  EXPECT_TRUE(s.replay.seen);
  EXPECT_EQ(s.replay.boot_id[0], 0x8a);
  EXPECT_EQ(s.last_transport, Transport::kUdp);
  auto ts = store->LoadTransitions("db-01", 10);
  ASSERT_TRUE(ts.ok()) << ts.status().ToString();
  ASSERT_EQ(ts->size(), 3u);
  EXPECT_EQ(ts->front().to, SourceState::kDown);
  EXPECT_EQ(ts->back().reason, "first heartbeat");
  EXPECT_TRUE(ts->back().new_source);
  store.reset();
  auto header = sqlite::testing::ReadHeader(path_);
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_EQ(header->application_id, 0x46574353);
  EXPECT_EQ(header->user_version, 2);
}

TEST_F(StoreTest, TransitionsNewestFirstWithLimit) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  Transition first = MakeTransition("a", 1000, SourceState::kUp, "first heartbeat");
  first.new_source = true;
  first.labels = {{"dc", "x&y"}, {"role", "db"}};
  store->Write({}, {MakeTransition("a", 3000, SourceState::kDown, "silent 9s (phi 9.1)"), first,
                    MakeTransition("b", 2500, SourceState::kLate),
                    MakeTransition("a", 2000, SourceState::kLate, "overdue"),
                    MakeTransition("a", 3000, SourceState::kUp, "same ms, inserted later")});
  ASSERT_TRUE(store->Sync().ok());

  auto all = store->LoadTransitions("a", 100);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].reason, "same ms, inserted later");
  EXPECT_EQ((*all)[1].reason, "silent 9s (phi 9.1)");
  EXPECT_EQ((*all)[2].reason, "overdue");
  const Transition& got = (*all)[3];
  EXPECT_EQ(got.source_id, first.source_id);
  EXPECT_EQ(got.labels, first.labels);
  EXPECT_EQ(got.from, first.from);
  EXPECT_EQ(got.to, first.to);
  EXPECT_EQ(got.at_ms, first.at_ms);
  EXPECT_EQ(got.reason, first.reason);
  EXPECT_TRUE(got.new_source);
  EXPECT_FALSE((*all)[0].new_source);

  auto two = store->LoadTransitions("a", 2);
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[1].to, SourceState::kDown);
  EXPECT_TRUE(store->LoadTransitions("a", 0)->empty());
  EXPECT_TRUE(store->LoadTransitions("nobody", 10)->empty());
}

TEST_F(StoreTest, RetentionDropsOldTransitionsAtOpen) {
  FakeClock clock;
  const int64_t now = ToUnixMillis(clock.WallNow());
  StoreOptions opts;
  opts.clock = &clock;
  {
    auto store = MustOpen(opts);
    ASSERT_NE(store, nullptr);
    store->Write({}, {MakeTransition("a", now - 91 * kDayMs, SourceState::kDown, "ancient"),
                      MakeTransition("a", now - 89 * kDayMs, SourceState::kUp, "recent")});
    ASSERT_TRUE(store->Sync().ok());
    EXPECT_EQ(store->LoadTransitions("a", 10)->size(), 2u);  // not pruned before an hour
  }
  auto store = MustOpen(opts);
  ASSERT_NE(store, nullptr);
  auto left = store->LoadTransitions("a", 10);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().reason, "recent");
}

TEST_F(StoreTest, RetentionCapsTransitionsPerSourceAtOpen) {
  StoreOptions opts;
  opts.max_transitions_per_source = 5;
  {
    auto store = MustOpen(opts);
    ASSERT_NE(store, nullptr);
    std::vector<Transition> ts;
    const int64_t now = ToUnixMillis(SystemClock::Instance().WallNow());
    for (int i = 0; i < 8; ++i) ts.push_back(MakeTransition("a", now - 8 + i, SourceState::kUp));
    for (int i = 0; i < 3; ++i) ts.push_back(MakeTransition("b", now - 3 + i, SourceState::kUp));
    store->Write({}, std::move(ts));
    ASSERT_TRUE(store->Sync().ok());
    EXPECT_EQ(store->LoadTransitions("a", 100)->size(), 8u);
  }
  auto store = MustOpen(opts);
  ASSERT_NE(store, nullptr);
  auto a = store->LoadTransitions("a", 100);
  ASSERT_EQ(a->size(), 5u);
  EXPECT_EQ(a->back().at_ms, a->front().at_ms - 4);  // the newest five
  EXPECT_EQ(store->LoadTransitions("b", 100)->size(), 3u);
}

TEST_F(StoreTest, WriterPrunesAtMostOncePerInterval) {
  FakeClock clock;
  StoreOptions opts;
  opts.clock = &clock;
  opts.max_transitions_per_source = 3;
  auto store = MustOpen(opts);
  ASSERT_NE(store, nullptr);
  auto now = [&] { return ToUnixMillis(clock.WallNow()); };
  std::vector<Transition> ts = {MakeTransition("old", now() - 100 * kDayMs, SourceState::kDown)};
  for (int i = 0; i < 6; ++i) ts.push_back(MakeTransition("busy", now() + i, SourceState::kUp));
  store->Write({}, std::move(ts));
  ASSERT_TRUE(store->Sync().ok());
  EXPECT_EQ(store->LoadTransitions("busy", 100)->size(), 6u);
  EXPECT_EQ(store->LoadTransitions("old", 100)->size(), 1u);

  clock.Advance(hours(1));
  store->Write({}, {MakeTransition("busy", now() + 100, SourceState::kLate)});
  ASSERT_TRUE(store->Sync().ok());
  EXPECT_EQ(store->LoadTransitions("busy", 100)->size(), 3u);
  EXPECT_EQ(store->LoadTransitions("busy", 1)->front().to, SourceState::kLate);
  EXPECT_TRUE(store->LoadTransitions("old", 100)->empty());
}

TEST_F(StoreTest, ReopenAfterDestructorKeepsEverything) {
  SourceSnapshot s = FullSnapshot("kept");
  {
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
    const int64_t now = ToUnixMillis(SystemClock::Instance().WallNow());
    store->Write({s}, {MakeTransition("kept", now, SourceState::kDown)});
    // No Sync: the destructor must drain the queue.
  }
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto loaded = store->LoadSources();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  ExpectSameSource(s, loaded->front());
  EXPECT_EQ(store->LoadTransitions("kept", 10)->size(), 1u);
}

TEST_F(StoreTest, SyncedDataSurvivesAKilledProcess) {
  SourceSnapshot s = FullSnapshot("survivor");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Like kill -9 after the Sync: no destructors, no sqlite3_close, no checkpoint.
    auto store = Store::Open(path_);
    if (!store.ok()) _exit(2);
    const int64_t now = ToUnixMillis(SystemClock::Instance().WallNow());
    (*store)->Write({s}, {MakeTransition("survivor", now, SourceState::kStopped, "goodbye")});
    if (!(*store)->Sync().ok()) _exit(3);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(fs::exists(path_ + "-wal")) << "the child should not have closed the database";

  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto loaded = store->LoadSources();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->size(), 1u);
  ExpectSameSource(s, loaded->front());
  auto ts = store->LoadTransitions("survivor", 10);
  ASSERT_EQ(ts->size(), 1u);
  EXPECT_EQ(ts->front().reason, "goodbye");
}

TEST_F(StoreTest, NonSqliteFileIsAClearError) {
  std::ofstream(path_) << "this is a YAML config, not a database\n" << std::string(600, 'x');
  auto store = Store::Open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kCorruption);
  EXPECT_NE(store.status().message().find(path_), std::string::npos) << store.status().message();
  EXPECT_NE(store.status().message().find("not an SQLite database"), std::string::npos)
      << store.status().message();
}

TEST_F(StoreTest, OtherApplicationsDatabaseIsRefused) {
  RawExec("CREATE TABLE notes (body TEXT)");
  auto store = Store::Open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kCorruption);
  EXPECT_NE(store.status().message().find("not a firewatch store"), std::string::npos)
      << store.status().message();
}

TEST_F(StoreTest, MissingDirectoryIsIoErrorNamingIt) {
  const std::string path = dir_ + "/no-such-dir/collector.db";
  auto store = Store::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kIoError);
  EXPECT_NE(store.status().message().find(dir_ + "/no-such-dir"), std::string::npos)
      << store.status().message();
  EXPECT_FALSE(fs::exists(dir_ + "/no-such-dir"));
}

TEST_F(StoreTest, NewerSchemaIsRefused) {
  { ASSERT_NE(MustOpen(), nullptr); }
  RawExec("PRAGMA user_version = 99");
  auto store = Store::Open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kCorruption);
  EXPECT_NE(store.status().message().find("written by a newer firewatch"), std::string::npos)
      << store.status().message();
}

TEST_F(StoreTest, FailedCommitIsRetriedOnce) {
  std::atomic<int> calls{0};
  StoreOptions opts;
  opts.before_commit = [&] {
    return ++calls == 1 ? Status::IoError("injected: disk full") : Status::Ok();
  };
  auto store = MustOpen(opts);
  ASSERT_NE(store, nullptr);
  store->Write({FullSnapshot("a")}, {});
  Status st = store->Sync();
  EXPECT_EQ(st.code(), Status::Code::kIoError);
  EXPECT_NE(st.message().find("disk full"), std::string::npos);
  EXPECT_EQ(store->write_errors(), 1u);
  EXPECT_EQ(store->batches_committed(), 1u);
  EXPECT_EQ(store->batches_dropped(), 0u);
  EXPECT_EQ(store->queue_depth(), 0u);
  EXPECT_EQ(store->LoadSources()->size(), 1u);
  EXPECT_TRUE(store->Sync().ok()) << "the error is reported once";
}

TEST_F(StoreTest, FailedCommitIsRetriedAfterTheDelayWithoutSync) {
  std::atomic<int> calls{0};
  StoreOptions opts;
  opts.retry_delay = std::chrono::milliseconds(50);
  opts.before_commit = [&] { return ++calls == 1 ? Status::IoError("injected") : Status::Ok(); };
  auto store = MustOpen(opts);
  ASSERT_NE(store, nullptr);
  store->Write({FullSnapshot("a")}, {});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (store->batches_committed() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(store->batches_committed(), 1u);
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(store->Sync().code(), Status::Code::kIoError) << "the first error is still reported";
}

TEST_F(StoreTest, CommitFailingTwiceDropsTheBatchAndCountsIt) {
  std::atomic<bool> fail{true};
  StoreOptions opts;
  opts.before_commit = [&] { return fail ? Status::IoError("injected") : Status::Ok(); };
  auto store = MustOpen(opts);
  ASSERT_NE(store, nullptr);
  store->Write({FullSnapshot("lost")}, {});
  EXPECT_FALSE(store->Sync().ok());
  EXPECT_EQ(store->write_errors(), 2u);
  EXPECT_EQ(store->batches_dropped(), 1u);
  EXPECT_EQ(store->queue_depth(), 0u);

  fail = false;
  store->Write({FullSnapshot("kept")}, {});
  EXPECT_TRUE(store->Sync().ok());
  auto loaded = store->LoadSources();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->front().source_id, "kept");
}

TEST_F(StoreTest, BatchesQueuedWhileCommittingShareOneTransaction) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> commits{0};
  StoreOptions opts;
  opts.before_commit = [&] {
    if (++commits == 1) {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return release; });
    }
    return Status::Ok();
  };
  auto store = MustOpen(opts);
  ASSERT_NE(store, nullptr);
  store->Write({FullSnapshot("s0")}, {});
  while (commits.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (int i = 1; i <= 10; ++i) store->Write({FullSnapshot("s" + std::to_string(i))}, {});
  EXPECT_EQ(store->queue_depth(), 11u);  // one in flight, ten waiting
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(store->Sync().ok());
  EXPECT_EQ(commits.load(), 2);
  EXPECT_EQ(store->batches_committed(), 11u);
  EXPECT_EQ(store->LoadSources()->size(), 11u);
}

TEST_F(StoreTest, ReadsAreSafeFromOtherThreadsWhileWriting) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  std::atomic<bool> done{false};
  std::atomic<int> read_errors{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!done) {
        if (!store->LoadSources().ok()) ++read_errors;
        if (!store->LoadTransitions("s1", 5).ok()) ++read_errors;
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    store->Write({FullSnapshot("s" + std::to_string(i % 7))},
                 {MakeTransition("s1", i, SourceState::kLate)});
  }
  ASSERT_TRUE(store->Sync().ok());
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(read_errors.load(), 0);
  EXPECT_EQ(store->LoadSources()->size(), 7u);
}

TEST_F(StoreTest, HundredThousandSourcesInOneBatch) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  constexpr int kSources = 100'000;
  std::vector<SourceSnapshot> sources;
  sources.reserve(kSources);
  SourceSnapshot base = FullSnapshot("");
  base.labels = {{"cloud", "none"}, {"dc", "pangyo"}, {"role", "db"}, {"service", "billing"},
                 {"team", "payments"}};
  base.checks.resize(3);
  for (int i = 0; i < kSources; ++i) {
    SourceSnapshot s = base;
    s.source_id = "host-" + std::to_string(i) + ".dc1.example.net";
    s.replay.sequence = static_cast<uint64_t>(i);
    sources.push_back(std::move(s));
  }
  for (int round = 0; round < 2; ++round) {  // insert, then update every row
    std::vector<SourceSnapshot> batch = sources;
    const auto start = std::chrono::steady_clock::now();
    store->Write(std::move(batch), {});
    ASSERT_TRUE(store->Sync().ok());
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::error_code ec;
    std::printf("[ timing ] %s of %d sources in one batch: %.3f s (WAL now %.1f MB)\n",
                round == 0 ? "insert" : "update", kSources, secs,
                static_cast<double>(fs::file_size(path_ + "-wal", ec)) / 1e6);
    EXPECT_LT(secs, 30.0);
  }
  const auto start = std::chrono::steady_clock::now();
  auto loaded = store->LoadSources();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ timing ] LoadSources of %d sources: %.3f s\n", kSources, secs);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->size(), static_cast<size_t>(kSources));
}

}  // namespace
}  // namespace firewatch::collector
