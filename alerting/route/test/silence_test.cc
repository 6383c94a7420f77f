#include "route/silence.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "test_util.h"

namespace firewatch::alerting::route {
namespace {

using namespace std::chrono_literals;
using testing::Ms;

class SilenceTest : public ::testing::Test {
 protected:
  Silencer silencer_{[this]() -> std::string { return "s" + std::to_string(++next_id_); }};
  FakeClock clock_;
  int next_id_ = 0;

  Silence Make(Duration starts_in, Duration length) {
    Silence s;
    s.matchers = Ms({R"(dc="dc1")", R"(alertname=~"Source.*")"});
    s.starts_at = clock_.WallNow() + starts_in;
    s.ends_at = s.starts_at + length;
    s.created_by = "alice";
    s.comment = "dc1 maintenance, CHG-42";
    return s;
  }
  static LabelSet Host(const std::string& dc) {
    return {{"alertname", "SourceDown"}, {"dc", dc}, {"source", "web-1"}};
  }
};

TEST_F(SilenceTest, ActiveFromStartsAtUntilEndsAt) {
  auto id = silencer_.Set(Make(10min, 1h), clock_.WallNow());
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(*id, "s1");
  const WallTime start = clock_.WallNow() + 10min;
  EXPECT_FALSE(silencer_.Mutes(Host("dc1"), start - 1ms));  // pending
  EXPECT_EQ(StateAt(*silencer_.Get("s1"), start - 1ms), SilenceState::kPending);
  EXPECT_TRUE(silencer_.Mutes(Host("dc1"), start));          // [starts
  EXPECT_FALSE(silencer_.Mutes(Host("dc2"), start));         // all matchers must match
  EXPECT_TRUE(silencer_.Mutes(Host("dc1"), start + 1h - 1ms));
  EXPECT_FALSE(silencer_.Mutes(Host("dc1"), start + 1h));    // ends)
  EXPECT_EQ(StateAt(*silencer_.Get("s1"), start + 1h), SilenceState::kExpired);
  EXPECT_EQ(silencer_.MutedBy(Host("dc1"), start), (std::vector<std::string>{"s1"}));
}

TEST_F(SilenceTest, StartInThePastMeansNow) {
  auto id = silencer_.Set(Make(-1h, 2h), clock_.WallNow());
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(silencer_.Get(*id)->starts_at, clock_.WallNow());
  EXPECT_TRUE(silencer_.Mutes(Host("dc1"), clock_.WallNow()));
}

TEST_F(SilenceTest, ExpireEndsItNow) {
  auto id = silencer_.Set(Make(0s, 1h), clock_.WallNow());
  ASSERT_TRUE(id.ok());
  clock_.Advance(5min);
  ASSERT_TRUE(silencer_.Expire(*id, clock_.WallNow()).ok());
  EXPECT_FALSE(silencer_.Mutes(Host("dc1"), clock_.WallNow()));
  EXPECT_EQ(silencer_.Get(*id)->ends_at, clock_.WallNow());
  EXPECT_EQ(silencer_.Expire(*id, clock_.WallNow()).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(silencer_.Expire("nope", clock_.WallNow()).code(), Status::Code::kNotFound);
  // A pending silence expires without ever being active.
  auto pending = silencer_.Set(Make(1h, 1h), clock_.WallNow());
  ASSERT_TRUE(silencer_.Expire(*pending, clock_.WallNow()).ok());
  EXPECT_EQ(StateAt(*silencer_.Get(*pending), clock_.WallNow()), SilenceState::kExpired);
  EXPECT_FALSE(silencer_.Mutes(Host("dc1"), clock_.WallNow() + 90min));
  EXPECT_EQ(silencer_.List().size(), 2u);  // expired ones are still listed
}

TEST_F(SilenceTest, UpdateInPlaceOrReplace) {
  auto id = silencer_.Set(Make(0s, 1h), clock_.WallNow());
  ASSERT_TRUE(id.ok());
  clock_.Advance(10min);
  // Extending an active silence keeps its id.
  Silence s = *silencer_.Get(*id);
  s.ends_at += 1h;
  auto same = silencer_.Set(s, clock_.WallNow());
  ASSERT_TRUE(same.ok()) << same.status().message();
  EXPECT_EQ(*same, *id);
  EXPECT_EQ(silencer_.Get(*id)->ends_at, s.ends_at);
  // Changing the matchers expires it and creates a new one.
  s.matchers = Ms({R"(dc="dc2")"});
  auto other = silencer_.Set(s, clock_.WallNow());
  ASSERT_TRUE(other.ok()) << other.status().message();
  EXPECT_NE(*other, *id);
  EXPECT_EQ(StateAt(*silencer_.Get(*id), clock_.WallNow()), SilenceState::kExpired);
  EXPECT_TRUE(silencer_.Mutes(Host("dc2"), clock_.WallNow()));
  EXPECT_FALSE(silencer_.Mutes(Host("dc1"), clock_.WallNow()));
  Silence unknown = s;
  unknown.id = "missing";
  EXPECT_EQ(silencer_.Set(unknown, clock_.WallNow()).status().code(), Status::Code::kNotFound);
}

TEST_F(SilenceTest, Validation) {
  auto check = [&](Silence s, const std::string& fragment) {
    auto r = silencer_.Set(s, clock_.WallNow());
    ASSERT_FALSE(r.ok()) << fragment;
    EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
  };
  Silence s = Make(0s, 1h);
  s.matchers.clear();
  check(s, "matchers: at least one matcher is required");
  s.matchers = Ms({R"(dc=~".*")", R"(team!="x")"});
  check(s, "is broad");
  s = Make(1h, -30min);
  check(s, "endsAt: must not be before startsAt");
  s = Make(-2h, 1h);
  check(s, "endsAt: must be in the future");
  s = Make(0s, 1h);
  s.created_by.clear();
  check(s, "createdBy: the author is required");
  s = Make(0s, 1h);
  s.comment.clear();
  check(s, "comment: a comment is required");
  EXPECT_TRUE(silencer_.List().empty());
}

TEST_F(SilenceTest, GcDropsLongExpiredSilences) {
  auto id = silencer_.Set(Make(0s, 1h), clock_.WallNow());
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(silencer_.Gc(clock_.WallNow() + 1h + 119h, 120h).empty());
  EXPECT_EQ(silencer_.Gc(clock_.WallNow() + 1h + 120h, 120h), (std::vector<std::string>{*id}));
  EXPECT_FALSE(silencer_.Get(*id).ok());
}

TEST_F(SilenceTest, JsonRoundTrip) {
  Silence s = Make(0s, 90min);
  s.id = "8d0b5d1f-2f0e-4a53-9b3e-1c3c2f6b0a11";
  s.matchers = Ms({R"(dc="dc1")", R"(source!~"db-.*")", R"(team!="web")", R"(x=~"a|\"b\"")"});
  s.starts_at = FromUnixMillis(1'714'564'800'250);
  s.ends_at = s.starts_at + 90min;
  s.updated_at = s.starts_at;
  s.comment = "ünïcode \"quoted\"\nline";
  const std::string json = SilenceToJson(s);
  EXPECT_NE(json.find(R"("startsAt":"2024-05-01T12:00:00.250Z")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"({"isEqual":false,"isRegex":true,"name":"source","value":"db-.*"})"),
            std::string::npos)
      << json;
  auto back = SilenceFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->id, s.id);
  EXPECT_EQ(back->matchers, s.matchers);
  EXPECT_EQ(back->starts_at, s.starts_at);
  EXPECT_EQ(back->ends_at, s.ends_at);
  EXPECT_EQ(back->updated_at, s.updated_at);
  EXPECT_EQ(back->created_by, s.created_by);
  EXPECT_EQ(back->comment, s.comment);
  EXPECT_EQ(SilenceToJson(*back), json);
}

TEST_F(SilenceTest, JsonErrorsAndAlertmanagerInput) {
  EXPECT_FALSE(SilenceFromJson("{").ok());
  EXPECT_NE(SilenceFromJson(R"({"matchers":[]})").status().message().find("startsAt"),
            std::string::npos);
  auto bad_re = SilenceFromJson(
      R"({"matchers":[{"name":"a","value":"(","isRegex":true}],"startsAt":"2024-05-01T12:00:00Z",)"
      R"("endsAt":"2024-05-01T13:00:00Z","createdBy":"a","comment":"c"})");
  EXPECT_NE(bad_re.status().message().find("matchers[0]: invalid regex"), std::string::npos)
      << bad_re.status().message();
  // As Alertmanager's API v2 returns it: offsets, nanoseconds, extra fields, no isEqual.
  auto am = SilenceFromJson(
      R"({"id":"x","status":{"state":"active"},"matchers":[{"name":"dc","value":"dc1","isRegex":false}],)"
      R"("startsAt":"2024-05-01T14:00:00.123456789+02:00","endsAt":"2024-05-01T13:00:00Z",)"
      R"("updatedAt":"2024-05-01T12:00:00Z","createdBy":"bob","comment":"c"})");
  ASSERT_TRUE(am.ok()) << am.status().message();
  EXPECT_EQ(am->starts_at, FromUnixMillis(1'714'564'800'123));
  EXPECT_EQ(am->matchers[0].type(), MatchType::kEqual);
}

TEST_F(SilenceTest, MergeKeepsTheNewestVersion) {
  auto id = silencer_.Set(Make(0s, 1h), clock_.WallNow());
  ASSERT_TRUE(id.ok());
  Silence peer = *silencer_.Get(*id);
  Silence older = peer;
  older.comment = "older";
  older.updated_at -= 1s;
  const WallTime now = clock_.WallNow();
  EXPECT_FALSE(*silencer_.Merge(older, now));
  peer.ends_at = peer.starts_at;  // a peer expired it
  peer.updated_at += 1s;
  EXPECT_TRUE(*silencer_.Merge(peer, now));
  EXPECT_FALSE(silencer_.Mutes(Host("dc1"), clock_.WallNow()));
  Silence fresh = Make(0s, 1h);
  fresh.id = "from-peer";
  EXPECT_TRUE(*silencer_.Merge(fresh, now));
  EXPECT_TRUE(silencer_.Mutes(Host("dc1"), clock_.WallNow()));
  fresh.comment.clear();
  EXPECT_FALSE(silencer_.Merge(fresh, now).ok());
}

TEST(SilenceIdTest, RandomIdsAreUuids) {
  const std::string a = RandomSilenceId();
  const std::string b = RandomSilenceId();
  EXPECT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
  EXPECT_NE(a, b);
}

// ---------------------------------------------------------------- broad silences

TEST(BroadSilenceTest, RefusedShapes) {
  // Each would mute a whole kind of alert (or everything) for every source.
  for (auto ms : std::initializer_list<std::initializer_list<const char*>>{
           {R"(alertname=~".+")"},
           {R"(alertname!="")"},
           {R"(alertname=~".*")"},
           {R"(alertname="SourceDown")"},                         // every host-down page
           {R"(alertname="SourceDown")", R"(alertname!="x")"},
           {R"(source=~".+")"},
           {R"(source!="")"},
           {R"(source=~".*")", R"(alertname="SourceDown")"},
           {R"(dc!="dc2")"},                                      // exclusions only
           {R"(dc!~"dc[12]")"},
           {R"(team="")"},                                        // matches every alert without team
           {R"(dc=~".*")", R"(team!="x")"},
           {R"(source=~"[a-z]+.*")"},
           {R"(source=~"\\w+")"},
           {R"(source=~"\\S+")"},
           {R"(source=~".{1,200}")"},
           {R"(source=~"[^x]+")"},
           {R"(source=~"web-.*|.*")"},                            // one branch matches all
           {R"(source=~"(web-1)?")"},                             // matches the empty string
           {R"(source=~".*-.*")"},                                // a 1-character literal
           {R"(source=~"(.*)*(.*)*X")"},
           {R"(source=~"a|b")"},                                  // conservative: too short
       }) {
    const Matchers m = Ms(ms);
    EXPECT_TRUE(IsBroad(m)) << MatchersString(m);
  }
}

TEST(BroadSilenceTest, AcceptedShapes) {
  for (auto ms : std::initializer_list<std::initializer_list<const char*>>{
           {R"(source="web-1")"},
           {R"(dc="dc1")"},
           {R"(source=~"web-.*")"},
           {R"(source=~"(web|db)-\\d+")"},
           {R"(dc=~"dc[12]")"},
           {R"(severity=~"P1|P2")"},
           {R"(host=~".*\\.example\\.com")"},
           {R"(source=~"(?i)WEB.*")"},
           {R"(alertname="SourceDown")", R"(dc="dc1")"},
           {R"(alertname=~".+")", R"(source="db-03")"},
           {R"(team!="db")", R"(check="disk")"},
       }) {
    const Matchers m = Ms(ms);
    EXPECT_FALSE(IsBroad(m)) << MatchersString(m);
  }
}

TEST(BroadSilenceTest, SelectiveMatchersNeverMatchEverything) {
  // The soundness side of IsSelective, checked on values nobody wrote into a matcher.
  const std::vector<std::string> values = {"", "x", "web-1", "db-03", "SourceDown",
                                           "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "-", "0"};
  for (const char* text : {R"(a=~"web-.*")", R"(a=~"dc[12]")", R"(a=~".*\\.example\\.com")",
                           R"(a="v")", R"(a=~"(?i)db.*")"}) {
    const Matchers m = Ms({text});
    ASSERT_TRUE(m[0].IsSelective()) << text;
    size_t matched = 0;
    for (const auto& v : values) matched += m[0].MatchesValue(v);
    EXPECT_LT(matched, values.size()) << text;
    EXPECT_FALSE(m[0].MatchesValue("")) << text;
  }
}

TEST_F(SilenceTest, BroadIsRefusedUnlessForced) {
  Silence s = Make(0s, 1h);
  s.matchers = Ms({R"(alertname=~".+")"});
  auto refused = silencer_.Set(s, clock_.WallNow());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("is broad"), std::string::npos);
  EXPECT_NE(refused.status().message().find("\"force\": true"), std::string::npos);
  s.force = true;
  auto id = silencer_.Set(s, clock_.WallNow());
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_TRUE(silencer_.Mutes(Host("dc2"), clock_.WallNow()));
  // The flag travels with it (store, peers) and is required there too.
  const Silence held = *silencer_.Get(*id);
  const std::string json = SilenceToJson(held);
  EXPECT_NE(json.find(R"("force":true)"), std::string::npos) << json;
  auto back = SilenceFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(back->force);
  Silence unforced = held;
  unforced.force = false;
  EXPECT_FALSE(ValidateSilence(unforced).ok());
  EXPECT_EQ(SilenceToJson(Make(0s, 1h)).find("force"), std::string::npos);
  EXPECT_FALSE(SilenceFromJson(std::string(json).replace(json.find("true"), 4, "\"yes\"")).ok());
}

// ---------------------------------------------------------------- limits

Silence Valid(const FakeClock& clock) {
  Silence s;
  s.matchers = Ms({R"(source="web-1")"});
  s.starts_at = clock.WallNow();
  s.ends_at = s.starts_at + std::chrono::hours(1);
  s.created_by = "alice";
  s.comment = "c";
  return s;
}

TEST_F(SilenceTest, SizeLimitsNameTheLimit) {
  auto refused = [&](const Silence& s, const std::string& fragment) {
    Status v = ValidateSilence(s);
    EXPECT_FALSE(v.ok()) << fragment;
    EXPECT_NE(v.message().find(fragment), std::string::npos) << v.message();
  };
  Silence s = Valid(clock_);
  for (int i = 0; i < 32; ++i) s.matchers.push_back(s.matchers[0]);
  refused(s, "matchers: 33 matchers; the limit is 32 per silence");
  s = Valid(clock_);
  s.comment.assign(1025, 'c');
  refused(s, "comment: 1025 bytes; the limit is 1024");
  s = Valid(clock_);
  s.created_by.assign(257, 'a');
  refused(s, "createdBy: 257 bytes; the limit is 256");
  s = Valid(clock_);
  s.id = "has space";
  refused(s, "id: want 1 to 64");
  s.id.assign(65, 'a');
  refused(s, "id: want 1 to 64");
  s = Valid(clock_);
  s.ends_at = FromUnixMillis(kMaxSilenceUnixMs + 1);
  refused(s, "between 1970 and 2199");
  s = Valid(clock_);
  s.comment.assign(1024, 'c');
  s.created_by.assign(256, 'a');
  s.id.assign(64, 'a');
  EXPECT_TRUE(ValidateSilence(s).ok());
}

std::string Json(size_t matchers, const std::string& value, bool regex = false) {
  std::string ms;
  for (size_t i = 0; i < matchers; ++i) {
    if (i) ms += ",";
    ms += R"({"name":"source","value":")" + value + R"(","isRegex":)" + (regex ? "true" : "false") + "}";
  }
  return R"({"matchers":[)" + ms +
         R"(],"startsAt":"2024-05-01T12:00:00Z","endsAt":"2024-05-01T13:00:00Z","createdBy":"a","comment":"c"})";
}

TEST(SilenceJsonTest, LimitsAreCheckedBeforeWorkIsDone) {
  EXPECT_TRUE(SilenceFromJson(Json(32, "web-1")).ok());
  auto many = SilenceFromJson(Json(33, "web-1"));
  EXPECT_NE(many.status().message().find("the limit is 32"), std::string::npos);
  auto huge = SilenceFromJson(std::string(kMaxSilenceJsonBytes + 1, ' '));
  EXPECT_NE(huge.status().message().find("the limit is 65536"), std::string::npos)
      << huge.status().message();
  auto long_pattern = SilenceFromJson(Json(1, "web-" + std::string(1021, 'x'), true));
  EXPECT_NE(long_pattern.status().message().find("matchers[0]: regex is 1025 bytes; the limit is 1024"),
            std::string::npos)
      << long_pattern.status().message();
  // Years WallTime cannot hold are refused, not overflowed.
  std::string far = Json(1, "web-1");
  far.replace(far.find("2024-05-01T13"), 4, "9999");
  EXPECT_NE(SilenceFromJson(far).status().message().find("endsAt"), std::string::npos);
  EXPECT_FALSE(ParseSilenceTime("1969-12-31T23:59:59Z").ok());
  EXPECT_FALSE(ParseSilenceTime("2200-01-01T00:00:00Z").ok());
  EXPECT_TRUE(ParseSilenceTime("2199-12-31T23:59:59.999Z").ok());
}

TEST(SilenceJsonTest, NestedGroupsAndBacktrackingBombsCannotHurt) {
  // 24,000 nested groups: std::regex overflowed the stack compiling it. Refused by length,
  // before any compile.
  std::string nested = std::string(24000, '(') + "a" + std::string(24000, ')');
  const auto t0 = std::chrono::steady_clock::now();
  auto r = SilenceFromJson(Json(1, nested, true));
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("the limit is 1024"), std::string::npos);
  // Within the limit, deep nesting compiles (RE2 does not recurse on it) and matches.
  std::string deep = std::string(500, '(') + "web-1" + std::string(500, ')');
  auto ok = SilenceFromJson(Json(1, deep, true));
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_TRUE(ok->matchers[0].MatchesValue("web-1"));
  // Exponential for a backtracking engine, linear for RE2; forced because it is broad.
  std::string bomb;
  for (int i = 0; i < 100; ++i) bomb += "(.*)*";
  bomb += "X";
  auto b = Matcher::Make(MatchType::kRegex, "source", bomb);
  ASSERT_TRUE(b.ok()) << b.status().message();
  const std::string value(128, 'a');  // the longest label value a heartbeat carries
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(b->MatchesValue(value));
  EXPECT_FALSE(b->MatchesValue(std::string(100'000, 'a')));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST_F(SilenceTest, LiveSilencesAreCapped) {
  SilenceLimits limits;
  limits.max_live = 3;
  int n = 0;
  Silencer capped([&]() -> std::string { return "c" + std::to_string(++n); }, limits);
  const WallTime now = clock_.WallNow();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    Silence s = Make(i == 2 ? 1h : 0s, 1h);  // two active, one pending: all count
    auto id = capped.Set(s, now);
    ASSERT_TRUE(id.ok()) << id.status().message();
    ids.push_back(*id);
  }
  auto fourth = capped.Set(Make(0s, 1h), now);
  ASSERT_FALSE(fourth.ok());
  EXPECT_NE(fourth.status().message().find("silences: 3 active or pending silences already"),
            std::string::npos)
      << fourth.status().message();
  // Replacing one (new matchers: expire + create) does not need room.
  Silence edit = *capped.Get(ids[0]);
  edit.matchers = Ms({R"(dc="dc2")"});
  ASSERT_TRUE(capped.Set(edit, now).ok());
  // Expiring one makes room; peers are held to the same limit.
  ASSERT_TRUE(capped.Expire(ids[1], now).ok());
  Silence from_peer = Make(0s, 1h);
  from_peer.id = "p1";
  from_peer.updated_at = now;
  EXPECT_TRUE(*capped.Merge(from_peer, now));
  from_peer.id = "p2";
  auto over = capped.Merge(from_peer, now);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().message().find("the limit"), std::string::npos);
  EXPECT_EQ(capped.Count(now)[SilenceState::kExpired], 2u);
}

TEST_F(SilenceTest, ExpiredSilencesAreCappedOldestFirst) {
  SilenceLimits limits;
  limits.max_expired = 2;
  int n = 0;
  Silencer capped([&]() -> std::string { return "e" + std::to_string(++n); }, limits);
  for (int i = 0; i < 4; ++i) {
    auto id = capped.Set(Make(0s, 1h), clock_.WallNow());
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(capped.Expire(*id, clock_.WallNow()).ok());
    clock_.Advance(1min);
  }
  EXPECT_EQ(capped.Gc(clock_.WallNow()), (std::vector<std::string>{"e1", "e2"}));
  EXPECT_EQ(capped.List().size(), 2u);
  // Peers' long-expired silences are not taken back after Gc dropped them.
  Silence old = Make(0s, 1h);
  old.id = "old";
  old.updated_at = old.starts_at;
  EXPECT_FALSE(*capped.Merge(old, clock_.WallNow() + 1h + limits.retention));
}

TEST_F(SilenceTest, MergeAllRefusesEachBadSilenceAlone) {
  const WallTime now = clock_.WallNow();
  Silence good = Make(0s, 1h);
  good.id = "good";
  good.updated_at = now;
  Silence broad = good;
  broad.id = "broad";
  broad.matchers = Ms({R"(alertname!="")"});
  Silence forced = broad;
  forced.id = "forced";
  forced.force = true;
  Silence bad_id = good;
  bad_id.id = "bad id";
  MergeOutcome out = silencer_.MergeAll({broad, good, bad_id, forced}, now);
  ASSERT_EQ(out.changed.size(), 2u);
  EXPECT_EQ(out.changed[0].id, "good");
  EXPECT_EQ(out.changed[1].id, "forced");
  ASSERT_EQ(out.refused.size(), 2u);
  EXPECT_EQ(out.refused[0].first, "broad");
  EXPECT_NE(out.refused[0].second.message().find("is broad"), std::string::npos);
  EXPECT_EQ(out.refused[1].first, "bad id");
}

// ---------------------------------------------------------------- snapshots

TEST_F(SilenceTest, SnapshotsAreImmutable) {
  auto before = silencer_.Snapshot();
  ASSERT_NE(before, nullptr);
  auto id = silencer_.Set(Make(0s, 1h), clock_.WallNow());
  ASSERT_TRUE(id.ok());
  EXPECT_FALSE(before->Mutes(Host("dc1"), clock_.WallNow()));  // what it was
  auto after = silencer_.Snapshot();
  EXPECT_TRUE(after->Mutes(Host("dc1"), clock_.WallNow()));
  ASSERT_TRUE(silencer_.Expire(*id, clock_.WallNow()).ok());
  EXPECT_TRUE(after->Mutes(Host("dc1"), clock_.WallNow()));  // still its own copy
  EXPECT_FALSE(silencer_.Mutes(Host("dc1"), clock_.WallNow()));
  EXPECT_EQ(silencer_.Snapshot()->size(), 0u);  // expired ones are not published
}

TEST(SilencerConcurrencyTest, EvaluationAndWritesDoNotWaitForEachOther) {
  // 1000 silences with costly regexes; one thread evaluates alerts against snapshots in
  // a loop while another adds and expires silences. Both must finish under a deadline,
  // and a writer's call must stay short while evaluation runs.
  FakeClock clock;
  const WallTime now = clock.WallNow();
  std::atomic<int> next{0};
  SilenceLimits limits;
  limits.max_live = 2000;
  Silencer silencer([&]() -> std::string { return "id" + std::to_string(next++); }, limits);
  auto make = [&](int i) {
    Silence s;
    // Every matcher but the last matches; the last never does (dc is never "dcN").
    s.matchers = Ms({R"x(alertname=~"(Source|Check).*(Down|Failing)")x",
                     R"x(source=~"(.*)*(.*)*[a-z0-9-]+")x"});
    s.matchers.push_back(*Matcher::Make(MatchType::kRegex, "dc", "dc" + std::to_string(i) + "[x-z]+"));
    s.starts_at = now;
    s.ends_at = now + std::chrono::hours(1);
    s.created_by = "load";
    s.comment = "concurrency";
    return s;
  };
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(silencer.Set(make(i), now).ok());

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::atomic<bool> stop{false};
  std::atomic<long> evaluations{0};
  std::thread evaluator([&] {
    const LabelSet alert = {{"alertname", "SourceDown"}, {"source", std::string(60, 'w') + "-1"},
                            {"dc", "dc1"}};
    while (!stop.load() && std::chrono::steady_clock::now() < deadline) {
      auto snap = silencer.Snapshot();
      EXPECT_FALSE(snap->Mutes(alert, now));
      evaluations.fetch_add(1);
    }
  });
  std::chrono::steady_clock::duration slowest{};
  for (int i = 1000; i < 1300; ++i) {
    Silence silence = make(i);  // its regexes compiled outside the timed call
    const auto t0 = std::chrono::steady_clock::now();
    auto id = silencer.Set(std::move(silence), now);
    ASSERT_TRUE(id.ok()) << id.status().message();
    if (i % 3 == 0) {
      ASSERT_TRUE(silencer.Expire(*id, now).ok());
    }
    slowest = std::max(slowest, std::chrono::steady_clock::now() - t0);
  }
  stop = true;
  evaluator.join();
  EXPECT_LT(std::chrono::steady_clock::now(), deadline);
  EXPECT_GT(evaluations.load(), 0);
  // A write copies ~1300 pointers; it never waits for a whole evaluation pass.
  EXPECT_LT(slowest, std::chrono::milliseconds(200));
  EXPECT_EQ(silencer.Count(now)[SilenceState::kActive], 1200u);
}

}  // namespace
}  // namespace firewatch::alerting::route
