#include "ingest/ingestor.h"

#include <spdlog/spdlog.h>

#include "metrics/collector_metrics.h"
#include "ingest/udp_receiver.h"
#include "tracker/tracker.h"
#include "watch/own_sources.h"

namespace firewatch::collector {

Ingestor::Ingestor(const Clock& clock, std::shared_ptr<const protocol::Keyring> keys,
                   Tracker& tracker, CollectorMetrics& metrics, TransitionSink on_transitions,
                   std::shared_ptr<const KeyBindings> bindings)
    : creds_(nullptr),
      tracker_(tracker),
      metrics_(metrics),
      on_transitions_(std::move(on_transitions)),
      log_limiter_(clock, std::chrono::seconds(10)) {
  SetKeys(std::move(keys), std::move(bindings));
}

void Ingestor::SetKeys(std::shared_ptr<const protocol::Keyring> keys,
                       std::shared_ptr<const KeyBindings> bindings) {
  auto creds = std::make_unique<const Credentials>(Credentials{std::move(keys), std::move(bindings)});
  MutexLock lock(keys_mu_);
  creds_.store(creds.get(), std::memory_order_release);
  retired_.push_back(std::move(creds));
}

std::optional<protocol::DecodeError> Ingestor::Admit(std::span<const uint8_t> frame,
                                                     const Credentials& creds,
                                                     protocol::HeartbeatView& hb,
                                                     Transport transport) {
  // A datagram is at most kMaxFrameSize; over HTTP, a full check state that did not fit
  // one may be larger (docs/protocol.md, "Transports").
  const size_t max_size =
      transport == Transport::kHttp ? protocol::kMaxHttpFrameSize : protocol::kMaxFrameSize;
  if (auto error = protocol::DecodeView(frame, *creds.keys, hb, max_size)) return error;
  if (creds.bindings && !creds.bindings->Allows(hb.key_id, hb.source_id)) {
    return protocol::DecodeError{protocol::RejectReason::kKeyNotAllowed,
                                 "key '" + std::string(hb.key_id) + "' may not speak for source '" +
                                     std::string(hb.source_id) + "'"};
  }
  if (IsCollectorOwnSource(hb.source_id)) {  // watchdog/..., probe/...: only the collector
    return protocol::DecodeError{protocol::RejectReason::kKeyNotAllowed,
                                 "source id '" + std::string(hb.source_id) +
                                     "' is reserved for the collector's watchdogs and probes"};
  }
  return std::nullopt;
}

IngestResult Ingestor::Ingest(std::span<const uint8_t> frame, Transport transport,
                              std::string_view peer) {
  return IngestFrom(frame, transport, Peer{peer, nullptr});
}

IngestResult Ingestor::IngestFrom(std::span<const uint8_t> frame, Transport transport,
                                  const Peer& peer) {
  IngestResult result;
  // One view per thread, reused: it points into `frame` and keeps its vectors'
  // capacity, so the accept path copies and allocates nothing.
  thread_local protocol::HeartbeatView hb;
  if (auto error = Admit(frame, *creds_.load(std::memory_order_acquire), hb, transport)) {
    result.rejected = error->reason;
    result.detail = std::move(error->detail);
    Reject(*result.rejected, result.detail, transport, peer);
    return result;
  }
  result.source_id = hb.source_id;
  ObserveResult observed = tracker_.Observe(hb, transport);
  if (observed.rejected) {
    result.rejected = observed.rejected;
    result.detail = TrackerDetail(*result.rejected, hb);
    Reject(*result.rejected, result.detail, transport, peer);
    return result;
  }
  metrics_.HeartbeatsAccepted(transport);
  std::vector<Transition> transitions;
  if (observed.transition) transitions.push_back(std::move(*observed.transition));
  Deliver(std::move(transitions), std::move(observed.check_changes));
  return result;
}

void Ingestor::IngestDatagrams(std::span<const UdpReceiver::Datagram> batch) {
  // Per-thread scratch, reused batch after batch (no allocation once warm).
  thread_local std::vector<protocol::HeartbeatView> decoded;  // views into `batch`
  thread_local std::vector<const protocol::HeartbeatView*> accepted;
  thread_local std::vector<const sockaddr_storage*> senders;
  thread_local std::vector<ObserveResult> observed;
  if (decoded.size() < batch.size()) decoded.resize(batch.size());
  accepted.clear();
  senders.clear();
  const Credentials& creds = *creds_.load(std::memory_order_acquire);
  for (size_t i = 0; i < batch.size(); ++i) {
    if (auto error = Admit(batch[i].bytes, creds, decoded[i], Transport::kUdp)) {
      Reject(error->reason, error->detail, Transport::kUdp, Peer{{}, batch[i].from});
      continue;
    }
    accepted.push_back(&decoded[i]);
    senders.push_back(batch[i].from);
  }
  if (accepted.empty()) return;
  tracker_.ObserveBatch(accepted, Transport::kUdp, observed);
  std::vector<Transition> transitions;
  std::vector<CheckChange> checks;
  uint64_t ok = 0;
  for (size_t i = 0; i < accepted.size(); ++i) {
    ObserveResult& r = observed[i];
    if (r.rejected) {
      Reject(*r.rejected, TrackerDetail(*r.rejected, *accepted[i]), Transport::kUdp,
             Peer{{}, senders[i]});
      continue;
    }
    ++ok;
    if (r.transition) transitions.push_back(std::move(*r.transition));
    for (auto& c : r.check_changes) checks.push_back(std::move(c));
  }
  metrics_.HeartbeatsAccepted(Transport::kUdp, ok);
  Deliver(std::move(transitions), std::move(checks));
}

std::string Ingestor::TrackerDetail(protocol::RejectReason reason,
                                    const protocol::HeartbeatView& hb) {
  std::string out = "source '" + std::string(hb.source_id) + "'";
  switch (reason) {
    case protocol::RejectReason::kBadInterval:
      return out + " interval " + std::to_string(hb.interval_ms) + " ms";
    case protocol::RejectReason::kSourceLimit:
    case protocol::RejectReason::kNewSourceRate:
      return out + " (new) key '" + std::string(hb.key_id) + "'";
    default:
      return out + " seq " + std::to_string(hb.sequence);
  }
}

void Ingestor::Deliver(std::vector<Transition> transitions, std::vector<CheckChange> checks) {
  if (!transitions.empty()) on_transitions_(std::move(transitions));
  if (!checks.empty() && on_checks_) on_checks_(std::move(checks));
}

void Ingestor::Reject(protocol::RejectReason reason, const std::string& detail,
                      Transport transport, const Peer& peer) {
  metrics_.FrameRejected(reason, transport);
  const std::string_view name = protocol::RejectReasonName(reason);
  uint64_t suppressed = 0;
  if (log_limiter_.Allow(std::string(name), suppressed)) {
    // Refusals at a source limit are told to the operator once, as a state, by the app
    // (CollectorApp: "source cap reached"); per frame they are only debug lines.
    const bool told_once = reason == protocol::RejectReason::kSourceLimit ||
                           reason == protocol::RejectReason::kNewSourceRate;
    spdlog::log(told_once ? spdlog::level::debug : spdlog::level::warn,
                "rejected {} frame from {}: {}{}{} ({} similar suppressed)",
                TransportName(transport),
                peer.addr != nullptr ? AddressText(*peer.addr) : std::string(peer.text), name,
                detail.empty() ? "" : ": ", detail, suppressed);
  }
}

}  // namespace firewatch::collector
