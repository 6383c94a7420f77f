#include "app/incident_api.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "firewatch/text/rfc3339.h"
#include "route/replicated_maintenance.h"
#include "route/silence.h"

namespace firewatch::collector {

namespace {

nlohmann::json ToJson(const alerting::Incident& i) {
  nlohmann::json alerts = nlohmann::json::array();
  for (const auto& a : i.alerts) {
    alerts.push_back({{"labels", a.labels},
                      {"annotations", a.annotations},
                      {"status", a.status == alerting::AlertStatus::kFiring ? "firing" : "resolved"}});
  }
  nlohmann::json j = {{"id", i.id},
                      {"state", alerting::IncidentStateName(i.state)},
                      {"policy", i.policy},
                      {"group_key", i.group_key},
                      {"group_labels", i.group_labels},
                      {"started_at_ms", i.started_ms},
                      {"alerts", alerts}};
  if (i.acked_ms) {
    j["acked_at_ms"] = i.acked_ms;
    j["acked_by"] = i.acked_by;
  }
  if (i.resolved_ms) j["resolved_at_ms"] = i.resolved_ms;
  if (!i.resolved_by.empty()) {  // resolved by hand
    j["resolved_by"] = i.resolved_by;
    j["resolve_comment"] = i.resolve_comment;
  }
  j["reopened"] = i.reopened;  // flaps: times it fired again within alerting.reopen_window
  if (i.reopened_ms) j["reopened_at_ms"] = i.reopened_ms;
  return j;
}

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Who did it is the operator of the token. A name in the body may only repeat it: it
// must not let one operator act as another.
std::optional<HttpResponse> SameOperator(const nlohmann::json& body, const char* field,
                                         const std::string& operator_name) {
  if (!body.contains(field)) return std::nullopt;
  const auto& v = body[field];
  if (v.is_string() && (v.get<std::string>().empty() || v.get<std::string>() == operator_name)) {
    return std::nullopt;
  }
  return HttpResponse::Error(400, std::string(field) + " is taken from your operator token ('" +
                                      operator_name + "'); leave it out or send that name");
}

// The optional comment of a resolve: text for people (emails, the API, the status
// page), so bounded and without control characters.
std::optional<std::string> ResolveComment(const nlohmann::json& body, std::string* error) {
  if (!body.contains("comment")) return std::string();
  const auto& v = body["comment"];
  if (!v.is_string()) {
    *error = "comment must be a string";
    return std::nullopt;
  }
  std::string c = v.get<std::string>();
  if (c.size() > alerting::kMaxResolveCommentBytes) {
    *error = "comment: " + std::to_string(c.size()) + " bytes; the limit is " +
             std::to_string(alerting::kMaxResolveCommentBytes);
    return std::nullopt;
  }
  for (unsigned char ch : c) {
    if (ch < 0x20 || ch == 0x7f) {
      *error = "comment: control characters are not allowed";
      return std::nullopt;
    }
  }
  return c;
}

}  // namespace

// Maintenance windows (route/maintenance.h): the same shape as silences, plus an optional
// "recurrence"; see incident_api.h for the contract.
void RegisterMaintenanceApi(HttpServer& server, alerting::AlertingEngine& engine) {
  namespace route = alerting::route;
  // The engine creates the windows in Start(); routes registered before answer 503.
  auto windows = [&engine]() { return engine.replicated_maintenance(); };
  server.Route("GET", "/api/v1/maintenance", [windows](const HttpRequest&) {
    auto* m = windows();
    if (m == nullptr) return HttpResponse::Error(503, "the alerting engine is not running");
    const WallTime now = m->WallNow();
    nlohmann::json list = nlohmann::json::array();
    for (const auto& w : m->Snapshot()->windows()) {
      nlohmann::json j = nlohmann::json::parse(route::WindowToJson(w->window()));
      nlohmann::json status = {{"state", route::WindowStateString(w->StateAt(now))}};
      if (auto occ = w->CurrentOrNext(now)) {
        status["occurrence"] = {{"startsAt", text::FormatRfc3339(ToUnixMillis(occ->start))},
                                {"endsAt", text::FormatRfc3339(ToUnixMillis(occ->end))}};
      }
      j["status"] = std::move(status);
      list.push_back(std::move(j));
    }
    return HttpResponse::Json(200, Dump(list));
  });
  server.Route(
      "POST", "/api/v1/maintenance",
      [windows](const HttpRequest& req) {
        auto* m = windows();
        if (m == nullptr) return HttpResponse::Error(503, "the alerting engine is not running");
        auto body = nlohmann::json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object()) {
          return HttpResponse::Error(400, "body must be a JSON object (a maintenance window)");
        }
        if (body.contains("id")) {
          return HttpResponse::Error(400, "id: windows are not changed in place; expire it "
                                          "(DELETE) and create a new one");
        }
        if (auto bad = SameOperator(body, "createdBy", req.operator_name)) return *bad;
        body["createdBy"] = req.operator_name;
        // Defaults: from now; a recurring window runs until expired.
        const int64_t now_ms = ToUnixMillis(m->WallNow());
        if (!body.contains("startsAt")) body["startsAt"] = text::FormatRfc3339(now_ms);
        if (!body.contains("endsAt") && body.contains("recurrence")) {
          body["endsAt"] = text::FormatRfc3339(route::kMaxSilenceUnixMs);
        }
        auto w = route::WindowFromJsonValue(body);
        if (!w.ok()) return HttpResponse::Error(400, w.status().message());
        auto id = m->Create(std::move(w).value());
        if (!id.ok()) return HttpResponse::Error(400, id.status().message());
        spdlog::info("maintenance window {} created by operator {}", *id, req.operator_name);
        return HttpResponse::Json(200, Dump(nlohmann::json{{"maintenanceID", *id}}));
      },
      RouteOptions{Access::kOperator, route::kMaxMaintenanceJsonBytes, nullptr});
  server.Route(
      "DELETE", "/api/v1/maintenance/{}",
      [windows](const HttpRequest& req) {
        auto* m = windows();
        if (m == nullptr) return HttpResponse::Error(503, "the alerting engine is not running");
        Status st = m->Expire(req.param);
        if (!st.ok()) {
          return HttpResponse::Error(st.code() == Status::Code::kNotFound ? 404 : 400,
                                     st.message());
        }
        spdlog::info("maintenance window {} expired by operator {}", req.param, req.operator_name);
        return HttpResponse::Json(200, Dump(nlohmann::json{{"expired", req.param}}));
      },
      RouteOptions{Access::kOperator, 0, nullptr});
}

void RegisterIncidentApi(HttpServer& server, alerting::AlertingEngine& engine) {
  server.Route("GET", "/api/v1/incidents", [&engine](const HttpRequest&) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& i : engine.Incidents()) {
      nlohmann::json j = ToJson(i);
      // Who was paged, for which step: the status page's "paged" column.
      nlohmann::json paged = nlohmann::json::array();
      for (const auto& p : engine.Paged(i.id)) {
        paged.push_back({{"contact", p.contact}, {"channel", p.channel}, {"round", p.round},
                         {"step", p.step}, {"at_ms", p.at_ms}});
      }
      j["paged"] = std::move(paged);
      list.push_back(std::move(j));
    }
    return HttpResponse::Json(200, Dump({{"incidents", list}}));
  });
  server.Route(
      "POST", "/api/v1/ack/{}",
      [&engine](const HttpRequest& req) {
        if (!req.body.empty()) {
          auto body = nlohmann::json::parse(req.body, nullptr, false);
          if (body.is_discarded() || !body.is_object()) {
            return HttpResponse::Error(400, "body must be a JSON object (or empty)");
          }
          if (auto bad = SameOperator(body, "by", req.operator_name)) return *bad;
        }
        auto inc = engine.Ack(req.param, req.operator_name);
        if (!inc.ok()) return HttpResponse::Error(404, inc.status().message());
        return HttpResponse::Json(200, Dump(ToJson(*inc)));
      },
      RouteOptions{Access::kOperator, 4096, nullptr});

  server.Route(
      "POST", "/api/v1/incidents/{}/resolve",
      [&engine](const HttpRequest& req) {
        std::string comment;
        if (!req.body.empty()) {
          auto body = nlohmann::json::parse(req.body, nullptr, false);
          if (body.is_discarded() || !body.is_object()) {
            return HttpResponse::Error(400, "body must be a JSON object (or empty)");
          }
          if (auto bad = SameOperator(body, "by", req.operator_name)) return *bad;
          std::string error;
          auto c = ResolveComment(body, &error);
          if (!c) return HttpResponse::Error(400, error);
          comment = std::move(*c);
        }
        auto inc = engine.Resolve(req.param, req.operator_name, comment);
        if (!inc.ok()) {
          return HttpResponse::Error(inc.status().code() == Status::Code::kNotFound ? 404 : 503,
                                     inc.status().message());
        }
        return HttpResponse::Json(200, Dump(ToJson(*inc)));
      },
      RouteOptions{Access::kOperator, 4096, nullptr});

  server.Route("GET", "/api/v1/silences", [&engine](const HttpRequest&) {
    std::string out = "[";
    for (const auto& s : engine.Silences()) {
      if (out.size() > 1) out += ",";
      out += alerting::route::SilenceToJson(s);
    }
    return HttpResponse::Json(200, out + "]");
  });
  server.Route(
      "POST", "/api/v1/silences",
      [&engine](const HttpRequest& req) {
        // Alertmanager API v2 shape: {"matchers": [{"name","value","isRegex","isEqual"}],
        // "startsAt", "endsAt", "createdBy", "comment"}; "id" changes an existing one;
        // "force": true lets a broad silence through (route::IsBroad). Every limit and
        // rule is route::ValidateSilence's; regexes are RE2, compiled here on this worker
        // thread in bounded time and memory, never on the alerting thread. createdBy is
        // the token's operator (filled in when left out).
        auto body = nlohmann::json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object()) {
          return HttpResponse::Error(400, "body must be a JSON object (a silence)");
        }
        if (auto bad = SameOperator(body, "createdBy", req.operator_name)) return *bad;
        body["createdBy"] = req.operator_name;
        auto silence = alerting::route::SilenceFromJson(Dump(body));
        if (!silence.ok()) return HttpResponse::Error(400, silence.status().message());
        auto id = engine.SetSilence(std::move(silence).value());
        if (!id.ok()) {
          return HttpResponse::Error(
              id.status().code() == Status::Code::kNotFound ? 404 : 400, id.status().message());
        }
        spdlog::info("silence {} set by operator {}", *id, req.operator_name);
        return HttpResponse::Json(200, Dump(nlohmann::json{{"silenceID", *id}}));
      },
      RouteOptions{Access::kOperator, alerting::route::kMaxSilenceJsonBytes, nullptr});
  server.Route(
      "DELETE", "/api/v1/silences/{}",
      [&engine](const HttpRequest& req) {
        Status st = engine.ExpireSilence(req.param);
        if (!st.ok()) {
          return HttpResponse::Error(st.code() == Status::Code::kNotFound ? 404 : 400,
                                     st.message());
        }
        spdlog::info("silence {} expired by operator {}", req.param, req.operator_name);
        return HttpResponse::Json(200, Dump(nlohmann::json{{"expired", req.param}}));
      },
      RouteOptions{Access::kOperator, 0, nullptr});
  RegisterMaintenanceApi(server, engine);
}

}  // namespace firewatch::collector
