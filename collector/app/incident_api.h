// Incident endpoints, registered when alerting is configured (docs/api.md). Reads are
// Access::kRead; every change is Access::kOperator (a token, application/json, own Host,
// no foreign Origin: http/access.h) and is recorded under the token's operator name:
//   GET  /api/v1/incidents            newest first
//   POST /api/v1/ack/{id}             body optional JSON object; acked_by = the operator.
//                                     200 with the incident, 404 unknown id. Stops
//                                     escalation and cancels the incident's pending pages.
//   GET    /api/v1/silences           every silence (pending, active, expired)
//   POST   /api/v1/silences           create or change (Alertmanager API v2 JSON, plus
//                                     "force": true for a broad silence); createdBy = the
//                                     operator; 200 {"silenceID"}, 400 naming the invalid
//                                     field or the limit (route::ValidateSilence,
//                                     SilenceLimits), 413 for a body over 64 KiB
//   DELETE /api/v1/silences/{id}      expire now; 404 unknown
//   GET    /api/v1/maintenance        every maintenance window, each with "status":
//                                     {"state", "occurrence": the current or next one}
//   POST   /api/v1/maintenance        create (a silence's JSON plus an optional
//                                     "recurrence": {"cron","timeZone","durationSeconds"};
//                                     startsAt defaults to now, a recurring window's endsAt
//                                     to "until expired"); createdBy = the operator; 200
//                                     {"maintenanceID"}, 400 naming the field or limit
//                                     (route::ValidateWindow, MaintenanceLimits), 413 over
//                                     64 KiB; an "id" is refused (windows are not edited)
//   DELETE /api/v1/maintenance/{id}   expire now (a recurring one: the whole series); 404
// A "by" (ack) or "createdBy" (silence) in the body that names anyone but the token's
// operator is refused with 400: nobody can act in another operator's name.
#pragma once

#include "engine/engine.h"
#include "http/http_server.h"

namespace firewatch::collector {

// Registers the incident, silence and maintenance endpoints above.
void RegisterIncidentApi(HttpServer& server, alerting::AlertingEngine& engine);
// The maintenance endpoints alone (RegisterIncidentApi calls it).
void RegisterMaintenanceApi(HttpServer& server, alerting::AlertingEngine& engine);

}  // namespace firewatch::collector
