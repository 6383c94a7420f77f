#include "incident/incident_store.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace firewatch::alerting {

namespace {

nlohmann::json ToJson(const Incident& i) {
  nlohmann::json alerts = nlohmann::json::array();
  for (const auto& a : i.alerts) {
    alerts.push_back({{"labels", a.labels},
                      {"annotations", a.annotations},
                      {"starts_at_ms", a.starts_at_ms},
                      {"ends_at_ms", a.ends_at_ms},
                      {"firing", a.status == AlertStatus::kFiring}});
  }
  return {{"id", i.id},
          {"group_key", i.group_key},
          {"origin", i.origin},
          {"policy", i.policy},
          {"group_labels", i.group_labels},
          {"alerts", alerts},
          {"state", static_cast<int>(i.state)},
          {"started_ms", i.started_ms},
          {"acked_ms", i.acked_ms},
          {"acked_by", i.acked_by},
          {"resolved_ms", i.resolved_ms},
          {"resolved_by", i.resolved_by},
          {"resolve_comment", i.resolve_comment},
          {"reopened", i.reopened},
          {"reopened_ms", i.reopened_ms}};
}

Incident FromJson(const nlohmann::json& j) {
  Incident i;
  i.id = j.at("id");
  i.group_key = j.at("group_key");
  i.origin = j.value("origin", "");
  i.policy = j.at("policy");
  i.group_labels = j.at("group_labels").get<LabelSet>();
  for (const auto& a : j.at("alerts")) {
    Alert al;
    al.labels = a.at("labels").get<LabelSet>();
    al.annotations = a.at("annotations").get<LabelSet>();
    al.starts_at_ms = a.at("starts_at_ms");
    al.ends_at_ms = a.at("ends_at_ms");
    al.status = a.at("firing").get<bool>() ? AlertStatus::kFiring : AlertStatus::kResolved;
    i.alerts.push_back(std::move(al));
  }
  const int state = j.at("state").get<int>();
  if (state < 0 || state > static_cast<int>(IncidentState::kResolved)) {
    throw std::invalid_argument("state " + std::to_string(state) + " is not a known state");
  }
  i.state = static_cast<IncidentState>(state);
  i.started_ms = j.at("started_ms");
  i.acked_ms = j.at("acked_ms");
  i.acked_by = j.at("acked_by");
  i.resolved_ms = j.at("resolved_ms");
  i.resolved_by = j.value("resolved_by", "");  // rows from before manual resolve lack both
  i.resolve_comment = j.value("resolve_comment", "");
  i.reopened = j.value("reopened", 0u);
  i.reopened_ms = j.value("reopened_ms", int64_t{0});
  return i;
}

}  // namespace

Status IncidentStore::Open(const std::string& path) {
  return table_.Open(path);
}

Status IncidentStore::Put(const Incident& inc) {
  return table_.Put(inc.id,
                    ToJson(inc).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Status IncidentStore::Delete(const std::string& id) {
  return table_.Delete(id);
}

Result<std::vector<Incident>> IncidentStore::LoadAll() {
  auto rows = table_.Rows();
  if (!rows.ok()) return rows.status();
  std::vector<Incident> out;
  for (const auto& [id, body] : *rows) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    try {
      if (j.is_discarded()) throw std::invalid_argument("not JSON");
      out.push_back(FromJson(j));
    } catch (const std::exception& e) {
      spdlog::error("{}: skipping unreadable incident '{}': {}", table_.context(), id.substr(0, 64),
                    e.what());
    }
  }
  return out;
}

}  // namespace firewatch::alerting
