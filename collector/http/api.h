// The collector's HTTP endpoints (docs/api.md):
//   POST /api/v1/heartbeat     body = one protocol frame (application/octet-stream);
//                              204 accepted, 400 rejected {"error","reason"}, 413 too big
//   GET  /api/v1/sources       JSON list of sources (?state=DOWN filters)
//   GET  /api/v1/sources/{id}  one source with its recent transitions; 404 unknown
//   GET  /metrics              Prometheus text format
//   GET  /healthz              200 while the process serves requests
//   GET  /readyz               200 once the store is loaded and UDP ingest is bound, else 503
//   GET  /                     self-contained status page (no external assets)
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "firewatch/clock.h"
#include "http/http_server.h"

namespace firewatch::collector {

class Tracker;
class Store;
class CollectorMetrics;
class Ingestor;

struct ApiContext {
  std::string collector_id;
  std::string version;
  const Clock* clock = nullptr;
  Tracker* tracker = nullptr;
  Store* store = nullptr;  // may be null in tests
  CollectorMetrics* metrics = nullptr;
  Ingestor* ingestor = nullptr;
  // Set to true by the app once startup is complete (store restored, UDP bound).
  const std::atomic<bool>* ready = nullptr;
};

// Registers every endpoint above on `server`. `ctx` must outlive the server.
void RegisterApi(HttpServer& server, const ApiContext& ctx);

}  // namespace firewatch::collector
