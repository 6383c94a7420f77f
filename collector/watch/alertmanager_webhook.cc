#include "watch/alertmanager_webhook.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace firewatch::collector {

using Json = nlohmann::json;

size_t JsonDepth(std::string_view json, size_t cap) {
  size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : json) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
      if (deepest > cap) return deepest;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

namespace {

Status Bad(const std::string& what) {
  return Status::InvalidArgument("webhook body: " + what);
}

bool IsStatus(const Json& v) {
  return v.is_string() && (v.get_ref<const std::string&>() == "firing" ||
                           v.get_ref<const std::string&>() == "resolved");
}

// An optional string field: absent or a string.
bool OptionalString(const Json& obj, const char* key, std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return true;
  if (!it->is_string()) return false;
  if (out != nullptr) *out = it->get<std::string>();
  return true;
}

}  // namespace

Result<WebhookDelivery> ParseAlertmanagerWebhook(std::string_view body) {
  if (body.size() > kMaxWebhookBody) {
    return Bad("over " + std::to_string(kMaxWebhookBody) + " bytes");
  }
  if (JsonDepth(body, kMaxJsonDepth) > kMaxJsonDepth) {
    return Bad("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  const Json doc = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Bad("not valid JSON");
  if (!doc.is_object()) return Bad("expected a JSON object");
  auto version = doc.find("version");
  if (version == doc.end() || !version->is_string() || version->get<std::string>() != "4") {
    return Bad("\"version\" must be \"4\" (Alertmanager webhook format)");
  }
  WebhookDelivery out;
  auto status = doc.find("status");
  if (status == doc.end() || !IsStatus(*status)) {
    return Bad("\"status\" must be \"firing\" or \"resolved\"");
  }
  out.status = status->get<std::string>();
  if (!OptionalString(doc, "receiver", &out.receiver)) return Bad("\"receiver\" must be a string");
  if (!OptionalString(doc, "groupKey", nullptr)) return Bad("\"groupKey\" must be a string");
  auto alerts = doc.find("alerts");
  if (alerts == doc.end() || !alerts->is_array()) return Bad("\"alerts\" must be an array");
  if (alerts->size() > kMaxWebhookAlerts) {
    return Bad("more than " + std::to_string(kMaxWebhookAlerts) + " alerts");
  }
  for (size_t i = 0; i < alerts->size(); ++i) {
    const Json& a = (*alerts)[i];
    const std::string where = "alerts[" + std::to_string(i) + "]";
    if (!a.is_object()) return Bad(where + " must be an object");
    auto st = a.find("status");
    if (st == a.end() || !IsStatus(*st)) {
      return Bad(where + ".status must be \"firing\" or \"resolved\"");
    }
    auto labels = a.find("labels");
    if (labels == a.end() || !labels->is_object()) return Bad(where + ".labels must be an object");
    for (const auto& [k, v] : labels->items()) {
      if (!v.is_string()) return Bad(where + ".labels." + k.substr(0, 64) + " must be a string");
    }
    if (st->get_ref<const std::string&>() == "firing") ++out.firing;
    if (i == 0) {
      auto name = labels->find("alertname");
      if (name != labels->end()) out.first_alertname = name->get<std::string>().substr(0, 128);
    }
  }
  out.alerts = alerts->size();
  out.receiver = out.receiver.substr(0, 128);
  return out;
}

}  // namespace firewatch::collector
