// Builds the frames one agent run sends: heartbeats and the final goodbye. Owns the
// sequence number, which starts at 1 and advances by one per frame (one per heartbeat
// round; every collector gets the same frame), and the boot id of this run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent_config.h"
#include "checks.h"
#include "firewatch/clock.h"
#include "firewatch/protocol/frame.h"

namespace firewatch::agent {

// An encoded, signed frame ready for any transport.
struct OutgoingFrame {
  protocol::FrameType type = protocol::FrameType::kHeartbeat;
  uint64_t sequence = 0;
  int64_t timestamp_ms = 0;
  std::vector<uint8_t> bytes;
};

class HeartbeatBuilder {
 public:
  // `config`, `clock` and `checks` must outlive the builder. `secret` is copied.
  HeartbeatBuilder(const AgentConfig& config, protocol::Secret secret, protocol::BootId boot_id,
                   const Clock& clock, CheckProvider& checks);

  // The next heartbeat: next sequence number, wall-clock timestamp, current checks.
  // Fails only if the frame cannot be encoded even without checks (the config loader
  // rules that out for valid configs).
  Result<OutgoingFrame> NextHeartbeat();
  // The goodbye: next sequence number, `reason` (e.g. "SIGTERM"), no checks.
  Result<OutgoingFrame> Goodbye(const std::string& reason);

  // The unsigned content of the next frame, without advancing the sequence (tests).
  protocol::Heartbeat Peek(protocol::FrameType type) const;
  uint64_t last_sequence() const { return sequence_; }
  const protocol::BootId& boot_id() const { return boot_id_; }

 private:
  protocol::Heartbeat Base(protocol::FrameType type, uint64_t sequence) const;
  Result<OutgoingFrame> Seal(const protocol::Heartbeat& hb);

  const AgentConfig& config_;
  protocol::Secret secret_;
  protocol::BootId boot_id_;
  const Clock& clock_;
  CheckProvider& checks_;
  uint64_t sequence_ = 0;
};

}  // namespace firewatch::agent
