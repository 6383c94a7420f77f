#include "firewatch/protocol/replay.h"

#include <algorithm>
#include <limits>

namespace firewatch::protocol {

namespace {
// a - b, saturated (receiver times are sane, but restored state comes from a file).
int64_t SaturatingSub(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_sub_overflow(a, b, &out)) {
    return b < 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return out;
}
}  // namespace

ReplayVerdict CheckReplay(const ReplayState& state, const FrameOrder& frame, int64_t now_ms,
                          ReplayWindow window, std::chrono::milliseconds takeover_after) {
  ReplayVerdict v;
  // Bounds from the receiver's clock, compared with the frame's timestamp: no arithmetic
  // on the untrusted value. The bounds themselves saturate.
  const int64_t earliest = SaturatingSub(now_ms, window.past.count());
  const int64_t latest = SaturatingSub(now_ms, -window.future.count());
  if (frame.timestamp_ms < earliest || frame.timestamp_ms > latest) {
    v.rejected = RejectReason::kClockSkew;
    return v;
  }
  if (!state.seen) return v;  // the first frame: kCurrent
  if (frame.boot_id == state.boot_id) {
    if (frame.sequence <= state.sequence) v.rejected = RejectReason::kReplayed;
    return v;
  }
  if (state.has_other && frame.boot_id == state.other_boot) {
    if (frame.sequence <= state.other_sequence) {
      v.rejected = RejectReason::kReplayed;
      return v;
    }
  } else if (frame.timestamp_ms <= state.floor_ms) {
    // A boot that was current before the current one (or older): its frames are over.
    v.rejected = RejectReason::kReplayed;
    return v;
  }
  const bool plausible =
      state.ended || SaturatingSub(now_ms, state.heard_ms) >= takeover_after.count();
  if (plausible) {
    v.role = FrameRole::kNewBoot;
    return v;
  }
  if (frame.type == FrameType::kGoodbye) {
    v.rejected = RejectReason::kGoodbyeNotCurrent;
    return v;
  }
  v.role = FrameRole::kOtherBoot;
  return v;
}

void Advance(ReplayState& state, const FrameOrder& frame, FrameRole role, int64_t now_ms) {
  const bool goodbye = frame.type == FrameType::kGoodbye;
  switch (role) {
    case FrameRole::kOtherBoot:
      state.has_other = true;
      state.other_boot = frame.boot_id;
      state.other_sequence = frame.sequence;
      return;
    case FrameRole::kNewBoot:
      if (state.seen) state.floor_ms = std::max(state.floor_ms, state.timestamp_ms);
      if (state.has_other && state.other_boot == frame.boot_id) {
        state.has_other = false;
        state.other_sequence = 0;
      }
      state.boot_id = frame.boot_id;
      break;
    case FrameRole::kCurrent:
      if (!state.seen) state.boot_id = frame.boot_id;
      break;
  }
  state.seen = true;
  state.sequence = frame.sequence;
  state.timestamp_ms = frame.timestamp_ms;
  state.heard_ms = now_ms;
  state.ended = goodbye;
}

}  // namespace firewatch::protocol
