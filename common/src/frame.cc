#include "firewatch/protocol/frame.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "firewatch/random_id.h"

namespace firewatch::protocol {

namespace {

constexpr uint8_t kMagic0 = 'F';
constexpr uint8_t kMagic1 = 'W';
constexpr size_t kHeaderSize = 6;  // magic(2) version(1) type(1) total_length(2)

class Writer {
 public:
  void U8(uint8_t v) { buf_.push_back(v); }
  void U16(uint16_t v) {
    U8(static_cast<uint8_t>(v >> 8));
    U8(static_cast<uint8_t>(v));
  }
  void U32(uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) U8(static_cast<uint8_t>(v >> s));
  }
  void U64(uint64_t v) {
    for (int s = 56; s >= 0; s -= 8) U8(static_cast<uint8_t>(v >> s));
  }
  void Bytes(const void* p, size_t n) {
    auto* b = static_cast<const uint8_t*>(p);
    buf_.insert(buf_.end(), b, b + n);
  }
  void Str8(std::string_view s) {
    U8(static_cast<uint8_t>(s.size()));
    Bytes(s.data(), s.size());
  }
  void Str16(std::string_view s) {
    U16(static_cast<uint16_t>(s.size()));
    Bytes(s.data(), s.size());
  }
  std::vector<uint8_t>& buf() { return buf_; }

 private:
  std::vector<uint8_t> buf_;
};

// Bounds-checked reader: every read fails softly past the end.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  bool U8(uint8_t& v) {
    if (pos_ + 1 > b_.size()) return false;
    v = b_[pos_++];
    return true;
  }
  bool U16(uint16_t& v) { return Big(v); }
  bool U32(uint32_t& v) { return Big(v); }
  bool U64(uint64_t& v) { return Big(v); }
  bool Fixed(uint8_t* out, size_t n) {
    if (pos_ + n > b_.size()) return false;
    std::memcpy(out, b_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool Str(size_t n, size_t max, std::string_view& out) {
    if (n > max || pos_ + n > b_.size()) return false;
    out = std::string_view(reinterpret_cast<const char*>(b_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  bool Str8(size_t max, std::string_view& out) {
    uint8_t n;
    return U8(n) && Str(n, max, out);
  }
  bool Str16(size_t max, std::string_view& out) {
    uint16_t n;
    return U16(n) && Str(n, max, out);
  }
  size_t remaining() const { return b_.size() - pos_; }

 private:
  // A big-endian unsigned integer: one load and a byte swap, not a loop of shifts.
  template <typename T>
  bool Big(T& v) {
    if (pos_ + sizeof(T) > b_.size()) return false;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    if constexpr (std::endian::native == std::endian::little) {
      if constexpr (sizeof(T) == 2) v = __builtin_bswap16(v);
      if constexpr (sizeof(T) == 4) v = __builtin_bswap32(v);
      if constexpr (sizeof(T) == 8) v = __builtin_bswap64(v);
    }
    pos_ += sizeof(T);
    return true;
  }

  std::span<const uint8_t> b_;
  size_t pos_ = 0;
};

Status CheckLen(std::string_view field, std::string_view value, size_t max, bool may_be_empty) {
  if (!may_be_empty && value.empty()) return Status::InvalidArgument(std::string(field) + " is empty");
  if (value.size() > max) {
    return Status::InvalidArgument(std::string(field) + " is " + std::to_string(value.size()) +
                                   " bytes; the limit is " + std::to_string(max));
  }
  return Status::Ok();
}

static_assert(kMacSize == crypto::kSha256Size);

DecodeError Err(RejectReason r, std::string detail) { return DecodeError{r, std::move(detail)}; }

}  // namespace

std::string_view CheckStateName(CheckState s) {
  switch (s) {
    case CheckState::kOk: return "OK";
    case CheckState::kWarning: return "WARNING";
    case CheckState::kCritical: return "CRITICAL";
    case CheckState::kUnknown: return "UNKNOWN";
  }
  return "UNKNOWN";
}

std::string_view RejectReasonName(RejectReason r) {
  switch (r) {
    case RejectReason::kTruncated: return "truncated";
    case RejectReason::kOversize: return "oversize";
    case RejectReason::kBadMagic: return "bad_magic";
    case RejectReason::kBadVersion: return "bad_version";
    case RejectReason::kMalformed: return "malformed";
    case RejectReason::kUnknownKey: return "unknown_key";
    case RejectReason::kBadMac: return "bad_mac";
    case RejectReason::kReplayed: return "replayed";
    case RejectReason::kClockSkew: return "clock_skew";
    case RejectReason::kKeyNotAllowed: return "key_not_allowed";
    case RejectReason::kBadInterval: return "bad_interval";
    case RejectReason::kGoodbyeNotCurrent: return "goodbye_not_current";
    case RejectReason::kSourceLimit: return "source_limit";
    case RejectReason::kNewSourceRate: return "new_source_rate";
  }
  return "unknown";
}

uint64_t ChecksDigest(std::span<const CheckResult> checks) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64 offset basis
  auto mix = [&h](std::string_view bytes) {
    for (unsigned char b : bytes) {
      h ^= b;
      h *= 0x100000001b3ULL;  // FNV-1a 64 prime
    }
  };
  for (const auto& c : checks) {
    const char state = static_cast<char>(c.state);
    mix(c.name);
    mix(std::string_view("\0", 1));
    mix(std::string_view(&state, 1));
    mix(c.output);
    mix(std::string_view("\0", 1));
  }
  return h == 0 ? 1 : h;
}

Result<std::vector<uint8_t>> Encode(const Heartbeat& hb, std::span<const uint8_t> secret,
                                    size_t max_size) {
  return Encode(hb, crypto::HmacKey(secret), max_size);
}

Result<std::vector<uint8_t>> Encode(const Heartbeat& hb, const crypto::HmacKey& key,
                                    size_t max_size) {
  Status s;
  if (hb.version < kMinVersion || hb.version > kVersion) {
    return Status::InvalidArgument("unknown frame version " + std::to_string(hb.version));
  }
  if (hb.version == 1 && (hb.checks_mode != ChecksMode::kFull || hb.checks_digest != 0)) {
    return Status::InvalidArgument("a version 1 frame carries every check in full, no digest");
  }
  if (hb.checks_mode != ChecksMode::kFull && hb.checks_mode != ChecksMode::kUnchanged) {
    return Status::InvalidArgument("unknown checks mode");
  }
  if (hb.checks_mode == ChecksMode::kUnchanged && !hb.checks.empty()) {
    return Status::InvalidArgument("an unchanged-checks frame carries no checks");
  }
  max_size = std::min(max_size, kMaxHttpFrameSize);
  if (!(s = CheckLen("key id", hb.key_id, kMaxIdLength, false)).ok()) return s;
  if (!(s = CheckLen("source id", hb.source_id, kMaxIdLength, false)).ok()) return s;
  if (!(s = CheckLen("agent version", hb.agent_version, kMaxShortText, true)).ok()) return s;
  if (!(s = CheckLen("goodbye reason", hb.goodbye_reason, kMaxShortText, true)).ok()) return s;
  if (hb.type != FrameType::kHeartbeat && hb.type != FrameType::kGoodbye) {
    return Status::InvalidArgument("unknown frame type");
  }
  if (hb.labels.size() > 255) return Status::InvalidArgument("more than 255 labels");
  if (hb.checks.size() > 255) return Status::InvalidArgument("more than 255 checks");
  Labels labels = hb.labels;
  std::sort(labels.begin(), labels.end());
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!(s = CheckLen("label key", labels[i].first, kMaxIdLength, false)).ok()) return s;
    if (!(s = CheckLen("label '" + labels[i].first + "'", labels[i].second, kMaxShortText, true))
             .ok())
      return s;
    if (i > 0 && labels[i].first == labels[i - 1].first) {
      return Status::InvalidArgument("label '" + labels[i].first + "' appears twice");
    }
  }
  for (const auto& c : hb.checks) {
    if (!(s = CheckLen("check name", c.name, kMaxShortText, false)).ok()) return s;
    if (!(s = CheckLen("check '" + c.name + "' output", c.output, kMaxCheckOutput, true)).ok())
      return s;
  }

  Writer w;
  w.U8(kMagic0);
  w.U8(kMagic1);
  w.U8(hb.version);
  w.U8(static_cast<uint8_t>(hb.type));
  w.U16(0);  // total length, patched below
  w.Str8(hb.key_id);
  w.Str8(hb.source_id);
  w.Bytes(hb.boot_id.data(), hb.boot_id.size());
  w.U64(hb.sequence);
  w.U64(static_cast<uint64_t>(hb.timestamp_ms));
  w.U32(hb.interval_ms);
  w.Str8(hb.agent_version);
  w.U8(static_cast<uint8_t>(labels.size()));
  for (const auto& [k, v] : labels) {
    w.Str8(k);
    w.Str8(v);
  }
  if (hb.version >= 2) {
    w.U8(static_cast<uint8_t>(hb.checks_mode));
    w.U64(hb.checks_digest);
  }
  if (hb.checks_mode == ChecksMode::kFull) {
    w.U8(static_cast<uint8_t>(hb.checks.size()));
    for (const auto& c : hb.checks) {
      w.Str8(c.name);
      w.U8(static_cast<uint8_t>(c.state));
      w.Str16(c.output);
    }
  }
  w.Str8(hb.type == FrameType::kGoodbye ? std::string_view(hb.goodbye_reason) : "");
  auto& buf = w.buf();
  size_t total = buf.size() + kMacSize;
  if (total > max_size) {
    return Status::InvalidArgument("frame would be " + std::to_string(total) +
                                   " bytes; the limit is " + std::to_string(max_size) +
                                   " (shorten labels or check output)");
  }
  buf[4] = static_cast<uint8_t>(total >> 8);
  buf[5] = static_cast<uint8_t>(total);
  const crypto::Sha256Digest mac = key.Sign(buf);
  buf.insert(buf.end(), mac.begin(), mac.end());
  return std::move(buf);
}

std::optional<DecodeError> DecodeView(std::span<const uint8_t> bytes, const Keyring& keys,
                                      HeartbeatView& hb, size_t max_size) {
  max_size = std::min(max_size, kMaxHttpFrameSize);
  if (bytes.size() > max_size) {
    return Err(RejectReason::kOversize, std::to_string(bytes.size()) + " bytes");
  }
  if (bytes.size() < 2) return Err(RejectReason::kTruncated, "shorter than the magic");
  if (bytes[0] != kMagic0 || bytes[1] != kMagic1) return Err(RejectReason::kBadMagic, "");
  if (bytes.size() < 3) return Err(RejectReason::kTruncated, "shorter than the header");
  if (bytes[2] < kMinVersion || bytes[2] > kVersion) {
    return Err(RejectReason::kBadVersion, "version " + std::to_string(bytes[2]));
  }
  hb.version = bytes[2];
  if (bytes.size() < kHeaderSize) return Err(RejectReason::kTruncated, "shorter than the header");
  size_t declared = static_cast<size_t>(bytes[4]) << 8 | bytes[5];
  if (declared > max_size) return Err(RejectReason::kMalformed, "declared length too large");
  if (bytes.size() < declared) {
    return Err(RejectReason::kTruncated, std::to_string(bytes.size()) + " of " +
                                             std::to_string(declared) + " declared bytes");
  }
  if (bytes.size() > declared) return Err(RejectReason::kMalformed, "trailing bytes");
  if (declared < kHeaderSize + 1 + kMacSize) {
    return Err(RejectReason::kMalformed, "declared length too small");
  }

  auto body = bytes.first(declared - kMacSize);
  Reader r(body);
  uint8_t u8;
  uint16_t u16;
  r.U16(u16);  // magic
  r.U8(u8);    // version
  r.U8(u8);
  if (u8 != static_cast<uint8_t>(FrameType::kHeartbeat) &&
      u8 != static_cast<uint8_t>(FrameType::kGoodbye)) {
    return Err(RejectReason::kMalformed, "unknown frame type " + std::to_string(u8));
  }
  hb.type = static_cast<FrameType>(u8);
  r.U16(u16);  // length, already checked
  if (!r.Str8(kMaxIdLength, hb.key_id) || hb.key_id.empty()) {
    return Err(RejectReason::kMalformed, "bad key id");
  }
  const Key* key = keys.FindKey(hb.key_id);
  if (key == nullptr) {
    return Err(RejectReason::kUnknownKey, "key id '" + std::string(hb.key_id) + "'");
  }
  if (!crypto::ConstantTimeEqual(key->hmac.Sign(body), bytes.subspan(body.size(), kMacSize))) {
    return Err(RejectReason::kBadMac, "key id '" + std::string(hb.key_id) + "'");
  }

  // Authenticated from here on: a structural error now means a buggy (not hostile) sender.
  uint64_t u64;
  uint32_t u32;
  if (!r.Str8(kMaxIdLength, hb.source_id) || hb.source_id.empty()) {
    return Err(RejectReason::kMalformed, "bad source id");
  }
  if (!r.Fixed(hb.boot_id.data(), hb.boot_id.size()) || !r.U64(hb.sequence) || !r.U64(u64) ||
      !r.U32(u32)) {
    return Err(RejectReason::kMalformed, "short fixed fields");
  }
  hb.timestamp_ms = static_cast<int64_t>(u64);
  hb.interval_ms = u32;
  if (!r.Str8(kMaxShortText, hb.agent_version)) return Err(RejectReason::kMalformed, "bad version");
  if (!r.U8(u8)) return Err(RejectReason::kMalformed, "no label count");
  hb.labels.resize(u8);
  for (size_t i = 0; i < hb.labels.size(); ++i) {
    auto& [k, v] = hb.labels[i];
    if (!r.Str8(kMaxIdLength, k) || k.empty() || !r.Str8(kMaxShortText, v)) {
      return Err(RejectReason::kMalformed, "bad label");
    }
    if (i > 0 && hb.labels[i - 1].first >= k) {
      return Err(RejectReason::kMalformed, "labels not sorted or duplicated");
    }
  }
  hb.checks_mode = ChecksMode::kFull;
  hb.checks_digest = 0;
  if (hb.version >= 2) {
    if (!r.U8(u8) || !r.U64(hb.checks_digest)) {
      return Err(RejectReason::kMalformed, "no checks mode/digest");
    }
    if (u8 != static_cast<uint8_t>(ChecksMode::kFull) &&
        u8 != static_cast<uint8_t>(ChecksMode::kUnchanged)) {
      return Err(RejectReason::kMalformed, "unknown checks mode " + std::to_string(u8));
    }
    hb.checks_mode = static_cast<ChecksMode>(u8);
  }
  u8 = 0;  // an unchanged-checks frame has no check count
  if (hb.checks_mode == ChecksMode::kFull && !r.U8(u8)) {
    return Err(RejectReason::kMalformed, "no check count");
  }
  hb.checks.resize(u8);
  for (auto& c : hb.checks) {
    uint8_t st;
    if (!r.Str8(kMaxShortText, c.name) || c.name.empty() || !r.U8(st) || st > 3 ||
        !r.Str16(kMaxCheckOutput, c.output)) {
      return Err(RejectReason::kMalformed, "bad check");
    }
    c.state = static_cast<CheckState>(st);
  }
  if (!r.Str8(kMaxShortText, hb.goodbye_reason)) return Err(RejectReason::kMalformed, "bad reason");
  if (r.remaining() != 0) return Err(RejectReason::kMalformed, "unparsed bytes before the MAC");
  if (hb.interval_ms == 0) return Err(RejectReason::kMalformed, "interval is zero");
  if (hb.type == FrameType::kHeartbeat && !hb.goodbye_reason.empty()) {
    return Err(RejectReason::kMalformed, "heartbeat with a goodbye reason");
  }
  return std::nullopt;
}

DecodeOutcome Decode(std::span<const uint8_t> bytes, const Keyring& keys, size_t max_size) {
  HeartbeatView view;
  if (auto err = DecodeView(bytes, keys, view, max_size)) return std::move(*err);
  return ToHeartbeat(view);
}

namespace {
// Resizes `to` like `from` and copies each element with `copy(from[i], to[i])`.
template <typename FromList, typename ToList, typename Copy>
void CopyEach(const FromList& from, ToList& to, Copy copy) {
  to.resize(from.size());
  for (size_t i = 0; i < from.size(); ++i) copy(from[i], to[i]);
}

// The one field list shared by both directions (owned <-> viewed); strings convert
// either way by assignment.
template <typename From, typename To>
void CopyFrame(const From& from, To& to) {
  to.version = from.version;
  to.type = from.type;
  to.key_id = from.key_id;
  to.source_id = from.source_id;
  to.boot_id = from.boot_id;
  to.sequence = from.sequence;
  to.timestamp_ms = from.timestamp_ms;
  to.interval_ms = from.interval_ms;
  to.agent_version = from.agent_version;
  CopyEach(from.labels, to.labels, [](const auto& f, auto& t) {
    t.first = f.first;
    t.second = f.second;
  });
  to.checks_mode = from.checks_mode;
  to.checks_digest = from.checks_digest;
  CopyEach(from.checks, to.checks, [](const auto& f, auto& t) {
    t.name = f.name;
    t.state = f.state;
    t.output = f.output;
  });
  to.goodbye_reason = from.goodbye_reason;
}
}  // namespace

void ViewOf(const Heartbeat& hb, HeartbeatView& out) { CopyFrame(hb, out); }

Heartbeat ToHeartbeat(const HeartbeatView& view) {
  Heartbeat hb;
  CopyFrame(view, hb);
  return hb;
}

BootId NewBootId() {
  BootId id{};
  FillRandom(id);
  return id;
}

}  // namespace firewatch::protocol
