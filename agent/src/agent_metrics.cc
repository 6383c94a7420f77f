#include "agent_metrics.h"

#include <fmt/format.h>

namespace firewatch::agent {

std::string_view TransportName(Transport t) { return t == Transport::kUdp ? "udp" : "http"; }

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

AgentMetrics::AgentMetrics(std::string version, Duration interval)
    : version_(std::move(version)),
      interval_seconds_(std::chrono::duration<double>(interval).count()) {}

void AgentMetrics::AddCollector(const std::string& name, bool has_udp, bool has_http) {
  if (has_udp) {
    sent_[{name, Transport::kUdp}];
    errors_[{name, Transport::kUdp}];
  }
  if (has_http) {
    sent_[{name, Transport::kHttp}];
    errors_[{name, Transport::kHttp}];
  }
  resolve_failures_[name];
}

void AgentMetrics::CountSent(const std::string& collector, Transport t) { ++sent_[{collector, t}]; }
void AgentMetrics::CountSendError(const std::string& collector, Transport t) {
  ++errors_[{collector, t}];
}
void AgentMetrics::CountResolveFailure(const std::string& collector) {
  ++resolve_failures_[collector];
}
void AgentMetrics::SetLastHeartbeat(WallTime t) {
  last_heartbeat_seconds_ = static_cast<double>(ToUnixMillis(t)) / 1000.0;
}

uint64_t AgentMetrics::sent(const std::string& collector, Transport t) const {
  auto it = sent_.find({collector, t});
  return it == sent_.end() ? 0 : it->second;
}
uint64_t AgentMetrics::send_errors(const std::string& collector, Transport t) const {
  auto it = errors_.find({collector, t});
  return it == errors_.end() ? 0 : it->second;
}
uint64_t AgentMetrics::resolve_failures(const std::string& collector) const {
  auto it = resolve_failures_.find(collector);
  return it == resolve_failures_.end() ? 0 : it->second;
}

namespace {

void Family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void PerTransport(std::string& out, std::string_view name,
                  const std::map<std::pair<std::string, Transport>, uint64_t>& values) {
  for (const auto& [key, v] : values) {
    fmt::format_to(std::back_inserter(out), "{}{{collector=\"{}\",transport=\"{}\"}} {}\n", name,
                   EscapeLabelValue(key.first), TransportName(key.second), v);
  }
}

}  // namespace

std::string AgentMetrics::RenderText() const {
  std::string out;
  out.reserve(2048);
  Family(out, "firewatch_agent_heartbeats_sent_total", "counter",
         "Frames delivered to a collector: datagrams the kernel accepted (udp) or 2xx answers "
         "(http).");
  PerTransport(out, "firewatch_agent_heartbeats_sent_total", sent_);
  Family(out, "firewatch_agent_send_errors_total", "counter",
         "Frames that could not be delivered to a collector over a transport.");
  PerTransport(out, "firewatch_agent_send_errors_total", errors_);
  Family(out, "firewatch_agent_resolve_failures_total", "counter",
         "Failed name lookups of a collector's addresses (the last good address stays in use).");
  for (const auto& [name, v] : resolve_failures_) {
    fmt::format_to(std::back_inserter(out), "firewatch_agent_resolve_failures_total{{collector=\"{}\"}} {}\n",
                   EscapeLabelValue(name), v);
  }
  Family(out, "firewatch_agent_last_heartbeat_timestamp_seconds", "gauge",
         "Unix time of the last heartbeat round (0 before the first).");
  fmt::format_to(std::back_inserter(out), "firewatch_agent_last_heartbeat_timestamp_seconds {:.3f}\n",
                 last_heartbeat_seconds_);
  Family(out, "firewatch_agent_build_info", "gauge", "Always 1; the version is a label.");
  fmt::format_to(std::back_inserter(out), "firewatch_agent_build_info{{version=\"{}\"}} 1\n",
                 EscapeLabelValue(version_));
  Family(out, "firewatch_agent_interval_seconds", "gauge", "Configured heartbeat interval.");
  fmt::format_to(std::back_inserter(out), "firewatch_agent_interval_seconds {}\n", interval_seconds_);
  return out;
}

}  // namespace firewatch::agent
