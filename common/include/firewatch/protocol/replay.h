// Replay protection and boot succession for authenticated frames, per source.
//
// The rules (docs/protocol.md, "Replay protection" and "Boots"):
//  - window: the frame's timestamp must lie in [now - past, now + future] on the
//    receiver's wall clock (past: detection.max_clock_skew, 2 m; future:
//    detection.max_future_skew, 5 s). Computed without arithmetic on the frame's
//    timestamp, so INT64_MIN/INT64_MAX-style values are refused, never overflow.
//  - the source has one *current* boot. Its frames must carry a strictly greater
//    sequence than the last one accepted from it.
//  - a frame of another boot is never refused because the current boot's timestamp is
//    later (that let a forged future timestamp lock the real agent out). It is refused
//    only when its timestamp is not later than `floor_ms`, the last timestamp of the
//    boots that were current before the current one (frames of a boot that has been
//    succeeded cannot come back), or when it repeats a sequence of the one other boot
//    the state remembers.
//  - another boot *takes over* (becomes current) only when that is plausible: the
//    current boot said goodbye, or has not been heard for `takeover_after` (the
//    collector passes the source's backstop, interval x backstop_intervals + grace, or 0
//    while the source is DOWN: the current boot is as good as dead). Until then its
//    frames are accepted as kOtherBoot: the caller counts them as liveness but lets them
//    change nothing else.
//  - a goodbye is accepted only from the current boot (or from a boot that takes over
//    with it); from any other boot it is refused with kGoodbyeNotCurrent.
//
// Memory is bounded: one current boot and at most one other boot per source. A third
// boot replaces the remembered other one (both keep being accepted; see protocol.md for
// what that allows a key holder and what it does not).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "firewatch/protocol/frame.h"

namespace firewatch::protocol {

// Per source; fields ordered to pack (one per tracked source: memory matters).
struct ReplayState {
  // Persisted with the source (the store's replay columns): seen, boot_id, sequence,
  // timestamp_ms, floor_ms.
  bool seen = false;
  // Receiver-side, rebuilt after a restart (Tracker::Restore): whether the current boot
  // said goodbye, and the one other boot remembered (a restarted agent waiting to take
  // over, or a key holder's forgery), so its own frames cannot be replayed while it waits.
  bool ended = false;
  bool has_other = false;
  BootId boot_id{};          // the current boot
  BootId other_boot{};
  uint64_t sequence = 0;     // the current boot's last accepted sequence
  int64_t timestamp_ms = 0;  // its last accepted timestamp (agent clock)
  // Frames of boots other than the current and the remembered other one must be later
  // than this: the last timestamp of every boot that was current before (0: none yet;
  // timestamps at or before the Unix epoch never pass the window anyway).
  int64_t floor_ms = 0;
  // When the current boot was last accepted (receiver wall clock, Unix ms).
  int64_t heard_ms = 0;
  uint64_t other_sequence = 0;
};

// Where a frame stands in its source's history: all that replay protection reads.
struct FrameOrder {
  BootId boot_id;
  uint64_t sequence;
  int64_t timestamp_ms;
  FrameType type = FrameType::kHeartbeat;
};
inline FrameOrder OrderOf(const Heartbeat& hb) {
  return {hb.boot_id, hb.sequence, hb.timestamp_ms, hb.type};
}
inline FrameOrder OrderOf(const HeartbeatView& hb) {
  return {hb.boot_id, hb.sequence, hb.timestamp_ms, hb.type};
}

struct ReplayWindow {
  std::chrono::milliseconds past = std::chrono::minutes(2);
  std::chrono::milliseconds future = std::chrono::seconds(5);
};

// What an accepted frame is to its source.
enum class FrameRole : uint8_t {
  kCurrent,    // the current boot (or the first frame ever): describes the source
  kNewBoot,    // another boot that takes over now: becomes the current boot
  kOtherBoot,  // another boot while the current one is still plausibly alive
};

struct ReplayVerdict {
  std::optional<RejectReason> rejected;  // kClockSkew, kReplayed or kGoodbyeNotCurrent
  FrameRole role = FrameRole::kCurrent;  // meaningful when accepted
};

// Judges `frame` at receiver wall time `now_ms`; `takeover_after` is how long the
// current boot must have been silent before another boot takes over. Pure: does not
// modify `state`. Safe for any int64/uint64 values in `frame`.
ReplayVerdict CheckReplay(const ReplayState& state, const FrameOrder& frame, int64_t now_ms,
                          ReplayWindow window, std::chrono::milliseconds takeover_after);

// Records an accepted frame with the role CheckReplay gave it, at receiver time now_ms.
void Advance(ReplayState& state, const FrameOrder& frame, FrameRole role, int64_t now_ms);

}  // namespace firewatch::protocol
