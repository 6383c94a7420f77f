#include "ingest/ingestor.h"

#include <spdlog/spdlog.h>

#include "metrics/collector_metrics.h"
#include "ingest/udp_receiver.h"
#include "tracker/tracker.h"

namespace firewatch::collector {

Ingestor::Ingestor(const Clock& clock, std::shared_ptr<const protocol::Keyring> keys,
                   Tracker& tracker, CollectorMetrics& metrics, TransitionSink on_transitions)
    : clock_(clock),
      keys_(std::move(keys)),
      tracker_(tracker),
      metrics_(metrics),
      on_transitions_(std::move(on_transitions)),
      log_limiter_(clock, std::chrono::seconds(10)) {}

void Ingestor::SetKeys(std::shared_ptr<const protocol::Keyring> keys) {
  std::lock_guard lock(keys_mu_);
  keys_ = std::move(keys);
}

std::shared_ptr<const protocol::Keyring> Ingestor::Keys() const {
  std::lock_guard lock(keys_mu_);
  return keys_;
}

IngestResult Ingestor::Ingest(std::span<const uint8_t> frame, Transport transport,
                              std::string_view peer) {
  return IngestFrom(frame, transport, Peer{peer, nullptr});
}

IngestResult Ingestor::Ingest(std::span<const uint8_t> frame, Transport transport,
                              const sockaddr_storage& from) {
  return IngestFrom(frame, transport, Peer{{}, &from});
}

IngestResult Ingestor::IngestFrom(std::span<const uint8_t> frame, Transport transport,
                                  const Peer& peer) {
  IngestResult result;
  auto keys = Keys();
  auto decoded = protocol::Decode(frame, *keys);
  if (decoded.ok()) {
    const auto& hb = decoded.heartbeat();
    result.source_id = hb.source_id;
    ObserveResult observed = tracker_.Observe(hb, transport);
    if (!observed.rejected) {
      metrics_.HeartbeatAccepted(transport);
      if (observed.transition) on_transitions_({std::move(*observed.transition)});
      if (!observed.check_changes.empty() && on_checks_) {
        on_checks_(std::move(observed.check_changes));
      }
      return result;
    }
    result.rejected = observed.rejected;
    result.detail = "source '" + hb.source_id + "' seq " + std::to_string(hb.sequence);
  } else {
    result.rejected = decoded.error().reason;
    result.detail = decoded.error().detail;
  }
  metrics_.FrameRejected(*result.rejected, transport);
  const std::string_view reason = protocol::RejectReasonName(*result.rejected);
  uint64_t suppressed = 0;
  if (log_limiter_.Allow(std::string(reason), suppressed)) {
    spdlog::warn("rejected {} frame from {}: {}{}{} ({} similar suppressed)", TransportName(transport),
                 peer.addr != nullptr ? AddressText(*peer.addr) : std::string(peer.text), reason,
                 result.detail.empty() ? "" : ": ", result.detail, suppressed);
  }
  return result;
}

}  // namespace firewatch::collector
