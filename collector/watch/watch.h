// Watching the primary monitoring stack (docs/watching.md), as one piece the collector app
// wires in: the watchdog endpoint, the probe runner, their metrics and the feed that turns
// what they hear into heartbeats of the collector's own sources.
//
// Lifecycle: Create() before the HTTP server starts (reads every token file, so a missing
// or unsafe one fails the start naming the file), Register() the route, Start() the probe
// threads once the collector is serving, Stop() before the tracker and whatever the
// transition sink reaches are destroyed. Watchdogs and probes change on restart only
// (SIGHUP does not reload them).
#pragma once

#include <prometheus/registry.h>

#include <memory>

#include "firewatch/clock.h"
#include "firewatch/status.h"
#include "http/http_server.h"
#include "watch/own_source_feed.h"
#include "watch/probe_runner.h"
#include "watch/watch_config.h"
#include "watch/watch_metrics.h"
#include "watch/watchdog_endpoint.h"

namespace firewatch::collector {

class Watch {
 public:
  static Result<std::unique_ptr<Watch>> Create(const Clock& clock, const WatchConfig& config,
                                               Tracker& tracker, prometheus::Registry& registry,
                                               OwnSourceFeed::TransitionSink sink,
                                               OwnSourceFeed::Executor executor = nullptr);
  ~Watch();

  void Register(HttpServer& server);
  void Start();
  void Stop();

 private:
  Watch(const Clock& clock, const WatchConfig& config, Tracker& tracker,
        prometheus::Registry& registry, OwnSourceFeed::TransitionSink sink,
        OwnSourceFeed::Executor executor, std::vector<WatchdogCredential> credentials);
  OwnSourceFeed feed_;
  WatchMetrics metrics_;
  WatchdogEndpoint endpoint_;
  ProbeRunner probes_;
};

}  // namespace firewatch::collector
