// What the agent's local HTTP server answers:
//   GET /healthz  200 application/json {"status":"ok","source_id":...,
//                 "last_heartbeat_unix_ms":<int or null>,"sequence":<int>,"version":...}
//   GET /metrics  200 text/plain; version=0.0.4 (AgentMetrics::RenderText)
//   anything else 404
// (Methods other than GET and HEAD never get here: the server answers 405.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "agent_metrics.h"
#include "local_http_server.h"

namespace firewatch::agent {

// The facts /healthz reports.
struct HealthSnapshot {
  std::string source_id;
  std::optional<int64_t> last_heartbeat_unix_ms;  // nullopt before the first heartbeat
  uint64_t sequence = 0;
  std::string version;
};

// The /healthz body (one line of JSON, strings escaped).
std::string HealthJson(const HealthSnapshot& health);

// Routes one request.
HttpResponse RouteLocalRequest(const HttpRequest& request, const HealthSnapshot& health,
                               const AgentMetrics& metrics);

}  // namespace firewatch::agent
