#include "heartbeat_builder.h"

#include "agent_log.h"
#include "plugin_output.h"
#include "version.h"
#include "firewatch/text/utf8.h"

namespace firewatch::agent {

HeartbeatBuilder::HeartbeatBuilder(const AgentConfig& config, protocol::Secret secret,
                                   protocol::BootId boot_id, const Clock& clock,
                                   CheckProvider& checks)
    : config_(config), secret_(std::move(secret)), boot_id_(boot_id), clock_(clock),
      checks_(checks) {}

protocol::Heartbeat HeartbeatBuilder::Base(protocol::FrameType type, uint64_t sequence) const {
  protocol::Heartbeat hb;
  hb.version = static_cast<uint8_t>(config_.protocol_version);
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

Result<OutgoingFrame> HeartbeatBuilder::Seal(const protocol::Heartbeat& hb, size_t max_size) {
  auto bytes = protocol::Encode(hb, secret_, max_size);
  if (!bytes.ok()) return bytes.status();
  sequence_ = hb.sequence;
  OutgoingFrame f{hb.type, hb.sequence, hb.timestamp_ms, std::move(bytes).value(), {}, true};
  f.full_checks = hb.checks_mode == protocol::ChecksMode::kFull;
  return f;
}

namespace {
// The same states for the same checks in the same order (outputs aside: a changed
// message alone rides on the next periodic full state).
bool SameStates(const std::vector<protocol::CheckResult>& a,
                const std::vector<protocol::CheckResult>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].state != b[i].state) return false;
  }
  return true;
}
}  // namespace

bool HeartbeatBuilder::WantFull(const std::vector<protocol::CheckResult>& checks) {
  const MonoTime now = clock_.Now();
  if (!SameStates(checks, last_full_)) repeats_left_ = kChangeRepeats;
  const bool full = repeats_left_ > 0 || last_digest_ == 0 ||
                    now - last_full_at_ >= config_.checks_full_interval;
  if (full) {
    if (repeats_left_ > 0) --repeats_left_;
    last_full_ = checks;
    last_full_at_ = now;
  }
  return full;
}

Result<OutgoingFrame> HeartbeatBuilder::NextHeartbeat() {
  protocol::Heartbeat hb = Base(protocol::FrameType::kHeartbeat, sequence_ + 1);
  hb.checks = checks_.Current();
  if (hb.version < 2) return SealCut(std::move(hb));
  if (!WantFull(hb.checks)) {
    hb.checks.clear();
    hb.checks_mode = protocol::ChecksMode::kUnchanged;
    hb.checks_digest = last_digest_;
    return Seal(hb);
  }
  hb.checks_digest = last_digest_ = protocol::ChecksDigest(hb.checks);
  auto frame = Seal(hb);
  if (frame.ok() || hb.checks.empty()) return frame;
  // Over a datagram: the whole state for HTTP, and a cut copy for UDP only. Both carry
  // the digest of the whole state: a collector that got the cut copy has the states
  // that matter (what is not OK comes first) and is not told it is out of date.
  auto whole = Seal(hb, protocol::kMaxHttpFrameSize);
  auto cut = SealCut(hb);
  if (!whole.ok()) return cut;  // not even HTTP takes it: the cut copy for everyone
  if (!cut.ok()) return cut.status();
  whole->datagram = std::move(cut->bytes);
  return whole;
}

Result<OutgoingFrame> HeartbeatBuilder::SealCut(protocol::Heartbeat hb) {
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
  for (auto& c : hb.checks) c.output = std::string(text::Utf8Prefix(c.output, 32));
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
