#include "app/incident_api.h"

#include <nlohmann/json.hpp>

#include "http/rfc3339.h"
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
  j["reopened"] = i.reopened;  // flaps: times it fired again within alerting.reopen_window
  if (i.reopened_ms) j["reopened_at_ms"] = i.reopened_ms;
  return j;
}

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

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
        std::string by = "api";
        if (!req.body.empty()) {
          auto body = nlohmann::json::parse(req.body, nullptr, false);
          if (body.is_discarded() || !body.is_object()) {
            return HttpResponse::Error(400, "body must be a JSON object like {\"by\": \"alice\"}");
          }
          if (body.contains("by") && body["by"].is_string()) by = body["by"].get<std::string>();
        }
        auto inc = engine.Ack(req.param, by);
        if (!inc.ok()) return HttpResponse::Error(404, inc.status().message());
        return HttpResponse::Json(200, Dump(ToJson(*inc)));
      },
      4096);

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
        // thread in bounded time and memory, never on the alerting thread.
        auto silence = alerting::route::SilenceFromJson(req.body);
        if (!silence.ok()) return HttpResponse::Error(400, silence.status().message());
        auto id = engine.SetSilence(std::move(silence).value());
        if (!id.ok()) {
          return HttpResponse::Error(
              id.status().code() == Status::Code::kNotFound ? 404 : 400, id.status().message());
        }
        return HttpResponse::Json(200, Dump(nlohmann::json{{"silenceID", *id}}));
      },
      alerting::route::kMaxSilenceJsonBytes);
  server.Route("DELETE", "/api/v1/silences/{}", [&engine](const HttpRequest& req) {
    Status st = engine.ExpireSilence(req.param);
    if (!st.ok()) {
      return HttpResponse::Error(st.code() == Status::Code::kNotFound ? 404 : 400, st.message());
    }
    return HttpResponse::Json(200, Dump(nlohmann::json{{"expired", req.param}}));
  });
}

}  // namespace firewatch::collector
