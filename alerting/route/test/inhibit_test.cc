#include "route/inhibit.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace firewatch::alerting::route {
namespace {

using testing::Firing;
using testing::Ms;
using testing::Resolved;

const WallTime kNow{};

Inhibitor DatacenterRule() {
  InhibitRule r;
  r.source_matchers = Ms({R"(alertname="DatacenterDown")"});
  r.target_matchers = Ms({R"(alertname="SourceDown")"});
  r.equal = {"dc"};
  return Inhibitor({r});
}

LabelSet Host(const std::string& source, const std::string& dc) {
  return {{"alertname", "SourceDown"}, {"dc", dc}, {"source", source}};
}

TEST(InhibitTest, DatacenterDownMutesHostPagesInThatDcOnly) {
  Inhibitor inh = DatacenterRule();
  EXPECT_FALSE(inh.Mutes(Host("web-1", "dc1"), kNow));
  inh.Insert(Firing({{"alertname", "DatacenterDown"}, {"dc", "dc1"}}));
  EXPECT_EQ(inh.source_count(), 1u);
  EXPECT_TRUE(inh.Mutes(Host("web-1", "dc1"), kNow));
  EXPECT_TRUE(inh.Mutes(Host("db-7", "dc1"), kNow));
  EXPECT_FALSE(inh.Mutes(Host("web-1", "dc2"), kNow));  // other dc still pages
  EXPECT_FALSE(inh.Mutes({{"alertname", "DiskFull"}, {"dc", "dc1"}}, kNow));  // not a target
  // The source itself is not a target here, and is never muted by itself.
  EXPECT_FALSE(inh.Mutes({{"alertname", "DatacenterDown"}, {"dc", "dc1"}}, kNow));
}

TEST(InhibitTest, InhibitionEndsWhenTheSourceResolves) {
  Inhibitor inh = DatacenterRule();
  inh.Insert(Firing({{"alertname", "DatacenterDown"}, {"dc", "dc1"}}));
  EXPECT_TRUE(inh.Mutes(Host("web-1", "dc1"), kNow));
  inh.Insert(Resolved({{"alertname", "DatacenterDown"}, {"dc", "dc1"}}));
  EXPECT_EQ(inh.source_count(), 0u);
  EXPECT_FALSE(inh.Mutes(Host("web-1", "dc1"), kNow));
}

TEST(InhibitTest, MissingEqualLabelOnBothSidesCountsAsEqual) {
  Inhibitor inh = DatacenterRule();
  inh.Insert(Firing({{"alertname", "DatacenterDown"}}));  // no dc label
  EXPECT_TRUE(inh.Mutes({{"alertname", "SourceDown"}, {"source", "x"}}, kNow));
  EXPECT_FALSE(inh.Mutes(Host("web-1", "dc1"), kNow));
}

TEST(InhibitTest, NeverInhibitsItselfNorMutually) {
  InhibitRule r;
  r.source_matchers = Ms({R"(severity="critical")"});
  r.target_matchers = Ms({R"(severity=~"critical|warning")"});
  r.equal = {"dc"};
  Inhibitor inh({r});
  const LabelSet a = {{"alertname", "A"}, {"severity", "critical"}, {"dc", "dc1"}};
  const LabelSet b = {{"alertname", "B"}, {"severity", "critical"}, {"dc", "dc1"}};
  const LabelSet w = {{"alertname", "C"}, {"severity", "warning"}, {"dc", "dc1"}};
  inh.Insert(Firing(a));
  EXPECT_FALSE(inh.Mutes(a, kNow));  // itself
  inh.Insert(Firing(b));
  EXPECT_FALSE(inh.Mutes(a, kNow));  // both sides: not muted by another both-sides alert
  EXPECT_FALSE(inh.Mutes(b, kNow));
  EXPECT_TRUE(inh.Mutes(w, kNow));  // a plain target is muted
}

TEST(InhibitTest, SeveralRulesAndEqualLabels) {
  InhibitRule dc;
  dc.source_matchers = Ms({R"(alertname="DatacenterDown")"});
  dc.target_matchers = Ms({R"(alertname="SourceDown")"});
  dc.equal = {"dc"};
  InhibitRule rack;
  rack.source_matchers = Ms({R"(alertname="RackDown")"});
  rack.target_matchers = Ms({R"(alertname="SourceDown")"});
  rack.equal = {"dc", "rack"};
  Inhibitor inh({dc, rack});
  inh.Insert(Firing({{"alertname", "RackDown"}, {"dc", "dc2"}, {"rack", "r7"}}));
  EXPECT_TRUE(inh.Mutes({{"alertname", "SourceDown"}, {"dc", "dc2"}, {"rack", "r7"}}, kNow));
  EXPECT_FALSE(inh.Mutes({{"alertname", "SourceDown"}, {"dc", "dc1"}, {"rack", "r7"}}, kNow));
  EXPECT_FALSE(inh.Mutes({{"alertname", "SourceDown"}, {"dc", "dc2"}, {"rack", "r8"}}, kNow));
}

}  // namespace
}  // namespace firewatch::alerting::route
