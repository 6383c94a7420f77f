// The collector's side of the cluster at runtime (docs/cluster.md): one sync thread per
// peer (push-pull every sync_interval over authenticated HTTP, so a slow or dead peer
// never delays the others), the `POST /api/v1/cluster/sync` endpoint answering peers'
// pushes with our own payload, and `GET /api/v1/collectors`. The verdicts live in
// ClusterView; this class moves bytes and applies what arrives to the view and to the
// alerting engine (incidents, acks, silences).
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
#include "firewatch/crypto/hmac_sha256.h"
#include "firewatch/log.h"

namespace firewatch::alerting {
class AlertingEngine;
}

namespace firewatch::collector {

class HttpServer;

// Why a sync request (or a peer's response) was refused; names are metric labels.
enum class SyncReject : uint8_t { kUnknownPeer, kBadSignature, kStale, kMalformed, kTooLarge };
inline constexpr int kSyncRejectCount = 5;
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
  // `engine` may be null (no paging configured). Starts the sync threads.
  void Start(alerting::AlertingEngine* engine);
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
    crypto::HmacKey key;
  };
  void SyncLoop(const std::string& peer);
  void SyncOnce(const std::string& peer);
  // Our payload for `peer`, engine exports included.
  SyncPayload Build(const std::string& peer);
  // Applies a verified payload to the view and the engine.
  Status Absorb(const SyncPayload& p);
  // Checks the three auth headers; returns the reason on failure.
  std::optional<SyncReject> Authenticate(const std::string* peer, const std::string* ts,
                                         const std::string* sig, const std::string& body,
                                         const std::string& expected_peer,
                                         std::string& peer_out) const;
  void Reject(SyncReject r, const std::string& who, const std::string& detail);

  const Clock& clock_;
  ClusterView view_;
  const Duration max_skew_;
  std::string boot_;
  std::atomic<uint64_t> seq_{0};
  std::map<std::string, PeerLink> links_;  // by peer id; the pair's key signs both ways
  alerting::AlertingEngine* engine_ = nullptr;
  ForgetSink on_forgotten_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::array<std::atomic<uint64_t>, kSyncRejectCount> rejects_{};
  mutable RateLimiter log_limit_;
};

// GET /api/v1/collectors for a collector without a `cluster:` section: itself only.
void RegisterStandaloneCollectors(HttpServer& http, const std::string& self_id,
                                  const std::string& config_digest);

}  // namespace firewatch::collector
