// The collector's Prometheus metrics (prometheus-cpp core; rendered by our own HTTP
// server, not prometheus-cpp's Exposer, so there is one HTTP port). Names follow the
// Prometheus naming rules with the firewatch_ prefix; the list is in docs/metrics.md.
//
// Every labelled counter whose label values are known up front (transport, reject
// reason, state) is created at 0 in the constructor, so rate() works from the first
// scrape and dashboards see no gaps.
//
// Thread-safety: every method may be called from any thread. prometheus-cpp counters
// and gauges are atomic. HeartbeatsAccepted/FrameRejected/Transition are on the ingest
// hot path and do one atomic add on a cached series (no lookup, no allocation).
// HttpRequest/PageWritten look the series up in a small mutex-protected cache.
// Render() serializes concurrent calls; PageDelivered (the alerting engine's sender
// threads) and the periodic *Stats calls take the same lock.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "firewatch/protocol/frame.h"
#include "tracker/source.h"

namespace firewatch::collector {

class Tracker;
class Store;

class CollectorMetrics {
 public:
  // per_source: export firewatch_source_* series for each source (turn off for very
  // large fleets; aggregate series are always exported). With per_source false no
  // firewatch_source_* family is registered at all.
  CollectorMetrics(std::string collector_id, std::string version, bool per_source);
  ~CollectorMetrics();
  CollectorMetrics(const CollectorMetrics&) = delete;
  CollectorMetrics& operator=(const CollectorMetrics&) = delete;

  // Counted by the ingest paths (UDP and HTTP). Hot path: one atomic add.
  void HeartbeatsAccepted(Transport t, uint64_t n = 1);
  void FrameRejected(protocol::RejectReason r, Transport t);
  // One state change of a source (firewatch_source_transitions_total{to}).
  void Transition(SourceState to);
  // Sources forgotten (firewatch_sources_forgotten_total{how}); how is "operator",
  // "age" (detection.forget_after) or "peer" (a peer collector's tombstone).
  enum class ForgetHow : uint8_t { kOperator = 0, kAge = 1, kPeer = 2 };
  void SourcesForgotten(ForgetHow how, uint64_t n = 1);
  // One HTTP response. `handler` must come from a bounded set (the matched route's
  // pattern, or "unmatched"), never a raw URL: every value is a series forever.
  void HttpRequest(const std::string& handler, int status);
  // One notification attempt on `channel` ("sms", "email", ...); ok = delivered.
  void PageWritten(const std::string& channel, bool ok);
  // The first page of an incident was delivered on `channel`, `seconds` after its alert
  // started (firewatch_page_delivery_seconds{channel}). Called by the alerting engine's
  // sender threads; registers the alerting families like AlertingStats.
  void PageDelivered(const std::string& channel, double seconds);
  // `n` HTTP requests or connections refused for `reason` (an HttpRefusal name, from a
  // bounded set): firewatch_http_refused_total{reason}. n = 0 creates the series at 0.
  void HttpRefused(const std::string& reason, uint64_t n = 1);
  // `n` SMS replies through the Twilio webhook with `result` (acked, refused,
  // unknown_incident, not_understood): firewatch_sms_replies_total{result}. n = 0
  // creates the series at 0 (done when the webhook is registered).
  void SmsReply(const std::string& result, uint64_t n = 1);

  // The configuration in force was loaded at `unix_seconds` (start):
  // firewatch_config_last_reload_successful = 1 and its success timestamp.
  void ConfigLoaded(double unix_seconds);
  // A SIGHUP reload: firewatch_config_reloads_total{result="success"|"failure"}; a
  // success moves the timestamp, a failure sets last_reload_successful to 0.
  void ConfigReload(bool ok, double unix_seconds);

  // Totals kept by the UDP receiver (loop thread), mirrored into counters; call
  // periodically with monotonic values.
  void UdpStats(uint64_t datagrams, uint64_t kernel_drops);

  // The alerting engine's numbers (call periodically; the first call registers the
  // families, so collectors without alerting export none of them):
  //   notifications: channel -> monotonic attempt outcomes {delivered, retryable,
  //     permanent, interrupted}, mirrored into firewatch_notifications_total{channel,result};
  //   outbox_items:  state -> items  (firewatch_outbox_items{state});
  //   incidents:     state -> count  (firewatch_incidents{state}).
  // Every channel named in `notifications` also gets its (empty) delivery histogram.
  void AlertingStats(const std::map<std::string, std::array<uint64_t, 4>>& notifications,
                     const std::map<std::string, uint64_t>& outbox_items,
                     const std::map<std::string, uint64_t>& incidents);

  // Silences (call periodically with the engine's numbers; the first call registers):
  //   held:    state -> silences held now (firewatch_silences{state});
  //   refused: origin -> monotonic total of silences refused from a peer or skipped
  //            from the store (firewatch_silences_refused_total{origin}).
  void SilenceStats(const std::map<std::string, uint64_t>& held,
                    const std::map<std::string, uint64_t>& refused);
  // Maintenance windows, the same way: firewatch_maintenance_windows{state} and
  // firewatch_maintenance_windows_refused_total{origin}.
  void MaintenanceStats(const std::map<std::string, uint64_t>& held,
                        const std::map<std::string, uint64_t>& refused);

  // The cluster's state (call periodically; the first call registers the families, so
  // standalone collectors export none of them). Counts are monotonic totals.
  struct PeerNumbers {
    std::string id;
    bool self = false;
    bool up = false;
    double phi = 0;
    bool config_mismatch = false;
    uint64_t unheard_sources = 0;  // path warnings: sources others hear and it does not
    uint64_t syncs_ok = 0;
    uint64_t syncs_failed = 0;
    bool path_warning = false;  // some live collectors reach it, others do not
    int64_t last_sync_age_ms = -1;  // since the last exchange with it; -1: never
    uint64_t sync_bytes_sent = 0;   // sync bodies to it and from it, both halves
    uint64_t sync_bytes_received = 0;
    uint64_t sync_exchange_us = 0;  // the exchanges it started with the peer, total time
  };
  void ClusterStats(const std::vector<PeerNumbers>& collectors, bool isolated, bool alone,
                    const std::map<std::string, uint64_t>& sync_rejected);

  // The source label that names a source's failure domain (firewatch_dc_sources{dc},
  // firewatch_source_state{dc}); sources without it count under kNoDomain. At most
  // kMaxDomains values get their own series, the rest (by name) count under kOtherDomain.
  static constexpr const char* kDomainLabel = "dc";
  static constexpr const char* kNoDomain = "none";
  static constexpr const char* kOtherDomain = "other";
  static constexpr size_t kMaxDomains = 256;

  // Refreshes gauges from the tracker (state counts and sources with stale check state,
  // in the same pass; its limits: firewatch_source_limit,
  // firewatch_source_limit_reached; per-source series when enabled, removing series of
  // sources no longer tracked) and the store's counters (store may
  // be null: those series stay at their last values), then renders the Prometheus text
  // exposition format (version 0.0.4) of the whole registry.
  std::string Render(const Tracker& tracker, const Store* store);

  prometheus::Registry& registry() { return *registry_; }

 private:
  // defined in the .cc
  struct Families;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> f_;
  bool per_source_;
};

}  // namespace firewatch::collector
