#include "local_routes.h"

#include <fmt/format.h>

namespace firewatch::agent {

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string HealthJson(const HealthSnapshot& h) {
  std::string last = h.last_heartbeat_unix_ms ? std::to_string(*h.last_heartbeat_unix_ms) : "null";
  return fmt::format(
      "{{\"status\":\"ok\",\"source_id\":\"{}\",\"last_heartbeat_unix_ms\":{},\"sequence\":{},"
      "\"version\":\"{}\"}}\n",
      JsonEscape(h.source_id), last, h.sequence, JsonEscape(h.version));
}

HttpResponse RouteLocalRequest(const HttpRequest& request, const HealthSnapshot& health,
                               const AgentMetrics& metrics) {
  HttpResponse r;
  if (request.path == "/healthz") {
    r.content_type = "application/json";
    r.body = HealthJson(health);
  } else if (request.path == "/metrics") {
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics.RenderText();
  } else {
    r.status = 404;
    r.body = "not found; try /healthz or /metrics\n";
  }
  return r;
}

}  // namespace firewatch::agent
