// Watching the primary monitoring stack (docs/watching.md), as one piece the collector app
// wires in: the watchdog endpoint, the probe runner, their metrics and the feed that turns
// what they hear into heartbeats of the collector's own sources.
//
// With `alertmanager_post:` it also mirrors the collector's alerts to Alertmanager
// (watch/alertmanager_poster.h): the app hands every alert it raises to Observe().
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
#include "model/alert.h"
#include "watch/alertmanager_poster.h"
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
  // An alert the collector raised (firing or resolved), from any thread: mirrored to
  // Alertmanager when alertmanager_post is configured, else ignored. Never blocks on I/O.
  void Observe(const alerting::Alert& alert);
  void Start();
  void Stop();

 private:
  Watch(const Clock& clock, const WatchConfig& config, Tracker& tracker,
        prometheus::Registry& registry, OwnSourceFeed::TransitionSink sink,
        OwnSourceFeed::Executor executor, std::vector<WatchdogCredential> credentials);
  // Constructed after metrics_; started before and stopped after the probes that feed it.
  OwnSourceFeed feed_;
  WatchMetrics metrics_;
  WatchdogEndpoint endpoint_;
  std::unique_ptr<AlertmanagerPoster> poster_;  // null unless alertmanager_post
  ProbeRunner probes_;
};

}  // namespace firewatch::collector
