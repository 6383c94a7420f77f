// An agent-reported check's collector-side record as JSON (tracker/check_book.h): the
// "checks" of GET /api/v1/sources/{id} (every record, whole history) and of each source in
// GET /api/v1/sources (the reported checks, the last kListHistory changes), which the
// status page shows (docs/api.md). Timestamps RFC 3339 UTC; null when unknown (a check
// restored after a collector restart has no since or history).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "firewatch/text/rfc3339.h"
#include "tracker/check_book.h"

namespace firewatch::collector {

inline constexpr size_t kListHistory = 5;

inline nlohmann::ordered_json CheckRecordJson(const CheckRecord& r,
                                              size_t max_history = kMaxCheckHistory) {
  using Json = nlohmann::ordered_json;
  auto when = [](int64_t ms) -> Json {
    return ms > 0 ? Json(text::FormatRfc3339(ms)) : Json(nullptr);
  };
  auto name = [](protocol::CheckState s) { return std::string(protocol::CheckStateName(s)); };
  Json history = Json::array();
  for (auto it = r.history.rbegin(); it != r.history.rend() && history.size() < max_history;
       ++it) {  // newest first
    history.push_back(
        {{"from", name(it->from)}, {"to", name(it->to)}, {"at", when(it->at_ms)}, {"output", it->output}});
  }
  Json j;
  j["name"] = r.name;
  j["state"] = name(r.state);
  j["output"] = r.output;
  j["since"] = when(r.since_ms);
  j["last_change"] = when(r.changed_ms);
  j["consecutive"] = r.consecutive;
  j["alert_state"] = name(r.alerted);
  j["flapping"] = r.flapping;
  j["reported"] = r.reported;
  j["history"] = std::move(history);
  return j;
}

}  // namespace firewatch::collector
