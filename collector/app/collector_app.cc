#include "app/collector_app.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <mutex>
#include <set>
#include <unordered_map>

#include "app/ack_links.h"
#include "app/alerts.h"
#include "app/incident_api.h"
#include "app/local_pager.h"
#include "app/operators.h"
#include "app/transition_log.h"
#include "app/twilio_inbound.h"
#include "checks/ping_api.h"
#include "cluster/cluster.h"
#include "domain/domain_watch.h"
#include "engine/engine.h"
#include "firewatch/crash_point.h"
#include "firewatch/net/loop_mailbox.h"
#include "firewatch/net/sd_watchdog.h"
#include "firewatch/net/uv_handle.h"
#include "firewatch/sd_notify.h"
#include "firewatch/sync/mutex.h"
#include "http/api.h"
#include "http/http_server.h"
#include "ingest/ingestor.h"
#include "ingest/udp_drop_report.h"
#include "ingest/udp_receiver.h"
#include "metrics/collector_metrics.h"
#include "route/replicated_maintenance.h"
#include "route/replicated_silences.h"
#include "store/store.h"
#include "tracker/tracker.h"
#include "watch/watch.h"

#ifndef FIREWATCH_VERSION
#define FIREWATCH_VERSION "0.0.0"
#endif

namespace firewatch::collector {

namespace {
uint64_t Millis(Duration d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}
// Standalone: a DOWN -> DOWN transition (a check's failure report made or withdrawn,
// tracker/deadline.h) matters only to the cluster merge; the DOWN was paged already.
bool IsRepeat(const Transition& t) {
  return !t.new_source && t.from == t.to;
}
std::vector<Transition> WithoutRepeats(const std::vector<Transition>& ts) {
  std::vector<Transition> out;
  for (const auto& t : ts) {
    if (!IsRepeat(t)) out.push_back(t);
  }
  return out;
}
}  // namespace

// How long an HTTP worker waits for the event loop to take its work (a heartbeat, a
// forget). The loop answers in microseconds; this bounds a stuck or stopping one.
constexpr std::chrono::milliseconds kLoopCallTimeout{2000};

struct CollectorApp::Impl {
  Impl(CollectorConfig c, std::string path, const Clock& clk)
      : config(std::move(c)), config_path(std::move(path)), clock(clk) {}

  CollectorConfig config;
  std::string config_path;
  const Clock& clock;
  uv_loop_t loop{};
  bool loop_open = false;
  net::UvTimer evaluate_timer;
  net::UvTimer flush_timer;
  net::UvTimer last_seen_timer;
  net::UvTimer last_seen_more;  // one-shot: the next chunk of a period's changes
  net::UvSignal sigterm, sigint, sighup;
  net::UvAsync stop_async;
  // The loop owns the tracker's transitions: HTTP workers and sync threads that feed or
  // change the tracker (heartbeats over HTTP, forgetting) hand their work over here, so
  // transitions are made, paged and written on this thread only, in one order.
  net::LoopMailbox mailbox;
  // systemd's watchdog (WatchdogSec= in deploy/systemd/), fed from this loop while it runs.
  net::SdWatchdog sd_watchdog;
  std::atomic<bool> ready{false};
  bool started = false;   // every loop handle below is initialized
  bool stopping = false;  // BeginStop ran (handles closing)
  // Loop thread only. Sources taken out of the tracker (TakeDirty, Forget*) have their
  // store write or deletion queued on this thread before anything else runs here, so the
  // store sees them in the tracker's order without a lock.
  MonoTime last_forget_sweep{};
  bool swept_once = false;
  bool cap_reported = false;
  std::set<std::string> rate_reported;
  // A line per transition, up to 100 a second, then a summary (app/transition_log.h).
  TransitionLog transition_log{clock, TransitionLog::Kind::kLocal};
  TransitionLog verdict_log{clock, TransitionLog::Kind::kClusterVerdict};

  std::unique_ptr<Store> store;
  std::unique_ptr<Tracker> tracker;
  std::unique_ptr<CollectorMetrics> metrics;
  std::unique_ptr<LocalPager> pager;
  std::unique_ptr<Ingestor> ingestor;
  std::unique_ptr<PingApi> pings;  // /ping/... (checks/ping_api.h)
  std::unique_ptr<UdpReceiver> udp;
  // A warning when the kernel drops heartbeats for a full receive buffer (at most one a
  // minute; ingest/udp_drop_report.h).
  std::unique_ptr<UdpDropReport> udp_drops;
  std::unique_ptr<HttpServer> http;
  std::unique_ptr<alerting::AlertingEngine> alerting;  // null unless channels are configured
  std::unique_ptr<Cluster> cluster;                    // null unless `cluster:` is configured
  std::shared_ptr<AckLinks> ack_links;                 // null unless alerting is configured
  std::unique_ptr<Watch> watch;  // watchdogs and probes; stopped before what it feeds goes
  std::unique_ptr<DomainWatch> domains;  // DomainDown (docs/domains.md); null without alerting
  ApiContext api;
  // The config in force, for GET /api/v1/status and /api/v1/collectors (HTTP workers
  // read it; Reload writes it).
  Mutex config_info_mu;
  ConfigInfo config_info FW_GUARDED_BY(config_info_mu);
  ConfigInfo ConfigNow() FW_EXCLUDES(config_info_mu) {
    MutexLock lock(config_info_mu);
    return config_info;
  }

  // Every alert the collector raises goes here: to the alerting engine (paging) when
  // configured, and to Alertmanager as well with `alertmanager_post:` (watch/watch.h).
  void Raise(alerting::Alert a) {
    std::vector<alerting::Alert> one;
    one.push_back(std::move(a));
    Raise(std::move(one));
  }
  // Several, in order, handed to the engine at once (a DOWN storm: one lock, one wake-up).
  void Raise(std::vector<alerting::Alert> alerts) {
    if (watch) {
      for (const auto& a : alerts) watch->Observe(a);
    }
    if (alerting) alerting->Submit(std::move(alerts));
  }

  // Pages on verdicts: the tracker's own transitions when standalone, the cluster's
  // merged ones otherwise (docs/cluster.md).
  void Page(const std::vector<Transition>& verdicts) {
    if (verdicts.empty()) return;
    // DomainDown before the hosts' own alerts, so the inhibitor holds it when they arrive
    // (docs/domains.md); mirrored to Alertmanager like every alert.
    if (alerting && domains) {
      for (auto& a : domains->Observe(verdicts)) Raise(std::move(a));
    }
    pager->Notify(verdicts, metrics.get());
    std::vector<alerting::Alert> alerts;
    for (const auto& t : verdicts) {
      if (auto a = AlertFor(t, config.alerting.external_url)) alerts.push_back(std::move(*a));
    }
    Raise(std::move(alerts));
  }

  void ExportClusterMetrics() {
    const ClusterStatus st = cluster->view().Snapshot(0);
    std::vector<CollectorMetrics::PeerNumbers> peers;
    for (const auto& c : st.collectors) {
      peers.push_back({c.member.id, c.self, c.state == PeerState::kUp, c.phi, !c.config_matches,
                       c.unheard_sources, c.syncs_ok, c.syncs_failed, !c.unreachable_from.empty(),
                       c.last_sync_age_ms, c.sync_bytes_sent, c.sync_bytes_received,
                       c.sync_exchange_us});
    }
    std::map<std::string, uint64_t> rejected;
    const auto counts = cluster->rejects();
    for (int i = 0; i < kSyncRejectCount; ++i) {
      rejected[std::string(SyncRejectName(static_cast<SyncReject>(i)))] = counts[i];
    }
    metrics->ClusterStats(peers, st.isolated, st.alone, rejected);
  }

  void TickCluster() {
    if (!cluster) return;
    auto out = cluster->view().Tick();
    verdict_log.Log(out.merged);
    Page(out.merged);
    for (auto& a : out.alerts) {
      spdlog::warn("cluster alert {} {}: {}", a.labels["alertname"],
                   a.status == alerting::AlertStatus::kFiring ? "firing" : "resolved",
                   a.annotations["summary"]);
      Raise(std::move(a));
    }
  }

  // Every forget (loop thread): `remove` takes the sources out of the tracker, then the
  // store deletes them, the cluster keeps a tombstone for peers, their pages resolve
  // (SourceDown and failing checks), and it is counted and logged. `at_ms(id)` is when
  // each was forgotten (for the cluster's tombstones). The store's deletion is queued
  // before anything else runs on the loop, so a flush cannot write a forgotten source
  // back.
  template <typename Remove, typename At>
  void Forget(const Remove& remove, CollectorMetrics::ForgetHow how, const std::string& why,
              const At& at_ms) {
    std::vector<SourceSnapshot> gone;
    gone = remove();
    if (gone.empty()) return;
    {
      std::vector<std::string> ids;
      for (const SourceSnapshot& s : gone) ids.push_back(s.source_id);
      store->Forget(std::move(ids));
    }
    std::vector<Transition> resolve;
    const int64_t now_ms = ToUnixMillis(clock.WallNow());
    if (cluster) {
      std::vector<ClusterView::Tombstone> tombstones;
      for (const SourceSnapshot& s : gone) tombstones.push_back({s.source_id, at_ms(s.source_id)});
      resolve = cluster->view().Forget(tombstones, why);
    }
    for (const SourceSnapshot& s : gone) {
      if (!cluster && s.state == SourceState::kDown) {
        resolve.push_back(Transition{s.source_id, s.labels, SourceState::kDown,
                                     SourceState::kStopped, now_ms, "forgotten: " + why, false});
      }
      if (s.state != SourceState::kStopped) {
        // What the alerts say (a flapping check's held alert too), not the last report.
        for (const auto& check : AlertedChecks(s)) {
          CheckChange over{s.source_id, s.labels, check.name, check.state,
                           protocol::CheckState::kOk, "", now_ms};
          for (auto& a : AlertsFor(over, config.alerting.external_url)) Raise(std::move(a));
        }
      }
    }
    metrics->SourcesForgotten(how, gone.size());
    if (gone.size() == 1) {
      spdlog::info("source {} forgotten ({})", gone[0].source_id, why);
    } else {
      spdlog::info("{} sources forgotten ({}), among them {}", gone.size(), why, gone[0].source_id);
    }
    Page(resolve);
    if (domains) {
      std::vector<std::string> ids;
      for (const SourceSnapshot& s : gone) ids.push_back(s.source_id);
      for (auto& a : domains->Forget(ids, now_ms)) alerting->Submit(std::move(a));
    }
  }

  // DELETE /api/v1/sources/{id} (handed to the loop by an HTTP worker), by the token's
  // operator `who`.
  bool ForgetByOperator(const std::string& id, const std::string& who) {
    bool known = false;
    const int64_t now_ms = ToUnixMillis(clock.WallNow());
    Forget(
        [&] {
          std::vector<SourceSnapshot> gone;
          if (auto s = tracker->Forget(id)) gone.push_back(std::move(*s));
          known = !gone.empty();
          return gone;
        },
        CollectorMetrics::ForgetHow::kOperator,
        who.empty() ? std::string("by an operator") : "by operator " + who,
        [now_ms](const std::string&) { return now_ms; });
    return known;
  }

  // Peers' tombstones (handed to the loop by a sync thread or HTTP worker): forget here too, each
  // unless this collector heard the source since; all in one pass over the tracker.
  void ForgetForPeer(const std::vector<ClusterView::Tombstone>& tombstones) {
    std::vector<std::pair<std::string, int64_t>> since;
    std::unordered_map<std::string, int64_t> at;
    for (const auto& t : tombstones) {
      since.emplace_back(t.source, t.forgotten_at_ms);
      at[t.source] = t.forgotten_at_ms;
    }
    Forget([&] { return tracker->ForgetUnlessHeardSince(since); },
           CollectorMetrics::ForgetHow::kPeer, "by a peer collector",
           [&at](const std::string& id) { return at.at(id); });
  }

  // detection.forget_after, checked about once a minute from the flush timer.
  void ForgetSilent() {
    if (config.forget_after == Duration::zero()) return;
    const MonoTime now = clock.Now();
    if (swept_once && now - last_forget_sweep < std::chrono::minutes(1)) return;
    swept_once = true;
    last_forget_sweep = now;
    const int64_t now_ms = ToUnixMillis(clock.WallNow());
    Forget([&] { return tracker->ForgetSilentFor(config.forget_after); },
           CollectorMetrics::ForgetHow::kAge,
           "not heard for " + config::FormatDuration(config.forget_after) +
               " (detection.forget_after)",
           [now_ms](const std::string&) { return now_ms; });
  }

  // Tells the operator once per episode that a limit refuses new sources (the
  // per-frame refusals are counted, and logged only at debug level).
  void ReportLimits() {
    const LimitStatus st = tracker->Limits();
    if (st.at_capacity && !cap_reported) {
      spdlog::error("source cap reached: {} sources tracked (collector.max_sources {}); frames "
                    "from new sources are refused and counted as "
                    "firewatch_frames_rejected_total{{reason=\"source_limit\"}} until sources are "
                    "forgotten (firewatchctl forget, detection.forget_after) or the cap is raised",
                    st.tracked, st.max_sources);
    } else if (!st.at_capacity && cap_reported) {
      spdlog::info("below the source cap again: {} of {} sources", st.tracked, st.max_sources);
    }
    cap_reported = st.at_capacity;
    std::set<std::string> limited(st.rate_limited_keys.begin(), st.rate_limited_keys.end());
    for (const auto& key : limited) {
      if (!rate_reported.count(key)) {
        spdlog::error("key '{}' adds new sources faster than {} per minute "
                      "(collector.new_sources_per_key_per_minute): the excess is refused and "
                      "counted as firewatch_frames_rejected_total{{reason=\"new_source_rate\"}}",
                      key, st.new_sources_per_key_per_minute);
      }
    }
    rate_reported = std::move(limited);
  }

  // Persist, count and page a batch of transitions (loop thread: UDP batches, heartbeats
  // over HTTP handed over by the mailbox, the evaluate timer).
  void OnTransitions(std::vector<Transition> ts) {
    if (ts.empty()) return;
    for (const auto& t : ts) {
      if (!t.new_source && t.from != t.to) metrics->Transition(t.to);
    }
    transition_log.Log(ts);
    if (std::any_of(ts.begin(), ts.end(), [](const Transition& t) { return t.to == SourceState::kDown; })) {
      CrashPoint("transition");  // fault injection (tests): the DOWN is only in memory
    }
    if (domains && cluster) domains->Learn(ts);  // standalone: the verdicts are these
    if (cluster) {
      Page(cluster->view().OnLocal(ts));
    } else if (std::any_of(ts.begin(), ts.end(), IsRepeat)) {
      Page(WithoutRepeats(ts));
    } else {
      Page(ts);  // the usual case: no copy of a storm's 100,000 transitions
    }
    // At once: a transition and its source's row never wait for the last-seen batch
    // (docs/storage.md, "When rows are written").
    std::vector<std::string> ids;
    ids.reserve(ts.size());
    for (const auto& t : ts) ids.push_back(t.source_id);
    store->Write(tracker->SnapshotsOf(ids), std::move(ts));
  }

  // A check's alert state changed (it pages or resolves): its source's row, with the
  // checks, is written at once like a transition's. Waiting for the last-seen batch, a
  // kill -9 would restore the check as it was, and the restart would resolve the check's
  // page as recovered while the check still fails.
  void OnCheckChanges(const std::vector<CheckChange>& changes) {
    std::vector<std::string> ids;
    ids.reserve(changes.size());
    for (const auto& c : changes) ids.push_back(c.source_id);
    store->Write(tracker->SnapshotsOf(ids), {});
  }

  // Every collector.last_seen_every, and once at stop: what heartbeats changed since
  // (last-seen times, replay positions, reported checks), one row per source however
  // often it sent. A kill -9 loses at most this period of them (docs/storage.md). One chunk
  // of kLastSeenChunk rows at a time and only while the store has fewer than
  // kLastSeenQueue batches queued; the rest follows on later turns of the loop. At a
  // million sources a period's changes are a million rows: taken at once, the tracker's
  // lock would be held (and ingest stopped) for a million snapshots, and the snapshots
  // (~600 B each) would sit in the store's queue together. Chunked, the lock is held for
  // milliseconds and the queue holds a few chunks.
  static constexpr size_t kLastSeenChunk = 10'000;
  static constexpr uint64_t kLastSeenQueue = 2;
  uint64_t store_drops_seen = 0;  // Store::batches_dropped when last looked at
  void WriteLastSeen() {
    // Most rows go as progress (only the heartbeat columns, Tracker::TakeDirty): a whole
    // row lost in a dropped batch would stay lost. After a drop, every row is rewritten
    // whole.
    if (const uint64_t drops = store->batches_dropped(); drops != store_drops_seen) {
      store_drops_seen = drops;
      tracker->MarkAllDirty();
      spdlog::warn("store dropped a batch: rewriting all {} source rows whole", tracker->size());
    }
    if (store->queue_depth() < kLastSeenQueue) {
      auto dirty = tracker->TakeDirty(kLastSeenChunk);
      if (!dirty.empty()) store->Write(std::move(dirty));
    }
    if (tracker->dirty_count() == 0) return;
    // More to write: after the loop's pending I/O, or once the store has caught up.
    if (store->queue_depth() < kLastSeenQueue) {
      last_seen_more.Soon();
    } else {
      last_seen_more.Again(std::chrono::milliseconds(10));
    }
  }
  // A clean stop: everything, without waiting for the store between chunks.
  void WriteAllLastSeen() {
    for (auto dirty = tracker->TakeDirty(kLastSeenChunk); !dirty.empty();
         dirty = tracker->TakeDirty(kLastSeenChunk)) {
      store->Write(std::move(dirty));
    }
  }

  // After a burst of store writes (new sources, a DOWN storm, a period's last-seen rows
  // at a million sources) the snapshots queued for the store are freed, but glibc keeps
  // the pages: VmRSS would stay at the burst's high-water mark (~100 MB at a million
  // sources). Once the store's queue is empty again, at most every 10 s, the freed
  // pages go back to the kernel: ~12 ms at a million sources, ~1.5 ms when there is
  // nothing to return (docs/benchmarks.md, section 8).
  void ReturnFreedMemory() {
    const MonoTime now = clock.Now();
    const uint64_t committed = store->batches_committed();
    if (committed == committed_at_trim || store->queue_depth() != 0 ||
        now - last_trim < std::chrono::seconds(10)) {
      return;
    }
    committed_at_trim = committed;
    TrimHeap();
  }
  void TrimHeap() {
    last_trim = clock.Now();
#ifdef __GLIBC__
    malloc_trim(0);
#endif
  }
  uint64_t committed_at_trim = 0;
  MonoTime last_trim{};

  void Flush() {
    transition_log.Flush();
    verdict_log.Flush();
    if (udp) {
      const uint64_t datagrams = udp->datagrams();
      const uint64_t drops = udp->kernel_drops();
      metrics->UdpStats(datagrams, drops);
      if (udp_drops) udp_drops->Observe(datagrams, drops);
    }
    ReturnFreedMemory();
    if (cluster) ExportClusterMetrics();
    if (alerting) {
      const alerting::EngineStats s = alerting->Stats();
      metrics->AlertingStats(s.notifications, s.outbox_depth, s.incidents);
      metrics->SilenceStats(s.silences, s.silences_refused);
      metrics->MaintenanceStats(s.maintenance, s.maintenance_refused);
    }
    ForgetSilent();
    ReportLimits();
  }

  // SIGHUP (loop thread): all or nothing. Everything the new config depends on is read
  // and checked first (the file, key files, operators file, ack keys, channel secret
  // files); only then is any of it applied. The alerting engine takes its part on its
  // own thread (AlertingEngine::Reload) before the rest, as it is the one step that can
  // still be refused (the engine stopping). docs/configuration.md, "Reload".
  void Reload() {
    if (config_path.empty()) {
      spdlog::info("SIGHUP: running on embedded defaults, nothing to reload");
      return;
    }
    const int64_t now_ms = ToUnixMillis(clock.WallNow());
    auto refuse = [&](const std::string& why) {
      spdlog::error("SIGHUP: config not reloaded, keeping the running one:\n{}", why);
      metrics->ConfigReload(false, static_cast<double>(now_ms) / 1000.0);
      MutexLock lock(config_info_mu);
      config_info.last_reload_ok = false;
    };
    auto next = LoadCollectorConfig(config_path);
    if (!next.ok()) return refuse(next.status().message());
    auto keys = LoadKeys(*next);
    if (!keys.ok()) return refuse(keys.status().message());
    auto operators = LoadOperators(next->api);
    if (!operators.ok()) return refuse(operators.status().message());
    std::shared_ptr<const AckLinkSigner> signer;
    if (ack_links) {
      auto made = MakeAckLinkSigner(*next, **keys);
      if (!made.ok()) return refuse(made.status().message());
      signer = *made;
    }
    if (alerting && next->alerting.enabled) {
      auto changes = alerting->Reload(next->alerting);
      if (!changes.ok()) return refuse(changes.status().message());
      for (const auto& line : *changes) {
        if (line.rfind("needs a restart", 0) == 0) {
          spdlog::warn("SIGHUP: alerting: {} (the running value stays until then)", line);
        } else {
          spdlog::info("SIGHUP: alerting: {}", line);
        }
      }
    } else if (next->alerting.enabled != config.alerting.enabled) {
      spdlog::warn(
          "SIGHUP: alerting: needs a restart: channels (alerting turned {} in the "
          "file; until the restart it stays {})",
          next->alerting.enabled ? "on" : "off", config.alerting.enabled ? "on" : "off");
    }
    if (DomainConfigText(next->domains) != DomainConfigText(config.domains)) {
      spdlog::warn("SIGHUP: domains: needs a restart (the running settings stay until then)");
    }
    for (const auto& key : ClusterRestartOnlyChanges(config.cluster, next->cluster)) {
      spdlog::warn("SIGHUP: cluster: needs a restart: {} (the running value stays until then)",
                   key);
    }
    for (const auto& key : WatchRestartOnlyChanges(config.watch, next->watch)) {
      spdlog::warn("SIGHUP: {}: needs a restart (the running value stays until then)", key);
    }
    if (cluster) cluster->view().SetConfigDigest(next->cluster.digest);
    if (next->http_listen.ToString() != config.http_listen.ToString() ||
        next->udp_listen.ToString() != config.udp_listen.ToString() ||
        next->data_dir != config.data_dir || next->id != config.id) {
      spdlog::warn("SIGHUP: listen addresses, data_dir and id change only on restart");
    }
    tracker->SetConfig(next->detection);
    tracker->SetLimits(next->limits);
    ingestor->SetKeys(*keys, BindingsOf(*next));
    tracker->SetDeadlines(DeadlineSourcesOf(next->checks));
    tracker->SetCheckAlerts(next->check_alerts);
    pings->SetChecks(next->checks);
    config.api = next->api;
    config.allowed_hosts = next->allowed_hosts;
    http->SetAccessPolicy(MakeAccessPolicy(config, *operators));
    spdlog::info("SIGHUP: {} operator token(s)", (*operators)->size());
    if (signer) {
      ack_links->Set(signer);
      config.alerting.ack_secret_file = next->alerting.ack_secret_file;
      config.alerting.ack_secret_previous_files = next->alerting.ack_secret_previous_files;
      spdlog::info("SIGHUP: ack link keys reloaded ({} previous key(s) still accepted)",
                   next->alerting.ack_secret_previous_files.size());
    }
    spdlog::set_level(spdlog::level::from_str(next->log_level));
    evaluate_timer.SetRepeat(std::chrono::milliseconds(Millis(next->evaluate_every)));
    config.detection = next->detection;
    config.keys = next->keys;
    config.limits = next->limits;
    config.forget_after = next->forget_after;
    config.evaluate_every = next->evaluate_every;
    last_seen_timer.SetRepeat(std::chrono::milliseconds(Millis(next->last_seen_every)));
    config.last_seen_every = next->last_seen_every;
    metrics->ConfigReload(true, static_cast<double>(now_ms) / 1000.0);
    {
      MutexLock lock(config_info_mu);
      config_info.digest = next->cluster.digest;
      config_info.loaded_at_ms = now_ms;
      config_info.last_reload_ok = true;
      ++config_info.reloads;
    }
    spdlog::info("SIGHUP: configuration reloaded from {} (config digest {})", config_path,
                 next->cluster.digest.substr(0, 12));
  }

  void BeginStop() {
    if (stopping || !started) return;
    stopping = true;
    ready = false;
    (void)SdNotify("STOPPING=1");
    sd_watchdog.Close();
    if (udp) udp->Close();
    CloseHandles();
  }

  // Idempotent; the loop must turn once more to free them (Run, ~CollectorApp).
  void CloseHandles() {
    // Work handed over from now on is refused (HTTP answers 503): the final Flush in
    // Run() writes what the tracker holds.
    mailbox.Close();
    evaluate_timer.Close();
    flush_timer.Close();
    last_seen_timer.Close();
    last_seen_more.Close();
    sigterm.Close();
    sigint.Close();
    sighup.Close();
    stop_async.Close();
  }
};

// What the alerting engine is told at start (docs/outbox.md, "Restarts"): the alerts
// firing according to the restored state rebuild their groups; restored incidents whose
// alerts recovered while the collector was stopped resolve at once; restored ones do not
// escalate before a host that kept sending has had time to be heard UP again.
namespace {
alerting::StartupState StartupFor(const std::vector<SourceSnapshot>& sources,
                                  const CollectorConfig& c) {
  alerting::StartupState st;
  int64_t longest_interval_ms = 0;
  for (const auto& s : sources) {
    if (s.state == SourceState::kDown) {
      st.firing.push_back(FiringAlertFor(s, c.alerting.external_url));
      longest_interval_ms = std::max<int64_t>(longest_interval_ms, s.interval_ms);
    }
    if (s.state == SourceState::kStopped) continue;
    for (const auto& check : s.checks) {
      CheckChange now{s.source_id, s.labels, check.name, protocol::CheckState::kOk, check.state,
                      check.output, s.state_since_ms};
      for (auto& a : AlertsFor(now, c.alerting.external_url)) st.firing.push_back(std::move(a));
    }
  }
  // The tracker restored these alerts' state; cluster alerts (CollectorDown, ...) are
  // re-established by the cluster view within a few sync rounds.
  st.vouched_for = [](const alerting::Alert& a) {
    auto name = a.labels.find("alertname");
    // DomainDown: DomainWatch::Resume re-derived it from the same restored states.
    return name != a.labels.end() && (name->second == "SourceDown" ||
                                      name->second == "CheckFailing" ||
                                      name->second == "DomainDown");
  };
  if (c.cluster.enabled) {
    st.confirm_within = std::chrono::seconds(30) + 2 * (c.cluster.peer_timeout + c.cluster.alone_hold);
  }
  // A DOWN host that kept sending needs recovery_heartbeats good frames to be UP again.
  const int64_t recovery_ms =
      std::min<int64_t>(longest_interval_ms, 60'000) * (c.detection.recovery_heartbeats + 1);
  st.settle = std::chrono::milliseconds(recovery_ms) + std::chrono::seconds(2);
  if (c.cluster.enabled) st.settle += c.cluster.peer_timeout;
  return st;
}
}  // namespace

CollectorApp::CollectorApp(CollectorConfig config, std::string config_path, const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(config_path), clock)) {}

CollectorApp::~CollectorApp() {
  if (impl_->http) impl_->http->Stop();
  if (impl_->watch) impl_->watch->Stop();
  if (impl_->cluster) impl_->cluster->Stop();
  if (impl_->udp) impl_->udp->Close();
  impl_->BeginStop();
  if (impl_->loop_open) {
    impl_->CloseHandles();  // also when Start() failed half-way (BeginStop does nothing then)
    uv_run(&impl_->loop, UV_RUN_DEFAULT);
    uv_loop_close(&impl_->loop);
  }
}

Status CollectorApp::Start() {
  Impl& m = *impl_;
  const CollectorConfig& c = m.config;
  std::error_code ec;
  std::filesystem::create_directories(c.data_dir, ec);
  if (ec) return Status::IoError("cannot create data_dir " + c.data_dir + ": " + ec.message());
  spdlog::info("collector {}: state in {} (stop the collector and delete it to start over)", c.id,
               std::filesystem::absolute(c.data_dir).lexically_normal().string());

  auto keys = LoadKeys(c);
  if (!keys.ok()) return keys.status();
  auto operators = LoadOperators(c.api);
  if (!operators.ok()) return operators.status();
  if (c.alerting.enabled) {
    auto signer = MakeAckLinkSigner(c, **keys);
    if (!signer.ok()) return signer.status();
    m.ack_links = std::make_shared<AckLinks>(*signer);
  }
  auto store = Store::Open(c.DatabasePath());
  if (!store.ok()) return store.status();
  m.store = std::move(store).value();
  m.tracker = std::make_unique<Tracker>(m.clock, c.detection, c.limits);
  m.tracker->SetDeadlines(DeadlineSourcesOf(c.checks));  // before Restore (tracker.h)
  m.tracker->SetCheckAlerts(c.check_alerts);
  auto sources = m.store->LoadSources();
  if (!sources.ok()) return sources.status();
  size_t restored = sources->size();
  m.tracker->Restore(std::move(sources).value());
  RegisterOwnSources(c.watch, *m.tracker, m.clock);  // watchdogs, probes: known before heard
  spdlog::info("collector {} restored {} sources from {}", c.id, restored, c.DatabasePath());

  if (c.cluster.enabled) {
    m.cluster = std::make_unique<Cluster>(m.clock, c.cluster, c.id, c.alerting.external_url,
                                          c.detection.max_clock_skew);
    if (Status ks = m.cluster->LoadKeys(); !ks.ok()) return ks;
    m.cluster->view().RestoreLocal(m.tracker->Snapshot());
    // A peer's tombstone: forget here too, unless this collector heard the source since.
    m.cluster->SetForgetSink([&m](const std::vector<ClusterView::Tombstone>& forgotten) {
      // On the loop, like every change to the tracker; dropped when stopping (the
      // peer sends its tombstones again with its next full table).
      m.mailbox.Post([&m, forgotten] { m.ForgetForPeer(forgotten); });
    });
  }
  // Before the alerting engine: its senders report deliveries from their first send.
  m.metrics = std::make_unique<CollectorMetrics>(c.id, FIREWATCH_VERSION, c.per_source_metrics);
  if (c.alerting.enabled) {
    m.alerting = std::make_unique<alerting::AlertingEngine>(m.clock, c.alerting, c.data_dir, c.id);
    if (m.cluster) {
      m.alerting->SetPeerGate(&m.cluster->view());
      // Claims older than two claim timeouts have been taken over or delivered.
      m.alerting->set_log_window(m.cluster->view().config().claim_timeout * 2);
    }
    m.alerting->SetDeliveryObserver(
        [metrics = m.metrics.get(), &clock = m.clock](const std::string& channel,
                                                      const alerting::Notification& n) {
          if (auto seconds = FirstPageDelay(n, ToUnixMillis(clock.WallNow()))) {
            metrics->PageDelivered(channel, *seconds);
          }
        });
    std::vector<alerting::Alert> resumed;
    if (c.domains.enabled) {
      m.domains = std::make_unique<DomainWatch>(c.domains, c.alerting.external_url);
      m.domains->Seed(m.tracker->Snapshot(), /*with_states=*/!m.cluster);
      resumed = m.domains->Resume();  // a restart amid a domain outage keeps it inhibiting
      const auto& root = c.alerting.routing.route;
      for (const auto& route : root ? RoutesFasterThanWindow(c.domains, *root)
                                    : std::vector<std::string>{}) {
        spdlog::warn("domains: {} is shorter than domains.window ({}): a host's page there "
                     "can leave before its domain's DomainDown decision (docs/domains.md)",
                     route, config::FormatDuration(c.domains.window));
      }
    }
    alerting::StartupState startup = StartupFor(m.tracker->Snapshot(), c);
    for (auto& a : resumed) startup.firing.push_back(std::move(a));
    if (Status as = m.alerting->Start(std::move(startup)); !as.ok()) return as;
  }
  auto pager = LocalPager::Open(c.pages_file, c.id, /*echo=*/true);
  if (!pager.ok()) return pager.status();
  m.pager = std::move(pager).value();
  m.ingestor = std::make_unique<Ingestor>(
      m.clock, *keys, *m.tracker, *m.metrics,
      [&m](std::vector<Transition> ts) { m.OnTransitions(std::move(ts)); }, BindingsOf(c));
  m.ingestor->SetCheckSink([&m](std::vector<CheckChange> changes) {
    if (m.cluster) m.cluster->view().OnLocalChecks(changes);  // peers show them too
    m.OnCheckChanges(changes);
    for (const auto& change : changes) {
      spdlog::info("source {}: check {} {} -> {}", change.source_id, change.check,
                   protocol::CheckStateName(change.from), protocol::CheckStateName(change.to));
      for (auto& a : AlertsFor(change, m.config.alerting.external_url)) m.Raise(std::move(a));
    }
  });

  // Deliveries and probe results reach the tracker on the loop, like HTTP heartbeats.
  auto watch = Watch::Create(
      m.clock, c.watch, *m.tracker, m.metrics->registry(),
      [&m](std::vector<Transition> ts) { m.OnTransitions(std::move(ts)); },
      [&m](std::function<OwnSourceFeed::Outcome()> work) {
        return m.mailbox.Call<OwnSourceFeed::Outcome>(std::move(work), kLoopCallTimeout);
      });
  if (!watch.ok()) return watch.status();
  m.watch = std::move(watch).value();
  if (c.watch.alertmanager_post.enabled) {
    // What is DOWN or failing now is mirrored from the start, like the engine's groups.
    for (const auto& a : StartupFor(m.tracker->Snapshot(), c).firing) m.watch->Observe(a);
    if (m.domains) {
      for (const auto& a : m.domains->Firing()) m.watch->Observe(a);  // resumed ones
    }
  }

  if (uv_loop_init(&m.loop) != 0) return Status::IoError("uv_loop_init failed");
  m.loop_open = true;
  m.mailbox.Open(&m.loop);
  m.udp = std::make_unique<UdpReceiver>(
      &m.loop, [&m](std::span<const UdpReceiver::Datagram> batch) {
        m.ingestor->IngestDatagrams(batch);
      });
  const int buffer_bytes = c.udp_buffer_mib << 20;
  Status s = m.udp->Bind(c.udp_listen, buffer_bytes);
  if (!s.ok()) return s;
  if (m.udp->receive_buffer_bytes() < buffer_bytes) {
    spdlog::warn(
        "UDP receive buffer is {} KiB, not the {} MiB of collector.udp_buffer_mib: without "
        "CAP_NET_ADMIN the kernel caps it at net.core.rmem_max; raise that (sysctl -w "
        "net.core.rmem_max={}) or heartbeat bursts may be dropped",
        m.udp->receive_buffer_bytes() / 1024, c.udp_buffer_mib, buffer_bytes);
  }
  m.udp_drops = std::make_unique<UdpDropReport>(m.clock, m.udp->receive_buffer_bytes());

  HttpServerOptions opts;
  opts.listen = c.http_listen;
  opts.worker_threads = c.http_threads;
  opts.request_timeout_ms = static_cast<int>(Millis(c.http_header_timeout));
  opts.body_timeout_ms = static_cast<int>(Millis(c.http_body_timeout));
  opts.min_body_rate = static_cast<size_t>(c.http_min_body_rate);
  opts.max_connections_per_client = c.http_max_connections_per_client;
  m.http = std::make_unique<HttpServer>(opts);
  m.http->SetAccessPolicy(MakeAccessPolicy(c, *operators));
  m.api = ApiContext{c.id, FIREWATCH_VERSION, &m.clock, m.tracker.get(), m.store.get(),
                     m.metrics.get(), m.ingestor.get(), &m.ready, {}, {}, {}, {}, {}, {}};
  // Both on the loop (docs/architecture.md, "Threading model"); a loop that does not
  // answer within the timeout is busy or stopping: 503, the caller retries.
  m.api.forget = [&m](const std::string& id, const std::string& who) -> Result<bool> {
    return m.mailbox.Call<bool>([&m, id, who] { return m.ForgetByOperator(id, who); },
                                kLoopCallTimeout);
  };
  m.api.ingest = [&m](std::string frame, std::string peer) -> Result<IngestResult> {
    return m.mailbox.Call<IngestResult>(
        [&m, frame = std::move(frame), peer = std::move(peer)] {
          const auto* bytes = reinterpret_cast<const uint8_t*>(frame.data());
          return m.ingestor->Ingest(std::span<const uint8_t>(bytes, frame.size()), Transport::kHttp,
                                    peer);
        },
        kLoopCallTimeout);
  };
  {
    MutexLock lock(m.config_info_mu);  // no HTTP worker yet; the rule holds anyway
    m.config_info.digest = c.cluster.digest;
    m.config_info.loaded_at_ms = ToUnixMillis(m.clock.WallNow());
    m.metrics->ConfigLoaded(static_cast<double>(m.config_info.loaded_at_ms) / 1000.0);
  }
  m.api.config_info = [&m] { return m.ConfigNow(); };
  if (m.cluster) {
    m.api.peer_checks = [&m](const std::string& id) {
      std::vector<PeerCheckNote> notes;
      for (auto& r : m.cluster->view().PeerChecksFor(id)) {
        notes.push_back({r.collector, std::string(PeerStateName(r.collector_state)),
                         std::move(r.check.name), r.check.state, std::move(r.check.output)});
      }
      return notes;
    };
  }
  if (m.alerting) {
    // Windows live in the engine from Start() on (null before: nothing shown).
    m.api.maintenance = [&m](const SourceSnapshot& snap) -> std::vector<std::string> {
      const auto* windows = m.alerting->replicated_maintenance();
      if (windows == nullptr) return {};
      return windows->MutedBy(SourceAlertLabels(snap.source_id, snap.labels), m.clock.WallNow());
    };
  }
  if (m.cluster) {
    m.api.cluster_panel = [&m]() -> std::optional<ClusterPanel> {
      const ClusterStatus st = m.cluster->view().Snapshot(20);
      ClusterPanel panel;
      panel.isolated = st.isolated;
      panel.alone = st.alone;
      panel.path_warnings_total = st.path_warnings_total;
      for (const auto& peer : st.collectors) {
        std::string unreachable;
        for (const auto& u : peer.unreachable_from) unreachable += (unreachable.empty() ? "" : ", ") + u;
        panel.collectors.push_back({peer.member.id, peer.self,
                                    std::string(PeerStateName(peer.state)), peer.last_sync_age_ms,
                                    peer.config_matches, peer.unheard_sources, unreachable});
      }
      for (const auto& w : st.path_warnings) {
        std::string who;
        for (const auto& u : w.unheard_by) who += (who.empty() ? "" : ", ") + u;
        panel.path_warnings.emplace_back(w.source, who);
      }
      return panel;
    };
  }
  RegisterApi(*m.http, m.api);
  m.watch->Register(*m.http);
  m.pings = std::make_unique<PingApi>(
      m.clock, *m.tracker, [&m](std::vector<Transition> ts) { m.OnTransitions(std::move(ts)); },
      [&m](std::function<bool()> work) -> Result<bool> {
        return m.mailbox.Call<bool>(std::move(work), kLoopCallTimeout);
      });
  m.pings->SetPersist([&m](const std::string& id) { m.store->Write(m.tracker->SnapshotsOf({id}), {}); });
  m.pings->SetChecks(c.checks);
  m.pings->Register(*m.http);
  if (m.alerting) RegisterIncidentApi(*m.http, *m.alerting);
  if (m.alerting) RegisterAckLinks(*m.http, *m.alerting, m.ack_links, m.clock);
  if (m.alerting) RegisterTwilioInbound(*m.http, *m.alerting, c.alerting, m.metrics.get());
  if (m.cluster) {
    m.cluster->RegisterRoutes(*m.http);
  } else {
    RegisterStandaloneCollectors(*m.http, c.id, [&m] { return m.ConfigNow().digest; });
  }
  m.http->SetObserver(
      [&m](const std::string& route, int status) { m.metrics->HttpRequest(route, status); });
  for (int i = 0; i < kHttpRefusalCount; ++i) {
    m.metrics->HttpRefused(std::string(HttpRefusalName(static_cast<HttpRefusal>(i))), 0);
  }
  m.http->SetRefusalObserver(
      [&m](HttpRefusal r) { m.metrics->HttpRefused(std::string(HttpRefusalName(r))); });
  s = m.http->Start();
  if (!s.ok()) {
    m.udp->Close();
    return s;
  }

  m.evaluate_timer.Start(&m.loop, std::chrono::milliseconds(Millis(c.evaluate_every)),
                         std::chrono::milliseconds(Millis(c.evaluate_every)), [&m] {
                           m.OnTransitions(m.tracker->Evaluate());
                           m.TickCluster();
                         });
  m.flush_timer.Start(&m.loop, std::chrono::milliseconds(Millis(c.flush_every)),
                      std::chrono::milliseconds(Millis(c.flush_every)), [&m] { m.Flush(); });
  m.last_seen_timer.Start(&m.loop, std::chrono::milliseconds(Millis(c.last_seen_every)),
                          std::chrono::milliseconds(Millis(c.last_seen_every)),
                          [&m] { m.WriteLastSeen(); });
  m.last_seen_more.Init(&m.loop, [&m] { m.WriteLastSeen(); });
  auto on_stop_signal = [&m](int signum) {
    spdlog::info("received {}, stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    m.BeginStop();
  };
  m.sigterm.Start(&m.loop, SIGTERM, on_stop_signal);
  m.sigint.Start(&m.loop, SIGINT, on_stop_signal);
  m.sighup.Start(&m.loop, SIGHUP, [&m](int) { m.Reload(); });
  m.stop_async.Init(&m.loop, [&m] { m.BeginStop(); });

  if (m.cluster) {
    ReplicatedStates states;
    if (m.alerting) {
      states.incidents = &m.alerting->incident_replica();
      states.log = &m.alerting->log_replica();
      states.silences = m.alerting->replicated_silences();
      states.maintenance = m.alerting->replicated_maintenance();
    }
    m.cluster->Start(states);
    m.ExportClusterMetrics();  // the families exist from the first scrape
  }
  m.watch->Start();
  // The restore's snapshots (every stored row, ~1.4 GB at a million sources) are freed
  // by now: their pages go back to the kernel before the first heartbeat.
  m.TrimHeap();
  m.started = true;
  m.ready = true;
  spdlog::info("collector {} ready: http://{} (status page), heartbeats on udp {}", c.id,
               config::HostPort{c.http_listen.host, m.http->port()}.ToString(),
               config::HostPort{c.udp_listen.host, m.udp->port()}.ToString());
  // Type=notify units: started once both listeners are bound; WATCHDOG=1 from this loop.
  // Without $NOTIFY_SOCKET both do nothing.
  if (Status n = SdNotify("READY=1"); !n.ok()) spdlog::warn("{}", n.message());
  if (Status n = m.sd_watchdog.Start(&m.loop); !n.ok()) spdlog::warn("watchdog: {}", n.message());
  return Status::Ok();
}

int CollectorApp::Run() {
  Impl& m = *impl_;
  m.mailbox.AdoptThisThread();  // Run() may be called on another thread than Start()
  uv_run(&m.loop, UV_RUN_DEFAULT);
  m.ready = false;
  m.http->Stop();
  m.watch->Stop();
  if (m.cluster) m.cluster->Stop();
  m.Flush();
  m.WriteAllLastSeen();
  if (m.alerting) m.alerting->Stop();
  Status s = m.store->Sync();
  if (!s.ok()) {
    spdlog::error("final write to the store failed: {}", s.message());
    return 1;
  }
  int rc = uv_loop_close(&m.loop);
  m.loop_open = rc != 0;
  if (rc != 0) spdlog::warn("event loop closed with open handles: {}", uv_strerror(rc));
  spdlog::info("collector stopped");
  return 0;
}

void CollectorApp::Stop() {
  impl_->stop_async.Send();
}

uint16_t CollectorApp::http_port() const { return impl_->http ? impl_->http->port() : 0; }
uint16_t CollectorApp::udp_port() const { return impl_->udp ? impl_->udp->port() : 0; }

}  // namespace firewatch::collector
