// A check's ping details as JSON, shared by GET /api/v1/sources (the "ping" member of a
// check's source) and GET /api/v1/checks. Timestamps RFC 3339 UTC; null when unknown.
#pragma once

#include <nlohmann/json.hpp>

#include "firewatch/text/rfc3339.h"
#include "tracker/deadline.h"

namespace firewatch::collector {

inline nlohmann::ordered_json PingInfoJson(const PingInfo& p) {
  using Json = nlohmann::ordered_json;
  auto when = [](int64_t ms) -> Json {
    return ms > 0 ? Json(text::FormatRfc3339(ms)) : Json(nullptr);
  };
  Json j;
  j["last_ping"] = when(p.last_ping_ms);
  j["last_kind"] = p.last_kind;
  j["last_message"] = p.last_message;
  j["message_truncated"] = p.message_truncated;
  j["last_duration_seconds"] = p.last_duration_ms >= 0
                                   ? Json(static_cast<double>(p.last_duration_ms) / 1000.0)
                                   : Json(nullptr);
  j["running_since"] = when(p.running_since_ms);
  j["next_due"] = when(p.next_due_ms);
  j["grace_seconds"] = static_cast<double>(p.grace_ms) / 1000.0;
  j["failure_reported"] = p.failure_reported;
  j["pings"] = p.pings;
  return j;
}

}  // namespace firewatch::collector
