#include "metrics/collector_metrics.h"

#include <prometheus/text_serializer.h>

#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "firewatch/sync/mutex.h"
#include "store/store.h"
#include "tracker/tracker.h"

namespace firewatch::collector {

namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

// firewatch_page_delivery_seconds: from a few seconds (group_wait 0, a fast channel) to
// an hour (a channel retried and failed over for a long time).
const Histogram::BucketBoundaries& DeliveryBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {1,  2,   5,   10,  20,   30,
                                                       60, 120, 300, 600, 1800, 3600};
  return kBuckets;
}

constexpr Transport kTransports[] = {Transport::kUdp, Transport::kHttp};
constexpr size_t kTransportCount = std::size(kTransports);

size_t Index(Transport t) { return static_cast<size_t>(t); }
size_t Index(SourceState s) { return static_cast<size_t>(s); }

// Label values must be valid UTF-8 or Prometheus rejects the whole scrape; source ids
// are bytes from the wire. Replaces every byte that is not part of a well-formed UTF-8
// sequence with U+FFFD.
// Length of the well-formed UTF-8 sequence at in[i], or 0 (RFC 3629).
size_t Utf8Length(std::string_view in, size_t i) {
  const auto b0 = static_cast<uint8_t>(in[i]);
  if (b0 < 0x80) return 1;
  size_t len = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) len = 2;
  if (b0 >= 0xE0 && b0 <= 0xEF) len = 3;
  if (b0 >= 0xF0 && b0 <= 0xF4) len = 4;
  if (len == 0 || i + len > in.size()) return 0;
  const uint8_t lo = b0 == 0xE0 ? 0xA0 : b0 == 0xF0 ? 0x90 : 0x80;  // no overlongs
  const uint8_t hi = b0 == 0xED ? 0x9F : b0 == 0xF4 ? 0x8F : 0xBF;  // no surrogates, <= U+10FFFF
  const auto b1 = static_cast<uint8_t>(in[i + 1]);
  if (b1 < lo || b1 > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if ((static_cast<uint8_t>(in[i + k]) & 0xC0) != 0x80) return 0;
  }
  return len;
}

std::string ValidUtf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size();) {
    const size_t len = Utf8Length(in, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      out.append(in.substr(i, len));
      i += len;
    }
  }
  return out;
}

// The failure-domain label value of a label set (kDomainLabel; kNoDomain without it).
std::string DomainOf(const protocol::Labels& labels) {
  for (const auto& [k, v] : labels) {
    if (k == CollectorMetrics::kDomainLabel) {
      return v.empty() ? CollectorMetrics::kNoDomain : ValidUtf8(v);
    }
  }
  return CollectorMetrics::kNoDomain;
}

// Mirrors a monotonic counter kept elsewhere (the store) into a prometheus Counter.
// A value below the last one means the source restarted from 0 (a new Store).
// `scale`: the counter's unit per unit of `now` (1e-6 for microseconds into seconds).
void Mirror(Counter& counter, uint64_t now, uint64_t& seen, double scale = 1.0) {
  counter.Increment(static_cast<double>(now >= seen ? now - seen : now) * scale);
  seen = now;
}

}  // namespace

struct CollectorMetrics::Families {
  // A source's firewatch_source_state series (one per state) and the domain they carry.
  struct PerSourceState {
    std::array<Gauge*, kSourceStateCount> state{};
    std::string dc;
  };

  explicit Families(prometheus::Registry& r)
      : build_info(BuildGauge()
                       .Name("firewatch_build_info")
                       .Help("Always 1; labels carry the collector id and firewatch version.")
                       .Register(r)),
        heartbeats(BuildCounter()
                       .Name("firewatch_heartbeats_received_total")
                       .Help("Authenticated heartbeat frames accepted, by transport.")
                       .Register(r)),
        rejected(BuildCounter()
                     .Name("firewatch_frames_rejected_total")
                     .Help("Frames refused (bad MAC, replayed, clock skew...), by reason and "
                           "transport.")
                     .Register(r)),
        transitions(BuildCounter()
                        .Name("firewatch_source_transitions_total")
                        .Help("Source state changes, by the state entered.")
                        .Register(r)),
        sources(BuildGauge()
                    .Name("firewatch_sources")
                    .Help("Sources tracked by this collector, by liveness state.")
                    .Register(r)),
        checks_stale(BuildGauge()
                         .Name("firewatch_sources_checks_stale")
                         .Help("Sources whose check state is stale: the agent's last heartbeat "
                               "named a full check state this collector did not get.")
                         .Register(r)
                         .Add({})),
        check_output_truncated(BuildCounter()
                                   .Name("firewatch_check_output_truncated_total")
                                   .Help("Check messages cut because a heartbeat's messages "
                                         "passed the 16 KiB kept per source (more than an "
                                         "agent sends).")
                                   .Register(r)
                                   .Add({})),
        dc_sources(BuildGauge()
                       .Name("firewatch_dc_sources")
                       .Help("Sources tracked by this collector, by failure domain (the "
                             "source's dc label) and liveness state.")
                       .Register(r)),
        http(BuildCounter()
                 .Name("firewatch_http_requests_total")
                 .Help("HTTP responses sent, by handler and status code.")
                 .Register(r)),
        http_refused(BuildCounter()
                         .Name("firewatch_http_refused_total")
                         .Help("HTTP requests refused before their handler ran (no or bad "
                               "operator token, foreign Host or Origin, not JSON, too slow) "
                               "and connections closed at accept (too many from one address), "
                               "by reason.")
                         .Register(r)),
        sms_replies(BuildCounter()
                        .Name("firewatch_sms_replies_total")
                        .Help("SMS replies through the Twilio webhook, by result (refused: "
                              "from a number that was not paged for the incident).")
                        .Register(r)),
        pages(BuildCounter()
                  .Name("firewatch_pages_total")
                  .Help("Notification attempts, by channel and result (sent or failed).")
                  .Register(r)),
        store_write_errors(BuildCounter()
                               .Name("firewatch_store_write_errors_total")
                               .Help("Failed SQLite commit attempts and retention prunes.")
                               .Register(r)
                               .Add({})),
        store_committed(BuildCounter()
                            .Name("firewatch_store_batches_committed_total")
                            .Help("Write batches committed to SQLite.")
                            .Register(r)
                            .Add({})),
        store_dropped(BuildCounter()
                          .Name("firewatch_store_batches_dropped_total")
                          .Help("Write batches lost because their commit failed twice.")
                          .Register(r)
                          .Add({})),
        udp_datagrams(BuildCounter()
                          .Name("firewatch_udp_datagrams_received_total")
                          .Help("UDP datagrams read from the heartbeat socket, valid or not.")
                          .Register(r)
                          .Add({})),
        udp_kernel_drops(BuildCounter()
                             .Name("firewatch_udp_kernel_drops_total")
                             .Help("UDP datagrams the kernel dropped because the socket's "
                                   "receive buffer was full (SO_RXQ_OVFL).")
                             .Register(r)
                             .Add({})),
        store_queue_depth(BuildGauge()
                              .Name("firewatch_store_queue_depth")
                              .Help("Write batches queued for the SQLite writer, not yet "
                                    "committed or dropped.")
                              .Register(r)
                              .Add({})),
        store_rows_waiting(BuildGauge()
                               .Name("firewatch_store_rows_waiting")
                               .Help("Sources whose changed row the collector holds for the "
                                     "store: the last-seen rows of the period still to be "
                                     "written, in chunks, while the store has room.")
                               .Register(r)
                               .Add({})),
        forgotten(BuildCounter()
                      .Name("firewatch_sources_forgotten_total")
                      .Help("Sources removed from memory and the store, by how: operator "
                            "(DELETE /api/v1/sources/{id}), age (detection.forget_after), "
                            "peer (a peer collector's tombstone).")
                      .Register(r)),
        limit(BuildGauge()
                  .Name("firewatch_source_limit")
                  .Help("Configured limits on sources: max_sources, and "
                        "new_sources_per_key_per_minute (0 = none).")
                  .Register(r)),
        limit_reached(BuildGauge()
                          .Name("firewatch_source_limit_reached")
                          .Help("1 while a limit refuses new sources: max_sources (the tracker "
                                "is full), new_sources_per_key (some key was over its budget "
                                "in the last minute).")
                          .Register(r)) {
    for (const char* how : {"operator", "age", "peer"}) {
      forgotten_by.push_back(&forgotten.Add({{"how", how}}));
    }
    limit_max_sources = &limit.Add({{"limit", "max_sources"}});
    limit_per_key = &limit.Add({{"limit", "new_sources_per_key_per_minute"}});
    reached_max_sources = &limit_reached.Add({{"limit", "max_sources"}});
    reached_per_key = &limit_reached.Add({{"limit", "new_sources_per_key"}});
    for (Transport t : kTransports) {
      const std::string transport(TransportName(t));
      accepted[Index(t)] = &heartbeats.Add({{"transport", transport}});
      for (int i = 0; i < protocol::kRejectReasonCount; ++i) {
        const auto reason = static_cast<protocol::RejectReason>(i);
        rejected_by[i][Index(t)] = &rejected.Add(
            {{"reason", std::string(protocol::RejectReasonName(reason))}, {"transport", transport}});
      }
    }
    for (int s = 0; s < kSourceStateCount; ++s) {
      const std::string state(SourceStateName(static_cast<SourceState>(s)));
      transitions_to[s] = &transitions.Add({{"to", state}});
      sources_by_state[s] = &sources.Add({{"state", state}});
    }
  }

  // A channel's firewatch_page_delivery_seconds series (created on first use).
  Histogram& DeliveryHistogram(const std::string& channel) FW_REQUIRES(render_mu);
  // The alerting families, registered on first use.
  void RegisterAlertingFamilies(prometheus::Registry& registry) FW_REQUIRES(render_mu);

  void EnablePerSource(prometheus::Registry& r) FW_REQUIRES(render_mu) {
    source_up = &BuildGauge()
                     .Name("firewatch_source_up")
                     .Help("1 if the source is UP or LATE, 0 if DOWN or STOPPED.")
                     .Register(r);
    source_last_seen = &BuildGauge()
                            .Name("firewatch_source_last_seen_timestamp_seconds")
                            .Help("Unix time of the last accepted frame from the source.")
                            .Register(r);
    source_phi = &BuildGauge()
                      .Name("firewatch_source_phi")
                      .Help("Phi-accrual suspicion of the source now (0 when STOPPED).")
                      .Register(r);
    source_state = &BuildGauge()
                        .Name("firewatch_source_state")
                        .Help("1 for the source's current state, 0 for the others; dc is "
                              "its failure domain.")
                        .Register(r);
  }

  // Creates the source's firewatch_source_state series (one per state) for domain `dc`.
  void AddStateSeries(PerSourceState& p, const std::string& source, std::string dc)
      FW_REQUIRES(render_mu) {
    for (int s = 0; s < kSourceStateCount; ++s) {
      p.state[s] = &source_state->Add(
          {{"source", source},
           {"dc", dc},
           {"state", std::string(SourceStateName(static_cast<SourceState>(s)))}});
    }
    p.dc = std::move(dc);
  }

  void RemoveStateSeries(PerSourceState& p) FW_REQUIRES(render_mu) {
    for (Gauge* g : p.state) {
      if (g != nullptr) source_state->Remove(g);
    }
    p.state = {};
  }

  // Sets firewatch_dc_sources from per-domain counts (sorted by domain), folding domains
  // past kMaxDomains into kOtherDomain, and removes the series of vanished domains.
  void RefreshDomains(const std::vector<std::pair<std::string, StateCounts>>& by_domain)
      FW_REQUIRES(render_mu) {
    std::map<std::string, StateCounts> counts;
    for (const auto& [raw, c] : by_domain) {
      std::string dc = raw.empty() ? CollectorMetrics::kNoDomain : ValidUtf8(raw);
      if (counts.size() >= CollectorMetrics::kMaxDomains - 1 && !counts.contains(dc)) {
        dc = CollectorMetrics::kOtherDomain;
      }
      StateCounts& into = counts[dc];
      for (int s = 0; s < kSourceStateCount; ++s) into.by_state[s] += c.by_state[s];
      into.total += c.total;
    }
    ++domain_generation;
    for (const auto& [dc, c] : counts) {
      auto it = domains.find(dc);
      if (it == domains.end()) {
        DomainSeries series;
        for (int s = 0; s < kSourceStateCount; ++s) {
          series.by_state[s] = &dc_sources.Add(
              {{"dc", dc}, {"state", std::string(SourceStateName(static_cast<SourceState>(s)))}});
        }
        it = domains.emplace(dc, series).first;
      }
      it->second.generation = domain_generation;
      for (int s = 0; s < kSourceStateCount; ++s) {
        it->second.by_state[s]->Set(static_cast<double>(c.by_state[s]));
      }
    }
    for (auto it = domains.begin(); it != domains.end();) {
      if (it->second.generation == domain_generation) {
        ++it;
        continue;
      }
      for (Gauge* g : it->second.by_state) dc_sources.Remove(g);
      it = domains.erase(it);
    }
  }

  // Sets the per-source series from `snapshot` and removes those of vanished sources.
  void RefreshPerSource(const std::vector<SourceSnapshot>& snapshot) FW_REQUIRES(render_mu) {
    ++generation;
    for (const SourceSnapshot& s : snapshot) {
      // Keyed by the label value: ids that differ only in invalid bytes share a series
      // (prometheus-cpp hands out one Gauge per label set), and the last one wins.
      std::string source = ValidUtf8(s.source_id);
      auto it = per_source.find(source);
      if (it == per_source.end()) {
        const prometheus::Labels labels = {{"source", source}};
        it = per_source
                 .emplace(std::move(source), PerSource{&source_up->Add(labels),
                                                       &source_last_seen->Add(labels),
                                                       &source_phi->Add(labels), 0, {}})
                 .first;
      }
      PerSource& p = it->second;
      p.generation = generation;
      p.up->Set(s.state == SourceState::kUp || s.state == SourceState::kLate ? 1 : 0);
      p.last_seen->Set(static_cast<double>(s.last_seen_ms) / 1000.0);
      p.phi->Set(s.phi);
      std::string dc = DomainOf(s.labels);
      if (p.states.state[0] == nullptr || p.states.dc != dc) {  // new, or moved domain
        RemoveStateSeries(p.states);
        AddStateSeries(p.states, it->first, std::move(dc));
      }
      for (int st = 0; st < kSourceStateCount; ++st) {
        p.states.state[st]->Set(Index(s.state) == static_cast<size_t>(st) ? 1 : 0);
      }
    }
    for (auto it = per_source.begin(); it != per_source.end();) {
      if (it->second.generation == generation) {
        ++it;
        continue;
      }
      source_up->Remove(it->second.up);
      source_last_seen->Remove(it->second.last_seen);
      source_phi->Remove(it->second.phi);
      RemoveStateSeries(it->second.states);
      it = per_source.erase(it);
    }
  }

  Family<Gauge>& build_info;
  Family<Counter>& heartbeats;
  Family<Counter>& rejected;
  Family<Counter>& transitions;
  Family<Gauge>& sources;
  Gauge& checks_stale;
  Counter& check_output_truncated;
  Family<Gauge>& dc_sources;
  Family<Counter>& http;
  Family<Counter>& http_refused;
  Family<Counter>& sms_replies;
  Family<Counter>& pages;
  Counter& store_write_errors;
  Counter& store_committed;
  Counter& store_dropped;
  Counter& udp_datagrams;
  Counter& udp_kernel_drops;
  Gauge& store_queue_depth;
  Gauge& store_rows_waiting;
  Family<Counter>& forgotten;
  Family<Gauge>& limit;
  Family<Gauge>& limit_reached;
  std::vector<Counter*> forgotten_by;  // ForgetHow order
  Gauge* limit_max_sources = nullptr;
  Gauge* limit_per_key = nullptr;
  Gauge* reached_max_sources = nullptr;
  Gauge* reached_per_key = nullptr;
  uint64_t seen_udp_datagrams FW_GUARDED_BY(render_mu) = 0;
  uint64_t seen_udp_drops FW_GUARDED_BY(render_mu) = 0;

  // Hot-path series, resolved once.
  std::array<Counter*, kTransportCount> accepted{};
  std::array<std::array<Counter*, kTransportCount>, protocol::kRejectReasonCount> rejected_by{};
  std::array<Counter*, kSourceStateCount> transitions_to{};
  std::array<Gauge*, kSourceStateCount> sources_by_state{};

  // HttpRequest / PageWritten series, created on first use.
  Mutex cache_mu;
  std::map<std::string, std::unordered_map<int, Counter*>, std::less<>> http_by
      FW_GUARDED_BY(cache_mu);
  // [failed, sent]
  std::map<std::string, std::array<Counter*, 2>, std::less<>> pages_by FW_GUARDED_BY(cache_mu);
  std::map<std::string, Counter*, std::less<>> refused_by FW_GUARDED_BY(cache_mu);
  std::map<std::string, Counter*, std::less<>> sms_by FW_GUARDED_BY(cache_mu);

  // Alerting series (AlertingStats), registered on first use: a collector without
  // alerting exports none of them.
  Family<Counter>* notifications FW_GUARDED_BY(render_mu) = nullptr;
  Family<Histogram>* page_delivery FW_GUARDED_BY(render_mu) = nullptr;
  // by channel
  std::map<std::string, Histogram*, std::less<>> page_delivery_by FW_GUARDED_BY(render_mu);
  // Cluster families (registered by the first ClusterStats call).
  Family<Gauge>* peer_up FW_GUARDED_BY(render_mu) = nullptr;
  Family<Gauge>* peer_phi FW_GUARDED_BY(render_mu) = nullptr;
  Family<Gauge>* config_mismatch FW_GUARDED_BY(render_mu) = nullptr;
  Family<Gauge>* path_warnings FW_GUARDED_BY(render_mu) = nullptr;
  Family<Gauge>* isolated FW_GUARDED_BY(render_mu) = nullptr;
  Family<Gauge>* peer_path_warning FW_GUARDED_BY(render_mu) = nullptr;
  Family<Gauge>* sync_age FW_GUARDED_BY(render_mu) = nullptr;
  Family<Counter>* syncs FW_GUARDED_BY(render_mu) = nullptr;
  Family<Counter>* sync_rejected FW_GUARDED_BY(render_mu) = nullptr;
  Family<Counter>* sync_bytes FW_GUARDED_BY(render_mu) = nullptr;
  Family<Counter>* sync_seconds FW_GUARDED_BY(render_mu) = nullptr;
  // counter label key -> last mirrored total
  std::map<std::string, uint64_t> seen_cluster FW_GUARDED_BY(render_mu);
  Family<Gauge>* outbox_items FW_GUARDED_BY(render_mu) = nullptr;
  Family<Gauge>* incidents FW_GUARDED_BY(render_mu) = nullptr;
  struct ChannelSeries {
    std::array<Counter*, 4> counters{};  // delivered, retryable, permanent, interrupted
    std::array<uint64_t, 4> seen{};
  };
  std::map<std::string, ChannelSeries, std::less<>> notifications_by FW_GUARDED_BY(render_mu);
  std::map<std::string, Gauge*, std::less<>> outbox_by FW_GUARDED_BY(render_mu);
  std::map<std::string, Gauge*, std::less<>> incidents_by FW_GUARDED_BY(render_mu);
  // Silences and maintenance windows (SilenceStats, MaintenanceStats): what is held by
  // state and what was refused by origin, registered on first use.
  struct MuteSeries {
    Family<Gauge>* held = nullptr;
    Family<Counter>* refused = nullptr;
    std::map<std::string, Gauge*, std::less<>> held_by;
    std::map<std::string, std::pair<Counter*, uint64_t>, std::less<>> refused_by;
  };
  MuteSeries silences FW_GUARDED_BY(render_mu);
  MuteSeries maintenance FW_GUARDED_BY(render_mu);

  // Config reloads (ConfigLoaded, ConfigReload), registered by the constructor.
  Counter* reloads_success = nullptr;
  Counter* reloads_failure = nullptr;
  Gauge* reload_successful = nullptr;
  Gauge* reload_success_time = nullptr;

  // Render state.
  Mutex render_mu;
  Family<Gauge>* source_up FW_GUARDED_BY(render_mu) = nullptr;
  Family<Gauge>* source_last_seen FW_GUARDED_BY(render_mu) = nullptr;
  Family<Gauge>* source_phi FW_GUARDED_BY(render_mu) = nullptr;
  Family<Gauge>* source_state FW_GUARDED_BY(render_mu) = nullptr;
  struct PerSource {
    Gauge* up;
    Gauge* last_seen;
    Gauge* phi;
    uint64_t generation;
    PerSourceState states;
  };
  // by "source" label value
  std::unordered_map<std::string, PerSource> per_source FW_GUARDED_BY(render_mu);
  uint64_t generation FW_GUARDED_BY(render_mu) = 0;
  struct DomainSeries {
    std::array<Gauge*, kSourceStateCount> by_state{};
    uint64_t generation = 0;
  };
  // firewatch_dc_sources by dc
  std::map<std::string, DomainSeries, std::less<>> domains FW_GUARDED_BY(render_mu);
  uint64_t domain_generation FW_GUARDED_BY(render_mu) = 0;
  uint64_t seen_write_errors FW_GUARDED_BY(render_mu) = 0;
  uint64_t seen_committed FW_GUARDED_BY(render_mu) = 0;
  uint64_t seen_dropped FW_GUARDED_BY(render_mu) = 0;
  uint64_t seen_outputs_cut FW_GUARDED_BY(render_mu) = 0;
};

CollectorMetrics::CollectorMetrics(std::string collector_id, std::string version, bool per_source)
    : registry_(std::make_shared<prometheus::Registry>()),
      f_(std::make_unique<Families>(*registry_)),
      per_source_(per_source) {
  f_->build_info.Add({{"collector", std::move(collector_id)}, {"version", std::move(version)}})
      .Set(1);
  if (per_source_) {
    MutexLock lock(f_->render_mu);  // not shared yet; the analysis sees the rule kept
    f_->EnablePerSource(*registry_);
  }
  auto& reloads = BuildCounter()
                      .Name("firewatch_config_reloads_total")
                      .Help(
                          "Configuration reloads (SIGHUP), by result: failure means the file "
                          "(or a file it names) was refused and the running config kept.")
                      .Register(*registry_);
  f_->reloads_success = &reloads.Add({{"result", "success"}});
  f_->reloads_failure = &reloads.Add({{"result", "failure"}});
  f_->reload_successful = &BuildGauge()
                               .Name("firewatch_config_last_reload_successful")
                               .Help("1 when the last configuration load or reload succeeded.")
                               .Register(*registry_)
                               .Add({});
  f_->reload_success_time =
      &BuildGauge()
           .Name("firewatch_config_last_reload_success_timestamp_seconds")
           .Help("When the configuration in force was loaded (start or last good reload).")
           .Register(*registry_)
           .Add({});
}

void CollectorMetrics::ConfigLoaded(double unix_seconds) {
  f_->reload_successful->Set(1);
  f_->reload_success_time->Set(unix_seconds);
}

void CollectorMetrics::ConfigReload(bool ok, double unix_seconds) {
  (ok ? f_->reloads_success : f_->reloads_failure)->Increment();
  if (ok) {
    ConfigLoaded(unix_seconds);
  } else {
    f_->reload_successful->Set(0);
  }
}

CollectorMetrics::~CollectorMetrics() = default;

void CollectorMetrics::HeartbeatsAccepted(Transport t, uint64_t n) {
  if (Index(t) < kTransportCount) f_->accepted[Index(t)]->Increment(static_cast<double>(n));
}

void CollectorMetrics::FrameRejected(protocol::RejectReason r, Transport t) {
  const auto reason = static_cast<size_t>(r);
  if (reason < f_->rejected_by.size() && Index(t) < kTransportCount) {
    f_->rejected_by[reason][Index(t)]->Increment();
  }
}

void CollectorMetrics::Transition(SourceState to) {
  if (Index(to) < f_->transitions_to.size()) f_->transitions_to[Index(to)]->Increment();
}

void CollectorMetrics::SourcesForgotten(ForgetHow how, uint64_t n) {
  const auto i = static_cast<size_t>(how);
  if (i < f_->forgotten_by.size()) f_->forgotten_by[i]->Increment(static_cast<double>(n));
}

void CollectorMetrics::HttpRequest(const std::string& handler, int status) {
  Counter* c = nullptr;
  {
    MutexLock lock(f_->cache_mu);
    auto it = f_->http_by.find(handler);
    if (it == f_->http_by.end()) it = f_->http_by.emplace(handler, 4).first;
    Counter*& slot = it->second[status];
    if (slot == nullptr) {
      slot = &f_->http.Add({{"handler", ValidUtf8(handler)}, {"code", std::to_string(status)}});
    }
    c = slot;
  }
  c->Increment();
}

namespace {
// The series of `family` for {label=value}, cached in `cache` (the caller holds its lock).
Counter& CachedSeries(std::map<std::string, Counter*, std::less<>>& cache, Family<Counter>& family,
                      const char* label, const std::string& value) {
  Counter*& slot = cache[value];
  if (slot == nullptr) slot = &family.Add({{label, ValidUtf8(value)}});
  return *slot;
}
}  // namespace

void CollectorMetrics::HttpRefused(const std::string& reason, uint64_t n) {
  Counter* c = nullptr;
  {
    MutexLock lock(f_->cache_mu);
    c = &CachedSeries(f_->refused_by, f_->http_refused, "reason", reason);
  }
  if (n > 0) c->Increment(static_cast<double>(n));
}

void CollectorMetrics::SmsReply(const std::string& result, uint64_t n) {
  Counter* c = nullptr;
  {
    MutexLock lock(f_->cache_mu);
    c = &CachedSeries(f_->sms_by, f_->sms_replies, "result", result);
  }
  if (n > 0) c->Increment(static_cast<double>(n));
}

void CollectorMetrics::PageWritten(const std::string& channel, bool ok) {
  Counter* c = nullptr;
  {
    MutexLock lock(f_->cache_mu);
    auto it = f_->pages_by.find(channel);
    if (it == f_->pages_by.end()) {
      // Both results at once, so a failure rate is defined from the first page.
      const std::string label = ValidUtf8(channel);
      std::array<Counter*, 2> both = {&f_->pages.Add({{"channel", label}, {"result", "failed"}}),
                                      &f_->pages.Add({{"channel", label}, {"result", "sent"}})};
      it = f_->pages_by.emplace(channel, both).first;
    }
    c = it->second[ok ? 1 : 0];
  }
  c->Increment();
}

void CollectorMetrics::UdpStats(uint64_t datagrams, uint64_t kernel_drops) {
  MutexLock lock(f_->render_mu);
  Mirror(f_->udp_datagrams, datagrams, f_->seen_udp_datagrams);
  Mirror(f_->udp_kernel_drops, kernel_drops, f_->seen_udp_drops);
}

void CollectorMetrics::PageDelivered(const std::string& channel, double seconds) {
  MutexLock lock(f_->render_mu);
  f_->RegisterAlertingFamilies(*registry_);
  f_->DeliveryHistogram(channel).Observe(seconds < 0 ? 0 : seconds);
}

Histogram& CollectorMetrics::Families::DeliveryHistogram(const std::string& channel) {
  auto it = page_delivery_by.find(channel);
  if (it == page_delivery_by.end()) {
    Histogram* h = &page_delivery->Add({{"channel", ValidUtf8(channel)}}, DeliveryBuckets());
    it = page_delivery_by.emplace(channel, h).first;
  }
  return *it->second;
}

void CollectorMetrics::Families::RegisterAlertingFamilies(prometheus::Registry& registry) {
  if (notifications == nullptr) {
    notifications = &BuildCounter()
                         .Name("firewatch_notifications_total")
                         .Help(
                             "Outbox delivery attempts, by channel and result "
                             "(delivered, retryable, permanent, interrupted).")
                         .Register(registry);
    outbox_items = &BuildGauge()
                        .Name("firewatch_outbox_items")
                        .Help("Notifications in the outbox, by state.")
                        .Register(registry);
    incidents = &BuildGauge()
                     .Name("firewatch_incidents")
                     .Help("Incidents known to this collector, by state.")
                     .Register(registry);
    page_delivery = &BuildHistogram()
                         .Name("firewatch_page_delivery_seconds")
                         .Help(
                             "Time from an alert's start (the DOWN transition) to the "
                             "delivery of its incident's first page, by channel.")
                         .Register(registry);
  }
}

void CollectorMetrics::AlertingStats(
    const std::map<std::string, std::array<uint64_t, 4>>& notifications,
    const std::map<std::string, uint64_t>& outbox_items,
    const std::map<std::string, uint64_t>& incidents) {
  MutexLock lock(f_->render_mu);
  f_->RegisterAlertingFamilies(*registry_);
  static constexpr const char* kResults[] = {"delivered", "retryable", "permanent", "interrupted"};
  for (const auto& [channel, counts] : notifications) {
    auto it = f_->notifications_by.find(channel);
    if (it == f_->notifications_by.end()) {
      Families::ChannelSeries series;
      const std::string label = ValidUtf8(channel);
      for (size_t i = 0; i < series.counters.size(); ++i) {
        series.counters[i] = &f_->notifications->Add({{"channel", label}, {"result", kResults[i]}});
      }
      it = f_->notifications_by.emplace(channel, series).first;
    }
    for (size_t i = 0; i < counts.size(); ++i) {
      Mirror(*it->second.counters[i], counts[i], it->second.seen[i]);
    }
    (void)f_->DeliveryHistogram(channel);  // every channel's histogram exists from the start
  }
  auto set = [](Family<Gauge>& family, std::map<std::string, Gauge*, std::less<>>& cache,
                const std::map<std::string, uint64_t>& values) {
    for (const auto& [state, n] : values) {
      auto it = cache.find(state);
      if (it == cache.end()) {
        it = cache.emplace(state, &family.Add({{"state", ValidUtf8(state)}})).first;
      }
      it->second->Set(static_cast<double>(n));
    }
  };
  set(*f_->outbox_items, f_->outbox_by, outbox_items);
  set(*f_->incidents, f_->incidents_by, incidents);
}

namespace {
// Sets one muting piece's series (silences, maintenance windows); `m` is registered on
// first use under `name` and `name`_refused_total.
template <typename Series>
void SetMuteSeries(Series& m, prometheus::Registry& registry, const std::string& name,
                   const std::string& held_help, const std::string& refused_help,
                   const std::map<std::string, uint64_t>& held,
                   const std::map<std::string, uint64_t>& refused) {
  if (m.held == nullptr) {
    m.held = &BuildGauge().Name(name).Help(held_help).Register(registry);
    m.refused = &BuildCounter().Name(name + "_refused_total").Help(refused_help).Register(registry);
  }
  for (const auto& [state, n] : held) {
    auto it = m.held_by.find(state);
    if (it == m.held_by.end()) {
      it = m.held_by.emplace(state, &m.held->Add({{"state", ValidUtf8(state)}})).first;
    }
    it->second->Set(static_cast<double>(n));
  }
  for (const auto& [origin, n] : refused) {
    auto it = m.refused_by.find(origin);
    if (it == m.refused_by.end()) {
      Counter* c = &m.refused->Add({{"origin", ValidUtf8(origin)}});
      it = m.refused_by.emplace(origin, std::make_pair(c, uint64_t{0})).first;
    }
    Mirror(*it->second.first, n, it->second.second);
  }
}
}  // namespace

void CollectorMetrics::SilenceStats(const std::map<std::string, uint64_t>& held,
                                    const std::map<std::string, uint64_t>& refused) {
  MutexLock lock(f_->render_mu);
  SetMuteSeries(f_->silences, *registry_, "firewatch_silences",
                "Silences held by this collector, by state (active, pending, expired).",
                "Silences refused: from a peer (failed validation or over a limit), or "
                "skipped from the store at start.",
                held, refused);
}

void CollectorMetrics::MaintenanceStats(const std::map<std::string, uint64_t>& held,
                                        const std::map<std::string, uint64_t>& refused) {
  MutexLock lock(f_->render_mu);
  SetMuteSeries(f_->maintenance, *registry_, "firewatch_maintenance_windows",
                "Maintenance windows held by this collector, by state (active, waiting "
                "between occurrences, pending, expired).",
                "Maintenance windows refused: from a peer (failed validation or over a "
                "limit), or skipped from the store at start.",
                held, refused);
}

void CollectorMetrics::ClusterStats(const std::vector<PeerNumbers>& collectors, bool isolated,
                                    bool alone, const std::map<std::string, uint64_t>& rejected) {
  MutexLock lock(f_->render_mu);
  if (f_->peer_up == nullptr) {
    f_->peer_up = &BuildGauge()
                       .Name("firewatch_cluster_peer_up")
                       .Help("1 when this collector judges the peer collector alive.")
                       .Register(*registry_);
    f_->peer_phi = &BuildGauge()
                        .Name("firewatch_cluster_peer_phi")
                        .Help("Phi-accrual suspicion of each peer collector.")
                        .Register(*registry_);
    f_->config_mismatch = &BuildGauge()
                               .Name("firewatch_cluster_config_mismatch")
                               .Help("1 when the peer's config digest differs from ours.")
                               .Register(*registry_);
    f_->path_warnings = &BuildGauge()
                             .Name("firewatch_cluster_path_warnings")
                             .Help("Sources other live collectors hear but this one (label "
                                   "collector) has DOWN.")
                             .Register(*registry_);
    f_->isolated = &BuildGauge()
                        .Name("firewatch_cluster_isolated")
                        .Help("1 when this collector is cut off from every peer and most "
                              "sources (mode=isolated), or from every peer (mode=alone).")
                        .Register(*registry_);
    f_->peer_path_warning = &BuildGauge()
                                 .Name("firewatch_cluster_peer_path_warning")
                                 .Help("1 when some live collectors reach the peer and others "
                                       "(this one or another) do not: a path problem, not paged.")
                                 .Register(*registry_);
    f_->sync_age = &BuildGauge()
                        .Name("firewatch_cluster_peer_sync_age_seconds")
                        .Help("Seconds since the last successful sync exchange with the peer "
                              "(absent until the first one).")
                        .Register(*registry_);
    f_->syncs = &BuildCounter()
                     .Name("firewatch_cluster_syncs_total")
                     .Help("Sync exchanges this collector started, by peer and result.")
                     .Register(*registry_);
    f_->sync_bytes = &BuildCounter()
                          .Name("firewatch_cluster_sync_bytes_total")
                          .Help(
                              "Sync bodies sent to and received from the peer (requests and "
                              "responses), bytes, by direction.")
                          .Register(*registry_);
    f_->sync_seconds = &BuildCounter()
                            .Name("firewatch_cluster_sync_exchange_seconds_total")
                            .Help(
                                "Time the sync exchanges this collector started with the "
                                "peer took, request sent to response applied (divide by "
                                "firewatch_cluster_syncs_total for the mean).")
                            .Register(*registry_);
    f_->sync_rejected = &BuildCounter()
                             .Name("firewatch_cluster_sync_rejected_total")
                             .Help("Sync requests or responses refused, by reason.")
                             .Register(*registry_);
  }
  for (const auto& c : collectors) {
    const std::string id = ValidUtf8(c.id);
    f_->path_warnings->Add({{"collector", id}}).Set(static_cast<double>(c.unheard_sources));
    if (c.self) continue;
    f_->peer_up->Add({{"peer", id}}).Set(c.up ? 1 : 0);
    f_->peer_phi->Add({{"peer", id}}).Set(c.phi);
    f_->config_mismatch->Add({{"peer", id}}).Set(c.config_mismatch ? 1 : 0);
    f_->peer_path_warning->Add({{"peer", id}}).Set(c.path_warning ? 1 : 0);
    if (c.last_sync_age_ms >= 0) {
      f_->sync_age->Add({{"peer", id}}).Set(static_cast<double>(c.last_sync_age_ms) / 1000.0);
    }
    Mirror(f_->syncs->Add({{"peer", id}, {"result", "ok"}}), c.syncs_ok,
           f_->seen_cluster["ok/" + id]);
    Mirror(f_->syncs->Add({{"peer", id}, {"result", "failed"}}), c.syncs_failed,
           f_->seen_cluster["failed/" + id]);
    Mirror(f_->sync_bytes->Add({{"peer", id}, {"direction", "sent"}}), c.sync_bytes_sent,
           f_->seen_cluster["bytes_sent/" + id]);
    Mirror(f_->sync_bytes->Add({{"peer", id}, {"direction", "received"}}), c.sync_bytes_received,
           f_->seen_cluster["bytes_received/" + id]);
    Mirror(f_->sync_seconds->Add({{"peer", id}}), c.sync_exchange_us,
           f_->seen_cluster["exchange_us/" + id], 1e-6);
  }
  f_->isolated->Add({{"mode", "isolated"}}).Set(isolated ? 1 : 0);
  f_->isolated->Add({{"mode", "alone"}}).Set(alone ? 1 : 0);
  for (const auto& [reason, n] : rejected) {
    Mirror(f_->sync_rejected->Add({{"reason", reason}}), n, f_->seen_cluster["rejected/" + reason]);
  }
}

std::string CollectorMetrics::Render(const Tracker& tracker, const Store* store) {
  MutexLock lock(f_->render_mu);
  std::array<uint64_t, kSourceStateCount> counts{};
  uint64_t checks_stale = 0;
  if (per_source_) {
    // One snapshot for all, so the aggregate, per-domain and per-source series agree.
    const std::vector<SourceSnapshot> snapshot = tracker.Snapshot();
    std::map<std::string, StateCounts> domains;
    for (const SourceSnapshot& s : snapshot) {
      if (Index(s.state) >= counts.size()) continue;
      ++counts[Index(s.state)];
      if (s.checks_stale) ++checks_stale;
      StateCounts& d = domains[DomainOf(s.labels)];
      ++d.by_state[Index(s.state)];
      ++d.total;
    }
    f_->RefreshPerSource(snapshot);
    f_->RefreshDomains({domains.begin(), domains.end()});
  } else {
    const auto by_domain = tracker.CountsBy(kDomainLabel);
    for (const auto& [dc, c] : by_domain) {
      for (size_t i = 0; i < counts.size(); ++i) counts[i] += c.by_state[i];
      checks_stale += c.checks_stale;
    }
    f_->RefreshDomains(by_domain);
  }
  for (size_t i = 0; i < counts.size(); ++i) {
    f_->sources_by_state[i]->Set(static_cast<double>(counts[i]));
  }
  f_->checks_stale.Set(static_cast<double>(checks_stale));
  const LimitStatus limits = tracker.Limits();
  f_->limit_max_sources->Set(static_cast<double>(limits.max_sources));
  f_->limit_per_key->Set(static_cast<double>(limits.new_sources_per_key_per_minute));
  f_->reached_max_sources->Set(limits.at_capacity ? 1 : 0);
  f_->reached_per_key->Set(limits.rate_limited_keys.empty() ? 0 : 1);
  Mirror(f_->check_output_truncated, limits.check_outputs_cut, f_->seen_outputs_cut);
  if (store != nullptr) {
    Mirror(f_->store_write_errors, store->write_errors(), f_->seen_write_errors);
    Mirror(f_->store_committed, store->batches_committed(), f_->seen_committed);
    Mirror(f_->store_dropped, store->batches_dropped(), f_->seen_dropped);
    f_->store_queue_depth.Set(static_cast<double>(store->queue_depth()));
    f_->store_rows_waiting.Set(static_cast<double>(tracker.dirty_count()));
  }
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace firewatch::collector
