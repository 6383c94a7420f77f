// The collector's HTTP endpoints (docs/api.md has the JSON shapes and examples):
//   POST /api/v1/heartbeat     body = one protocol frame (application/octet-stream);
//                              204 accepted, 400 rejected {"error","reason"}, 413 too big
//                              (over protocol::kMaxHttpFrameSize; counted as a rejected frame,
//                              reason "oversize", transport "http")
//   GET  /api/v1/sources       one page of the sources, in order of first contact, with
//                              filters (state, label matchers, text) and a cursor
//                              (ParseSourceListing below; 400 names what is wrong)
//   GET  /api/v1/sources/{id}  one source with its recent transitions (newest first, at
//                              most 50; empty without a store); 404 unknown
//   DELETE /api/v1/sources/{id} forget the source (memory, store, peers: ctx.forget);
//                              200 {"forgotten": id}, 404 unknown. Operator access.
//   GET  /api/v1/status        the collector's own state: source counts, limits, warnings
//   GET  /metrics              Prometheus text format (version 0.0.4)
//   GET  /healthz              200 {"status":"ok"} while the process serves requests
//   GET  /readyz               200 {"status":"ready"} once *ready is true, else 503
//                              {"status":"starting"} (a null `ready` counts as ready)
//   GET  /                     self-contained status page (no external assets)
// Every GET route also answers HEAD. Timestamps are RFC 3339 UTC with milliseconds.
// Handlers run on civetweb worker threads; they only use thread-safe members of the
// context (Tracker, Store reads, CollectorMetrics, Ingestor are all thread-safe).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "http/http_server.h"
#include "http/status_page.h"
#include "ingest/ingestor.h"
#include "route/matcher.h"

namespace firewatch::collector {

class Tracker;
class Store;
class CollectorMetrics;
struct LimitStatus;
class Ingestor;

// What GET /api/v1/status says about the configuration in force (it follows reloads).
struct ConfigInfo {
  std::string digest;          // the cluster's config digest (docs/cluster.md)
  int64_t loaded_at_ms = 0;    // start, or the last successful reload (Unix ms)
  bool last_reload_ok = true;  // false after a refused reload, until a good one
  uint64_t reloads = 0;        // successful reloads since start
};

// A failing check another collector of the cluster reports for a source
// (ClusterView::PeerChecksFor, docs/cluster.md "Checks").
struct PeerCheckNote {
  std::string collector;
  std::string collector_state;  // up, down, unknown
  std::string name;
  protocol::CheckState state = protocol::CheckState::kCritical;
  std::string output;
};

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
  // The status page's cluster panel; empty function (or nullopt) for a standalone collector.
  std::function<std::optional<ClusterPanel>()> cluster_panel;
  // Forgets a source everywhere (the app: tracker, store, cluster, alerts) on behalf of
  // `operator_name` (the token's operator, for the log and the resolving pages); false
  // when this collector does not know it, Unavailable when it could not be done now
  // (503). Empty: DELETE /api/v1/sources/{id} answers 404.
  std::function<Result<bool>(const std::string& source_id, const std::string& operator_name)>
      forget;
  // Takes one heartbeat frame from POST /api/v1/heartbeat on the thread that owns the
  // tracker's transitions (the app: its event loop); Unavailable when that thread could
  // not take it now (503, the agent retries). Empty: ingestor->Ingest on the worker.
  std::function<Result<IngestResult>(std::string frame, std::string peer)> ingest;
  // The configuration in force (GET /api/v1/status "config"); empty: not shown.
  std::function<ConfigInfo()> config_info;
  // The maintenance windows (alerting/route/maintenance.h) active now that mute this
  // source's pages, by id: source listings show them as "in_maintenance". Empty: none.
  std::function<std::vector<std::string>(const SourceSnapshot&)> maintenance;
  // What the other collectors of the cluster report of a source's failing checks
  // (ClusterView::PeerChecksFor): source listings show them as "cluster_checks". Empty
  // (standalone): not shown.
  std::function<std::vector<PeerCheckNote>(const std::string& source_id)> peer_checks;
};

// What an operator must be told about the tracker's limits, one sentence each (empty
// when none applies): shown by the status page and GET /api/v1/status.
std::vector<std::string> LimitWarnings(const LimitStatus& limits);

// GET /api/v1/sources' query (docs/api.md has the table): every parameter is bounded
// and checked; the status page takes the same parameters.
inline constexpr size_t kDefaultListingLimit = 500;
inline constexpr size_t kMaxListingLimit = 5000;
inline constexpr size_t kMaxListingMatchers = 16;
inline constexpr size_t kMaxListingText = 256;  // q=
struct SourceListing {
  uint8_t states = 0;  // bit per SourceState; 0 = all
  std::string text;    // q=: substring of the id, ASCII case-insensitive
  alerting::route::Matchers matchers;  // match[]= / match=: all must match the labels
  size_t limit = kDefaultListingLimit;
  uint64_t after = 0;  // the cursor's sequence number (Tracker::Query); 0 = from the start
};
// Parses and checks the query string; InvalidArgument says which parameter is wrong
// and why (the 400's message). Unknown parameters are ignored, as everywhere in the API.
Result<SourceListing> ParseSourceListing(std::string_view query);

// Registers every endpoint above on `server`. `ctx` must outlive the server, and
// clock, tracker, metrics and ingestor must be non-null.
void RegisterApi(HttpServer& server, const ApiContext& ctx);

}  // namespace firewatch::collector
