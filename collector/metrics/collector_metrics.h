// The collector's Prometheus metrics (prometheus-cpp core; rendered by our own HTTP
// server, not prometheus-cpp's Exposer, so there is one HTTP port). Names follow the
// Prometheus naming rules with the firewatch_ prefix; the list is in docs/metrics.md.
//
// Thread-safety: prometheus-cpp counters and gauges are atomic; Render() may be called
// from any thread.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>
#include <memory>
#include <string>

#include "firewatch/protocol/frame.h"
#include "tracker/source.h"

namespace firewatch::collector {

class Tracker;
class Store;

class CollectorMetrics {
 public:
  // per_source: export firewatch_source_* series for each source (turn off for very
  // large fleets; aggregate series are always exported).
  CollectorMetrics(std::string collector_id, std::string version, bool per_source);

  // Counted by the ingest paths.
  void HeartbeatAccepted(Transport t);
  void FrameRejected(protocol::RejectReason r, Transport t);
  void Transition(SourceState to);
  void HttpRequest(const std::string& handler, int status);
  void PageWritten(const std::string& channel, bool ok);

  // Refreshes gauges from the tracker/store, then renders the text exposition format.
  std::string Render(const Tracker& tracker, const Store* store);

  prometheus::Registry& registry() { return *registry_; }

 private:
  // defined in the .cc
  struct Families;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> f_;
  bool per_source_;
};

}  // namespace firewatch::collector
