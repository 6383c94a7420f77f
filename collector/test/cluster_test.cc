// The cluster's rules (docs/cluster.md) on a fake clock: three ClusterViews exchange
// payloads through the real encoder/decoder, as the sync threads would.
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "app/collector_config.h"
#include "cluster/cluster_view.h"
#include "cluster/payload.h"
#include "firewatch/text/hex.h"

namespace firewatch::collector {
namespace {

using namespace std::chrono_literals;

ClusterConfig ThreeMembers() {
  ClusterConfig c;
  c.enabled = true;
  for (const char* id : {"a", "b", "c"}) {
    ClusterMember m;
    m.id = id;
    m.url = std::string("http://") + id + ":9760";
    m.labels = {{"dc", std::string("dc-") + id}};
    c.members.push_back(m);
  }
  c.sync_interval = 1s;
  c.peer_timeout = 5s;
  c.full_sync_every = 30s;
  c.claim_timeout = 60s;
  c.alone_hold = 20s;
  c.isolation_fraction = 0.5;
  c.digest = "d1";
  return c;
}

Transition Tr(const std::string& id, SourceState from, SourceState to, int64_t at_ms) {
  Transition t;
  t.source_id = id;
  t.labels = {{"dc", "dc-x"}};
  t.from = from;
  t.to = to;
  t.at_ms = at_ms;
  t.reason = "test";
  return t;
}

class ClusterTest : public ::testing::Test {
 protected:
  ClusterTest() {
    for (const char* id : {"a", "b", "c"}) {
      // The boots the payloads below carry: each view takes its peers' echoes.
      views_[id] =
          std::make_unique<ClusterView>(clock_, ThreeMembers(), id, "", std::string("boot-") + id);
    }
  }
  ClusterView& V(const std::string& id) { return *views_.at(id); }

  // One push-pull exchange from -> to through the wire format.
  // One payload from `from` applied by `to` (no acknowledgement); returns it.
  SyncPayload Hear(const std::string& from, const std::string& to) {
    SyncPayload p = V(from).BuildFor(to);
    p.boot = "boot-" + from;
    auto decoded = DecodeSyncPayload(EncodeSyncPayload(p));
    EXPECT_TRUE(decoded.ok()) << decoded.status().message();
    if (decoded.ok()) {
      EXPECT_TRUE(V(to).Apply(*decoded).ok());
    }
    return p;
  }
  void Exchange(const std::string& from, const std::string& to) {
    SyncPayload out = V(from).BuildFor(to);
    out.boot = "boot-" + from;
    auto decoded = DecodeSyncPayload(EncodeSyncPayload(out));
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    ASSERT_TRUE(V(to).Apply(*decoded).ok());
    SyncPayload back = V(to).BuildFor(from, SyncRole::kResponse);
    back.boot = "boot-" + to;
    auto back_decoded = DecodeSyncPayload(EncodeSyncPayload(back));
    ASSERT_TRUE(back_decoded.ok());
    ASSERT_TRUE(V(from).Apply(*back_decoded).ok());
    V(from).Delivered(to, out);
  }
  // Every live pair exchanges; `dead` members neither send nor answer.
  void Round(const std::set<std::string>& dead = {}) {
    for (const char* f : {"a", "b", "c"}) {
      for (const char* t : {"a", "b", "c"}) {
        if (std::string(f) != t && !dead.count(f) && !dead.count(t)) Exchange(f, t);
      }
    }
  }
  // Advances `seconds` one second at a time, syncing and ticking like the collector.
  std::vector<alerting::Alert> Run(int seconds, const std::set<std::string>& dead = {},
                                   const std::string& watch = "a") {
    std::vector<alerting::Alert> alerts;
    for (int i = 0; i < seconds; ++i) {
      clock_.Advance(1s);
      Round(dead);
      for (const char* id : {"a", "b", "c"}) {
        if (dead.count(id)) continue;
        auto out = V(id).Tick();
        if (id == watch) {
          for (auto& a : out.alerts) alerts.push_back(std::move(a));
          for (auto& t : out.merged) merged_.push_back(std::move(t));
        }
      }
    }
    return alerts;
  }
  int64_t NowMs() { return ToUnixMillis(clock_.WallNow()); }
  PeerState StateOf(const std::string& viewer, const std::string& id) {
    for (const auto& c : V(viewer).Snapshot().collectors) {
      if (c.member.id == id) return c.state;
    }
    return PeerState::kUnknown;
  }

  FakeClock clock_;
  std::map<std::string, std::unique_ptr<ClusterView>> views_;
  std::vector<Transition> merged_;
};

TEST_F(ClusterTest, PeersComeUpOnFirstExchangeAndGoDownAfterPeerTimeout) {
  EXPECT_EQ(StateOf("a", "b"), PeerState::kUnknown);
  Run(2);
  EXPECT_EQ(StateOf("a", "b"), PeerState::kUp);
  EXPECT_EQ(StateOf("a", "c"), PeerState::kUp);
  Run(6, {"c"});
  EXPECT_EQ(StateOf("a", "c"), PeerState::kDown);
  EXPECT_EQ(StateOf("a", "b"), PeerState::kUp);
  // Back: two exchanges in a row (hysteresis).
  Run(2);
  EXPECT_EQ(StateOf("a", "c"), PeerState::kUp);
}

// A peer whose exchanges slow down (a storm's big deltas) is not DOWN before peer_timeout,
// however steady it was before: phi is shown, silence decides.
TEST_F(ClusterTest, ASlowPeerIsNotDownBeforePeerTimeout) {
  Run(20);
  for (int i = 0; i < 9; ++i) {  // 4.5 s without a payload from b or c
    clock_.Advance(500ms);
    V("a").Tick();
  }
  EXPECT_EQ(StateOf("a", "b"), PeerState::kUp);
  EXPECT_GT(V("a").Snapshot().collectors[1].phi, 8.0) << "phi suspects it (shown only)";
  clock_.Advance(500ms);
  V("a").Tick();
  EXPECT_EQ(StateOf("a", "b"), PeerState::kDown);
}

TEST_F(ClusterTest, SourceHeardByALivePeerIsAPathWarningNotAPage) {
  Run(2);
  for (const char* id : {"a", "b", "c"}) {
    V(id).OnLocal({Tr("web-1", SourceState::kUp, SourceState::kUp, NowMs())});
  }
  Run(1);
  auto out = V("a").OnLocal({Tr("web-1", SourceState::kUp, SourceState::kDown, NowMs())});
  EXPECT_TRUE(out.empty()) << "b and c still hear web-1";
  Run(2);
  EXPECT_TRUE(merged_.empty());
  auto snap = V("a").Snapshot();
  ASSERT_EQ(snap.path_warnings.size(), 1u);
  EXPECT_EQ(snap.path_warnings[0].source, "web-1");
  EXPECT_EQ(snap.path_warnings[0].unheard_by, std::vector<std::string>{"a"});
  // b's view names a as well.
  auto snap_b = V("b").Snapshot();
  ASSERT_EQ(snap_b.path_warnings.size(), 1u);
  EXPECT_EQ(snap_b.path_warnings[0].unheard_by, std::vector<std::string>{"a"});

  // Now nobody hears it: a pages (merged DOWN).
  V("b").OnLocal({Tr("web-1", SourceState::kUp, SourceState::kDown, NowMs())});
  V("c").OnLocal({Tr("web-1", SourceState::kUp, SourceState::kDown, NowMs())});
  Run(2);
  ASSERT_EQ(merged_.size(), 1u);
  EXPECT_EQ(merged_[0].to, SourceState::kDown);
  EXPECT_EQ(merged_[0].source_id, "web-1");
  // c hears it again: a resolves.
  V("c").OnLocal({Tr("web-1", SourceState::kDown, SourceState::kUp, NowMs())});
  Run(2);
  ASSERT_EQ(merged_.size(), 2u);
  EXPECT_EQ(merged_[1].from, SourceState::kDown);
  EXPECT_NE(merged_[1].to, SourceState::kDown);
}

// A check's failure report (Transition::reported, docs/cluster.md "Checks") pages at once
// even while peers have the check UP; withdrawn, it is a silence the peers overrule.
TEST_F(ClusterTest, AReportedFailurePagesDespitePeersAndExpiresIntoASilence) {
  Run(2);
  for (const char* id : {"a", "b", "c"}) {
    V(id).OnLocal({Tr("check/backup", SourceState::kUp, SourceState::kUp, NowMs())});
  }
  Run(1);
  Transition fail = Tr("check/backup", SourceState::kUp, SourceState::kDown, NowMs());
  fail.reported = true;
  auto out = V("a").OnLocal({fail});
  ASSERT_EQ(out.size(), 1u) << "b and c have it UP, but the job said it failed";
  EXPECT_EQ(out[0].to, SourceState::kDown);
  Run(3);
  EXPECT_TRUE(merged_.empty()) << "no resolve while the report stands";
  // The report expires (DOWN -> DOWN, not reported): b and c hear the job, so it resolves.
  out = V("a").OnLocal({Tr("check/backup", SourceState::kDown, SourceState::kDown, NowMs())});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].from, SourceState::kDown);
  EXPECT_EQ(out[0].to, SourceState::kUp);
  // A new report on the source, DOWN here but held (peers hear it): pages again.
  Transition again = Tr("check/backup", SourceState::kDown, SourceState::kDown, NowMs());
  again.reported = true;
  out = V("a").OnLocal({again});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, SourceState::kDown);
}

TEST_F(ClusterTest, PathWarningsCoverSourcesOnlyPeersKnowAndCountEachOnce) {
  Run(2);
  // a never heard ext-1; b hears it, c (which knew it) does not.
  V("b").OnLocal({Tr("ext-1", SourceState::kUp, SourceState::kUp, NowMs())});
  V("c").OnLocal({Tr("ext-1", SourceState::kUp, SourceState::kDown, NowMs())});
  Run(2);
  auto snap = V("a").Snapshot();
  ASSERT_EQ(snap.path_warnings_total, 1u);
  EXPECT_EQ(snap.path_warnings[0].source, "ext-1");
  EXPECT_EQ(snap.path_warnings[0].unheard_by, std::vector<std::string>{"c"});
  for (const auto& c : snap.collectors) {
    EXPECT_EQ(c.unheard_sources, c.member.id == "c" ? 1u : 0u) << c.member.id;
  }
}

TEST_F(ClusterTest, PathWarningsOfALargeTableAreCountedInSlicesAcrossSnapshots) {
  Run(2);
  // 3,000 sources a hears, c has DOWN; plus 500 only b and c know, b hears, c does not.
  std::vector<Transition> up, down, b_only, c_only;
  for (int i = 0; i < 3000; ++i) {
    const std::string id = "web-" + std::to_string(i);
    up.push_back(Tr(id, SourceState::kUp, SourceState::kUp, NowMs()));
    down.push_back(Tr(id, SourceState::kUp, SourceState::kDown, NowMs()));
  }
  for (int i = 0; i < 500; ++i) {
    const std::string id = "ext-" + std::to_string(i);
    b_only.push_back(Tr(id, SourceState::kUp, SourceState::kUp, NowMs()));
    c_only.push_back(Tr(id, SourceState::kUp, SourceState::kDown, NowMs()));
  }
  V("a").OnLocal(up);
  V("b").OnLocal(b_only);
  V("c").OnLocal(down);
  V("c").OnLocal(c_only);
  Run(2);
  V("a").set_path_pass_slice(250);
  // a walks its 3,000, then b's 500, then c's 3,500 (3,000 of them a's own: skipped,
  // still walked): 7,000 ids in slices of 250. Until a pass completes, the last complete
  // one stands (none yet: nothing).
  uint64_t total = 0;
  int calls = 0;
  for (; calls < 100 && total == 0; ++calls) total = V("a").Snapshot().path_warnings_total;
  EXPECT_EQ(total, 3500u);
  EXPECT_GE(calls, 7000 / 250 - 3);  // it really was sliced (whole buckets: a few ids more)
  auto snap = V("a").Snapshot();
  EXPECT_EQ(snap.path_warnings.size(), ClusterView::kMaxPathWarnings);
  for (const auto& c : snap.collectors) {
    EXPECT_EQ(c.unheard_sources, c.member.id == "c" ? 3500u : 0u) << c.member.id;
  }
  // c recovers them all: the next complete pass says so, the one before still stands.
  std::vector<Transition> back;
  for (auto t : down) {
    t.from = SourceState::kDown;
    t.to = SourceState::kUp;
    back.push_back(t);
  }
  V("c").OnLocal(back);
  Run(1);
  int more = 0;
  for (; more < 100 && V("a").Snapshot().path_warnings_total != 500; ++more) {
  }
  EXPECT_EQ(V("a").Snapshot().path_warnings_total, 500u);
  EXPECT_GE(more, 7000 / 250 / 2);  // the pass in progress, then one whole pass at most
}

// The pass starts only when what warnings depend on changed: an idle cluster of a
// million sources per collector walked 200,000 ids a second for nothing (15% of a core).
TEST_F(ClusterTest, PathWarningsOfAnIdleClusterWalkNothingAndFollowEveryChange) {
  Run(2);
  std::vector<Transition> up, down;
  for (int i = 0; i < 50; ++i) {
    const std::string id = "web-" + std::to_string(i);
    up.push_back(Tr(id, SourceState::kUp, SourceState::kUp, NowMs()));
    down.push_back(Tr(id, SourceState::kUp, SourceState::kDown, NowMs()));
  }
  V("a").OnLocal(up);
  V("b").OnLocal(up);
  V("c").OnLocal({down[0], down[1]});
  Run(2);
  EXPECT_EQ(V("a").Snapshot().path_warnings_total, 2u);
  const uint64_t passes = V("a").path_passes();
  Run(3);  // syncs that change nothing
  for (int i = 0; i < 5; ++i) EXPECT_EQ(V("a").Snapshot().path_warnings_total, 2u);
  EXPECT_EQ(V("a").path_passes(), passes) << "nothing changed, nothing walked";

  // A state at a peer, ours, and a peer's liveness: each is seen by the next snapshot.
  V("c").OnLocal({down[2]});
  Run(1);
  EXPECT_EQ(V("a").Snapshot().path_warnings_total, 3u);
  EXPECT_EQ(V("a").path_passes(), passes + 1);
  V("a").OnLocal({down[3]});
  auto snap = V("a").Snapshot();
  EXPECT_EQ(snap.path_warnings_total, 4u) << "web-3: b hears it, a does not";
  Run(8, {"c"});  // c dies: its DOWN verdicts no longer count
  EXPECT_EQ(V("a").Snapshot().path_warnings_total, 1u) << "only a's own web-3 is left";
}

TEST_F(ClusterTest, ASourceNoPeerKnowsPagesAtOnce) {
  Run(2);
  // Agents may report to a subset of collectors: peers that never heard web-1 do not vote.
  auto out = V("a").OnLocal({Tr("web-1", SourceState::kUp, SourceState::kDown, NowMs())});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, SourceState::kDown);
}

TEST_F(ClusterTest, CollectorDownNeedsTheOtherLivePeersToAgree) {
  Run(2);
  // c dies. a and b both lose it after peer_timeout; a pages only once b reports it down.
  std::vector<alerting::Alert> alerts = Run(8, {"c"});
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].labels.at("alertname"), "CollectorDown");
  EXPECT_EQ(alerts[0].labels.at("collector"), "c");
  EXPECT_EQ(alerts[0].labels.at("dc"), "dc-c");
  EXPECT_EQ(alerts[0].status, alerting::AlertStatus::kFiring);
  // c back: resolved.
  alerts = Run(3);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].status, alerting::AlertStatus::kResolved);
}

TEST_F(ClusterTest, NoCollectorDownWhenOnlyThisCollectorCannotReachThePeer) {
  Run(2);
  // a cannot reach c, but b can: b keeps telling a that c is up.
  std::vector<alerting::Alert> alerts;
  for (int i = 0; i < 15; ++i) {
    clock_.Advance(1s);
    Exchange("a", "b");
    Exchange("b", "c");
    for (const char* id : {"a", "b", "c"}) {
      auto out = V(id).Tick();
      if (std::string(id) == "a") alerts.insert(alerts.end(), out.alerts.begin(), out.alerts.end());
    }
  }
  EXPECT_EQ(StateOf("a", "c"), PeerState::kDown);
  EXPECT_TRUE(alerts.empty()) << alerts[0].labels.at("alertname");
  // ... but a path warning. a: "I cannot reach c (b can)". b reaches both and hears from
  // each that it cannot reach the other.
  auto unreachable = [&](const std::string& viewer, const std::string& about) {
    for (const auto& c : V(viewer).Snapshot().collectors) {
      if (c.member.id == about) return c.unreachable_from;
    }
    return std::vector<std::string>{"?"};
  };
  EXPECT_EQ(unreachable("a", "c"), std::vector<std::string>{"a"});
  EXPECT_TRUE(unreachable("a", "b").empty());
  EXPECT_EQ(unreachable("b", "c"), std::vector<std::string>{"a"});
  EXPECT_EQ(unreachable("b", "a"), std::vector<std::string>{"c"});
}

TEST_F(ClusterTest, AloneCollectorThatStillHearsItsSourcesPagesLostPeersAfterTheHold) {
  V("a").OnLocal({Tr("web-1", SourceState::kUp, SourceState::kUp, NowMs())});
  Run(2);
  // a partitioned from b and c (b and c still talk to each other).
  std::vector<alerting::Alert> alerts;
  for (int i = 0; i < 40; ++i) {
    clock_.Advance(1s);
    Exchange("b", "c");
    auto out = V("a").Tick();
    alerts.insert(alerts.end(), out.alerts.begin(), out.alerts.end());
    if (i == 15) {
      EXPECT_TRUE(alerts.empty()) << "alone_hold (20 s) not over yet";
    }
  }
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].labels.at("collector"), "b");
  EXPECT_EQ(alerts[1].labels.at("collector"), "c");
}

TEST_F(ClusterTest, IsolatedCollectorRaisesOneAlertAndHoldsHostPages) {
  for (int i = 0; i < 10; ++i) {
    V("a").OnLocal({Tr("h" + std::to_string(i), SourceState::kUp, SourceState::kUp, NowMs())});
  }
  Run(2);
  // a loses b, c and 8 of 10 sources.
  std::vector<alerting::Alert> alerts;
  std::vector<Transition> merged;
  for (int s = 0; s < 60; ++s) {
    clock_.Advance(1s);
    Exchange("b", "c");
    if (s == 8) {
      for (int i = 0; i < 8; ++i) {
        auto out = V("a").OnLocal(
            {Tr("h" + std::to_string(i), SourceState::kUp, SourceState::kDown, NowMs())});
        merged.insert(merged.end(), out.begin(), out.end());
      }
    }
    auto out = V("a").Tick();
    alerts.insert(alerts.end(), out.alerts.begin(), out.alerts.end());
    merged.insert(merged.end(), out.merged.begin(), out.merged.end());
  }
  EXPECT_TRUE(merged.empty()) << "host pages are held while isolated";
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].labels.at("alertname"), "CollectorIsolated");
  EXPECT_EQ(alerts[0].labels.at("collector"), "a");
  EXPECT_NE(alerts[0].annotations.at("description").find("h0"), std::string::npos);
  EXPECT_TRUE(V("a").Snapshot().isolated);
}

// Tick re-evaluates a DOWN source only when what its merged verdict depends on changed:
// a live peer's hearing of it, a peer's liveness, alone/isolated, the alone_hold clock.
TEST_F(ClusterTest, TickReevaluatesOnlyDownSourcesWhoseInputsChanged) {
  Run(2);
  constexpr int kSources = 200;
  auto all = [&](SourceState from, SourceState to) {
    std::vector<Transition> ts;
    for (int i = 0; i < kSources; ++i) ts.push_back(Tr("h" + std::to_string(i), from, to, NowMs()));
    return ts;
  };
  for (const char* id : {"a", "b", "c"}) V(id).OnLocal(all(SourceState::kUp, SourceState::kUp));
  Run(1);
  for (const char* id : {"a", "b", "c"}) {
    EXPECT_TRUE(V(id).OnLocal(all(SourceState::kUp, SourceState::kDown)).empty())
        << "peers hear them";
  }
  Run(2);
  ASSERT_EQ(merged_.size(), static_cast<size_t>(kSources)) << "nobody hears them any more";
  const uint64_t settled = V("a").down_evaluations();
  Run(10);
  EXPECT_EQ(V("a").down_evaluations(), settled) << "nothing changed: nothing re-evaluated";
  EXPECT_EQ(merged_.size(), static_cast<size_t>(kSources));

  // c hears h7 again: a re-evaluates h7 alone and resolves it.
  V("c").OnLocal({Tr("h7", SourceState::kDown, SourceState::kUp, NowMs())});
  Run(2);
  ASSERT_EQ(merged_.size(), static_cast<size_t>(kSources) + 1);
  EXPECT_EQ(merged_.back().source_id, "h7");
  EXPECT_EQ(merged_.back().to, SourceState::kUp);
  EXPECT_LE(V("a").down_evaluations() - settled, 2u);

  // c dies: what it hears no longer counts, h7 pages again.
  Run(8, {"c"});
  ASSERT_EQ(merged_.size(), static_cast<size_t>(kSources) + 2);
  EXPECT_EQ(merged_.back().source_id, "h7");
  EXPECT_EQ(merged_.back().to, SourceState::kDown);
}

TEST_F(ClusterTest, AnAloneCollectorPagesADownSourceWhenTheHoldEnds) {
  for (int i = 0; i < 10; ++i) {
    V("a").OnLocal({Tr("h" + std::to_string(i), SourceState::kUp, SourceState::kUp, NowMs())});
  }
  Run(2);
  // a is cut off from b and c; after peer_timeout it is alone (1 of 10 DOWN: not isolated).
  std::vector<Transition> merged;
  int64_t down_at = 0;
  for (int s = 0; s < 40; ++s) {
    clock_.Advance(1s);
    Exchange("b", "c");
    if (s == 10) {
      down_at = NowMs();
      EXPECT_TRUE(
          V("a").OnLocal({Tr("h0", SourceState::kUp, SourceState::kDown, down_at)}).empty());
    }
    auto out = V("a").Tick();
    for (auto& t : out.merged) {
      EXPECT_GE(NowMs() - down_at, 20'000) << "held for alone_hold";
      EXPECT_LE(NowMs() - down_at, 21'000) << "and paged when it ends";
      merged.push_back(std::move(t));
    }
  }
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].source_id, "h0");
  EXPECT_EQ(merged[0].to, SourceState::kDown);
}

TEST_F(ClusterTest, GateSkipsDeliveredWaitsForClaimsAndRanksAndTakesOverDeadClaims) {
  Run(2);
  const int64_t due = NowMs();
  // a is rank 0: sends at once. c is rank 2: waits 2 x peer_timeout.
  EXPECT_EQ(V("a").Decide("k1", due, NowMs()).kind, alerting::GateDecision::Kind::kSend);
  auto d = V("c").Decide("k1", due, NowMs());
  EXPECT_EQ(d.kind, alerting::GateDecision::Kind::kDefer);
  EXPECT_EQ(d.until_ms, due + 10'000);

  // The outbox moves a deferred item's due time; the wait still counts from the first.
  EXPECT_EQ(V("c").Decide("k9", due, due + 9'000).until_ms, due + 10'000);
  Run(10);
  EXPECT_EQ(V("c").Decide("k1", due + 10'000, NowMs()).kind, alerting::GateDecision::Kind::kSend);

  // Peer logs arrive with the next sync: a claimed k1, b delivered k2.
  SyncPayload pa = V("a").BuildFor("c");
  pa.boot = "boot-a";
  pa.log.push_back({"k1", alerting::LogEntry::State::kClaimed, 0});
  ASSERT_TRUE(V("c").Apply(pa).ok());
  SyncPayload pb = V("b").BuildFor("c");
  pb.boot = "boot-b";
  pb.log.push_back({"k2", alerting::LogEntry::State::kDelivered, 100});
  ASSERT_TRUE(V("c").Apply(pb).ok());
  EXPECT_EQ(V("c").Decide("k2", due, NowMs() + 20'000).kind, alerting::GateDecision::Kind::kSkip);
  EXPECT_EQ(V("c").Decide("k1", due, NowMs() + 20'000).kind, alerting::GateDecision::Kind::kDefer);

  // a dies with its claim open: once a is DOWN, c (now rank 1) takes over after its turn.
  for (int i = 0; i < 7; ++i) {
    clock_.Advance(1s);
    Exchange("b", "c");
    V("c").Tick();
  }
  ASSERT_EQ(StateOf("c", "a"), PeerState::kDown);
  EXPECT_EQ(V("c").Decide("k1", due, NowMs()).kind, alerting::GateDecision::Kind::kSend);
}

// Past its turn, a collector still waits for a sync from each live collector before it
// since the turn began (a slow sync is not silence); a DOWN one no longer counts.
TEST_F(ClusterTest, PastItsTurnACollectorWaitsForTheEarlierOnesNextSync) {
  Run(2);
  const int64_t due = NowMs();
  clock_.Advance(6s);  // no exchange since `due`; nobody ticked, so a is not DOWN yet
  auto d = V("b").Decide("k1", due, NowMs());
  ASSERT_EQ(d.kind, alerting::GateDecision::Kind::kDefer);
  EXPECT_EQ(d.until_ms, NowMs() + 1'000);
  EXPECT_NE(d.detail.find("collector a"), std::string::npos) << d.detail;
  Exchange("a", "b");  // a's payload (no claim in it): b's turn is its own now
  EXPECT_EQ(V("b").Decide("k1", due, NowMs()).kind, alerting::GateDecision::Kind::kSend);

  // c waits for a and b; once a is DOWN, for b alone.
  const int64_t due2 = NowMs();
  clock_.Advance(11s);
  Exchange("b", "c");
  EXPECT_EQ(V("c").Decide("k2", due2, NowMs()).kind, alerting::GateDecision::Kind::kDefer);
  V("c").Tick();
  ASSERT_EQ(StateOf("c", "a"), PeerState::kDown);
  EXPECT_EQ(V("c").Decide("k2", due2, NowMs()).kind, alerting::GateDecision::Kind::kSend);
}

// Before a peer is heard nothing of the table goes to it (which kind it can take is not
// known yet); then every range, then deltas of changes only. A copy that diverged (a lost
// entry) is found by the digests, located by the range digests, and repaired by sending
// only the divergent range (docs/cluster.md, "Sync").
TEST_F(ClusterTest, DeltasCarryOnlyChangesAndADivergentRangeIsSentAgain) {
  for (int i = 0; i < 40; ++i) {
    V("a").OnLocal({Tr("h" + std::to_string(i), SourceState::kUp, SourceState::kUp, NowMs())});
  }
  SyncPayload first = V("a").BuildFor("b");
  EXPECT_TRUE(first.withheld);
  EXPECT_TRUE(first.sources.empty());
  Hear("b", "a");  // b's first payload: a learns that b speaks ranges
  SyncPayload all = V("a").BuildFor("b");
  EXPECT_FALSE(all.sources_full);
  EXPECT_EQ(all.sources_ranges.size(), static_cast<size_t>(kSyncRanges));
  EXPECT_EQ(all.sources.size(), 40u);
  EXPECT_TRUE(all.forgotten_all);
  Run(2);
  EXPECT_TRUE(V("a").BuildFor("b").sources.empty()) << "nothing changed, nothing sent";
  V("a").OnLocal({Tr("h3", SourceState::kUp, SourceState::kLate, NowMs()),
                  Tr("h7", SourceState::kUp, SourceState::kDown, NowMs())});
  SyncPayload delta = V("a").BuildFor("b");
  EXPECT_TRUE(delta.sources_ranges.empty());
  ASSERT_EQ(delta.sources.size(), 2u);

  // b gets the delta without h7 (a lost entry): the digests disagree -> b asks for a's
  // range digests -> finds the one range that differs -> asks for it -> a sends that
  // range whole, and nothing else.
  delta.boot = "boot-a";
  delta.sources.erase(delta.sources.begin() + (delta.sources[0].first == "h7" ? 0 : 1));
  ASSERT_TRUE(V("b").Apply(delta).ok());
  V("a").Delivered("b", delta);
  SyncPayload ask = Hear("b", "a");
  EXPECT_TRUE(ask.need_range_digests);
  EXPECT_FALSE(ask.need_full);
  SyncPayload digests = Hear("a", "b");
  ASSERT_EQ(digests.range_digests.size(), static_cast<size_t>(kSyncRanges));
  EXPECT_TRUE(digests.sources.empty());
  SyncPayload ask_range = Hear("b", "a");
  EXPECT_FALSE(ask_range.need_range_digests);
  ASSERT_EQ(ask_range.need_ranges, std::vector<int>{SyncRangeOf("h7")});
  SyncPayload repair = Hear("a", "b");
  EXPECT_EQ(repair.sources_ranges, std::vector<int>{SyncRangeOf("h7")});
  EXPECT_LT(repair.sources.size(), 40u);
  bool has_h7 = false;
  for (const auto& [id, st] : repair.sources) {
    EXPECT_EQ(SyncRangeOf(id), SyncRangeOf("h7")) << id;
    has_h7 |= id == "h7" && st == SourceState::kDown;
  }
  EXPECT_TRUE(has_h7);
  SyncPayload settled = Hear("b", "a");
  EXPECT_FALSE(settled.need_range_digests);
  EXPECT_TRUE(settled.need_ranges.empty());
}

// A payload echoes the version of the receiver's table the sender holds: what the
// receiver sends next (a response too) starts there, not at what its own requests got
// acknowledged. Before the echo, a delta rode again in every response (and in every
// request after one that timed out) until a request of the sender came back.
TEST_F(ClusterTest, WhatAPeerEchoesItHoldsIsNotSentAgain) {
  Run(2);
  std::vector<Transition> down;
  for (int i = 0; i < 100; ++i) {
    down.push_back(Tr("h" + std::to_string(i), SourceState::kUp, SourceState::kDown, NowMs()));
  }
  V("a").OnLocal(down);
  // a's request reaches b, its answer is lost: a does not know b has it.
  EXPECT_EQ(Hear("a", "b").sources.size(), 100u);
  // b's next request says it holds a's table up to there; a's answer carries none of it.
  SyncPayload ask = Hear("b", "a");
  EXPECT_EQ(ask.sources_holds_boot, "boot-a");
  EXPECT_GT(ask.sources_holds, 0u);
  EXPECT_TRUE(V("a").BuildFor("b").sources.empty());
  // A change after it goes, alone.
  V("a").OnLocal({Tr("h0", SourceState::kDown, SourceState::kUp, NowMs())});
  SyncPayload next = V("a").BuildFor("b");
  ASSERT_EQ(next.sources.size(), 1u);
  EXPECT_EQ(next.sources[0].first, "h0");
  // An echo that names another boot of a (a's previous process) counts for nothing.
  ClusterView fresh(clock_, ThreeMembers(), "a", "", "boot-a-2");
  SyncPayload hello = V("b").BuildFor("a");
  hello.boot = "boot-b";
  ASSERT_TRUE(fresh.Apply(hello).ok());
  fresh.Delivered("b", fresh.BuildFor("b"));  // every range (empty) reached b
  fresh.OnLocal(down);
  SyncPayload old_echo = V("b").BuildFor("a");
  ASSERT_EQ(old_echo.sources_holds_boot, "boot-a");
  old_echo.boot = "boot-b";
  old_echo.sources_holds = 1'000'000;
  ASSERT_TRUE(fresh.Apply(old_echo).ok());
  EXPECT_EQ(fresh.BuildFor("b").sources.size(), 100u);
  // And the echo survives the wire.
  auto decoded = DecodeSyncPayload(EncodeSyncPayload(ask));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->sources_holds, ask.sources_holds);
  EXPECT_EQ(decoded->sources_holds_boot, "boot-a");
}

// While a's own requests reach b, a's answers to b's requests carry none of a's changes:
// each goes once, in a's next request, and an answer can no longer overtake a request
// with older entries. When a's requests stop getting through (b reaches a, a cannot
// reach b), the answers carry them again.
TEST_F(ClusterTest, AnAnswerCarriesOurChangesOnlyWhileOurRequestsDoNotGetThrough) {
  Run(2);
  V("a").OnLocal({Tr("h1", SourceState::kUp, SourceState::kDown, NowMs())});
  SyncPayload answer = V("a").BuildFor("b", SyncRole::kResponse);
  EXPECT_TRUE(answer.sources.empty());
  EXPECT_TRUE(answer.sources_more) << "b must not judge its copy against this one";
  EXPECT_EQ(answer.sources_version, 0u);
  ASSERT_EQ(V("a").BuildFor("b").sources.size(), 1u);
  // a's requests to b fail from now on (past peer_timeout + sync_interval, 6 s); b's keep
  // reaching a.
  for (int i = 0; i < 7; ++i) {
    clock_.Advance(1s);
    Hear("b", "a");
  }
  SyncPayload fallback = V("a").BuildFor("b", SyncRole::kResponse);
  ASSERT_EQ(fallback.sources.size(), 1u);
  EXPECT_EQ(fallback.sources[0].first, "h1");
  EXPECT_FALSE(fallback.sources_more);
  // b takes it, and its copy agrees with a's digest: nothing to repair.
  auto decoded = DecodeSyncPayload(EncodeSyncPayload(fallback));
  ASSERT_TRUE(decoded.ok());
  decoded->boot = "boot-a";
  ASSERT_TRUE(V("b").Apply(*decoded).ok());
  SyncPayload ask = Hear("b", "a");
  EXPECT_FALSE(ask.need_range_digests);
  EXPECT_TRUE(ask.need_ranges.empty());
}

// Many sources: a restarted peer gets every range, at most kMaxSyncEntries entries per
// payload (whole ranges, so the receiver can replace its copy of each), and converges.
TEST_F(ClusterTest, ARestartedPeerGetsEveryRangeInBoundedParts) {
  const size_t n = kMaxSyncEntries * 2 + 1000;
  std::vector<Transition> ts;
  for (size_t i = 0; i < n; ++i) {
    ts.push_back(Tr("host-" + std::to_string(i), SourceState::kUp, SourceState::kUp, NowMs()));
  }
  V("a").OnLocal(ts);
  Hear("b", "a");
  size_t parts = 0;
  std::set<std::string> got;
  for (bool more = true; more && parts < 10; ++parts) {
    SyncPayload p = V("a").BuildFor("b");
    p.boot = "boot-a";
    EXPECT_LE(p.sources.size(), kMaxSyncEntries + 1000) << "whole ranges, about the budget";
    EXPECT_GT(EncodeSyncPayload(p).size(), 0u);
    for (const auto& [id, st] : p.sources) got.insert(id);
    more = p.sources_more;
    ASSERT_TRUE(V("b").Apply(p).ok());
    V("a").Delivered("b", p);
  }
  EXPECT_GE(parts, 3u);
  EXPECT_EQ(got.size(), n);
  SyncPayload after = Hear("b", "a");
  EXPECT_FALSE(after.need_range_digests);  // b's copy matches a's digests
  // Steady state: what a sends when nothing changes does not grow with the table.
  SyncPayload idle = V("a").BuildFor("b");
  EXPECT_TRUE(idle.sources.empty());
  EXPECT_LT(EncodeSyncPayload(idle).size(), 1024u);

  // A datacenter goes dark: more changes than one payload takes. The delta is cut in
  // version order (no resend of every range) and the rest follows.
  std::vector<Transition> dark;
  for (size_t i = 0; i < kMaxSyncEntries + 5000; ++i) {
    dark.push_back(Tr("host-" + std::to_string(i), SourceState::kUp, SourceState::kDown, NowMs()));
  }
  V("a").OnLocal(dark);
  SyncPayload part1 = V("a").BuildFor("b");
  part1.boot = "boot-a";
  EXPECT_TRUE(part1.sources_ranges.empty());
  EXPECT_EQ(part1.sources.size(), kMaxSyncEntries);
  EXPECT_TRUE(part1.sources_more);
  ASSERT_TRUE(V("b").Apply(part1).ok());
  V("a").Delivered("b", part1);
  SyncPayload part2 = V("a").BuildFor("b");
  part2.boot = "boot-a";
  EXPECT_EQ(part2.sources.size(), 5000u);
  EXPECT_FALSE(part2.sources_more);
  ASSERT_TRUE(V("b").Apply(part2).ok());
  V("a").Delivered("b", part2);
  SyncPayload settled = Hear("b", "a");
  EXPECT_FALSE(settled.need_range_digests) << "b's copy matches after the two parts";
}

CheckChange Check(const std::string& source, const std::string& check,
                  protocol::CheckState from, protocol::CheckState to, const std::string& output) {
  return CheckChange{source, {}, check, from, to, output, 0};
}

std::vector<std::string> PeerChecksText(ClusterView& v, const std::string& source) {
  std::vector<std::string> out;
  for (const auto& r : v.PeerChecksFor(source)) {
    out.push_back(r.collector + ":" + r.check.name + "=" +
                  std::string(protocol::CheckStateName(r.check.state)) + " " + r.check.output);
  }
  return out;
}

// A collector that does not hear a source still knows what its peers alert on for its
// checks: failing ones travel with the source's delta, recovered ones are withdrawn, and a
// forget takes them away (docs/cluster.md, "Checks").
TEST_F(ClusterTest, FailingChecksReachPeersWithTheSourceAndRecoveriesWithdrawThem) {
  using protocol::CheckState;
  V("a").OnLocal({Tr("db-1", SourceState::kUp, SourceState::kUp, NowMs())});
  V("a").OnLocal({Tr("db-2", SourceState::kUp, SourceState::kUp, NowMs())});
  Run(1);
  EXPECT_TRUE(PeerChecksText(V("b"), "db-1").empty());

  Run(1);  // the first exchanges send every range (b and c were not heard before)
  V("a").OnLocalChecks({Check("db-1", "pg", CheckState::kOk, CheckState::kCritical, "refused"),
                        Check("db-1", "disk", CheckState::kOk, CheckState::kWarning, "91%")});
  SyncPayload delta = V("a").BuildFor("b");
  EXPECT_FALSE(delta.sources_full);
  ASSERT_EQ(delta.sources.size(), 1u);  // only db-1: db-2 did not change
  Run(1);
  EXPECT_EQ(PeerChecksText(V("b"), "db-1"),
            (std::vector<std::string>{"a:disk=WARNING 91%", "a:pg=CRITICAL refused"}));
  EXPECT_EQ(PeerChecksText(V("c"), "db-1"), PeerChecksText(V("b"), "db-1"));
  EXPECT_TRUE(PeerChecksText(V("a"), "db-1").empty());  // its own are not a peer's
  EXPECT_TRUE(PeerChecksText(V("b"), "db-2").empty());

  // The source goes DOWN on b (b does not hear it); a's report is still there.
  V("b").OnLocal({Tr("db-1", SourceState::kUp, SourceState::kDown, NowMs())});
  Run(1);
  EXPECT_EQ(PeerChecksText(V("b"), "db-1").size(), 2u);

  V("a").OnLocalChecks({Check("db-1", "pg", CheckState::kCritical, CheckState::kOk, "ok")});
  Run(1);
  EXPECT_EQ(PeerChecksText(V("b"), "db-1"), (std::vector<std::string>{"a:disk=WARNING 91%"}));

  V("a").Forget({{"db-1", NowMs()}}, "test");
  Run(1);
  EXPECT_TRUE(PeerChecksText(V("b"), "db-1").empty());
  EXPECT_TRUE(PeerChecksText(V("c"), "db-1").empty());
}

// A restarted collector re-learns from its store what it alerts on; a peer whose copy of
// the check table diverged (a lost delta) asks for the whole table and converges.
TEST_F(ClusterTest, ALostCheckDeltaIsCaughtByTheDigestAndRepairedByAFullTable) {
  using protocol::CheckState;
  V("a").OnLocal({Tr("db-1", SourceState::kUp, SourceState::kUp, NowMs())});
  Run(1);
  V("a").OnLocalChecks({Check("db-1", "pg", CheckState::kOk, CheckState::kCritical, "refused")});
  SyncPayload lost = V("a").BuildFor("b");
  V("a").Delivered("b", lost);  // a believes b has it; b never applied it
  V("a").OnLocalChecks({Check("db-1", "disk", CheckState::kOk, CheckState::kUnknown, "?")});
  SyncPayload next = V("a").BuildFor("b");
  ASSERT_FALSE(next.sources_full);
  next.boot = "boot-a";
  next.checks.clear();  // as if the entry had been carried by the lost delta only
  next.sources.clear();
  ASSERT_TRUE(V("b").Apply(next).ok());
  SyncPayload ask = V("b").BuildFor("a");
  EXPECT_TRUE(ask.need_range_digests);
  Run(3);  // digests, the divergent range, applied
  EXPECT_EQ(PeerChecksText(V("b"), "db-1"),
            (std::vector<std::string>{"a:disk=UNKNOWN ?", "a:pg=CRITICAL refused"}));

  // A payload from a collector before check replication leaves the copy alone.
  SyncPayload old = V("a").BuildFor("b");
  old.boot = "boot-a";
  old.has_checks = false;
  old.checks.clear();
  ASSERT_TRUE(V("b").Apply(old).ok());
  EXPECT_EQ(PeerChecksText(V("b"), "db-1").size(), 2u);
}

// After a restart the view takes the failing checks from the restored sources (what the
// alerts said when it stopped), so peers see them again without waiting for a heartbeat.
TEST_F(ClusterTest, RestoredFailingChecksAreSentAfterARestart) {
  SourceSnapshot s;
  s.source_id = "db-1";
  s.state = SourceState::kUp;
  s.checks = {{"pg", protocol::CheckState::kCritical, "refused"},
              {"disk", protocol::CheckState::kOk, "40%"}};
  V("a").RestoreLocal({s});
  Run(2);  // the first exchange introduces the peers, the next request carries every range
  EXPECT_EQ(PeerChecksText(V("b"), "db-1"), (std::vector<std::string>{"a:pg=CRITICAL refused"}));
}

// A forget on one collector reaches its peers as a tombstone (with when, relative), is
// removed from their copy of its table, and is not brought back by later syncs.
TEST_F(ClusterTest, ForgottenSourceIsATombstoneForPeers) {
  for (const char* id : {"a", "b"}) {
    V(id).OnLocal({Tr("gone", SourceState::kUp, SourceState::kUp, NowMs()),
                   Tr("kept", SourceState::kUp, SourceState::kUp, NowMs())});
  }
  Run(2);
  const int64_t at = NowMs();
  EXPECT_TRUE(V("a").Forget({{"gone", at}}, "operator").empty()) << "not paged: nothing to resolve";
  clock_.Advance(3s);  // the next exchange: the tombstone is 3 s old
  SyncPayload delta = V("a").BuildFor("b");
  EXPECT_FALSE(delta.sources_full);
  EXPECT_TRUE(delta.sources.empty());
  ASSERT_EQ(delta.forgotten.size(), 1u);
  EXPECT_EQ(delta.forgotten[0].first, "gone");

  // b learns it through the wire format: the id and when, on b's own clock.
  delta.boot = "boot-a";
  auto decoded = DecodeSyncPayload(EncodeSyncPayload(delta));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  std::vector<ClusterView::Tombstone> told;
  ASSERT_TRUE(V("b").Apply(*decoded, &told).ok());
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0].source, "gone");
  EXPECT_NEAR(static_cast<double>(told[0].forgotten_at_ms), static_cast<double>(at), 50);
  // b's copy of a's table no longer has it: no path warning about it, digest agrees.
  for (int i = 0; i < 40; ++i) Run(1);
  EXPECT_FALSE(V("b").BuildFor("a").need_range_digests);
  for (const auto& w : V("b").Snapshot().path_warnings) EXPECT_NE(w.source, "gone");
  // A peer that restarted gets every range and every tombstone (so it learns the forget
  // too), never the entry.
  SyncPayload restarted = V("c").BuildFor("a");
  restarted.boot = "boot-c-2";
  ASSERT_TRUE(V("a").Apply(restarted).ok());
  SyncPayload full = V("a").BuildFor("c");
  ASSERT_TRUE(full.forgotten_all);
  EXPECT_EQ(full.sources_ranges.size(), static_cast<size_t>(kSyncRanges));
  for (const auto& [id, st] : full.sources) EXPECT_NE(id, "gone");
  bool carried = false;
  for (const auto& [id, age] : full.forgotten) carried |= id == "gone";
  EXPECT_TRUE(carried);

  // Heard again on a: a live entry again, the tombstone gone.
  V("a").OnLocal({Tr("gone", SourceState::kUp, SourceState::kUp, NowMs())});
  SyncPayload again = V("a").BuildFor("c");
  for (const auto& [id, age] : again.forgotten) EXPECT_NE(id, "gone");
}

TEST_F(ClusterTest, ForgettingAPagedDownSourceResolvesItsPage) {
  Run(1);  // peers live: a DOWN nobody else hears pages at once
  V("a").OnLocal({Tr("dead", SourceState::kUp, SourceState::kUp, NowMs())});
  merged_.clear();
  auto paged = V("a").OnLocal({Tr("dead", SourceState::kUp, SourceState::kDown, NowMs())});
  ASSERT_EQ(paged.size(), 1u);
  auto resolved = V("a").Forget({{"dead", NowMs()}}, "operator");
  ASSERT_EQ(resolved.size(), 1u);
  const Transition* resolve = &resolved[0];
  EXPECT_EQ(resolve->from, SourceState::kDown);
  EXPECT_NE(resolve->to, SourceState::kDown);
  EXPECT_NE(resolve->reason.find("forgotten"), std::string::npos);
  // Held verdicts for it are gone too: ticking pages nothing about it.
  merged_.clear();
  Run(30);
  for (const auto& t : merged_) EXPECT_NE(t.source_id, "dead");
}

TEST_F(ClusterTest, TombstonesAreBoundedAndExpire) {
  std::vector<ClusterView::Tombstone> many;
  for (size_t i = 0; i < kMaxTombstones + 10; ++i) {
    many.push_back({"s" + std::to_string(i), NowMs() + static_cast<int64_t>(i)});
  }
  V("a").Forget({many.begin(), many.begin() + 100}, "test");  // in two batches
  V("a").Forget({many.begin() + 100, many.end()}, "test");
  Hear("b", "a");
  SyncPayload full = V("a").BuildFor("b");
  ASSERT_TRUE(full.forgotten_all);
  EXPECT_EQ(full.forgotten.size(), kMaxTombstones);
  std::set<std::string> kept;
  for (const auto& [id, age] : full.forgotten) kept.insert(id);
  for (size_t i = 0; i < 10; ++i) EXPECT_FALSE(kept.count("s" + std::to_string(i))) << "the oldest went first";
  EXPECT_TRUE(kept.count("s10"));
  // Equal times: exactly the excess is dropped.
  std::vector<ClusterView::Tombstone> same;
  for (int i = 0; i < 20; ++i) same.push_back({"t" + std::to_string(i), NowMs() + 100'000});
  V("a").Forget(same, "test");
  EXPECT_EQ(V("a").BuildFor("b").forgotten.size(), kMaxTombstones);
  clock_.Advance(ClusterView::kTombstoneTtl + 1h);
  V("a").Forget({{"late", NowMs()}}, "test");
  full = V("a").BuildFor("b");  // b has not acknowledged anything: still every tombstone
  ASSERT_EQ(full.forgotten.size(), 1u);
  EXPECT_EQ(full.forgotten[0].first, "late");
  // A payload with too many is refused whole.
  SyncPayload flood = full;
  flood.boot = "x";
  flood.forgotten.clear();
  for (size_t i = 0; i <= kMaxTombstones; ++i) flood.forgotten.emplace_back("f" + std::to_string(i), 1);
  EXPECT_FALSE(DecodeSyncPayload(EncodeSyncPayload(flood)).ok());
}

TEST_F(ClusterTest, CanonicalIncidentIsTheOneOfTheFirstMember) {
  EXPECT_TRUE(V("b").Precedes("a", "b"));
  EXPECT_FALSE(V("b").Precedes("c", "b"));
  SyncPayload pc = V("c").BuildFor("b");
  pc.boot = "boot-c";
  pc.incidents.push_back({"CCCCCC", "g1", "c", alerting::IncidentState::kOpen, 1000, 0, ""});
  ASSERT_TRUE(V("b").Apply(pc).ok());
  SyncPayload pa = V("a").BuildFor("b");
  pa.boot = "boot-a";
  pa.incidents.push_back({"AAAAAA", "g1", "a", alerting::IncidentState::kOpen, 2000, 0, ""});
  ASSERT_TRUE(V("b").Apply(pa).ok());
  auto p = V("b").PeerIncidentFor("g1");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->id, "AAAAAA");
  EXPECT_FALSE(V("b").PeerIncidentFor("g2"));
  EXPECT_FALSE(V("b").PeerResolvedFor("g1")) << "nothing was resolved by hand";

  // Resolved by hand on two peers (c's copy is the newer resolve): the newest comes back
  // with the peer that sent it; a recovery (no resolved_by) is not a resolve by hand.
  alerting::PeerIncident by_hand{"AAAAAA", "g1", "a", alerting::IncidentState::kResolved,
                                 2000,     0,    ""};
  by_hand.resolved_ms = 5000;
  by_hand.resolved_by = "dave";
  pa.incidents = {by_hand};
  pa.incidents.push_back({"RRRRRR", "g2", "a", alerting::IncidentState::kResolved, 1, 0, ""});
  ASSERT_TRUE(V("b").Apply(pa).ok());
  by_hand.resolved_ms = 6000;
  by_hand.resolved_by = "dave (on a)";
  pc.incidents = {by_hand};
  ASSERT_TRUE(V("b").Apply(pc).ok());
  auto r = V("b").PeerResolvedFor("g1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, "c");
  EXPECT_EQ(r->second.id, "AAAAAA");
  EXPECT_EQ(r->second.resolved_by, "dave (on a)");
  EXPECT_FALSE(V("b").PeerResolvedFor("g2"));
}

TEST_F(ClusterTest, ADigestChangedByAReloadReachesPeersOnTheNextSync) {
  Run(1);
  auto matches = [&](const std::string& viewer, const std::string& peer) {
    for (const auto& c : V(viewer).Snapshot().collectors) {
      if (c.member.id == peer) return c.config_matches;
    }
    return false;
  };
  ASSERT_TRUE(matches("a", "c") && matches("c", "a"));
  V("c").SetConfigDigest("d2");  // c reloaded another file
  EXPECT_EQ(V("c").config_digest(), "d2");
  EXPECT_EQ(V("c").BuildFor("a").config_digest, "d2");
  Run(1);
  EXPECT_FALSE(matches("a", "c"));
  EXPECT_FALSE(matches("c", "a"));
  EXPECT_TRUE(matches("a", "b"));
  EXPECT_EQ(V("c").Snapshot().config_digest, "d2");
  V("c").SetConfigDigest("d1");  // ... and the shared one again
  Run(1);
  EXPECT_TRUE(matches("a", "c") && matches("c", "a") && matches("b", "c"));
}

// Resolves by hand travel with who, when and why; other incidents carry none of it (and
// collectors from before it never send it). A comment over the limit is refused.
TEST(SyncPayloadTest, ResolvedByHandRoundTripsAndIsBounded) {
  SyncPayload p;
  p.from = "a";
  p.boot = "b00t";
  p.incidents.push_back({"K7Q2MX", "g", "a", alerting::IncidentState::kResolved, 5, 0, "", 9,
                         "carol", "PSU replaced"});
  p.incidents.push_back({"AAAAAA", "h", "a", alerting::IncidentState::kResolved, 5, 0, ""});
  const std::string text = EncodeSyncPayload(p);
  auto d = DecodeSyncPayload(text);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->incidents.at(0).resolved_by, "carol");
  EXPECT_EQ(d->incidents.at(0).resolved_ms, 9);
  EXPECT_EQ(d->incidents.at(0).resolve_comment, "PSU replaced");
  EXPECT_TRUE(d->incidents.at(1).resolved_by.empty());
  EXPECT_EQ(text.find("resolved_by"), text.rfind("resolved_by")) << "only the hand-resolved one";
  p.incidents.at(0).resolve_comment.assign(alerting::kMaxResolveCommentBytes + 1, 'x');
  auto over = DecodeSyncPayload(EncodeSyncPayload(p));
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().message().find("resolve_comment"), std::string::npos);
}

TEST(SyncPayloadTest, RoundTripsAndRejectsMalformedInput) {
  SyncPayload p;
  p.from = "a";
  p.boot = "b00t";
  p.seq = 7;
  p.config_digest = "abc";
  p.peers = {{"b", "up"}};
  p.sources_full = true;
  p.sources_version = 3;
  p.sources = {{"web-1", SourceState::kDown}, {"web-2", SourceState::kStopped}};
  p.sources_digest = 0xfeedfacecafebeefull;
  p.incidents.push_back({"K7Q2MX", "{}:{dc=\"x\"}", "a", alerting::IncidentState::kAcked, 5, 6, "alice"});
  p.log.push_back({"K7Q2MX/0/0/alice/sms", alerting::LogEntry::State::kDelivered, 42});
  p.need_full = true;
  auto d = DecodeSyncPayload(EncodeSyncPayload(p));
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->from, "a");
  EXPECT_EQ(d->sources_digest, p.sources_digest);
  EXPECT_EQ(d->sources.size(), 2u);
  EXPECT_EQ(d->incidents.at(0).acked_by, "alice");
  EXPECT_EQ(d->incidents.at(0).state, alerting::IncidentState::kAcked);
  EXPECT_EQ(d->log.at(0).age_ms, 42);
  EXPECT_TRUE(d->need_full);

  for (const char* bad : {"", "[]", "{\"v\":2}", "{\"v\":1}", "nonsense",
                          R"({"v":1,"from":"a","boot":"b","seq":1,"config_digest":"d","peers":{},
                             "sources":{"full":true,"version":1,"digest":"zz","entries":{}},
                             "incidents":[],"log":[],"silences":[],"need_full":false})",
                          R"({"v":1,"from":"a","boot":"b","seq":1,"config_digest":"d","peers":{},
                             "sources":{"full":true,"version":1,"digest":"0","entries":{"x":"sideways"}},
                             "incidents":[],"log":[],"silences":[],"need_full":false})"}) {
    auto r = DecodeSyncPayload(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
}

// The range fields (docs/cluster.md, "Sync"): round trip, absent = an older collector,
// and every malformed variant refused naming the field.
TEST(SyncPayloadTest, RangeFieldsRoundTripAndBadOnesAreRefused) {
  SyncPayload p;
  p.from = "a";
  p.need_range_digests = true;
  p.need_ranges = {0, 17, 255};
  p.sources_ranges = {3, 4};
  p.sources_more = true;
  for (int r = 0; r < kSyncRanges; ++r) p.range_digests.push_back(0x0123456789abcdefull * (r + 1));
  auto d = DecodeSyncPayload(EncodeSyncPayload(p));
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_TRUE(d->speaks_ranges);
  EXPECT_TRUE(d->need_range_digests);
  EXPECT_EQ(d->need_ranges, p.need_ranges);
  EXPECT_EQ(d->sources_ranges, p.sources_ranges);
  EXPECT_TRUE(d->sources_more);
  EXPECT_EQ(d->range_digests, p.range_digests);
  // Without them: an older collector, nothing asked, nothing pending.
  p.need_ranges.clear();
  p.sources_ranges.clear();
  p.range_digests.clear();
  p.sources_more = false;
  p.need_range_digests = false;
  std::string text = EncodeSyncPayload(p);
  EXPECT_EQ(text.find("\"range_digests\""), std::string::npos);
  EXPECT_EQ(text.find("\"more\""), std::string::npos);
  std::string old_text = text;
  const std::string marker = "\"need_ranges\":[],";
  ASSERT_NE(old_text.find(marker), std::string::npos) << text;
  old_text.erase(old_text.find(marker), marker.size());
  auto old = DecodeSyncPayload(old_text);
  ASSERT_TRUE(old.ok()) << old.status().message() << "\n" << old_text;
  EXPECT_FALSE(old->speaks_ranges);

  const std::string head =
      R"({"v":1,"from":"a","boot":"b","seq":1,"config_digest":"d","peers":{},"sources":{"full":false,"version":1,"digest":"0","entries":{})";
  const std::string tail = R"(,"incidents":[],"log":[],"silences":[],"need_full":false)";
  const std::string digests_ok(kSyncRanges * 16, 'a');
  const std::pair<std::string, std::string> bad[] = {
      {head + "}" + tail + R"(,"need_ranges":[3,2]})", "need_ranges"},
      {head + "}" + tail + R"(,"need_ranges":[256]})", "need_ranges"},
      {head + "}" + tail + R"(,"need_ranges":[-1]})", "need_ranges"},
      {head + "}" + tail + R"(,"need_ranges":["1"]})", "need_ranges"},
      {head + "}" + tail + R"(,"need_ranges":{}})", "need_ranges"},
      {head + "}" + tail + R"(,"need_ranges":[],"need_range_digests":1})", "need_range_digests"},
      {head + R"(,"ranges":[1,1]})" + tail + "}", "sources.ranges"},
      {head + R"(,"more":"yes"})" + tail + "}", "sources.more"},
      {head + R"(,"range_digests":"00"})" + tail + "}", "sources.range_digests"},
      {head + R"(,"range_digests":")" + digests_ok + R"(0"})" + tail + "}", "sources.range_digests"},
      {head + R"(,"range_digests":")" + std::string(kSyncRanges * 16, 'A') + R"("})" + tail + "}",
       "sources.range_digests"},
  };
  for (const auto& [text_bad, field] : bad) {
    auto r = DecodeSyncPayload(text_bad);
    ASSERT_FALSE(r.ok()) << text_bad;
    EXPECT_NE(r.status().message().find(field), std::string::npos) << r.status().message();
  }
  auto fine = DecodeSyncPayload(head + R"(,"range_digests":")" + digests_ok + R"("})" + tail + "}");
  EXPECT_TRUE(fine.ok()) << fine.status().message();
}

// A collector from before range anti-entropy (no need_ranges in its payloads) still gets
// whole tables, and its need_full still brings one.
TEST_F(ClusterTest, AnOlderPeerGetsFullTables) {
  for (int i = 0; i < 3; ++i) {
    V("a").OnLocal({Tr("h" + std::to_string(i), SourceState::kUp, SourceState::kUp, NowMs())});
  }
  SyncPayload from_old = V("b").BuildFor("a");
  from_old.boot = "boot-b";
  from_old.speaks_ranges = false;
  from_old.need_ranges.clear();
  ASSERT_TRUE(V("a").Apply(from_old).ok());
  SyncPayload full = V("a").BuildFor("b");
  EXPECT_TRUE(full.sources_full);
  EXPECT_EQ(full.sources.size(), 3u);
  EXPECT_TRUE(full.sources_ranges.empty());
  V("a").Delivered("b", full);
  EXPECT_FALSE(V("a").BuildFor("b").sources_full);
  from_old.need_full = true;
  ASSERT_TRUE(V("a").Apply(from_old).ok());
  EXPECT_TRUE(V("a").BuildFor("b").sources_full);
}

TEST(SyncPayloadTest, FailingChecksRoundTripAndBadOnesAreRefused) {
  SyncPayload p;
  p.from = "a";
  p.boot = "b";
  p.sources = {{"db-1", SourceState::kUp}, {"db-2", SourceState::kUp}};
  p.has_checks = true;
  p.checks = {{"db-1", {{"disk", protocol::CheckState::kWarning, "91% \xc3\xa9"},
                        {"pg", protocol::CheckState::kCritical, "refused"}}}};
  p.checks_digest = 0x0123456789abcdefull;
  auto d = DecodeSyncPayload(EncodeSyncPayload(p));
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_TRUE(d->has_checks);
  EXPECT_EQ(d->checks_digest, p.checks_digest);
  ASSERT_EQ(d->checks.size(), 1u);
  EXPECT_EQ(d->checks[0].second, p.checks[0].second);

  // Absent (a collector from before): no checks, and not an error.
  auto with = [&](const std::optional<std::string>& checks) {
    nlohmann::json j = nlohmann::json::parse(EncodeSyncPayload(p));
    if (checks) {
      j["sources"]["checks"] = nlohmann::json::parse(*checks);
    } else {
      j["sources"].erase("checks");
    }
    return j.dump();
  };
  auto o = DecodeSyncPayload(with(std::nullopt));
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_FALSE(o->has_checks);  // a checks_digest alone does not make them present
  EXPECT_TRUE(o->checks.empty());

  EXPECT_TRUE(DecodeSyncPayload(with(R"({"db-1":[["pg","CRITICAL","x"]]})")).ok());
  for (const std::string& bad : std::vector<std::string>{
        R"({"db-9":[["pg","CRITICAL","x"]]})",                   // not among the entries
        R"({"db-1":[["pg","OK","x"]]})",                          // OK never travels
        R"({"db-1":[["pg","FINE","x"]]})",                        // no such state
        R"({"db-1":[]})",                                         // empty list
        R"({"db-1":[["pg","CRITICAL"]]})",                        // short
        R"({"db-1":[["pg","CRITICAL","x"],["disk","CRITICAL","y"]]})",  // not sorted
        R"({"db-1":[["pg","CRITICAL","x"],["pg","CRITICAL","y"]]})",    // repeated
        R"({"db-1":[["","CRITICAL","x"]]})",
        R"({"db-1":[["pg","CRITICAL",")" + std::string(protocol::kMaxCheckOutput + 1, 'x') + R"("]]})",
        R"({"db-1":"pg"})"}) {
    auto r = DecodeSyncPayload(with(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("sources.checks"), std::string::npos)
        << r.status().message();
  }
}

TEST(SyncPayloadTest, ABadSilenceIsDroppedAloneNotThePayload) {
  // One peer's broad or malformed silence must not cut peer sync (nor be taken).
  const std::string good =
      R"({"id":"good","matchers":[{"name":"source","value":"web-1","isRegex":false,"isEqual":true}],)"
      R"("startsAt":"2030-01-01T00:00:00Z","endsAt":"2030-01-01T01:00:00Z","updatedAt":"2030-01-01T00:00:00Z",)"
      R"("createdBy":"alice","comment":"c"})";
  std::string broad = good;
  broad.replace(broad.find(R"("name":"source","value":"web-1","isRegex":false)"),
                std::string(R"("name":"source","value":"web-1","isRegex":false)").size(),
                R"("name":"alertname","value":".+","isRegex":true)");
  std::string bomb = good;
  bomb.replace(bomb.find("web-1\",\"isRegex\":false"), std::string("web-1\",\"isRegex\":false").size(),
               std::string(3000, '(') + "\",\"isRegex\":true");
  // An unknown field nested 200,000 deep: ignored, never serialized or walked.
  std::string deep = good;
  deep.replace(deep.find(R"("id":"good")"), std::string(R"("id":"good")").size(),
               R"("id":"deep","x":)" + std::string(200'000, '[') + std::string(200'000, ']'));
  const std::string text =
      R"({"v":1,"from":"b","boot":"x","seq":1,"config_digest":"d","peers":{},)"
      R"("sources":{"full":true,"version":1,"digest":"0","entries":{}},"incidents":[],"log":[],)"
      R"("silences":[)" + broad + "," + good + "," + bomb + "," + deep + R"(],"need_full":false})";
  auto d = DecodeSyncPayload(text);
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ(d->silences.size(), 2u);
  EXPECT_EQ(d->silences[0].id, "good");
  EXPECT_EQ(d->silences[1].id, "deep");
  EXPECT_EQ(d->silences_refused, 2u);
  EXPECT_NE(d->silence_error.find("is broad"), std::string::npos) << d->silence_error;
}

TEST(SyncSignatureTest, VerifiesAndDetectsTampering) {
  const std::vector<uint8_t> secret(32, 7);
  crypto::HmacKey key(secret);
  const std::string sig = SyncSignature(key, "a", 1000, "{}");
  EXPECT_TRUE(VerifySyncSignature(key, "a", 1000, "{}", sig));
  EXPECT_FALSE(VerifySyncSignature(key, "b", 1000, "{}", sig));
  EXPECT_FALSE(VerifySyncSignature(key, "a", 1001, "{}", sig));
  EXPECT_FALSE(VerifySyncSignature(key, "a", 1000, "{ }", sig));
  EXPECT_FALSE(VerifySyncSignature(key, "a", 1000, "{}", sig.substr(1)));
  crypto::HmacKey other(std::vector<uint8_t>(32, 8));
  EXPECT_FALSE(VerifySyncSignature(other, "a", 1000, "{}", sig));
}

// A response is signed over the request it answers: it verifies for that request only,
// and requests and responses cannot stand in for one another.
TEST(SyncSignatureTest, ResponsesAreBoundToTheirRequest) {
  crypto::HmacKey key(std::vector<uint8_t>(32, 7));
  const std::string req1 = SyncSignature(key, "a", 1000, R"({"seq":1})");
  const std::string req2 = SyncSignature(key, "a", 2000, R"({"seq":2})");
  const std::string resp1 = SyncSignature(key, "b", 1001, "{}", req1);
  EXPECT_TRUE(VerifySyncSignature(key, "b", 1001, "{}", resp1, req1));
  EXPECT_FALSE(VerifySyncSignature(key, "b", 1001, "{}", resp1, req2));  // an old answer
  EXPECT_FALSE(VerifySyncSignature(key, "b", 1001, "{}", resp1));        // as a request
  const std::string as_request = SyncSignature(key, "b", 1001, "{}");
  EXPECT_FALSE(VerifySyncSignature(key, "b", 1001, "{}", as_request, req1));
  // The documented text (docs/cluster.md), computed independently of SignedText:
  const std::string text = "firewatch-sync-v2\nresponse\nb\n1001\n" + req1 + "\n{}";
  EXPECT_EQ(resp1, text::ToHex(key.Sign({reinterpret_cast<const uint8_t*>(text.data()),
                                             text.size()})));
}

// ---- config

std::string ClusterYaml(const std::string& self, const std::string& extra = "") {
  return "collector:\n  id: " + self +
         "\nkeys:\n  - id: k\n    file: /tmp/k\ncluster:\n  key_file: cluster.key\n" + extra +
         "  members:\n    - id: a\n      url: http://10.0.0.1:9760\n      labels: {dc: one}\n"
         "    - id: b\n      url: http://10.0.0.2:9760/\n";
}

TEST(ClusterConfigTest, ParsesMembersAndResolvesKeyFiles) {
  auto c = ParseCollectorConfig(ClusterYaml("a", "  sync_interval: 500ms\n"), "c.yml", "/etc/fw");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->cluster.enabled);
  ASSERT_EQ(c->cluster.members.size(), 2u);
  EXPECT_EQ(c->cluster.members[1].url, "http://10.0.0.2:9760");  // trailing slash dropped
  EXPECT_EQ(c->cluster.members[0].labels.at("dc"), "one");
  EXPECT_EQ(c->cluster.members[1].key_file, "/etc/fw/cluster.key");
  EXPECT_EQ(c->cluster.sync_interval, Duration(500ms));
}

TEST(ClusterConfigTest, AcceptKeyFilesForARotation) {
  auto c = ParseCollectorConfig(
      ClusterYaml("a", "  accept_key_files: [next.key, /keys/older.key]\n"), "c.yml", "/etc/fw");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->cluster.accept_key_files,
            (std::vector<std::string>{"/etc/fw/next.key", "/keys/older.key"}));
  auto bad = ParseCollectorConfig(ClusterYaml("a", "  accept_key_files: next.key\n"), "c.yml", "/");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("cluster.accept_key_files: expected a list"), std::string::npos)
      << bad.status().message();
}

TEST(ClusterConfigTest, ErrorsNameTheLine) {
  auto not_member = ParseCollectorConfig(ClusterYaml("z"), "c.yml", "/");
  ASSERT_FALSE(not_member.ok());
  EXPECT_NE(not_member.status().message().find("c.yml:"), std::string::npos);
  EXPECT_NE(not_member.status().message().find("'z' (collector.id) is not listed"), std::string::npos);

  auto bad_url = ParseCollectorConfig(
      "collector: {id: a}\nkeys: [{id: k, file: /k}]\ncluster:\n  key_file: k\n  members:\n"
      "    - {id: a, url: 'http://x'}\n    - {id: b, url: 'ftp://y'}\n",
      "c.yml", "/");
  ASSERT_FALSE(bad_url.ok());
  EXPECT_NE(bad_url.status().message().find("c.yml:7:"), std::string::npos)
      << bad_url.status().message();
  EXPECT_NE(bad_url.status().message().find("url"), std::string::npos);

  auto dup = ParseCollectorConfig(
      "collector: {id: a}\nkeys: [{id: k, file: /k}]\ncluster:\n  key_file: k\n  members:\n"
      "    - {id: a, url: 'http://x'}\n    - {id: a, url: 'http://y'}\n",
      "c.yml", "/");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("listed twice"), std::string::npos);

  auto no_key = ParseCollectorConfig(
      "collector: {id: a}\nkeys: [{id: k, file: /k}]\ncluster:\n  members:\n"
      "    - {id: a, url: 'http://x'}\n    - {id: b, url: 'http://y'}\n",
      "c.yml", "/");
  ASSERT_FALSE(no_key.ok());
  EXPECT_NE(no_key.status().message().find("key_file"), std::string::npos);
}

TEST(ClusterConfigTest, DigestIgnoresTheCollectorSectionButNotSettings) {
  auto a = ParseCollectorConfig(ClusterYaml("a"), "a.yml", "/");
  auto b = ParseCollectorConfig(
      "collector:\n  id: b\n  http_listen: 127.0.0.1:9770\n" + ClusterYaml("b").substr(ClusterYaml("b").find("keys:")),
      "b.yml", "/");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->cluster.digest, b->cluster.digest);
  EXPECT_EQ(a->cluster.digest.size(), 64u);
  auto c = ParseCollectorConfig(ClusterYaml("a", "  peer_timeout: 7s\n"), "a.yml", "/");
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->cluster.digest, c->cluster.digest);
}

TEST(ClusterConfigTest, RestartOnlyChangesNameMembersKeysAndTimings) {
  auto a = ParseCollectorConfig(ClusterYaml("a"), "a.yml", "/");
  auto same = ParseCollectorConfig(ClusterYaml("a"), "a.yml", "/");
  auto timed = ParseCollectorConfig(ClusterYaml("a", "  peer_timeout: 7s\n  alone_hold: 9s\n"),
                                    "a.yml", "/");
  std::string relabelled = ClusterYaml("a");
  relabelled.replace(relabelled.find("{dc: one}"), 9, "{dc: two}");
  auto members = ParseCollectorConfig(relabelled, "a.yml", "/");
  ASSERT_TRUE(a.ok() && same.ok() && timed.ok() && members.ok());
  EXPECT_TRUE(ClusterRestartOnlyChanges(a->cluster, same->cluster).empty());
  EXPECT_EQ(ClusterRestartOnlyChanges(a->cluster, timed->cluster),
            (std::vector<std::string>{"cluster.peer_timeout", "cluster.alone_hold"}));
  EXPECT_EQ(ClusterRestartOnlyChanges(a->cluster, members->cluster),
            std::vector<std::string>{"cluster.members"});
  ClusterConfig off;
  EXPECT_EQ(ClusterRestartOnlyChanges(a->cluster, off),
            std::vector<std::string>{"cluster (section added or removed)"});
}

TEST(ClusterConfigTest, NonUtf8ValuesDigestInsteadOfThrowing) {
  // Found by collector_config_fuzz: a Latin-1 byte in a value made the digest throw.
  std::string yaml = ClusterYaml("a");
  yaml.replace(yaml.find("{dc: one}"), 9, "{dc: \"caf\xe9\"}");
  auto c = ParseCollectorConfig(yaml, "a.yml", "/");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->cluster.digest.size(), 64u);
}

TEST(ClusterConfigTest, EachCollectorLinksToItselfOutsideTheDigest) {
  auto plain = ParseCollectorConfig(ClusterYaml("a"), "a.yml", "/");
  auto own = ParseCollectorConfig(
      "collector:\n  id: a\n  external_url: https://a.example\n" +
          ClusterYaml("a").substr(ClusterYaml("a").find("keys:")),
      "a.yml", "/");
  ASSERT_TRUE(plain.ok() && own.ok()) << own.status().message();
  EXPECT_EQ(own->alerting.external_url, "https://a.example");
  EXPECT_EQ(own->cluster.digest, plain->cluster.digest);
  auto bad = ParseCollectorConfig("collector:\n  id: a\n  external_url: a.example\nkeys: [{id: k, file: /k}]\n",
                                  "a.yml", "/");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("a.yml:3:"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace firewatch::collector
