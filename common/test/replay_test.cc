#include "firewatch/protocol/replay.h"

#include <gtest/gtest.h>

namespace firewatch::protocol {
namespace {

using std::chrono::milliseconds;
constexpr int64_t kNow = 1'700'000'000'000;
constexpr milliseconds kSkew{60'000};

FrameOrder At(const BootId& boot, uint64_t seq, int64_t ts) { return {boot, seq, ts}; }

TEST(ReplayTest, FirstFrameIsAccepted) {
  ReplayState st;
  EXPECT_FALSE(CheckReplay(st, At(NewBootId(), 1, kNow), kNow, kSkew));
}

TEST(ReplayTest, SequenceMustAdvanceWithinABoot) {
  ReplayState st;
  BootId boot = NewBootId();
  Advance(st, At(boot, 5, kNow));
  EXPECT_EQ(CheckReplay(st, At(boot, 5, kNow + 1), kNow, kSkew), RejectReason::kReplayed);
  EXPECT_EQ(CheckReplay(st, At(boot, 4, kNow + 1), kNow, kSkew), RejectReason::kReplayed);
  EXPECT_FALSE(CheckReplay(st, At(boot, 6, kNow + 1), kNow, kSkew));
  EXPECT_FALSE(CheckReplay(st, At(boot, 600, kNow + 1), kNow, kSkew));  // gaps are fine (loss)
}

TEST(ReplayTest, NewBootMustBeLater) {
  ReplayState st;
  Advance(st, At(NewBootId(), 100, kNow));
  EXPECT_FALSE(CheckReplay(st, At(NewBootId(), 1, kNow + 1000), kNow + 1000, kSkew));
  // An older boot's frame replayed after the restart.
  EXPECT_EQ(CheckReplay(st, At(NewBootId(), 101, kNow - 1), kNow, kSkew), RejectReason::kReplayed);
}

TEST(ReplayTest, TimestampOutsideWindowIsSkew) {
  ReplayState st;
  BootId boot = NewBootId();
  EXPECT_EQ(CheckReplay(st, At(boot, 1, kNow + 60'001), kNow, kSkew), RejectReason::kClockSkew);
  EXPECT_EQ(CheckReplay(st, At(boot, 1, kNow - 60'001), kNow, kSkew), RejectReason::kClockSkew);
  EXPECT_FALSE(CheckReplay(st, At(boot, 1, kNow - 60'000), kNow, kSkew));
}

}  // namespace
}  // namespace firewatch::protocol
