// UdpDropReport (ingest/udp_drop_report.h): a warning when the kernel dropped heartbeats
// for a full receive buffer, at most one a period, none forgotten, on a fake clock.
#include "ingest/udp_drop_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace firewatch::collector {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

struct Fixture {
  FakeClock clock;
  std::vector<std::string> lines;
  UdpDropReport report{clock, 16 << 20, seconds(60),
                       [this](const std::string& l) { lines.push_back(l); }};
  uint64_t datagrams = 0;
  uint64_t drops = 0;
  // One second of traffic: `rate` datagrams arrive, `dropped` of them in the kernel.
  void Second(uint64_t rate, uint64_t dropped = 0) {
    clock.Advance(seconds(1));
    datagrams += rate - dropped;
    drops += dropped;
    report.Observe(datagrams, drops);
  }
};

TEST(UdpDropReport, NoDropsNoLine) {
  Fixture f;
  f.report.Observe(0, 0);
  for (int i = 0; i < 300; ++i) f.Second(200'000);
  EXPECT_TRUE(f.lines.empty());
}

TEST(UdpDropReport, DropsBeforeTheFirstReadingAreNotOurs) {
  Fixture f;
  f.report.Observe(5'000, 700);  // a previous socket's totals, say
  f.datagrams = 5'000;
  f.drops = 700;
  for (int i = 0; i < 10; ++i) f.Second(1'000);
  EXPECT_TRUE(f.lines.empty());
}

TEST(UdpDropReport, ALineSaysHowManyAndHowLongTheBufferLastedAtTheRateThatArrived) {
  Fixture f;
  f.report.Observe(0, 0);
  for (int i = 0; i < 9; ++i) f.Second(200'000);
  f.Second(200'000, 48'000);  // the storm's second
  ASSERT_EQ(f.lines.size(), 1u);
  // 16 MiB ~ 16,000 datagrams; 2,000,000 arrived in 10 s: 0.08 s of them.
  EXPECT_THAT(f.lines[0], HasSubstr("dropped 48000 heartbeats in the last 10 s"));
  EXPECT_THAT(f.lines[0], HasSubstr("16 MiB, about 16000 datagrams: 0.08 s at the 200000/s"));
  EXPECT_THAT(f.lines[0], HasSubstr("collector.udp_buffer_mib"));
}

TEST(UdpDropReport, ABufferTheKernelCappedIsNamedAtItsSize) {
  // Without CAP_NET_ADMIN, Debian caps the buffer at 208 KiB (net.core.rmem_max): the
  // line must not round that up to a MiB and promise five times the datagrams.
  FakeClock clock;
  std::vector<std::string> lines;
  UdpDropReport report{clock, 212'992, seconds(60),
                       [&](const std::string& l) { lines.push_back(l); }};
  report.Observe(0, 0);
  clock.Advance(seconds(1));
  report.Observe(900, 100);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("(0.203 MiB, about 203 datagrams: 0.20 s at the 1000/s"));
}

TEST(UdpDropReport, AtMostOneLineAPeriodAndTheNextCountsWhatCameBetween) {
  Fixture f;
  f.report.Observe(0, 0);
  f.Second(1'000, 10);
  ASSERT_EQ(f.lines.size(), 1u);
  for (int i = 0; i < 59; ++i) f.Second(1'000, 5);  // 295 more, inside the period
  EXPECT_EQ(f.lines.size(), 1u);
  f.Second(1'000, 5);  // the period is over: one line with all 300
  ASSERT_EQ(f.lines.size(), 2u);
  EXPECT_THAT(f.lines[1], HasSubstr("dropped 300 heartbeats in the last 60 s"));
  for (int i = 0; i < 600; ++i) f.Second(1'000);  // quiet again
  EXPECT_EQ(f.lines.size(), 2u);
  f.Second(1'000, 1);  // the rate counts from the last quiet minute, not from the line
  ASSERT_EQ(f.lines.size(), 3u);
  EXPECT_THAT(f.lines[2], HasSubstr("dropped 1 heartbeats in the last"));
  EXPECT_THAT(f.lines[2], HasSubstr("at the 1000/s that arrived"));
}

}  // namespace
}  // namespace firewatch::collector
