#include "local_routes.h"

#include <fmt/format.h>

#include "firewatch/text/json_escape.h"

namespace firewatch::agent {

std::string HealthJson(const HealthSnapshot& h) {
  std::string stale;
  for (const auto& name : h.stale_checks) {
    if (!stale.empty()) stale += ",";
    stale += "\"" + text::JsonEscape(name) + "\"";
  }
  std::string last = h.last_heartbeat_unix_ms ? std::to_string(*h.last_heartbeat_unix_ms) : "null";
  return fmt::format(
      "{{\"status\":\"ok\",\"source_id\":\"{}\",\"last_heartbeat_unix_ms\":{},\"sequence\":{},"
      "\"version\":\"{}\",\"stale_checks\":[{}]}}\n",
      text::JsonEscape(h.source_id), last, h.sequence, text::JsonEscape(h.version), stale);
}

HttpResponse RouteLocalRequest(const HttpRequest& request, const HealthSnapshot& health,
                               const AgentMetrics& metrics, std::string_view extra_metrics) {
  HttpResponse r;
  if (request.path == "/healthz") {
    r.content_type = "application/json";
    r.body = HealthJson(health);
  } else if (request.path == "/metrics") {
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics.RenderText();
    r.body += extra_metrics;
  } else {
    r.status = 404;
    r.body = "not found; try /healthz or /metrics\n";
  }
  return r;
}

}  // namespace firewatch::agent
