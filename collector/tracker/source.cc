#include "tracker/source.h"

namespace firewatch::collector {

std::string_view SourceStateName(SourceState s) {
  switch (s) {
    case SourceState::kUp: return "UP";
    case SourceState::kLate: return "LATE";
    case SourceState::kDown: return "DOWN";
    case SourceState::kStopped: return "STOPPED";
  }
  return "UP";
}

std::optional<SourceState> ParseSourceState(std::string_view name) {
  for (int i = 0; i < kSourceStateCount; ++i) {
    auto s = static_cast<SourceState>(i);
    if (SourceStateName(s) == name) return s;
  }
  return std::nullopt;
}

std::string_view TransportName(Transport t) { return t == Transport::kUdp ? "udp" : "http"; }

}  // namespace firewatch::collector
