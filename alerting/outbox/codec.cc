#include "outbox/codec.h"

#include <nlohmann/json.hpp>

namespace firewatch::alerting::outbox::codec {

namespace {

using nlohmann::json;

LabelSet LabelsFromJson(const json& j) {
  LabelSet out;
  for (const auto& [k, v] : j.items()) out.emplace(k, v.get<std::string>());
  return out;
}

}  // namespace

std::string EncodeNotification(const Notification& n) {
  json alerts = json::array();
  for (const Alert& a : n.alerts) {
    alerts.push_back({{"labels", json(a.labels)},
                      {"annotations", json(a.annotations)},
                      {"starts_at_ms", a.starts_at_ms},
                      {"ends_at_ms", a.ends_at_ms},
                      {"resolved", a.status == AlertStatus::kResolved},
                      {"generator_url", a.generator_url}});
  }
  const json j = {{"v", 1},
                  {"idempotency_key", n.idempotency_key},
                  {"incident_id", n.incident_id},
                  {"kind", n.kind},
                  {"contact", n.contact},
                  {"address", n.address},
                  {"subject", n.subject},
                  {"text", n.text},
                  {"ack_url", n.ack_url},
                  {"alerts", std::move(alerts)},
                  {"group_labels", json(n.group_labels)}};
  const std::vector<uint8_t> bytes = json::to_cbor(j);
  return std::string(bytes.begin(), bytes.end());
}

Result<Notification> DecodeNotification(const std::string& bytes, const std::string& key) {
  try {
    const json j = json::from_cbor(bytes);
    if (j.at("v").get<int>() != 1) {
      return Status::Corruption("outbox notification '" + key + "': unknown payload version");
    }
    Notification n;
    n.idempotency_key = j.at("idempotency_key").get<std::string>();
    n.incident_id = j.at("incident_id").get<std::string>();
    n.kind = j.at("kind").get<std::string>();
    n.contact = j.at("contact").get<std::string>();
    n.address = j.at("address").get<std::string>();
    n.subject = j.at("subject").get<std::string>();
    n.text = j.at("text").get<std::string>();
    n.ack_url = j.at("ack_url").get<std::string>();
    for (const json& a : j.at("alerts")) {
      Alert alert;
      alert.labels = LabelsFromJson(a.at("labels"));
      alert.annotations = LabelsFromJson(a.at("annotations"));
      alert.starts_at_ms = a.at("starts_at_ms").get<int64_t>();
      alert.ends_at_ms = a.at("ends_at_ms").get<int64_t>();
      alert.status = a.at("resolved").get<bool>() ? AlertStatus::kResolved : AlertStatus::kFiring;
      alert.generator_url = a.at("generator_url").get<std::string>();
      n.alerts.push_back(std::move(alert));
    }
    n.group_labels = LabelsFromJson(j.at("group_labels"));
    return n;
  } catch (const json::exception& e) {
    return Status::Corruption("outbox notification '" + key + "': bad payload: " + e.what());
  }
}

std::string EncodeChain(const std::vector<std::string>& chain) { return json(chain).dump(); }

Result<std::vector<std::string>> DecodeChain(const std::string& text, const std::string& key) {
  try {
    return json::parse(text).get<std::vector<std::string>>();
  } catch (const json::exception& e) {
    return Status::Corruption("outbox notification '" + key + "': bad channel_chain: " + e.what());
  }
}

}  // namespace firewatch::alerting::outbox::codec
