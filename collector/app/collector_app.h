// The collector process: wires config, store, tracker, ingest (UDP + HTTP), paging and
// metrics together and runs the libuv loop. See docs/architecture.md for the threading
// model: the loop thread owns UDP ingest and the timers; civetweb workers serve HTTP;
// the store has its own writer thread; the tracker is shared under its own mutex.
#pragma once

#include <uv.h>

#include <atomic>
#include <memory>

#include "app/collector_config.h"
#include "firewatch/clock.h"
#include "firewatch/status.h"

namespace firewatch::collector {

class CollectorApp {
 public:
  // `config_path` empty = embedded defaults; kept for SIGHUP reloads.
  CollectorApp(CollectorConfig config, std::string config_path, const Clock& clock);
  ~CollectorApp();

  // Opens the store, restores state, binds UDP and HTTP. On failure nothing is left
  // running and the Status says what and where.
  Status Start();
  // Runs until SIGTERM/SIGINT (or Stop()); returns the process exit code.
  int Run();
  // Thread-safe request to stop the loop.
  void Stop();

  uint16_t http_port() const;
  uint16_t udp_port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace firewatch::collector
