#include "engine/message.h"

#include <ctime>

#include "firewatch/text/rfc3339.h"

namespace firewatch::alerting {

namespace {

std::string Where(const LabelSet& labels) {
  auto dc = labels.find("dc");
  return dc == labels.end() ? std::string() : " in " + dc->second;
}

std::string Label(const Alert& a, const char* name) {
  auto it = a.labels.find(name);
  return it == a.labels.end() ? std::string() : it->second;
}

// "web-1 DOWN", "collector site-a DOWN", "collector site-a ISOLATED", "web-1 CheckFailing".
std::string Headline(const Alert& a) {
  const std::string name = Label(a, "alertname");
  const std::string source = Label(a, "source");
  const std::string collector = Label(a, "collector");
  if (name == "SourceDown") return (source.empty() ? "?" : source) + " DOWN";
  if (name == "CollectorDown") return "collector " + collector + " DOWN";
  if (name == "CollectorIsolated") return "collector " + collector + " ISOLATED";
  const std::string who = !source.empty() ? source : !collector.empty() ? collector : "?";
  return who + " " + (name.empty() ? std::string("alert") : name);
}

// Collector-level alerts lead a grouped incident: they explain the hosts under them.
int HeadlineRank(const Alert& a) {
  const std::string name = Label(a, "alertname");
  return name == "CollectorIsolated" ? 0 : name == "CollectorDown" ? 1 : 2;
}

std::string What(const Incident& inc) {
  size_t firing = 0;
  const Alert* head = nullptr;
  for (const auto& a : inc.alerts) {
    if (a.status != AlertStatus::kFiring) continue;
    ++firing;
    if (head == nullptr || HeadlineRank(a) < HeadlineRank(*head)) head = &a;
  }
  if (head == nullptr) {
    if (inc.alerts.empty()) return "alert";
    const std::string source = Label(inc.alerts[0], "source");
    return !source.empty() ? source : Headline(inc.alerts[0]);
  }
  if (firing <= 1) return Headline(*head);
  return Headline(*head) + " +" + std::to_string(firing - 1) + " more";
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
    text = "RESOLVED " + What(inc) + Where(where) +
           (inc.resolved_by.empty() ? "" : " by " + inc.resolved_by) + " (" + inc.id + ")";
  } else if (kind == "acknowledge") {
    text = "ACKED " + What(inc) + Where(where) + " by " + inc.acked_by + " (" + inc.id + ")";
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
  const char* tag = kind == "resolve"       ? "[RESOLVED] "
                    : kind == "acknowledge" ? "[ACKED] "
                                            : "[FIRING] ";
  return tag + What(inc) + Where(where) + " - incident " + inc.id;
}

std::string RenderEmailBody(const Incident& inc, const std::string& kind,
                            const MessageContext& ctx) {
  std::string b;
  b += kind == "resolve" ? "Resolved" : kind == "acknowledge" ? "Acknowledged" : "Firing";
  b += ": incident " + inc.id + ", started " + text::FormatRfc3339(inc.started_ms, text::Rfc3339Fraction::kNone) + ", seen by collector " +
       ctx.collector_id + ".\n";
  if (kind == "acknowledge") {
    b += "Acknowledged by " + inc.acked_by + " at " + text::FormatRfc3339(inc.acked_ms, text::Rfc3339Fraction::kNone) +
         ": escalation has stopped.\n";
  }
  if (kind == "resolve" && !inc.resolved_by.empty()) {
    b += "Resolved by " + inc.resolved_by + " at " +
         text::FormatRfc3339(inc.resolved_ms, text::Rfc3339Fraction::kNone) +
         (inc.resolve_comment.empty() ? "" : ": " + inc.resolve_comment) + "\n";
    if (AnyFiring(inc)) {
      b += "It was still failing when resolved: a new incident opens if it recovers and fails "
           "again, or if it still fails after the route's repeat_interval.\n";
    }
  }
  if (inc.reopened > 0) {
    b += "Reopened " + std::to_string(inc.reopened) + " time(s): it fired again soon after it "
         "resolved (flapping).\n";
  }
  b += "\n";
  std::map<std::string, bool> runbooks_shown;
  for (const auto& a : inc.alerts) {
    b += std::string(a.status == AlertStatus::kFiring ? "FIRING  " : "RESOLVED") + "  ";
    auto name = a.labels.find("alertname");
    b += name != a.labels.end() ? name->second : "alert";
    b += "\n";
    for (const auto& [k, v] : a.labels) b += "    " + k + " = " + v + "\n";
    for (const auto& [k, v] : a.annotations) b += "    " + k + ": " + v + "\n";
    b += "    since " + text::FormatRfc3339(a.starts_at_ms, text::Rfc3339Fraction::kNone) + "\n\n";
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
    if (kind == "trigger") {
      std::string link = ctx.ack_link ? ctx.ack_link(inc.id) : std::string();
      if (!link.empty()) b += "Acknowledge: " + link + "\n";
      // The API needs an operator token: firewatchctl sends $FIREWATCH_TOKEN.
      b += (link.empty() ? "Acknowledge: " : "  or: ") + std::string("firewatchctl ack ") +
           inc.id + " --collector " + ctx.external_url + "\n";
    }
  }
  if (kind == "trigger") b += "Or reply to the SMS with: ACK " + inc.id + "\n";
  return b;
}

}  // namespace firewatch::alerting
