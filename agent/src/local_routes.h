// What the agent's local HTTP server answers:
//   GET /healthz  200 application/json {"status":"ok","source_id":...,
//                 "last_heartbeat_unix_ms":<int or null>,"sequence":<int>,"version":...}
//                 "stale_checks":[names]} -- checks that have not completed for two
//                 intervals plus their timeout (the agent itself still answers: 200)
//   GET /metrics  200 text/plain; version=0.0.4 (AgentMetrics::RenderText, then
//                 `extra_metrics`: the checks' families)
//   anything else 404
// (Methods other than GET and HEAD never get here: the server answers 405.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent_metrics.h"
#include "local_http_server.h"

namespace firewatch::agent {

// The facts /healthz reports.
struct HealthSnapshot {
  std::string source_id;
  std::optional<int64_t> last_heartbeat_unix_ms;  // nullopt before the first heartbeat
  uint64_t sequence = 0;
  std::string version;
  std::vector<std::string> stale_checks;  // checks without a result for too long
};

// The /healthz body (one line of JSON, strings escaped).
std::string HealthJson(const HealthSnapshot& health);

// Routes one request.
HttpResponse RouteLocalRequest(const HttpRequest& request, const HealthSnapshot& health,
                               const AgentMetrics& metrics, std::string_view extra_metrics = {});

}  // namespace firewatch::agent
