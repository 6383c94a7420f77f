// Incident endpoints, registered when alerting is configured (docs/api.md):
//   GET  /api/v1/incidents            newest first
//   POST /api/v1/ack/{id}             body optional JSON {"by": "alice"}; 200 with the
//                                     incident, 404 unknown id. Stops escalation and
//                                     cancels the incident's pending pages.
#pragma once

#include "engine/engine.h"
#include "http/http_server.h"

namespace firewatch::collector {

void RegisterIncidentApi(HttpServer& server, alerting::AlertingEngine& engine);

}  // namespace firewatch::collector
