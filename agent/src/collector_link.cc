#include "collector_link.h"

#include "agent_log.h"

namespace firewatch::agent {

CollectorLink::CollectorLink(const CollectorConfig& config, Env env)
    : name_(config.name),
      env_(std::move(env)),
      udp_(env_.loop, [this](int err) { OnUdpAsyncError(err); }) {
  if (config.udp) udp_ep_.emplace(*config.udp);
  if (config.http) http_ep_.emplace(*config.http);
}

void CollectorLink::Open() {
  if (udp_ep_ && udp_ep_->address() != nullptr) ConnectUdp();
}

void CollectorLink::ConnectUdp() {
  Status s = udp_.Connect(*udp_ep_->address());
  if (!s.ok()) NoteError(Transport::kUdp, s.message());
}

void CollectorLink::OnEndpointUpdate(Transport transport, ResolvedEndpoint::Update update) {
  if (closed_ || update != ResolvedEndpoint::Update::kChanged) return;
  if (transport == Transport::kUdp) ConnectUdp();
  if (current_ && !current_delivered_) Deliver();
}

void CollectorLink::Send(std::shared_ptr<const OutgoingFrame> frame, Duration http_timeout) {
  if (closed_) return;
  current_ = std::move(frame);
  current_timeout_ = http_timeout;
  current_delivered_ = false;
  current_via_http_ = false;
  Deliver();
}

void CollectorLink::Deliver() {
  // A full check state over a datagram's size: HTTP carries it whole when it can.
  if (current_->needs_http() && http_ep_ && http_ep_->address() != nullptr) {
    SendHttp();
    return;
  }
  if (udp_ep_ && SendUdp()) return;
  if (!http_ep_) return;
  if (http_ep_->address() != nullptr) {
    SendHttp();
  } else if (http_ep_->settled()) {
    NoteError(Transport::kHttp,
              "no address for " + http_ep_->target().ToString() + " (not resolved)");
  }
}

bool CollectorLink::SendUdp() {
  // A connect that failed before (no route yet at boot, say) is retried every round.
  if (!udp_.connected() && udp_ep_->address() != nullptr) ConnectUdp();
  if (udp_.connected()) {
    int rc = udp_.Send(current_->needs_http() ? current_->datagram : current_->bytes);
    if (rc == 0) {
      env_.metrics->CountSent(name_, Transport::kUdp);
      current_delivered_ = true;
      return true;
    }
    NoteError(Transport::kUdp, std::string("send to ") + udp_.peer()->ToString() + " failed: " +
                                   uv_strerror(rc));
  } else if (udp_ep_->settled() && udp_ep_->address() == nullptr) {
    NoteError(Transport::kUdp, "no address for " + udp_ep_->target().ToString() + " (not resolved)");
  }  // else: the connect failure was just counted
  // else: the first lookup is still running; HTTP may carry this frame meanwhile.
  return false;
}

void CollectorLink::SendHttp() {
  current_delivered_ = true;
  current_via_http_ = true;
  const SocketAddress& to = *http_ep_->address();
  std::string url = "http://" + to.ToString() + "/api/v1/heartbeat";
  std::shared_ptr<const OutgoingFrame> frame = current_;
  Status s = env_.http->Post(
      url, current_->bytes, {"Content-Type: application/octet-stream"}, current_timeout_,
      [this, url, frame](Result<net::HttpResponse> r) {
        const bool ok = r.ok() && r->IsSuccess();
        if (ok) {
          env_.metrics->CountSent(name_, Transport::kHttp);
          LogDebug("collector {}: frame {} delivered over HTTP", name_, frame->sequence);
        } else if (r.ok()) {
          NoteError(Transport::kHttp, "POST " + url + " answered HTTP " + std::to_string(r->status));
        } else {
          NoteError(Transport::kHttp, "POST " + url + " failed: " + r.status().message());
        }
        // A frame that went to HTTP only for its size: its cut copy over UDP, while it
        // is still the current one (the same sequence: at most one of them is taken).
        if (!ok && !closed_ && frame == current_ && frame->needs_http() && udp_ep_) SendUdp();
        if (env_.on_http_done) env_.on_http_done();
      });
  if (!s.ok()) {
    NoteError(Transport::kHttp, "POST " + url + " not started: " + s.message());
    if (current_->needs_http() && udp_ep_) SendUdp();
  }
}

void CollectorLink::OnUdpAsyncError(int uv_error) {
  if (closed_) return;
  NoteError(Transport::kUdp, std::string("datagram to ") +
                                 (udp_.peer() ? udp_.peer()->ToString() : std::string("?")) +
                                 " bounced: " + uv_strerror(uv_error));
  // The collector did not get the current frame over UDP: carry it over HTTP, once.
  if (current_ && !current_via_http_ && http_ep_ && http_ep_->address() != nullptr) SendHttp();
}

void CollectorLink::NoteError(Transport t, const std::string& detail) {
  env_.metrics->CountSendError(name_, t);
  uint64_t suppressed = 0;
  if (env_.log_limiter->Allow(name_ + "/" + std::string(TransportName(t)), suppressed)) {
    if (suppressed > 0) {
      LogWarn("collector {}: {} {} ({} similar messages suppressed)", name_, TransportName(t),
              detail, suppressed);
    } else {
      LogWarn("collector {}: {} {}", name_, TransportName(t), detail);
    }
  }
}

void CollectorLink::Close() {
  closed_ = true;
  udp_.Close();
}

}  // namespace firewatch::agent
