// Builds the frames one agent run sends: heartbeats and the final goodbye. Owns the
// sequence number, which starts at 1 and advances by one per frame (one per heartbeat
// round; every collector gets the same frame), and the boot id of this run.
//
// Check state, compactly (protocol version 2; docs/protocol.md, "Checks"): a heartbeat
// carries the full check state when a check's state or the set of checks changed (and
// in the kChangeRepeats - 1 heartbeats after, so one lost datagram does not lose the
// change), at least every checks_full_interval (so output text and a collector that
// lost track catch up), and otherwise only the digest of the last full state. A full
// state over a datagram's 1,200 bytes is encoded up to the HTTP limit, with a cut copy
// for UDP (OutgoingFrame::datagram). With protocol_version 1 every heartbeat is full and
// cut to fit, as before version 2.
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
  std::vector<uint8_t> bytes;     // the frame; over kMaxFrameSize only for HTTP
  // When `bytes` is over kMaxFrameSize: the same frame (same sequence) with its checks
  // cut to fit a datagram, for a collector HTTP cannot reach. Empty otherwise.
  std::vector<uint8_t> datagram;
  bool full_checks = true;  // carries the check state in full (not only its digest)
  bool needs_http() const { return !datagram.empty(); }
};

class HeartbeatBuilder {
 public:
  // `config`, `clock` and `checks` must outlive the builder. `secret` is copied.
  HeartbeatBuilder(const AgentConfig& config, protocol::Secret secret, protocol::BootId boot_id,
                   const Clock& clock, CheckProvider& checks);

  // How many heartbeats in a row carry a changed check state in full.
  static constexpr int kChangeRepeats = 3;

  // The next heartbeat: next sequence number, wall-clock timestamp, the current checks
  // in full or as the digest of the last full state (see above). Fails only if the frame cannot be encoded even without checks (the config loader
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
  Result<OutgoingFrame> Seal(const protocol::Heartbeat& hb,
                             size_t max_size = protocol::kMaxFrameSize);
  // `hb` with its checks cut until it fits a datagram (the last resort), sealed.
  Result<OutgoingFrame> SealCut(protocol::Heartbeat hb);
  // Whether this heartbeat carries the checks in full; updates the change bookkeeping.
  bool WantFull(const std::vector<protocol::CheckResult>& checks);

  const AgentConfig& config_;
  protocol::Secret secret_;
  protocol::BootId boot_id_;
  const Clock& clock_;
  CheckProvider& checks_;
  uint64_t sequence_ = 0;
  // Compact checks: the state last sent in full, its digest, when, and how many more
  // heartbeats repeat it in full.
  std::vector<protocol::CheckResult> last_full_;
  uint64_t last_digest_ = 0;  // 0: nothing sent in full yet
  MonoTime last_full_at_{};
  int repeats_left_ = 0;
};

}  // namespace firewatch::agent
