// Replay protection for authenticated frames, per source.
//
// Rules (docs/protocol.md, "Replay protection"):
//  - the frame's timestamp must be within `max_skew` of the receiver's wall clock;
//  - within one boot id the sequence must strictly increase;
//  - a new boot id is accepted only if its timestamp is later than the last accepted
//    frame's timestamp (an old boot's frames cannot be replayed after a restart).
#pragma once

#include <chrono>
#include <optional>

#include "firewatch/protocol/frame.h"

namespace firewatch::protocol {

struct ReplayState {
  bool seen = false;
  BootId boot_id{};
  uint64_t sequence = 0;
  int64_t timestamp_ms = 0;
};

// Where a frame stands in its source's history: all that replay protection reads.
struct FrameOrder {
  BootId boot_id;
  uint64_t sequence;
  int64_t timestamp_ms;
};
inline FrameOrder OrderOf(const Heartbeat& hb) { return {hb.boot_id, hb.sequence, hb.timestamp_ms}; }
inline FrameOrder OrderOf(const HeartbeatView& hb) {
  return {hb.boot_id, hb.sequence, hb.timestamp_ms};
}

// Returns the reason to reject the frame, or nullopt to accept it. Does not modify state.
std::optional<RejectReason> CheckReplay(const ReplayState& state, FrameOrder frame,
                                        int64_t now_unix_ms, std::chrono::milliseconds max_skew);
// Records an accepted frame.
void Advance(ReplayState& state, FrameOrder frame);

}  // namespace firewatch::protocol
