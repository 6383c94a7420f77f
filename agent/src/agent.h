// The agent: heartbeats to every collector on a libuv loop, a loopback HTTP server for
// /healthz and /metrics, background DNS, and the goodbye on SIGTERM/SIGINT.
//
// Threading model: everything runs on the one loop thread. libuv's thread pool runs
// getaddrinfo for DNS lookups; results come back to the loop. libcurl runs inside the
// loop (no threads: it only ever connects to IP addresses the agent resolved itself).
//
// Lifecycle:
//   Start()    binds the local HTTP server, connects UDP sockets for IP literals,
//              starts lookups, sends heartbeat 1 at once and schedules the next.
//   Shutdown() (also on SIGTERM/SIGINT) sends a goodbye frame with the next sequence
//              to every collector, waits until every HTTP goodbye finished (at least a
//              short grace for ICMP errors, at most Options::goodbye_timeout), then
//              closes every handle so uv_run returns and uv_loop_close succeeds. A
//              second signal during the goodbye closes at once.
// The Agent must outlive uv_run on its loop.
#pragma once

#include <uv.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent_config.h"
#include "agent_metrics.h"
#include "checks.h"
#include "collector_link.h"
#include "dns_refresher.h"
#include "firewatch/clock.h"
#include "firewatch/log.h"
#include "firewatch/net/sd_watchdog.h"
#include "firewatch/net/uv_handle.h"
#include "firewatch/net/uv_http_client.h"
#include "heartbeat_builder.h"
#include "local_http_server.h"
#include "local_routes.h"
#include "random.h"
#include "scheduler.h"

namespace firewatch::agent {

class Agent {
 public:
  struct Options {
    bool handle_signals = true;            // SIGTERM/SIGINT -> Shutdown, SIGHUP ignored
    Duration http_timeout = std::chrono::seconds(2);      // heartbeat POSTs
    Duration goodbye_timeout = std::chrono::seconds(1);   // bound on the goodbye phase
    Duration goodbye_grace = std::chrono::milliseconds(100);  // wait for ICMP errors
    Duration dns_retry = std::chrono::seconds(5);  // re-lookup while an address is unknown
    Duration dns_abandon = std::chrono::seconds(2);  // at exit, wait this long for lookups
    Duration log_every = std::chrono::seconds(30);   // per collector+transport error logs
  };

  // Services the agent uses but does not own; all must outlive it.
  struct Deps {
    const Clock* clock = nullptr;
    Random* random = nullptr;
    CheckProvider* checks = nullptr;
  };

  Agent(uv_loop_t* loop, AgentConfig config, protocol::Secret secret, Deps deps,
        Options options);
  Agent(uv_loop_t* loop, AgentConfig config, protocol::Secret secret, Deps deps);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // See the lifecycle above. On error (e.g. http_listen in use) every handle is
  // already closing: run the loop to let them finish, then exit.
  Status Start();
  // Says goodbye with `reason` ("SIGTERM", "SIGINT", ...) and then closes.
  void Shutdown(const std::string& reason);

  // True when the agent closed while a DNS lookup was still stuck in the resolver; the
  // loop was stopped and uv_loop_close would report it busy.
  bool abandoned_lookups() const { return abandoned_lookups_; }

  // True once the agent has closed (or started closing) all of its handles.
  bool closed() const { return phase_ == Phase::kClosed; }

  const AgentMetrics& metrics() const { return metrics_; }
  const AgentConfig& config() const { return config_; }
  // The bound local HTTP port (0 when disabled), after Start().
  uint16_t http_port() const;
  HealthSnapshot Health() const;

 private:
  enum class Phase { kIdle, kRunning, kGoodbye, kClosed };

  void SendHeartbeat();
  void ArmHeartbeatTimer(MonoTime deadline);
  void OnGoodbyeTimer();
  void MaybeFinishGoodbye();
  void CloseAll();
  void StartSignals();
  void NotifySystemd();
  void WireDns(CollectorLink& link);

  uv_loop_t* loop_;
  AgentConfig config_;
  Deps deps_;
  Options options_;
  Phase phase_ = Phase::kIdle;

  AgentMetrics metrics_;
  RateLimiter log_limiter_;
  HeartbeatBuilder builder_;
  HeartbeatScheduler scheduler_;
  DnsRefresher dns_;
  std::vector<std::unique_ptr<CollectorLink>> links_;
  std::unique_ptr<LocalHttpServer> server_;
  // Declared after the links: destroyed (and so closed) first, while the links its
  // callbacks point to still exist.
  net::UvHttpClient http_;

  // systemd's watchdog (WatchdogSec= in the unit), fed from this loop while it runs.
  net::SdWatchdog sd_watchdog_;

  net::UvTimer heartbeat_timer_;
  net::UvTimer goodbye_timer_;
  net::UvTimer dns_watchdog_;  // bounds a shutdown waiting on a stuck DNS lookup
  std::array<net::UvSignal, 3> signals_;  // SIGTERM, SIGINT, SIGHUP
  bool lookups_done_ = false;
  bool goodbye_grace_over_ = false;
  bool abandoned_lookups_ = false;
  std::optional<int64_t> last_heartbeat_ms_;
};

}  // namespace firewatch::agent
