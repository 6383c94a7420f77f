// Incident endpoints, registered when alerting is configured (docs/api.md):
//   GET  /api/v1/incidents            newest first
//   POST /api/v1/ack/{id}             body optional JSON {"by": "alice"}; 200 with the
//                                     incident, 404 unknown id. Stops escalation and
//                                     cancels the incident's pending pages.
//   GET    /api/v1/silences           every silence (pending, active, expired)
//   POST   /api/v1/silences           create or change (Alertmanager API v2 JSON, plus
//                                     "force": true for a broad silence); 200
//                                     {"silenceID"}, 400 naming the invalid field or the
//                                     limit (route::ValidateSilence, SilenceLimits), 413
//                                     for a body over 64 KiB
//   DELETE /api/v1/silences/{id}      expire now; 404 unknown
#pragma once

#include "engine/engine.h"
#include "http/http_server.h"

namespace firewatch::collector {

void RegisterIncidentApi(HttpServer& server, alerting::AlertingEngine& engine);

}  // namespace firewatch::collector
