#include "firewatch/protocol/replay.h"

#include <gtest/gtest.h>

#include <limits>

namespace firewatch::protocol {
namespace {

using std::chrono::milliseconds;
constexpr int64_t kNow = 1'700'000'000'000;
constexpr ReplayWindow kWindow{milliseconds(60'000), milliseconds(5'000)};
constexpr milliseconds kTakeover{1'000};  // the current boot's interval

FrameOrder At(const BootId& boot, uint64_t seq, int64_t ts,
              FrameType type = FrameType::kHeartbeat) {
  return {boot, seq, ts, type};
}

// Checks and, when accepted, advances: what a receiver does with one frame.
ReplayVerdict Receive(ReplayState& st, const FrameOrder& f, int64_t now) {
  ReplayVerdict v = CheckReplay(st, f, now, kWindow, kTakeover);
  if (!v.rejected) Advance(st, f, v.role, now);
  return v;
}

TEST(ReplayTest, FirstFrameIsAcceptedAsCurrent) {
  ReplayState st;
  ReplayVerdict v = CheckReplay(st, At(NewBootId(), 1, kNow), kNow, kWindow, kTakeover);
  EXPECT_FALSE(v.rejected);
  EXPECT_EQ(v.role, FrameRole::kCurrent);
}

TEST(ReplayTest, SequenceMustAdvanceWithinABoot) {
  ReplayState st;
  BootId boot = NewBootId();
  Advance(st, At(boot, 5, kNow), FrameRole::kCurrent, kNow);
  auto check = [&](uint64_t seq) { return CheckReplay(st, At(boot, seq, kNow + 1), kNow, kWindow, kTakeover).rejected; };
  EXPECT_EQ(check(5), RejectReason::kReplayed);
  EXPECT_EQ(check(4), RejectReason::kReplayed);
  EXPECT_FALSE(check(6));
  EXPECT_FALSE(check(600));  // gaps are fine (loss)
}

TEST(ReplayTest, WindowIsTwoMinutesBackButOnlyAFewSecondsAhead) {
  ReplayState st;
  BootId boot = NewBootId();
  auto check = [&](int64_t ts) { return CheckReplay(st, At(boot, 1, ts), kNow, kWindow, kTakeover).rejected; };
  EXPECT_EQ(check(kNow + 5'001), RejectReason::kClockSkew);
  EXPECT_FALSE(check(kNow + 5'000));
  EXPECT_EQ(check(kNow - 60'001), RejectReason::kClockSkew);
  EXPECT_FALSE(check(kNow - 60'000));
}

TEST(ReplayTest, ExtremeTimestampsAreSkewNotOverflow) {
  // Under -fsanitize=undefined an overflowing subtraction would abort this test.
  ReplayState st;
  BootId boot = NewBootId();
  for (int64_t ts : {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::min() + 1,
                     std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max() - 1,
                     int64_t{-1}, int64_t{0}}) {
    EXPECT_EQ(CheckReplay(st, At(boot, 1, ts), kNow, kWindow, kTakeover).rejected,
              RejectReason::kClockSkew)
        << ts;
  }
  // Receiver clocks at the extremes (a broken clock) saturate instead of wrapping.
  const ReplayWindow huge{milliseconds(std::numeric_limits<int64_t>::max()),
                          milliseconds(std::numeric_limits<int64_t>::max())};
  EXPECT_FALSE(CheckReplay(st, At(boot, 1, -2), std::numeric_limits<int64_t>::min(), huge, kTakeover).rejected);
  EXPECT_FALSE(CheckReplay(st, At(boot, 1, 0), std::numeric_limits<int64_t>::max(), huge, kTakeover).rejected);
  // A restored state with a nonsense heard time does not overflow either.
  st.seen = true;
  st.heard_ms = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(CheckReplay(st, At(NewBootId(), 1, kNow), kNow, kWindow, kTakeover).role,
            FrameRole::kNewBoot);
  st.heard_ms = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(CheckReplay(st, At(NewBootId(), 1, kNow), kNow, kWindow, kTakeover).role,
            FrameRole::kOtherBoot);
}

// The attack of issue #10: a key holder sends one frame with a new boot id and a
// timestamp as far ahead as the window allows. Before, that boot became current and the
// real agent's frames (earlier timestamps, another boot) were "replayed" until its clock
// caught up; repeated, forever.
TEST(ReplayTest, ForgedFutureBootDoesNotLockOutTheRunningAgent) {
  ReplayState st;
  const BootId real = NewBootId();
  const BootId forged = NewBootId();
  ASSERT_FALSE(Receive(st, At(real, 1, kNow), kNow).rejected);
  int64_t now = kNow;
  uint64_t forged_seq = 1;
  for (uint64_t seq = 2; seq < 30; ++seq) {
    now += 500;
    ReplayVerdict f = Receive(st, At(forged, forged_seq++, now + 5'000), now);
    ASSERT_FALSE(f.rejected);
    EXPECT_EQ(f.role, FrameRole::kOtherBoot) << "a forged boot must not take over a live one";
    now += 500;
    ReplayVerdict r = Receive(st, At(real, seq, now), now);
    ASSERT_FALSE(r.rejected) << "the real agent was locked out at seq " << seq;
    EXPECT_EQ(r.role, FrameRole::kCurrent);
  }
  EXPECT_EQ(st.boot_id, real);
  // Many forged boots, each a fresh id: still only "other" boots.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Receive(st, At(NewBootId(), 1, now + 5'000), now).role, FrameRole::kOtherBoot);
  }
  EXPECT_FALSE(Receive(st, At(real, 100, now + 1), now + 1).rejected);
}

TEST(ReplayTest, GoodbyeOnlyFromTheCurrentBoot) {
  ReplayState st;
  const BootId real = NewBootId();
  ASSERT_FALSE(Receive(st, At(real, 1, kNow), kNow).rejected);
  EXPECT_EQ(Receive(st, At(NewBootId(), 1, kNow + 100, FrameType::kGoodbye), kNow + 100).rejected,
            RejectReason::kGoodbyeNotCurrent);
  EXPECT_FALSE(st.ended);
  ReplayVerdict own = Receive(st, At(real, 2, kNow + 200, FrameType::kGoodbye), kNow + 200);
  EXPECT_FALSE(own.rejected);
  EXPECT_EQ(own.role, FrameRole::kCurrent);
  EXPECT_TRUE(st.ended);
}

TEST(ReplayTest, NewBootTakesOverAfterGoodbyeAtOnce) {
  ReplayState st;
  const BootId first = NewBootId();
  ASSERT_FALSE(Receive(st, At(first, 1, kNow), kNow).rejected);
  ASSERT_FALSE(Receive(st, At(first, 2, kNow + 10, FrameType::kGoodbye), kNow + 10).rejected);
  const BootId second = NewBootId();
  ReplayVerdict v = Receive(st, At(second, 1, kNow + 20), kNow + 20);
  EXPECT_FALSE(v.rejected);
  EXPECT_EQ(v.role, FrameRole::kNewBoot);
  EXPECT_EQ(st.boot_id, second);
  EXPECT_FALSE(st.ended);
}

TEST(ReplayTest, NewBootTakesOverOnceTheCurrentOneIsSilentForItsInterval) {
  ReplayState st;
  const BootId crashed = NewBootId();
  ASSERT_FALSE(Receive(st, At(crashed, 7, kNow), kNow).rejected);
  const BootId restarted = NewBootId();
  // 200 ms after the crash: plausibly the old boot is still alive; liveness only.
  EXPECT_EQ(Receive(st, At(restarted, 1, kNow + 200), kNow + 200).role, FrameRole::kOtherBoot);
  EXPECT_EQ(st.boot_id, crashed);
  // Its own frames cannot be replayed while it waits.
  EXPECT_EQ(Receive(st, At(restarted, 1, kNow + 300), kNow + 300).rejected, RejectReason::kReplayed);
  // One interval of silence of the old boot later, the new one takes over.
  ReplayVerdict v = Receive(st, At(restarted, 2, kNow + 1'200), kNow + 1'200);
  EXPECT_FALSE(v.rejected);
  EXPECT_EQ(v.role, FrameRole::kNewBoot);
  EXPECT_EQ(st.boot_id, restarted);
  EXPECT_FALSE(st.has_other);
  // The old boot's frames are over, even with a later sequence.
  EXPECT_EQ(Receive(st, At(crashed, 8, kNow - 1), kNow + 1'300).rejected, RejectReason::kReplayed);
  EXPECT_EQ(Receive(st, At(crashed, 9, kNow), kNow + 1'300).rejected, RejectReason::kReplayed);
}

TEST(ReplayTest, FramesOfAnEarlierBootCannotComeBack) {
  ReplayState st;
  const BootId a = NewBootId(), b = NewBootId(), c = NewBootId();
  ASSERT_FALSE(Receive(st, At(a, 1, kNow), kNow).rejected);
  ASSERT_EQ(Receive(st, At(b, 1, kNow + 2'000), kNow + 2'000).role, FrameRole::kNewBoot);
  ASSERT_EQ(Receive(st, At(c, 1, kNow + 4'000), kNow + 4'000).role, FrameRole::kNewBoot);
  // Nothing up to the last timestamp accepted from a boot that was succeeded comes back,
  // whatever its sequence (b's frame 1 replayed, or an a frame never seen before).
  EXPECT_EQ(Receive(st, At(a, 2, kNow + 1), kNow + 4'100).rejected, RejectReason::kReplayed);
  EXPECT_EQ(Receive(st, At(b, 1, kNow + 2'000), kNow + 4'100).rejected, RejectReason::kReplayed);
  EXPECT_EQ(Receive(st, At(b, 9, kNow + 2'000), kNow + 4'100).rejected, RejectReason::kReplayed);
  // A later frame of b (b still running: two agents with one source id, or a key
  // holder) is another boot: liveness only, c stays current.
  EXPECT_EQ(Receive(st, At(b, 10, kNow + 4'050), kNow + 4'100).role, FrameRole::kOtherBoot);
  EXPECT_EQ(st.boot_id, c);
}

TEST(ReplayTest, ForgedBootThatGotInFirstCannotKeepTheRealAgentOut) {
  // A forgery for a source nobody has heard yet becomes current (there is no one else);
  // the real agent's frames are still accepted (liveness), and it takes over as soon as
  // the forger stops for one interval.
  ReplayState st;
  const BootId forged = NewBootId(), real = NewBootId();
  ASSERT_FALSE(Receive(st, At(forged, 1, kNow + 5'000), kNow).rejected);
  EXPECT_EQ(Receive(st, At(real, 1, kNow + 100), kNow + 100).role, FrameRole::kOtherBoot);
  EXPECT_EQ(Receive(st, At(real, 2, kNow + 1'100), kNow + 1'100).role, FrameRole::kNewBoot);
  EXPECT_EQ(st.boot_id, real);
  EXPECT_FALSE(Receive(st, At(real, 3, kNow + 2'100), kNow + 2'100).rejected);
}

TEST(ReplayTest, AThirdBootReplacesTheRememberedOther) {
  ReplayState st;
  const BootId cur = NewBootId(), x = NewBootId(), y = NewBootId();
  ASSERT_FALSE(Receive(st, At(cur, 1, kNow), kNow).rejected);
  EXPECT_EQ(Receive(st, At(x, 1, kNow + 10), kNow + 10).role, FrameRole::kOtherBoot);
  EXPECT_EQ(Receive(st, At(y, 1, kNow + 20), kNow + 20).role, FrameRole::kOtherBoot);
  EXPECT_EQ(st.other_boot, y);
  EXPECT_EQ(Receive(st, At(y, 1, kNow + 30), kNow + 30).rejected, RejectReason::kReplayed);
  EXPECT_FALSE(Receive(st, At(cur, 2, kNow + 40), kNow + 40).rejected);
}

}  // namespace
}  // namespace firewatch::protocol

namespace firewatch::protocol {
namespace {
// One per tracked source (docs/benchmarks.md: under 1 KiB per source in all).
static_assert(sizeof(ReplayState) <= 80, "keep the replay state packed");
}  // namespace
}  // namespace firewatch::protocol
