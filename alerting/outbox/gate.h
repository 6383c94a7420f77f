// The outbox's question to the cluster before it sends a due item: send now, wait, or
// skip because a peer collector already delivered it (docs/cluster.md, "Page dedup").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace firewatch::alerting::outbox {

// The start of the detail of a kSkip because a peer delivered the notification. An item
// cancelled with it went out (from the peer): its contact was paged (engine: Paged()).
inline constexpr std::string_view kDeliveredByPeer = "delivered by collector ";

struct GateDecision {
  enum class Kind : uint8_t { kSend, kDefer, kSkip };
  Kind kind = Kind::kSend;
  int64_t until_ms = 0;  // kDefer: ask again at this Unix ms
  std::string detail;    // kDefer/kSkip: why (recorded on the outbox item)
  static GateDecision Send() { return {}; }
  static GateDecision Defer(int64_t until_ms, std::string why) {
    return {Kind::kDefer, until_ms, std::move(why)};
  }
  static GateDecision Skip(std::string why) { return {Kind::kSkip, 0, std::move(why)}; }
};

}  // namespace firewatch::alerting::outbox
