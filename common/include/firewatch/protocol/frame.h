// The heartbeat frame: one encoder/decoder shared by agent and collector.
// The byte layout is specified in docs/protocol.md; keep the two in step.
//
// A frame is at most kMaxFrameSize bytes, so it always fits one UDP datagram, and it is
// accepted unchanged over UDP and over `POST /api/v1/heartbeat`; only a frame whose full
// check state does not fit a datagram is larger (up to kMaxHttpFrameSize) and goes over
// HTTP alone. Version 2 (what this build sends) carries the check state compactly: in
// full, or as a marker saying "unchanged since the full state with this digest"; version
// 1 frames (every heartbeat in full) are still decoded. It is authenticated
// with HMAC-SHA256 under the key named by its key id. Decode() checks everything that
// needs only the frame and the keyring; replay (sequence, timestamp window) needs the
// receiver's per-source state and lives in replay.h.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "firewatch/crypto/hmac_sha256.h"
#include "firewatch/protocol/keyring.h"
#include "firewatch/status.h"

namespace firewatch::protocol {

inline constexpr uint8_t kVersion = 2;     // what Encode writes unless told otherwise
inline constexpr uint8_t kMinVersion = 1;  // the oldest version Decode accepts
inline constexpr size_t kMaxFrameSize = 1200;       // a datagram; the default limit
inline constexpr size_t kMaxHttpFrameSize = 65535;  // what the u16 length allows (HTTP only)
inline constexpr size_t kMacSize = 32;
inline constexpr size_t kMaxIdLength = 64;        // key id, source id, label key
inline constexpr size_t kMaxShortText = 128;      // label value, check name, version, reason
inline constexpr size_t kMaxCheckOutput = 256;

enum class FrameType : uint8_t { kHeartbeat = 1, kGoodbye = 2 };

enum class CheckState : uint8_t { kOk = 0, kWarning = 1, kCritical = 2, kUnknown = 3 };
std::string_view CheckStateName(CheckState s);

struct CheckResult {
  std::string name;
  CheckState state = CheckState::kUnknown;
  std::string output;  // short, first line of the plugin output
  bool operator==(const CheckResult&) const = default;
};

// How a version 2 frame carries its checks (docs/protocol.md, "Checks").
enum class ChecksMode : uint8_t {
  kFull = 0,       // the checks field is the agent's whole check state
  kUnchanged = 1,  // no checks follow: the state is the full one sent with checks_digest
};

using BootId = std::array<uint8_t, 16>;
using Labels = std::vector<std::pair<std::string, std::string>>;

struct Heartbeat {
  uint8_t version = kVersion;  // 1: no checks mode/digest (mode kFull, digest 0)
  FrameType type = FrameType::kHeartbeat;
  std::string key_id;
  std::string source_id;
  BootId boot_id{};            // random per agent start
  uint64_t sequence = 0;       // strictly increasing within one boot
  int64_t timestamp_ms = 0;    // agent wall clock, Unix milliseconds
  uint32_t interval_ms = 0;    // the agent's configured heartbeat interval
  std::string agent_version;
  Labels labels;               // encoded sorted by key; keys unique
  ChecksMode checks_mode = ChecksMode::kFull;
  uint64_t checks_digest = 0;  // names the full state (version 2); opaque to the receiver
  std::vector<CheckResult> checks;  // empty when checks_mode is kUnchanged
  std::string goodbye_reason;  // only for kGoodbye
  bool operator==(const Heartbeat&) const = default;
};

// Why a frame was refused. Every value has a stable metric/log name (RejectReasonName).
enum class RejectReason : uint8_t {
  kTruncated,    // shorter than its header or its declared length
  kOversize,     // longer than kMaxFrameSize
  kBadMagic,     // not a firewatch frame
  kBadVersion,   // a protocol version this build does not speak
  kMalformed,    // structurally invalid (bad lengths, unknown type, trailing bytes...)
  kUnknownKey,   // key id not in the receiver's keyring
  kBadMac,       // HMAC does not verify
  kReplayed,     // (boot id, sequence) did not advance
  kClockSkew,    // timestamp outside the receiver's skew window
  // Receiver policy (the collector's config), checked after the frame authenticated:
  kKeyNotAllowed,      // the key is not bound to this source id
  kBadInterval,        // interval outside the receiver's [min, max]
  kGoodbyeNotCurrent,  // a goodbye from a boot that is not the source's current one
  kSourceLimit,        // a new source while the receiver tracks its maximum
  kNewSourceRate,      // a new source over its key's new-sources-per-minute budget
};
inline constexpr int kRejectReasonCount = 14;
std::string_view RejectReasonName(RejectReason r);

// Encodes and signs as hb.version. Fails with InvalidArgument when a field exceeds its
// limit, the frame would exceed `max_size` (kMaxFrameSize or kMaxHttpFrameSize; the
// message names the field), the version is unknown, a version 1 frame has a checks mode
// or digest, or an kUnchanged frame has checks.
Result<std::vector<uint8_t>> Encode(const Heartbeat& hb, std::span<const uint8_t> secret,
                                    size_t max_size = kMaxFrameSize);
// The same with a key already set up (crypto::HmacKey), for callers that sign many
// frames under one key; the span overload sets the key up on every call.
Result<std::vector<uint8_t>> Encode(const Heartbeat& hb, const crypto::HmacKey& key,
                                    size_t max_size = kMaxFrameSize);

struct DecodeError {
  RejectReason reason;
  std::string detail;  // for logs; never contains secret material
};

// Parses and authenticates `bytes`. On success returns the heartbeat; on failure
// returns the reason. Never reads outside `bytes`; safe on arbitrary input. Frames over
// `max_size` are kOversize: kMaxFrameSize for datagrams, kMaxHttpFrameSize over HTTP.
class DecodeOutcome {
 public:
  DecodeOutcome(Heartbeat hb) : ok_(true), hb_(std::move(hb)) {}  // NOLINT
  DecodeOutcome(DecodeError e) : ok_(false), err_(std::move(e)) {}  // NOLINT
  bool ok() const { return ok_; }
  const Heartbeat& heartbeat() const { return hb_; }
  Heartbeat& heartbeat() { return hb_; }
  const DecodeError& error() const { return err_; }

 private:
  bool ok_;
  Heartbeat hb_;
  DecodeError err_{};
};
DecodeOutcome Decode(std::span<const uint8_t> bytes, const Keyring& keys,
                     size_t max_size = kMaxFrameSize);

// A decoded heartbeat whose strings point into the frame's bytes (or into a Heartbeat,
// see ViewOf): the collector's ingest form, which copies nothing. Valid only while the
// bytes it views are; its vectors keep their capacity when one view is reused, so a
// receiver that keeps one per thread decodes without allocating.
struct CheckView {
  std::string_view name;
  CheckState state = CheckState::kUnknown;
  std::string_view output;
};
using LabelViews = std::vector<std::pair<std::string_view, std::string_view>>;
struct HeartbeatView {
  uint8_t version = kVersion;
  FrameType type = FrameType::kHeartbeat;
  std::string_view key_id;
  std::string_view source_id;
  BootId boot_id{};
  uint64_t sequence = 0;
  int64_t timestamp_ms = 0;
  uint32_t interval_ms = 0;
  std::string_view agent_version;
  LabelViews labels;  // sorted by key; keys unique
  ChecksMode checks_mode = ChecksMode::kFull;
  uint64_t checks_digest = 0;
  std::vector<CheckView> checks;
  std::string_view goodbye_reason;
};
// Decode() into a view: the same checks, the same outcome. Returns nullopt on success;
// on failure `out` holds an unspecified partial frame.
std::optional<DecodeError> DecodeView(std::span<const uint8_t> bytes, const Keyring& keys,
                                      HeartbeatView& out, size_t max_size = kMaxFrameSize);
// `out` viewing `hb` (valid while `hb` lives and is unchanged).
void ViewOf(const Heartbeat& hb, HeartbeatView& out);
// An owning copy of a view.
Heartbeat ToHeartbeat(const HeartbeatView& view);

// The digest a firewatch agent puts in checks_digest for a full check state: FNV-1a 64
// over each check's name, a 0 byte, its state byte, its output and a 0 byte, in order;
// never 0 (0 is "no full state yet" on the receiver). Receivers only compare digests.
uint64_t ChecksDigest(std::span<const CheckResult> checks);

// Fresh random boot id from the OS CSPRNG (firewatch/random_id.h: fatal when the kernel
// has no randomness, as for every random id).
BootId NewBootId();

}  // namespace firewatch::protocol
