// What a page says. SMS: short and complete (what, where, since when, ack code), within
// 160 GSM-7 characters where possible and never over 1600. Email: subject with status,
// what and where; body with every alert's details, the runbook text from config, and the
// links to the status page and to acknowledge.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "incident/incident.h"
#include "model/alert.h"

namespace firewatch::alerting {

struct MessageContext {
  std::string collector_id;
  std::string external_url;                     // may be empty
  std::map<std::string, std::string> runbooks;  // alertname -> text
  // Signed "open to acknowledge" link for an incident id (set by the collector when
  // ack links are available); empty function or empty result: no link in emails.
  std::function<std::string(const std::string& incident_id)> ack_link;
};

// "trigger", "resolve" or "acknowledge" (who acked: inc.acked_by).
std::string RenderSms(const Incident& inc, const std::string& kind, const MessageContext& ctx);
std::string RenderSubject(const Incident& inc, const std::string& kind);
std::string RenderEmailBody(const Incident& inc, const std::string& kind,
                            const MessageContext& ctx);
// Unix ms as "2026-11-25 16:41Z" (short, for SMS) or RFC 3339 (email).
std::string ShortTime(int64_t unix_ms);

}  // namespace firewatch::alerting
