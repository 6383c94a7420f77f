#include "firewatch/protocol/replay.h"

#include <cstdlib>

namespace firewatch::protocol {

std::optional<RejectReason> CheckReplay(const ReplayState& state, FrameOrder hb,
                                        int64_t now_unix_ms, std::chrono::milliseconds max_skew) {
  int64_t skew = hb.timestamp_ms - now_unix_ms;
  if (skew > max_skew.count() || -skew > max_skew.count()) return RejectReason::kClockSkew;
  if (!state.seen) return std::nullopt;
  if (hb.boot_id == state.boot_id) {
    if (hb.sequence <= state.sequence) return RejectReason::kReplayed;
    return std::nullopt;
  }
  // A different boot: only a later one may take over.
  if (hb.timestamp_ms <= state.timestamp_ms) return RejectReason::kReplayed;
  return std::nullopt;
}

void Advance(ReplayState& state, FrameOrder hb) {
  state.seen = true;
  state.boot_id = hb.boot_id;
  state.sequence = hb.sequence;
  state.timestamp_ms = hb.timestamp_ms;
}

}  // namespace firewatch::protocol
