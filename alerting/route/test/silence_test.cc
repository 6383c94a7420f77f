#include "route/silence.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace firewatch::alerting::route {
namespace {

using namespace std::chrono_literals;
using testing::Ms;

class SilenceTest : public ::testing::Test {
 protected:
  Silencer silencer_{[this]() -> Result<std::string> { return "s" + std::to_string(++next_id_); }};
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
  check(s, "must not match the empty string");
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
  EXPECT_EQ(silencer_.Gc(clock_.WallNow() + 1h + 119h, 120h), 0u);
  EXPECT_EQ(silencer_.Gc(clock_.WallNow() + 1h + 120h, 120h), 1u);
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
  EXPECT_FALSE(*silencer_.Merge(older));
  peer.ends_at = peer.starts_at;  // a peer expired it
  peer.updated_at += 1s;
  EXPECT_TRUE(*silencer_.Merge(peer));
  EXPECT_FALSE(silencer_.Mutes(Host("dc1"), clock_.WallNow()));
  Silence fresh = Make(0s, 1h);
  fresh.id = "from-peer";
  EXPECT_TRUE(*silencer_.Merge(fresh));
  EXPECT_TRUE(silencer_.Mutes(Host("dc1"), clock_.WallNow()));
  fresh.comment.clear();
  EXPECT_FALSE(silencer_.Merge(fresh).ok());
}

TEST(SilenceIdTest, RandomIdsAreUuids) {
  auto a = RandomSilenceId();
  auto b = RandomSilenceId();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 36u);
  EXPECT_EQ((*a)[14], '4');
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace firewatch::alerting::route
