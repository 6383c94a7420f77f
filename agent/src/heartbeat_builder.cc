#include "heartbeat_builder.h"

#include "agent_log.h"
#include "plugin_output.h"
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
  // Too big: first drop the messages of OK checks (their state still travels), then
  // the OK checks themselves (the collector keeps the state it last had), so what is
  // wrong gets through. Only when even that does not fit, send no checks.
  const std::string why = frame.status().message();
  for (auto& c : hb.checks) {
    if (c.state == protocol::CheckState::kOk) c.output.clear();
  }
  if (frame = Seal(hb); frame.ok()) return frame;
  std::erase_if(hb.checks, [](const protocol::CheckResult& c) {
    return c.state == protocol::CheckState::kOk;
  });
  if (frame = Seal(hb); frame.ok()) return frame;
  for (auto& c : hb.checks) c.output = TruncateUtf8(c.output, 32);
  if (frame = Seal(hb); frame.ok()) return frame;
  LogError("check results do not fit in a heartbeat ({}); sending it without checks", why);
  hb.checks.clear();
  return Seal(hb);
}

Result<OutgoingFrame> HeartbeatBuilder::Goodbye(const std::string& reason) {
  protocol::Heartbeat hb = Base(protocol::FrameType::kGoodbye, sequence_ + 1);
  hb.goodbye_reason = reason;
  return Seal(hb);
}

}  // namespace firewatch::agent
