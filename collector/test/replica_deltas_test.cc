// Incidents, the notification log, silences and maintenance windows as versioned deltas
// (cluster/state_delta.h, cluster/replica_deltas.h): two collectors' ReplicaDeltas
// exchange payloads through the real encoder and decoder on a fake clock, as the sync
// threads would, and each side must end with the other's whole lists.
#include "cluster/replica_deltas.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "cluster/payload.h"
#include "route/silence.h"

namespace firewatch::collector {
namespace {

using namespace std::chrono_literals;

alerting::PeerIncident Incident(const std::string& id, const std::string& acked_by = "") {
  alerting::PeerIncident i;
  i.id = id;
  i.group_key = "{}:{alertname=\"SourceDown\",source=\"" + id + "\"}";
  i.origin = "a";
  i.state = acked_by.empty() ? alerting::IncidentState::kOpen : alerting::IncidentState::kAcked;
  i.started_ms = 1'700'000'000'000;
  i.acked_ms = acked_by.empty() ? 0 : 1'700'000'060'000;
  i.acked_by = acked_by;
  return i;
}

alerting::LogEntry Log(const std::string& key, int64_t updated_ms, int64_t age_ms) {
  alerting::LogEntry e;
  e.key = key;
  e.state = alerting::LogEntry::State::kDelivered;
  e.updated_ms = updated_ms;
  e.age_ms = age_ms;
  return e;
}

alerting::route::Silence SilenceFor(const std::string& id, const std::string& source) {
  auto s = alerting::route::SilenceFromJson(
      R"({"id":")" + id + R"(","matchers":[{"name":"source","value":")" + source +
      R"(","isRegex":false,"isEqual":true}],"startsAt":"2030-01-01T00:00:00Z",)"
      R"("endsAt":"2030-01-01T01:00:00Z","updatedAt":"2030-01-01T00:00:00Z",)"
      R"("createdBy":"alice","comment":"maintenance of )" +
      source + R"("})");
  EXPECT_TRUE(s.ok()) << s.status().message();
  return *s;
}

// What one collector exports (its pieces' whole lists).
struct Export {
  std::vector<alerting::PeerIncident> incidents;
  std::vector<alerting::LogEntry> log;
  std::vector<alerting::route::Silence> silences;
};

// One collector: its boot and its deltas.
struct Member {
  Member(const Clock& clock, std::string member_id, std::string boot_id)
      : id(std::move(member_id)), boot(boot_id), deltas(clock, boot_id) {}
  std::string id;
  std::string boot;
  ReplicaDeltas deltas;
  uint64_t seq = 0;
};

// What the receiver ends with, and the payload's size on the wire.
struct Received {
  SyncPayload p;
  size_t bytes = 0;
};

// One payload from `from` to `to` through the real encoder and decoder; `drop` loses it
// on the way (after the sender built it).
Received Send(Member& from, Member& to, const Export& e, bool drop = false) {
  SyncPayload p;
  p.from = from.id;
  p.boot = from.boot;
  p.seq = ++from.seq;
  p.incidents = e.incidents;
  p.log = e.log;
  p.silences = e.silences;
  from.deltas.Outgoing(to.id, p);
  Received r;
  const std::string wire = EncodeSyncPayload(p);
  r.bytes = wire.size();
  if (drop) return r;
  auto decoded = DecodeSyncPayload(wire);
  EXPECT_TRUE(decoded.ok()) << decoded.status().message();
  r.p = std::move(*decoded);
  to.deltas.Incoming(r.p);
  return r;
}

std::vector<std::string> Ids(const std::vector<alerting::PeerIncident>& list) {
  std::vector<std::string> out;
  for (const auto& i : list) out.push_back(i.id + "/" + i.acked_by);
  std::sort(out.begin(), out.end());
  return out;
}
std::vector<std::string> Ids(const std::vector<alerting::route::Silence>& list) {
  std::vector<std::string> out;
  for (const auto& s : list) out.push_back(s.id + "/" + s.comment);
  std::sort(out.begin(), out.end());
  return out;
}

Export Busy(int incidents, int silences) {
  Export e;
  for (int i = 0; i < incidents; ++i) e.incidents.push_back(Incident("inc-" + std::to_string(i)));
  for (int i = 0; i < silences; ++i) {
    e.silences.push_back(SilenceFor("sil-" + std::to_string(i), "web-" + std::to_string(i)));
  }
  e.log.push_back(Log("page-1", 1'700'000'000'000, 5'000));
  return e;
}

class ReplicaDeltasTest : public ::testing::Test {
 protected:
  FakeClock clock;
  Member a{clock, "a", "boot-a1"};
  Member b{clock, "b", "boot-b1"};

  // Both directions once, as a push-pull exchange does (request, then the response).
  void Exchange(const Export& ea, const Export& eb) {
    Send(a, b, ea);
    Send(b, a, eb);
  }
};

TEST_F(ReplicaDeltasTest, WholeListsFirstThenOnlyWhatChanged) {
  Export ea = Busy(50, 50);
  // The first payload: b has not shown yet that it reads deltas, so whole lists.
  Received first = Send(a, b, ea);
  EXPECT_FALSE(first.p.deltas[0].has_value());
  EXPECT_EQ(first.p.incidents.size(), 50u);
  Send(b, a, {});
  // From now on deltas: everything once (b holds nothing of a's versions)...
  Received full = Send(a, b, ea);
  ASSERT_TRUE(full.p.deltas[0].has_value());
  EXPECT_EQ(full.p.deltas[0]->base, 0u);
  EXPECT_EQ(Ids(full.p.incidents), Ids(ea.incidents));
  Send(b, a, {});
  // ... then nothing while nothing changes, and the receiver still gets whole lists.
  Received quiet = Send(a, b, ea);
  ASSERT_TRUE(quiet.p.deltas[0].has_value());
  EXPECT_NE(quiet.p.deltas[0]->base, 0u);
  EXPECT_TRUE(quiet.p.deltas[0]->ids.empty());
  EXPECT_TRUE(quiet.p.deltas[2]->ids.empty());
  EXPECT_EQ(Ids(quiet.p.incidents), Ids(ea.incidents));
  EXPECT_EQ(Ids(quiet.p.silences), Ids(ea.silences));
  EXPECT_LT(quiet.bytes * 10, full.bytes) << quiet.bytes << " vs " << full.bytes;
  EXPECT_LT(quiet.bytes, 1200u);
  Send(b, a, {});

  // One incident acked: that incident goes, and the id of its old form.
  ea.incidents[7] = Incident("inc-7", "alice");
  Received ack = Send(a, b, ea);
  ASSERT_TRUE(ack.p.deltas[0].has_value());
  EXPECT_EQ(ack.p.deltas[0]->ids.size(), 1u);
  EXPECT_EQ(ack.p.deltas[0]->removed.size(), 1u);
  EXPECT_EQ(Ids(ack.p.incidents), Ids(ea.incidents));
  Send(b, a, {});
  // A silence deleted, one added.
  ea.silences.erase(ea.silences.begin() + 3);
  ea.silences.push_back(SilenceFor("sil-new", "db-1"));
  Received sil = Send(a, b, ea);
  EXPECT_EQ(sil.p.deltas[2]->ids.size(), 1u);
  EXPECT_EQ(sil.p.deltas[2]->removed.size(), 1u);
  EXPECT_EQ(Ids(sil.p.silences), Ids(ea.silences));
}

TEST_F(ReplicaDeltasTest, ALostPayloadOnlyMeansTheNextDeltaComesFromAnOlderBase) {
  Export ea = Busy(5, 5);
  Exchange(ea, {});
  Exchange(ea, {});
  ea.incidents[1] = Incident("inc-1", "bob");
  Send(a, b, ea, /*drop=*/true);  // lost: b never saw bob's ack
  ea.silences.push_back(SilenceFor("sil-9", "web-9"));
  Received r = Send(a, b, ea);
  EXPECT_EQ(Ids(r.p.incidents), Ids(ea.incidents));
  EXPECT_EQ(Ids(r.p.silences), Ids(ea.silences));
  // The deltas raced: b's echo of an older version reaches a after a newer delta.
  Received stale_echo = Send(b, a, {});
  ea.incidents[2] = Incident("inc-2", "carol");
  r = Send(a, b, ea);
  EXPECT_EQ(Ids(r.p.incidents), Ids(ea.incidents));
  (void)stale_echo;
}

TEST_F(ReplicaDeltasTest, ADeltaOnTheWrongBaseIsIgnoredAndTheEchoRepairsIt) {
  Export ea = Busy(5, 0);
  Exchange(ea, {});
  Exchange(ea, {});
  // Two deltas built from the same base (b's echo did not come back in between): the
  // second no longer fits what b holds after the first.
  auto build = [&] {  // a's payload for b, not sent yet
    SyncPayload p;
    p.from = "a";
    p.boot = a.boot;
    p.incidents = ea.incidents;
    a.deltas.Outgoing("b", p);
    return p;
  };
  ea.incidents[0] = Incident("inc-0", "alice");
  const SyncPayload first = build();
  ea.incidents[1] = Incident("inc-1", "alice");
  const SyncPayload second = build();
  ASSERT_EQ(first.deltas[0]->base, second.deltas[0]->base);
  auto apply = [&](const SyncPayload& p) {
    auto d = DecodeSyncPayload(EncodeSyncPayload(p));
    EXPECT_TRUE(d.ok());
    b.deltas.Incoming(*d);
    return *d;
  };
  SyncPayload got = apply(first);
  EXPECT_EQ(Ids(got.incidents)[0], "inc-0/alice");
  got = apply(second);  // base mismatch: b keeps what it had (never less)
  EXPECT_EQ(got.incidents.size(), 5u);
  EXPECT_EQ(Ids(got.incidents)[1], "inc-1/");
  Send(b, a, {});  // the echo: b holds `first`'s version
  Received r = Send(a, b, ea);
  EXPECT_EQ(r.p.deltas[0]->ids.size(), 1u);  // only inc-1, from b's real base
  EXPECT_EQ(Ids(r.p.incidents), Ids(ea.incidents));
}

TEST_F(ReplicaDeltasTest, RestartsOnEitherSideSendEverythingOnce) {
  Export ea = Busy(20, 3);
  Exchange(ea, {});
  Exchange(ea, {});
  // b restarts: it holds nothing, says so, and gets all of a's lists.
  Member b2{clock, "b", "boot-b2"};
  Send(b2, a, {});
  Received r = Send(a, b2, ea);
  ASSERT_TRUE(r.p.deltas[0].has_value());
  EXPECT_EQ(r.p.deltas[0]->base, 0u);
  EXPECT_EQ(Ids(r.p.incidents), Ids(ea.incidents));
  // a restarts: its versions start again, so b's old copy must not count as any of them.
  Member a2{clock, "a", "boot-a2"};
  Export smaller = Busy(2, 1);
  Received echo = Send(b2, a2, {});
  EXPECT_EQ(echo.p.holds_boot, "boot-a1");  // b2's echo names a's old boot: worth nothing
  EXPECT_NE(echo.p.holds[0], 0u);
  r = Send(a2, b2, smaller);
  ASSERT_TRUE(r.p.deltas[0].has_value());
  EXPECT_EQ(r.p.deltas[0]->base, 0u);
  EXPECT_EQ(Ids(r.p.incidents), Ids(smaller.incidents));
  EXPECT_EQ(Ids(r.p.silences), Ids(smaller.silences));
}

TEST_F(ReplicaDeltasTest, ADivergedCopyKeepsWhatItHasAndAsksForEverything) {
  Export ea = Busy(5, 0);
  Exchange(ea, {});
  Exchange(ea, {});
  ea.incidents.push_back(Incident("inc-new"));
  SyncPayload p;
  p.from = "a";
  p.boot = a.boot;
  p.incidents = ea.incidents;
  a.deltas.Outgoing("b", p);
  ASSERT_EQ(p.deltas[0]->ids.size(), 1u);
  p.deltas[0]->digest ^= 1;  // what a bug or a lost update would look like
  auto d = DecodeSyncPayload(EncodeSyncPayload(p));
  ASSERT_TRUE(d.ok());
  b.deltas.Incoming(*d);
  EXPECT_EQ(d->incidents.size(), 6u);  // still the best it knows
  Received echo = Send(b, a, {});
  EXPECT_EQ(echo.p.holds[0], 0u);  // asks for everything
  Received r = Send(a, b, ea);
  EXPECT_EQ(r.p.deltas[0]->base, 0u);
  EXPECT_EQ(Ids(r.p.incidents), Ids(ea.incidents));
}

TEST_F(ReplicaDeltasTest, LogEntriesGoOnceAndAgeOnTheReceiversClock) {
  Export ea;
  ea.log.push_back(Log("page-1", 1'700'000'000'000, 2'000));
  Exchange(ea, {});
  Exchange(ea, {});
  clock.Advance(10s);
  ea.log[0].age_ms = 12'000;  // the exporter ages it too, but its id stays the same
  Received r = Send(a, b, ea);
  EXPECT_TRUE(r.p.deltas[1]->ids.empty());
  ASSERT_EQ(r.p.log.size(), 1u);
  EXPECT_EQ(r.p.log[0].age_ms, 12'000);
  // A claim renewed under the same key is a new entry, with its own age.
  ea.log[0] = Log("page-1", 1'700'000'030'000, 0);
  Send(b, a, {});
  r = Send(a, b, ea);
  EXPECT_EQ(r.p.deltas[1]->ids.size(), 1u);
  ASSERT_EQ(r.p.log.size(), 1u);
  EXPECT_EQ(r.p.log[0].age_ms, 0);
}

TEST_F(ReplicaDeltasTest, AnOlderPeerSendsAndGetsWholeLists) {
  Export ea = Busy(3, 2);
  // An older collector's payload has no "states".
  SyncPayload old;
  old.from = "b";
  old.boot = "boot-old";
  old.incidents = {Incident("theirs")};
  std::string wire = EncodeSyncPayload(old);
  ASSERT_EQ(wire.find("\"states\""), std::string::npos);
  auto d = DecodeSyncPayload(wire);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->speaks_deltas);
  a.deltas.Incoming(*d);
  EXPECT_EQ(Ids(d->incidents), std::vector<std::string>{"theirs/"});
  Received r = Send(a, b, ea);
  EXPECT_FALSE(r.p.deltas[0].has_value());
  EXPECT_EQ(r.p.incidents.size(), 3u);
}

TEST(StateDeltaWireTest, BadDeltaFieldsAreRefusedNamingTheField) {
  SyncPayload p;
  p.from = "a";
  p.boot = "x";
  p.speaks_deltas = true;
  p.incidents = {Incident("one")};
  PieceDelta d;
  d.version = 2;
  d.ids = {SyncItemId(p.incidents[0])};
  p.deltas[0] = d;
  const std::string good = EncodeSyncPayload(p);
  ASSERT_TRUE(DecodeSyncPayload(good).ok());
  auto refuse = [&](const std::string& from, const std::string& to, const std::string& field) {
    std::string bad = good;
    const size_t at = bad.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    bad.replace(at, from.size(), to);
    auto r = DecodeSyncPayload(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find(field), std::string::npos) << r.status().message();
  };
  const std::string id = good.substr(good.find("\"ids\":\""), 7 + 16 + 1);
  refuse(id, "\"ids\":\"\"", "states.incidents.ids");     // one entry, no id
  refuse(id, "\"ids\":\"abc\"", "states.incidents.ids");  // not 16 digits
  refuse(id, "\"ids\":\"zzzzzzzzzzzzzzzz\"", "states.incidents.ids");
  refuse("\"holds\":[0,0,0,0]", "\"holds\":[0,0]", "states.holds");
  refuse("\"holds\":[0,0,0,0]", "\"holds\":[0,-1,0,0]", "states.holds");
  refuse("\"holds_boot\":\"\"", "\"holds_boot\":7", "states.holds_boot");
  refuse("\"removed\":\"\"", "\"removed\":\"12\"", "states.incidents.removed");
}

TEST(StateDeltaWireTest, ARefusedSilenceKeepsItsIdSoTheDigestStillHolds) {
  FakeClock clock;
  Member a{clock, "a", "boot-a"};
  Member b{clock, "b", "boot-b"};
  Export ea;
  ea.silences = {SilenceFor("good", "web-1"), SilenceFor("bad", "web-2")};
  Send(a, b, ea);
  Send(b, a, {});
  // Make the second silence one the receiver refuses (broad, without force) on the wire.
  SyncPayload p;
  p.from = "a";
  p.boot = a.boot;
  p.silences = ea.silences;
  a.deltas.Outgoing("b", p);
  std::string wire = EncodeSyncPayload(p);
  const std::string m = R"("isRegex":false,"name":"source","value":"web-2")";  // keys sorted
  ASSERT_NE(wire.find(m), std::string::npos) << wire;
  wire.replace(wire.find(m), m.size(), R"("isRegex":true,"name":"alertname","value":".+")");
  auto d = DecodeSyncPayload(wire);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->silences_refused, 1u);
  ASSERT_EQ(d->deltas[2]->refused.size(), 1u);
  b.deltas.Incoming(*d);
  EXPECT_EQ(Ids(d->silences), std::vector<std::string>{"good/maintenance of web-1"});
  // The copy is whole (digest matched): the next exchange carries nothing.
  Received echo = Send(b, a, {});
  EXPECT_NE(echo.p.holds[2], 0u);
  Received r = Send(a, b, ea);
  EXPECT_TRUE(r.p.deltas[2]->ids.empty());
  EXPECT_EQ(r.p.silences_refused, 0u);  // counted once, when it came
}

}  // namespace
}  // namespace firewatch::collector
