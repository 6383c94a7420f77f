// libFuzzer target: the heartbeat frame decoder (protocol::DecodeView / Decode, with the
// HMAC verification) and the replay window on whatever it accepts. Built only with
// -DFIREWATCH_FUZZ=ON under clang (CMake preset "fuzz"; scripts/fuzz runs it).
//
// Input: one mode byte, then the frame.
//   mode even: the bytes go to the decoder as they are: an attacker without a key, who
//              can only reach the length, magic, version and key-id checks;
//   mode odd:  the last 32 bytes are replaced by a valid HMAC under the key "fleet"
//              first: a key holder, whose frames reach the authenticated parser;
//   bit 1 set: decoded with the HTTP limit (kMaxHttpFrameSize), not the datagram's.
// Frames of both versions (1, and 2 with its checks mode and digest) are reached.
// Checked on every input: no crash, no sanitizer report, Decode and DecodeView agree;
// an accepted frame re-encodes to exactly its own bytes (the format is canonical), and
// the replay window judges its timestamp without overflow.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "firewatch/crypto/hmac_sha256.h"
#include "firewatch/protocol/frame.h"
#include "firewatch/protocol/keyring.h"
#include "firewatch/protocol/replay.h"

namespace {

using namespace firewatch::protocol;

// The same key as fuzz/corpus/make_frame_seeds.py: 32 bytes of 0x42.
const Secret& FleetSecret() {
  static const Secret s(32, 0x42);
  return s;
}

const Keyring& Keys() {
  static const Keyring ring = [] {
    Keyring k;
    if (!k.Add("fleet", FleetSecret()).ok() || !k.Add("other", Secret(32, 0x17)).ok()) std::abort();
    return k;
  }();
  return ring;
}

void Check(bool ok) {
  if (!ok) std::abort();  // a broken property: libFuzzer reports the input
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool resign = (data[0] & 1) != 0;
  const size_t max_size = (data[0] & 2) != 0 ? kMaxHttpFrameSize : kMaxFrameSize;
  std::vector<uint8_t> frame(data + 1, data + size);
  if (resign && frame.size() >= kMacSize) {
    static const firewatch::crypto::HmacKey key(FleetSecret());
    const auto body = std::span<const uint8_t>(frame).first(frame.size() - kMacSize);
    const auto mac = key.Sign(body);
    std::memcpy(frame.data() + body.size(), mac.data(), kMacSize);
  }

  HeartbeatView view;
  const auto error = DecodeView(frame, Keys(), view, max_size);
  const DecodeOutcome owned = Decode(frame, Keys(), max_size);
  Check(owned.ok() == !error.has_value());
  if (error) {
    Check(owned.error().reason == error->reason);
    return 0;
  }
  const Heartbeat& hb = owned.heartbeat();
  Check(ToHeartbeat(view) == hb);
  Check(frame.size() <= max_size);
  Check(hb.checks_mode == ChecksMode::kFull || hb.checks.empty());
  Check(hb.version == 2 || (hb.checks_mode == ChecksMode::kFull && hb.checks_digest == 0));
  // Canonical: re-encoding under the same key gives back the very same bytes.
  const Key* key = Keys().FindKey(hb.key_id);
  Check(key != nullptr);
  auto again = Encode(hb, key->hmac, max_size);
  Check(again.ok() && *again == frame);

  // The receiver's window and boot rules on any timestamp, sequence and boot.
  ReplayState st;
  st.seen = true;
  st.timestamp_ms = hb.timestamp_ms;  // a state built from the same untrusted values
  st.floor_ms = hb.timestamp_ms;
  st.heard_ms = hb.timestamp_ms;
  st.sequence = hb.sequence;
  constexpr int64_t kNow = 1'767'225'600'000;  // 2026-01-01
  const ReplayWindow window{std::chrono::minutes(2), std::chrono::seconds(5)};
  for (int64_t now : {kNow, hb.timestamp_ms}) {
    const ReplayVerdict v =
        CheckReplay(st, OrderOf(hb), now, window, std::chrono::milliseconds(hb.interval_ms));
    if (!v.rejected) Advance(st, OrderOf(hb), v.role, now);
  }
  return 0;
}
