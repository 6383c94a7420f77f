// Turns the tracker's state transitions into alerts for the alerting engine:
//   -> DOWN            firing  SourceDown{source, <source labels>}
//   DOWN -> anything   resolved SourceDown (recovered, or stopped cleanly)
// Other transitions (LATE, new sources, goodbyes of live sources) are not alerts.
#pragma once

#include <optional>

#include "model/alert.h"
#include "tracker/source.h"

namespace firewatch::collector {

// The labels of a source's SourceDown alert: its own labels, alertname and source (these
// two win over agent-supplied ones). What silences and maintenance windows match.
alerting::LabelSet SourceAlertLabels(const std::string& source, const protocol::Labels& labels);

std::optional<alerting::Alert> AlertFor(const Transition& t, const std::string& external_url);
// The firing alert of a source that is DOWN now (used after a restart to rebuild groups).
alerting::Alert FiringAlertFor(const SourceSnapshot& s, const std::string& external_url);

// Check alerts: CheckFailing{source, check, severity=warning|critical, <source labels>}.
// A check going WARNING/CRITICAL fires; leaving that state resolves; a change between
// WARNING and CRITICAL resolves one severity and fires the other. UNKNOWN is a warning.
// The change is of the check's alert state (tracker/check_book.h: consecutive failures,
// flapping); a check that starts flapping fires once with summary "... is flapping".
std::vector<alerting::Alert> AlertsFor(const CheckChange& c, const std::string& external_url);

// For firewatch_page_delivery_seconds: the seconds from the earliest start of a delivered
// page's alerts to `delivered_ms`, when the page is an incident's first one (a trigger of
// escalation round 0, step 0: key "incident/0/0/contact/channel", schedule/escalation.h).
// Later steps wait on purpose, and follow-ups are not about detection: nullopt for those,
// and for pages whose alerts carry no start.
std::optional<double> FirstPageDelay(const alerting::Notification& n, int64_t delivered_ms);

}  // namespace firewatch::collector
