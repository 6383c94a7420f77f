#include "heartbeat_builder.h"

#include "agent_log.h"
#include "version.h"

namespace firewatch::agent {

HeartbeatBuilder::HeartbeatBuilder(const AgentConfig& config, protocol::Secret secret,
                                   protocol::BootId boot_id, const Clock& clock,
                                   CheckProvider& checks)
    : config_(config), secret_(std::move(secret)), boot_id_(boot_id), clock_(clock),
      checks_(checks) {}

protocol::Heartbeat HeartbeatBuilder::Base(protocol::FrameType type, uint64_t sequence) const {
  protocol::Heartbeat hb;
  hb.type = type;
  hb.key_id = config_.key_id;
  hb.source_id = config_.source_id;
  hb.boot_id = boot_id_;
  hb.sequence = sequence;
  hb.timestamp_ms = ToUnixMillis(clock_.WallNow());
  hb.interval_ms = static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.interval).count());
  hb.agent_version = std::string(AgentVersion());
  hb.labels = config_.labels;
  return hb;
}

protocol::Heartbeat HeartbeatBuilder::Peek(protocol::FrameType type) const {
  return Base(type, sequence_ + 1);
}

Result<OutgoingFrame> HeartbeatBuilder::Seal(const protocol::Heartbeat& hb) {
  auto bytes = protocol::Encode(hb, secret_);
  if (!bytes.ok()) return bytes.status();
  sequence_ = hb.sequence;
  return OutgoingFrame{hb.type, hb.sequence, hb.timestamp_ms, std::move(bytes).value()};
}

Result<OutgoingFrame> HeartbeatBuilder::NextHeartbeat() {
  protocol::Heartbeat hb = Base(protocol::FrameType::kHeartbeat, sequence_ + 1);
  hb.checks = checks_.Current();
  auto frame = Seal(hb);
  if (frame.ok() || hb.checks.empty()) return frame;
  // The checks made the frame too big (or invalid): still say we are alive.
  LogError("check results do not fit in a heartbeat ({}); sending it without checks",
           frame.status().message());
  hb.checks.clear();
  return Seal(hb);
}

Result<OutgoingFrame> HeartbeatBuilder::Goodbye(const std::string& reason) {
  protocol::Heartbeat hb = Base(protocol::FrameType::kGoodbye, sequence_ + 1);
  hb.goodbye_reason = reason;
  return Seal(hb);
}

}  // namespace firewatch::agent
