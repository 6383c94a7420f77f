// Everything the agent does for one collector: its endpoints and their last good
// addresses, its UDP socket, and the rule that picks a transport for each frame.
//
// Transport rule (docs/agent.md, "Transports and fallback"), per frame:
//  1. UDP when the collector has a udp address that resolved: send on the connected
//     socket. Done if the kernel took the datagram.
//  2. HTTP otherwise - no udp address configured, none resolved yet, or the UDP send
//     failed - POST the same frame to http://<ip>:<port>/api/v1/heartbeat.
//  3. An ICMP error reported later on the UDP socket (ECONNREFUSED: nothing listens
//     on the collector's UDP port) also sends the current frame over HTTP, once.
//  4. A frame too big for a datagram (its full check state, OutgoingFrame::needs_http)
//     goes over HTTP first; its cut copy goes over UDP when the collector has no HTTP
//     address or the POST fails.
// A frame that neither transport can take yet (the first lookups are still running)
// goes out as soon as a first address arrives. Every outcome is counted in
// AgentMetrics; repeated errors are logged through a RateLimiter.
//
// Threading: loop thread only. Close() before the loop is closed.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "agent_config.h"
#include "agent_metrics.h"
#include "firewatch/log.h"
#include "firewatch/net/uv_http_client.h"
#include "heartbeat_builder.h"
#include "resolved_endpoint.h"
#include "udp_sender.h"

namespace firewatch::agent {

class CollectorLink {
 public:
  // Shared services; all must outlive the link.
  struct Env {
    uv_loop_t* loop = nullptr;
    net::UvHttpClient* http = nullptr;
    AgentMetrics* metrics = nullptr;
    RateLimiter* log_limiter = nullptr;
    // Called after each HTTP request of this link completes (any outcome).
    std::function<void()> on_http_done;
  };

  CollectorLink(const CollectorConfig& config, Env env);
  CollectorLink(const CollectorLink&) = delete;
  CollectorLink& operator=(const CollectorLink&) = delete;

  const std::string& name() const { return name_; }
  // The endpoints, for the DNS refresher; nullptr when that transport is not configured.
  ResolvedEndpoint* udp_endpoint() { return udp_ep_ ? &*udp_ep_ : nullptr; }
  ResolvedEndpoint* http_endpoint() { return http_ep_ ? &*http_ep_ : nullptr; }

  // Connects the UDP socket when the udp address is an IP literal.
  void Open();

  // An endpoint's address may have changed (after a lookup): reconnects UDP when its
  // address changed and sends a frame that was waiting for a first address.
  void OnEndpointUpdate(Transport transport, ResolvedEndpoint::Update update);

  // Sends `frame` following the transport rule; HTTP requests use `http_timeout`.
  // Never blocks; replaces the previous frame as "current".
  void Send(std::shared_ptr<const OutgoingFrame> frame, Duration http_timeout);

  // True when a UDP socket is connected to a resolved address.
  bool udp_ready() const { return udp_.connected(); }

  // Closes the UDP socket. HTTP requests belong to the shared client (close it too).
  void Close();

 private:
  void Deliver();
  // Sends the current frame's datagram form; true when the kernel took it.
  bool SendUdp();
  void SendHttp();
  void OnUdpAsyncError(int uv_error);
  void NoteError(Transport t, const std::string& detail);
  void ConnectUdp();

  std::string name_;
  Env env_;
  std::optional<ResolvedEndpoint> udp_ep_;
  std::optional<ResolvedEndpoint> http_ep_;
  UdpSender udp_;
  std::shared_ptr<const OutgoingFrame> current_;
  Duration current_timeout_{};
  bool current_delivered_ = false;  // handed to the kernel (UDP) or to the HTTP client
  bool current_via_http_ = false;
  bool closed_ = false;
};

}  // namespace firewatch::agent
