#include "engine/message.h"

#include <ctime>

namespace firewatch::alerting {

namespace {

std::string Where(const LabelSet& labels) {
  auto dc = labels.find("dc");
  return dc == labels.end() ? std::string() : " in " + dc->second;
}

std::string What(const Incident& inc) {
  size_t firing = 0;
  std::string first;
  for (const auto& a : inc.alerts) {
    if (a.status != AlertStatus::kFiring) continue;
    if (firing++ == 0) {
      auto src = a.labels.find("source");
      auto name = a.labels.find("alertname");
      first = (src != a.labels.end() ? src->second : std::string("?")) + " " +
              (name != a.labels.end() && name->second == "SourceDown"
                   ? std::string("DOWN")
                   : (name != a.labels.end() ? name->second : std::string("alert")));
    }
  }
  if (firing == 0 && !inc.alerts.empty()) {
    auto src = inc.alerts[0].labels.find("source");
    return src != inc.alerts[0].labels.end() ? src->second : std::string("alert");
  }
  if (firing <= 1) return first;
  return first + " +" + std::to_string(firing - 1) + " more";
}

std::string Rfc3339(int64_t unix_ms) {
  time_t s = static_cast<time_t>(unix_ms / 1000);
  struct tm tm {};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::string ShortTime(int64_t unix_ms) {
  time_t s = static_cast<time_t>(unix_ms / 1000);
  struct tm tm {};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%m-%d %H:%MZ", &tm);
  return buf;
}

std::string RenderSms(const Incident& inc, const std::string& kind, const MessageContext& ctx) {
  (void)ctx;
  LabelSet where = inc.group_labels;
  if (!inc.alerts.empty()) where.insert(inc.alerts[0].labels.begin(), inc.alerts[0].labels.end());
  std::string text;
  if (kind == "resolve") {
    text = "RESOLVED " + What(inc) + Where(where) + " (" + inc.id + ")";
  } else {
    text = "FIRING " + What(inc) + Where(where) + " since " + ShortTime(inc.started_ms) +
           ". Ack: reply ACK " + inc.id;
  }
  if (text.size() > 1600) text.resize(1600);
  return text;
}

std::string RenderSubject(const Incident& inc, const std::string& kind) {
  LabelSet where = inc.group_labels;
  if (!inc.alerts.empty()) where.insert(inc.alerts[0].labels.begin(), inc.alerts[0].labels.end());
  return std::string(kind == "resolve" ? "[RESOLVED] " : "[FIRING] ") + What(inc) + Where(where) +
         " - incident " + inc.id;
}

std::string RenderEmailBody(const Incident& inc, const std::string& kind,
                            const MessageContext& ctx) {
  std::string b;
  b += kind == "resolve" ? "Resolved" : "Firing";
  b += ": incident " + inc.id + ", started " + Rfc3339(inc.started_ms) + ", seen by collector " +
       ctx.collector_id + ".\n\n";
  std::map<std::string, bool> runbooks_shown;
  for (const auto& a : inc.alerts) {
    b += std::string(a.status == AlertStatus::kFiring ? "FIRING  " : "RESOLVED") + "  ";
    auto name = a.labels.find("alertname");
    b += name != a.labels.end() ? name->second : "alert";
    b += "\n";
    for (const auto& [k, v] : a.labels) b += "    " + k + " = " + v + "\n";
    for (const auto& [k, v] : a.annotations) b += "    " + k + ": " + v + "\n";
    b += "    since " + Rfc3339(a.starts_at_ms) + "\n\n";
    if (name != a.labels.end()) {
      auto rb = ctx.runbooks.find(name->second);
      if (rb != ctx.runbooks.end() && !runbooks_shown[name->second]) {
        runbooks_shown[name->second] = true;
        b += "Runbook (" + name->second + "):\n" + rb->second + "\n\n";
      }
    }
  }
  if (!ctx.external_url.empty()) {
    b += "Status page: " + ctx.external_url + "/\n";
    if (kind != "resolve") {
      std::string link = ctx.ack_link ? ctx.ack_link(inc.id) : std::string();
      if (!link.empty()) b += "Acknowledge: " + link + "\n";
      b += (link.empty() ? "Acknowledge: " : "  or: ") + std::string("curl -X POST ") +
           ctx.external_url + "/api/v1/ack/" + inc.id + "\n";
    }
  }
  if (kind != "resolve") b += "Or reply to the SMS with: ACK " + inc.id + "\n";
  return b;
}

}  // namespace firewatch::alerting
