#include "route/dispatcher.h"

#include <gtest/gtest.h>

#include <set>

#include "test_util.h"

namespace firewatch::alerting::route {
namespace {

using namespace std::chrono_literals;
using testing::Firing;
using testing::Ms;
using testing::Resolved;

LabelSet Down(const std::string& source, const std::string& dc = "dc1") {
  return {{"alertname", "SourceDown"}, {"dc", dc}, {"source", source}};
}

// A muter tests switch on and off by label value.
struct FakeMuter final : Muter {
  std::set<std::string> muted_sources;
  bool Mutes(const LabelSet& labels, WallTime) const override {
    auto it = labels.find("source");
    return it != labels.end() && muted_sources.count(it->second);
  }
};

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RouteSpec spec;
    spec.escalation_policy = "ops";
    spec.group_by = std::vector<std::string>{"alertname", "dc"};
    spec.group_wait = 30s;
    spec.group_interval = 5min;
    spec.repeat_interval = 4h;
    auto r = Route::Build(spec);
    ASSERT_TRUE(r.ok()) << r.status().message();
    root_ = std::move(r).value();
    dispatcher_ = std::make_unique<Dispatcher>(*root_, std::vector<const Muter*>{&muter_});
    t0_ = clock_.Now();
  }

  void Insert(const Alert& a) { dispatcher_->Insert(a, clock_.Now()); }
  // Advances the clock to `at` (relative to t0) and ticks.
  std::vector<GroupNotification> TickAt(Duration at) {
    clock_.Advance(t0_ + at - clock_.Now());
    return dispatcher_->Tick(clock_.Now(), clock_.WallNow());
  }
  // Ticks at every NextTick up to `until`, collecting notifications with their times.
  std::vector<std::pair<Duration, GroupNotification>> RunUntil(Duration until) {
    std::vector<std::pair<Duration, GroupNotification>> out;
    while (auto next = dispatcher_->NextTick()) {
      if (*next - t0_ > until) break;
      for (auto& n : TickAt(*next - t0_)) out.emplace_back(*next - t0_, std::move(n));
    }
    return out;
  }

  FakeClock clock_;
  MonoTime t0_;
  FakeMuter muter_;
  std::unique_ptr<const Route> root_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherTest, NewGroupWaitsGroupWaitThenNotifiesEverythingItCollected) {
  Insert(Firing(Down("web-1")));
  EXPECT_EQ(dispatcher_->NextTick(), t0_ + 30s);
  EXPECT_TRUE(TickAt(10s).empty());
  Insert(Firing(Down("web-2")));
  EXPECT_EQ(dispatcher_->NextTick(), t0_ + 30s);  // a joining alert does not reset the timer
  EXPECT_TRUE(TickAt(29s).empty());
  auto n = TickAt(30s);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].group_key, R"({}:{alertname="SourceDown", dc="dc1"})");
  EXPECT_EQ(n[0].group_labels, (LabelSet{{"alertname", "SourceDown"}, {"dc", "dc1"}}));
  EXPECT_EQ(n[0].escalation_policy, "ops");
  EXPECT_EQ(n[0].route, root_.get());
  EXPECT_EQ(n[0].status, GroupStatus::kFiring);
  EXPECT_EQ(n[0].reason, NotifyReason::kFirst);
  ASSERT_EQ(n[0].alerts.size(), 2u);
  EXPECT_EQ(n[0].alerts[0].labels.at("source"), "web-1");
  EXPECT_EQ(n[0].alerts[1].labels.at("source"), "web-2");
  EXPECT_EQ(dispatcher_->NextTick(), t0_ + 30s + 5min);
}

TEST_F(DispatcherTest, ChangesNotifyAtTheNextGroupInterval) {
  Insert(Firing(Down("web-1")));
  ASSERT_EQ(TickAt(30s).size(), 1u);
  clock_.Advance(1s);
  Insert(Firing(Down("web-2")));
  EXPECT_TRUE(TickAt(5min).empty());
  auto n = TickAt(5min + 30s);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].reason, NotifyReason::kChanged);
  EXPECT_EQ(n[0].alerts.size(), 2u);
  // Same alert again (a refresh) is not a change.
  Insert(Firing(Down("web-2")));
  EXPECT_TRUE(TickAt(10min + 30s).empty());
}

TEST_F(DispatcherTest, DifferentLabelValuesMakeDifferentGroups) {
  Insert(Firing(Down("web-1", "dc1")));
  Insert(Firing(Down("web-9", "dc2")));
  auto n = TickAt(30s);
  ASSERT_EQ(n.size(), 2u);  // in group key order
  EXPECT_EQ(n[0].group_labels.at("dc"), "dc1");
  EXPECT_EQ(n[1].group_labels.at("dc"), "dc2");
  EXPECT_EQ(dispatcher_->group_count(), 2u);
}

TEST_F(DispatcherTest, UnchangedGroupRepeatsAfterRepeatInterval) {
  Insert(Firing(Down("web-1")));
  auto sent = RunUntil(4h + 30s + 20min);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].first, 30s);
  EXPECT_EQ(sent[0].second.reason, NotifyReason::kFirst);
  EXPECT_EQ(sent[1].first, 4h + 30s);  // 48 group intervals later
  EXPECT_EQ(sent[1].second.reason, NotifyReason::kRepeat);
  EXPECT_EQ(sent[1].second.alerts.size(), 1u);
}

TEST_F(DispatcherTest, AllResolvedSendsResolvedAndRemovesTheGroup) {
  Insert(Firing(Down("web-1")));
  ASSERT_EQ(TickAt(30s).size(), 1u);
  clock_.Advance(1min);
  Insert(Resolved(Down("web-1")));
  auto n = TickAt(5min + 30s);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].status, GroupStatus::kResolved);
  EXPECT_EQ(n[0].reason, NotifyReason::kResolved);
  ASSERT_EQ(n[0].alerts.size(), 1u);
  EXPECT_EQ(n[0].alerts[0].status, AlertStatus::kResolved);
  EXPECT_EQ(dispatcher_->group_count(), 0u);
  EXPECT_FALSE(dispatcher_->NextTick().has_value());
  // It fires again: a new group, with a new group_wait.
  Insert(Firing(Down("web-1")));
  EXPECT_EQ(dispatcher_->NextTick(), clock_.Now() + 30s);
}

TEST_F(DispatcherTest, PartialResolveIsAChangeListingFiringFirst) {
  Insert(Firing(Down("web-1")));
  Insert(Firing(Down("web-2")));
  ASSERT_EQ(TickAt(30s).size(), 1u);
  Insert(Resolved(Down("web-1")));
  auto n = TickAt(5min + 30s);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].status, GroupStatus::kFiring);
  EXPECT_EQ(n[0].reason, NotifyReason::kChanged);
  ASSERT_EQ(n[0].alerts.size(), 2u);
  EXPECT_EQ(n[0].alerts[0].labels.at("source"), "web-2");
  EXPECT_EQ(n[0].alerts[0].status, AlertStatus::kFiring);
  EXPECT_EQ(n[0].alerts[1].labels.at("source"), "web-1");
  EXPECT_EQ(n[0].alerts[1].status, AlertStatus::kResolved);
  EXPECT_TRUE(TickAt(10min + 30s).empty());  // the resolved alert was reported once
}

TEST_F(DispatcherTest, FlapInsideGroupWaitSendsNothing) {
  Insert(Firing(Down("web-1")));
  clock_.Advance(5s);
  Insert(Resolved(Down("web-1")));
  EXPECT_TRUE(TickAt(30s).empty());
  EXPECT_EQ(dispatcher_->group_count(), 0u);
}

TEST_F(DispatcherTest, UnannouncedResolvedAlertIsNotReported) {
  Insert(Firing(Down("web-1")));
  ASSERT_EQ(TickAt(30s).size(), 1u);
  Insert(Firing(Down("web-2")));
  Insert(Resolved(Down("web-2")));  // flapped between two flushes
  EXPECT_TRUE(TickAt(5min + 30s).empty());
}

TEST_F(DispatcherTest, ResolvedAlertDoesNotCreateAGroup) {
  Insert(Resolved(Down("web-1")));
  EXPECT_EQ(dispatcher_->group_count(), 0u);
  EXPECT_FALSE(dispatcher_->NextTick().has_value());
}

TEST_F(DispatcherTest, LateTicksKeepTheSchedule) {
  Insert(Firing(Down("web-1")));
  ASSERT_EQ(TickAt(30s).size(), 1u);
  Insert(Firing(Down("web-2")));
  auto n = TickAt(30s + 12min);  // two and a bit intervals late
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(dispatcher_->NextTick(), t0_ + 30s + 15min);
}

TEST_F(DispatcherTest, OnlyDueGroupsFlushInKeyOrderAndNextTickFollowsTheEarliest) {
  auto key = [](const std::string& dc) {
    return R"({}:{alertname="SourceDown", dc=")" + dc + R"("})";
  };
  // Three groups due at 30 s (dc3), 40 s (dc1) and 50 s (dc2).
  Insert(Firing(Down("a", "dc3")));
  EXPECT_TRUE(TickAt(10s).empty());
  Insert(Firing(Down("b", "dc1")));
  EXPECT_TRUE(TickAt(20s).empty());
  Insert(Firing(Down("c", "dc2")));
  EXPECT_EQ(dispatcher_->NextTick(), t0_ + 30s);
  auto n = TickAt(45s);  // late: two are due, flushed in key order
  ASSERT_EQ(n.size(), 2u);
  EXPECT_EQ(n[0].group_key, key("dc1"));
  EXPECT_EQ(n[1].group_key, key("dc3"));
  EXPECT_EQ(dispatcher_->NextTick(), t0_ + 50s);
  n = TickAt(50s);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].group_key, key("dc2"));
  EXPECT_EQ(dispatcher_->NextTick(), t0_ + 30s + 5min);  // dc3's group_interval

  // A Reset moves dc2 to group_wait from now, ahead of the others.
  EXPECT_TRUE(TickAt(60s).empty());
  dispatcher_->Reset(key("dc2"), clock_.Now());
  EXPECT_EQ(dispatcher_->NextTick(), t0_ + 90s);
  n = TickAt(90s);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].group_key, key("dc2"));
  EXPECT_EQ(n[0].reason, NotifyReason::kFirst);

  // dc3 resolves: reported at its next flush and removed; dc1 is next.
  Insert(Resolved(Down("a", "dc3")));
  EXPECT_EQ(dispatcher_->NextTick(), t0_ + 30s + 5min);
  n = TickAt(30s + 5min);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].status, GroupStatus::kResolved);
  EXPECT_EQ(dispatcher_->group_count(), 2u);
  EXPECT_EQ(dispatcher_->NextTick(), t0_ + 40s + 5min);
  EXPECT_TRUE(TickAt(40s + 5min - 1ms).empty());
  n = TickAt(40s + 5min);
  ASSERT_EQ(n.size(), 0u);  // dc1: nothing changed, repeat_interval not yet
  EXPECT_EQ(dispatcher_->NextTick(), t0_ + 90s + 5min);  // dc2
}

TEST_F(DispatcherTest, MutedAlertsAreLeftOutAndNotifyWhenUnmuted) {
  muter_.muted_sources = {"web-2"};
  Insert(Firing(Down("web-1")));
  Insert(Firing(Down("web-2")));
  auto n = TickAt(30s);
  ASSERT_EQ(n.size(), 1u);
  ASSERT_EQ(n[0].alerts.size(), 1u);
  EXPECT_EQ(n[0].alerts[0].labels.at("source"), "web-1");
  muter_.muted_sources.clear();  // the silence expired
  n = TickAt(5min + 30s);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].reason, NotifyReason::kChanged);
  EXPECT_EQ(n[0].alerts.size(), 2u);
}

TEST_F(DispatcherTest, FullyMutedGroupSendsNothing) {
  muter_.muted_sources = {"web-1"};
  Insert(Firing(Down("web-1")));
  EXPECT_TRUE(TickAt(30s).empty());
  EXPECT_EQ(dispatcher_->group_count(), 1u);  // kept: it notifies once unmuted
  muter_.muted_sources.clear();
  auto n = TickAt(5min + 30s);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].reason, NotifyReason::kFirst);
}

TEST(DispatcherRoutesTest, GroupByAllAndContinueRoutes) {
  RouteSpec spec;
  spec.escalation_policy = "ops";
  spec.group_by = std::vector<std::string>{"alertname"};
  spec.group_wait = 0s;
  RouteSpec dc1;
  dc1.matchers = Ms({R"(dc="dc1")"});
  dc1.escalation_policy = "dc1-oncall";
  dc1.continue_matching = true;
  RouteSpec all;
  all.matchers = Ms({R"(alertname="SourceDown")"});
  all.escalation_policy = "per-host";
  all.group_by = std::vector<std::string>{"..."};
  spec.routes = {dc1, all};
  auto root = Route::Build(spec);
  ASSERT_TRUE(root.ok()) << root.status().message();
  Dispatcher d(**root);
  FakeClock clock;
  d.Insert(Firing(Down("web-1")), clock.Now());
  d.Insert(Firing(Down("web-2")), clock.Now());
  auto n = d.Tick(clock.Now(), clock.WallNow());  // group_wait 0: due at once
  ASSERT_EQ(n.size(), 3u);
  std::vector<std::string> keys;
  for (const auto& g : n) keys.push_back(g.group_key);
  EXPECT_EQ(keys, (std::vector<std::string>{
                      R"({}/{alertname="SourceDown"}:{alertname="SourceDown", dc="dc1", source="web-1"})",
                      R"({}/{alertname="SourceDown"}:{alertname="SourceDown", dc="dc1", source="web-2"})",
                      R"({}/{dc="dc1"}:{alertname="SourceDown"})",
                  }));
  EXPECT_EQ(n[2].escalation_policy, "dc1-oncall");
  EXPECT_EQ(n[2].alerts.size(), 2u);
  EXPECT_EQ(n[0].escalation_policy, "per-host");
}

}  // namespace
}  // namespace firewatch::alerting::route
