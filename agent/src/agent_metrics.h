// The agent's Prometheus metrics, kept as plain counters and rendered by hand in the
// text exposition format 0.0.4. (prometheus-cpp would add a shared library and its
// registry for six metric families; see docs/agent.md, "Footprint".)
//
// Families (names pass `promtool check metrics`):
//   firewatch_agent_heartbeats_sent_total{collector,transport}  counter
//   firewatch_agent_send_errors_total{collector,transport}      counter
//   firewatch_agent_resolve_failures_total{collector}           counter
//   firewatch_agent_last_heartbeat_timestamp_seconds            gauge
//   firewatch_agent_build_info{version}                         gauge (always 1)
//   firewatch_agent_interval_seconds                            gauge
//
// Threading: loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "firewatch/clock.h"

namespace firewatch::agent {

enum class Transport { kUdp, kHttp };
// "udp" or "http": the `transport` label value.
std::string_view TransportName(Transport t);

class AgentMetrics {
 public:
  AgentMetrics(std::string version, Duration interval);

  // Declares a collector so its series exist (at 0) before anything happens to it:
  // one series per configured transport.
  void AddCollector(const std::string& name, bool has_udp, bool has_http);

  // A frame was handed to the transport: the kernel accepted the datagram (UDP) or
  // the collector answered 2xx (HTTP).
  void CountSent(const std::string& collector, Transport t);
  // A frame could not be delivered over this transport (send error, ICMP
  // unreachable, no address, HTTP error or non-2xx status).
  void CountSendError(const std::string& collector, Transport t);
  void CountResolveFailure(const std::string& collector);
  void SetLastHeartbeat(WallTime t);

  uint64_t sent(const std::string& collector, Transport t) const;
  uint64_t send_errors(const std::string& collector, Transport t) const;
  uint64_t resolve_failures(const std::string& collector) const;

  // The whole exposition, "text/plain; version=0.0.4".
  std::string RenderText() const;

 private:
  using Key = std::pair<std::string, Transport>;
  std::string version_;
  double interval_seconds_;
  double last_heartbeat_seconds_ = 0;
  std::map<Key, uint64_t> sent_;
  std::map<Key, uint64_t> errors_;
  std::map<std::string, uint64_t> resolve_failures_;
};

// Escapes a label value for the text format: backslash, double quote and newline.
std::string EscapeLabelValue(std::string_view v);

}  // namespace firewatch::agent
