// The collector's side of the cluster at runtime (docs/cluster.md): one sync thread per
// peer (push-pull every sync_interval over authenticated HTTP, so a slow or dead peer
// never delays the others), the `POST /api/v1/cluster/sync` endpoint answering peers'
// pushes with our own payload, and `GET /api/v1/collectors`. The verdicts live in
// ClusterView; this class moves bytes and hands what arrives to the view and to the
// replicated pieces of state (ReplicatedStates: incidents and acks, the notification log,
// silences), which it knows only through alerting/model/replicated.h.
//
// Replay (docs/cluster.md, "Replay"): every payload carries the sender's (boot, seq),
// seq rising with every payload it builds. A request is applied only when it is newer
// than the last request accepted from that peer: same boot and a higher seq, or another
// boot and a later timestamp; requests stamped before this collector started are
// refused too (nothing is known about what came before). Anything else is refused with
// 401 and counted as "replayed", before it reaches the view: a replayed request cannot
// make a dead peer look alive nor roll its state back. A response is signed over the
// request it answers (payload.h), so an old response never verifies.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster_view.h"
#include "cluster/replica_deltas.h"
#include "firewatch/crypto/hmac_sha256.h"
#include "firewatch/log.h"
#include "firewatch/sync/mutex.h"
#include "model/replicated.h"
#include "route/maintenance.h"
#include "route/silence.h"

namespace firewatch::alerting::route {
using PeerSilences = PeerItems<Silence>;
using PeerWindows = PeerItems<MaintenanceWindow>;
}  // namespace firewatch::alerting::route

namespace firewatch::collector {

class HttpServer;

// The pieces of state the cluster replicates besides source verdicts (each owns its data
// and persistence; model/replicated.h). Null members are not replicated (a collector
// without paging sends empty lists and ignores what it receives).
struct ReplicatedStates {
  alerting::Replicated<std::vector<alerting::PeerIncident>>* incidents = nullptr;
  alerting::Replicated<std::vector<alerting::LogEntry>>* log = nullptr;
  alerting::Replicated<alerting::route::PeerSilences>* silences = nullptr;
  alerting::Replicated<alerting::route::PeerWindows>* maintenance = nullptr;
};

// Why a sync request (or a peer's response) was refused; names are metric labels.
// kReplayed: an authentic request that is not newer than the last one accepted from that
// peer (same boot and a sequence number not above it, or another boot stamped no later),
// or stamped before this collector started (see Cluster).
enum class SyncReject : uint8_t {
  kUnknownPeer, kBadSignature, kStale, kMalformed, kTooLarge, kReplayed
};
inline constexpr int kSyncRejectCount = 6;
std::string_view SyncRejectName(SyncReject r);

class Cluster {
 public:
  Cluster(const Clock& clock, ClusterConfig config, std::string self_id, std::string external_url,
          Duration max_clock_skew);
  ~Cluster();  // Stop()

  // Reads every member's key file; fails naming the file.
  Status LoadKeys();
  // Where peers' tombstones go (before Start): called on a sync thread or HTTP worker,
  // outside the view's lock, once per payload that carries any, with each source and
  // when it was forgotten (this collector's clock). The app forgets each source unless
  // it heard it since (docs/cluster.md, "Forgetting").
  using ForgetSink = std::function<void(const std::vector<ClusterView::Tombstone>& forgotten)>;
  void SetForgetSink(ForgetSink sink) { on_forgotten_ = std::move(sink); }
  // Starts the sync threads. `states` must outlive Stop().
  void Start(ReplicatedStates states);
  void Stop();

  // Registers POST /api/v1/cluster/sync and GET /api/v1/collectors (before Start of the
  // HTTP server).
  void RegisterRoutes(HttpServer& http);

  ClusterView& view() { return view_; }
  // Rejected sync requests/responses by reason (SyncReject order).
  std::array<uint64_t, kSyncRejectCount> rejects() const;

  // The body of GET /api/v1/collectors.
  std::string CollectorsJson() const;

 private:
  struct PeerLink {
    const ClusterMember* member = nullptr;
    crypto::HmacKey key;  // signs and verifies
  };
  // Verifies with the pair's key, then with each of cluster.accept_key_files.
  bool Verify(const PeerLink& link, const std::string& peer, int64_t ts, std::string_view body,
              std::string_view sig, std::string_view answers) const;
  // The newest request accepted from a peer.
  struct Newest {
    std::string boot;
    uint64_t seq = 0;
    int64_t ts_ms = 0;
  };
  void SyncLoop(const std::string& peer);
  // One exchange with `peer`, timed (CountExchange; a line when slower than the interval).
  void SyncOnce(const std::string& peer);
  struct ExchangeTimes {
    MonoTime built, answered;                    // request encoded; response (or failure) back
    size_t sent = 0, received = 0, entries = 0;  // bytes each way; source entries sent
  };
  void Exchange(const std::string& peer, ExchangeTimes& t);
  // Our payload for `peer`: the view's part and each replicated state's export.
  SyncPayload Build(const std::string& peer, SyncRole role);
  // Applies a verified payload to the view, then merges each part into its state. A
  // piece sent as a delta is first replaced by the whole list it makes of our copy.
  Status Absorb(SyncPayload& p);
  // Checks the three auth headers; returns the reason on failure. `answers` is the
  // signature of our request when checking its response (empty for a request);
  // `ts_out` receives the verified timestamp.
  std::optional<SyncReject> Authenticate(const std::string* peer, const std::string* ts,
                                         const std::string* sig, const std::string& body,
                                         const std::string& expected_peer, std::string_view answers,
                                         std::string& peer_out, int64_t& ts_out) const;
  // The replay rule above for an authenticated request from `peer`; records it as the
  // newest when it passes.
  std::optional<SyncReject> CheckNewer(const std::string& peer, const SyncPayload& p, int64_t ts_ms);
  void Reject(SyncReject r, const std::string& who, const std::string& detail);

  const Clock& clock_;
  ClusterView view_;
  const Duration max_skew_;
  std::string boot_;
  std::atomic<uint64_t> seq_{0};
  std::map<std::string, PeerLink> links_;  // by peer id; the pair's key signs both ways
  std::vector<crypto::HmacKey> accepted_;  // cluster.accept_key_files
  const int64_t started_ms_;               // wall clock at construction
  Mutex newest_mu_;
  std::map<std::string, Newest> newest_ FW_GUARDED_BY(newest_mu_);  // by peer id
  ReplicatedStates states_;
  ForgetSink on_forgotten_;

  // Incidents, log, silences and windows as versioned deltas.
  ReplicaDeltas deltas_;

  Mutex mu_;
  CondVar wake_;
  bool stopping_ FW_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
  std::array<std::atomic<uint64_t>, kSyncRejectCount> rejects_{};
  mutable RateLimiter log_limit_;
};

// GET /api/v1/collectors for a collector without a `cluster:` section: itself only.
// `config_digest` is asked at each request (it changes on reload); thread-safe.
void RegisterStandaloneCollectors(HttpServer& http, const std::string& self_id,
                                  std::function<std::string()> config_digest);

}  // namespace firewatch::collector
