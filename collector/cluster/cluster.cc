#include "cluster/cluster.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "firewatch/http_client.h"
#include "firewatch/protocol/keyring.h"
#include "firewatch/random_id.h"
#include "http/http_server.h"
#include "route/replicated_maintenance.h"
#include "route/replicated_silences.h"

namespace firewatch::collector {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {
int64_t Ms(Duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); }

const std::string* FindHeader(const std::vector<std::pair<std::string, std::string>>& hs,
                              const std::string& lower_name) {
  const std::string* found = nullptr;
  for (const auto& [k, v] : hs) {
    if (k == lower_name) found = &v;  // the last one (after a 100 Continue)
  }
  return found;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

std::string_view SyncRejectName(SyncReject r) {
  switch (r) {
    case SyncReject::kUnknownPeer: return "unknown_peer";
    case SyncReject::kBadSignature: return "bad_signature";
    case SyncReject::kStale: return "stale";
    case SyncReject::kMalformed: return "malformed";
    case SyncReject::kTooLarge: return "too_large";
    case SyncReject::kReplayed: return "replayed";
  }
  return "malformed";
}

Cluster::Cluster(const Clock& clock, ClusterConfig config, std::string self_id,
                 std::string external_url, Duration max_clock_skew)
    : clock_(clock),
      view_(clock, std::move(config), std::move(self_id), std::move(external_url), RandomHex(8)),
      max_skew_(max_clock_skew),
      boot_(view_.boot()),
      started_ms_(ToUnixMillis(clock.WallNow())),
      deltas_(clock, boot_),
      log_limit_(clock, std::chrono::seconds(10)) {}

Cluster::~Cluster() { Stop(); }

Status Cluster::LoadKeys() {
  for (const auto& m : view_.config().members) {
    if (m.id == view_.self()) continue;
    protocol::Keyring ring;
    if (Status s = ring.AddFromFile("cluster", m.key_file); !s.ok()) {
      return Status::InvalidArgument("cluster key for collector '" + m.id + "': " + s.message() +
                                     " (create one with: firewatchctl keygen --out " + m.key_file +
                                     ", and copy it to every collector)");
    }
    links_[m.id] = PeerLink{&m, ring.FindKey("cluster")->hmac};
  }
  for (const auto& file : view_.config().accept_key_files) {
    protocol::Keyring ring;
    if (Status s = ring.AddFromFile("accept", file); !s.ok()) {
      return Status::InvalidArgument("cluster.accept_key_files: " + s.message());
    }
    accepted_.push_back(ring.FindKey("accept")->hmac);
  }
  return Status::Ok();
}

bool Cluster::Verify(const PeerLink& link, const std::string& peer, int64_t ts,
                     std::string_view body, std::string_view sig, std::string_view answers) const {
  bool ok = VerifySyncSignature(link.key, peer, ts, body, sig, answers);
  for (const auto& key : accepted_) {
    ok = VerifySyncSignature(key, peer, ts, body, sig, answers) || ok;
  }
  return ok;
}

void Cluster::Start(ReplicatedStates states) {
  states_ = states;
  for (const auto& [id, link] : links_) {
    threads_.emplace_back([this, peer = id] { SyncLoop(peer); });
  }
  spdlog::info("cluster: {} of {} members, syncing with {} peer(s) every {} ms", view_.self(),
               view_.config().members.size(), links_.size(), Ms(view_.config().sync_interval));
}

void Cluster::Stop() {
  {
    MutexLock lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.NotifyAll();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

std::array<uint64_t, kSyncRejectCount> Cluster::rejects() const {
  std::array<uint64_t, kSyncRejectCount> out{};
  for (int i = 0; i < kSyncRejectCount; ++i) out[i] = rejects_[i].load();
  return out;
}

void Cluster::Reject(SyncReject r, const std::string& who, const std::string& detail) {
  rejects_[static_cast<int>(r)].fetch_add(1);
  uint64_t suppressed = 0;
  if (log_limit_.Allow(std::string(SyncRejectName(r)), suppressed)) {
    spdlog::warn("cluster: sync from {} rejected ({}): {}{}", who, SyncRejectName(r), detail,
                 suppressed ? " (" + std::to_string(suppressed) + " more like it suppressed)" : "");
  }
}

SyncPayload Cluster::Build(const std::string& peer, SyncRole role) {
  SyncPayload p = view_.BuildFor(peer, role);
  p.boot = boot_;
  p.seq = ++seq_;
  if (states_.incidents != nullptr) p.incidents = states_.incidents->Export();
  if (states_.log != nullptr) p.log = states_.log->Export();
  if (states_.silences != nullptr) p.silences = states_.silences->Export().items;
  if (states_.maintenance != nullptr) p.maintenance = states_.maintenance->Export().items;
  deltas_.Outgoing(peer, p);
  return p;
}

Status Cluster::Absorb(SyncPayload& p) {
  deltas_.Incoming(p);
  std::vector<ClusterView::Tombstone> forgotten;
  if (Status s = view_.Apply(p, &forgotten); !s.ok()) return s;
  if (on_forgotten_ && !forgotten.empty()) on_forgotten_(forgotten);
  if (states_.incidents != nullptr && !p.incidents.empty()) {
    states_.incidents->Merge(p.from, p.incidents);
  }
  if (states_.log != nullptr) states_.log->Merge(p.from, p.log);
  if (states_.silences != nullptr) {
    states_.silences->Merge(
        p.from, alerting::route::PeerSilences{p.silences, p.silences_refused, p.silence_error});
    if (p.silences_refused > 0) {
      uint64_t suppressed = 0;
      if (log_limit_.Allow("silence_refused", suppressed)) {
        spdlog::warn("cluster: {} silence(s) from {} refused: {}", p.silences_refused, p.from,
                     p.silence_error);
      }
    }
  }
  if (states_.maintenance != nullptr) {
    states_.maintenance->Merge(p.from, alerting::route::PeerWindows{p.maintenance,
                                                                    p.maintenance_refused,
                                                                    p.maintenance_error});
    if (p.maintenance_refused > 0) {
      uint64_t suppressed = 0;
      if (log_limit_.Allow("maintenance_refused", suppressed)) {
        spdlog::warn("cluster: {} maintenance window(s) from {} refused: {}",
                     p.maintenance_refused, p.from, p.maintenance_error);
      }
    }
  }
  return Status::Ok();
}

std::optional<SyncReject> Cluster::Authenticate(const std::string* peer, const std::string* ts,
                                                const std::string* sig, const std::string& body,
                                                const std::string& expected_peer,
                                                std::string_view answers, std::string& peer_out,
                                                int64_t& ts_out) const {
  if (peer == nullptr || (!expected_peer.empty() && *peer != expected_peer)) {
    return SyncReject::kUnknownPeer;
  }
  peer_out = *peer;
  auto link = links_.find(*peer);
  if (link == links_.end()) return SyncReject::kUnknownPeer;
  if (ts == nullptr || sig == nullptr) return SyncReject::kBadSignature;
  int64_t t = 0;
  try {
    size_t used = 0;
    t = std::stoll(*ts, &used);
    if (used != ts->size()) return SyncReject::kBadSignature;
  } catch (const std::exception&) {
    return SyncReject::kBadSignature;
  }
  if (!Verify(link->second, *peer, t, body, *sig, answers)) return SyncReject::kBadSignature;
  if (std::llabs(ToUnixMillis(clock_.WallNow()) - t) > Ms(max_skew_)) return SyncReject::kStale;
  ts_out = t;
  return std::nullopt;
}

std::optional<SyncReject> Cluster::CheckNewer(const std::string& peer, const SyncPayload& p,
                                              int64_t ts_ms) {
  // Stamped before we started: we cannot know what came before, so it may be old.
  if (ts_ms < started_ms_) return SyncReject::kReplayed;
  MutexLock lock(newest_mu_);
  auto it = newest_.find(peer);
  if (it != newest_.end()) {
    const Newest& n = it->second;
    const bool newer = p.boot == n.boot ? p.seq > n.seq : ts_ms > n.ts_ms;
    if (!newer) return SyncReject::kReplayed;
  }
  newest_[peer] = Newest{p.boot, p.seq, ts_ms};
  return std::nullopt;
}

void Cluster::SyncLoop(const std::string& peer) {
  MutexLock lock(mu_);
  while (!stopping_) {
    lock.Unlock();
    SyncOnce(peer);
    lock.Lock();
    wake_.WaitFor(mu_, view_.config().sync_interval,
                  [this]() FW_REQUIRES(mu_) { return stopping_; });
  }
}

void Cluster::SyncOnce(const std::string& peer) {
  const MonoTime start = clock_.Now();
  ExchangeTimes t{start, start};
  Exchange(peer, t);
  // However it ended: its time, and a line when it took longer than the interval (what
  // a loaded collector spends it on; docs/operations.md, "Cluster").
  const MonoTime end = clock_.Now();
  view_.CountExchange(peer, end - start);
  if (end - start <= view_.config().sync_interval) return;
  uint64_t suppressed = 0;
  if (!log_limit_.Allow("slow_sync", suppressed)) return;
  auto s = [](Duration d) { return std::chrono::duration<double>(d).count(); };
  spdlog::info(
      "cluster: sync with {} took {:.2f} s (build {:.2f} s, peer and network {:.2f} s, apply "
      "{:.2f} s; {} source entries, {} bytes sent, {} received){}",
      peer, s(end - start), s(t.built - start), s(t.answered - t.built), s(end - t.answered),
      t.entries, t.sent, t.received,
      suppressed ? " (" + std::to_string(suppressed) + " more like it suppressed)" : "");
}

void Cluster::Exchange(const std::string& peer, ExchangeTimes& t) {
  const PeerLink& link = links_.at(peer);
  SyncPayload out = Build(peer, SyncRole::kRequest);
  http_client::Request req;
  req.method = "POST";
  req.url = link.member->url + "/api/v1/cluster/sync";
  req.body = EncodeSyncPayload(out);
  t.built = t.answered = clock_.Now();
  t.sent = req.body.size();
  t.entries = out.sources.size();
  const int64_t ts = ToUnixMillis(clock_.WallNow());
  const std::string signature = SyncSignature(link.key, view_.self(), ts, req.body);
  req.headers = {{"Content-Type", "application/json"},
                 {kPeerHeader, view_.self()},
                 {kTimestampHeader, std::to_string(ts)},
                 {kSignatureHeader, signature},
                 {"Expect", ""}};
  req.max_response_body = kMaxSyncBody;
  http_client::TransportOptions transport;
  transport.connect_timeout = std::min<Duration>(view_.config().peer_timeout / 2, std::chrono::seconds(2));
  transport.timeout = view_.config().peer_timeout;
  auto resp = http_client::Perform(req, transport);
  t.answered = clock_.Now();
  t.received = resp.transport_ok ? resp.body.size() : 0;
  view_.CountSyncBytes(peer, t.sent, t.received);
  if (!resp.transport_ok || resp.status != 200) {
    view_.SyncFailed(peer, http_client::Detail(resp));
    return;
  }
  std::string from;
  int64_t resp_ts = 0;
  // The response must be signed over our request: an old one never verifies.
  if (auto why = Authenticate(FindHeader(resp.headers, Lower(kPeerHeader)),
                              FindHeader(resp.headers, Lower(kTimestampHeader)),
                              FindHeader(resp.headers, Lower(kSignatureHeader)), resp.body, peer,
                              signature, from, resp_ts)) {
    Reject(*why, peer + " (response)", "response not authenticated");
    view_.SyncFailed(peer, "response rejected: " + std::string(SyncRejectName(*why)));
    return;
  }
  auto in = DecodeSyncPayload(resp.body);
  if (!in.ok() || in->from != peer) {
    Reject(SyncReject::kMalformed, peer + " (response)",
           in.ok() ? "payload says it is from " + in->from : in.status().message());
    view_.SyncFailed(peer, "malformed response");
    return;
  }
  if (Status s = Absorb(*in); !s.ok()) {
    view_.SyncFailed(peer, s.message());
    return;
  }
  view_.Delivered(peer, out);
}

void Cluster::RegisterRoutes(HttpServer& http) {
  http.Route(
      "POST", "/api/v1/cluster/sync",
      [this](const HttpRequest& r) {
        std::string from;
        int64_t ts_ms = 0;
        auto header = [&r](const char* name) -> const std::string* {
          auto it = r.headers.find(Lower(name));
          return it == r.headers.end() ? nullptr : &it->second;
        };
        const std::string* request_signature = header(kSignatureHeader);
        if (auto why = Authenticate(header(kPeerHeader), header(kTimestampHeader),
                                    request_signature, r.body, "", {}, from, ts_ms)) {
          Reject(*why, from.empty() ? r.remote : from + " at " + r.remote, "request not authenticated");
          return HttpResponse::Json(401, R"({"error":"sync request not authenticated"})");
        }
        auto in = DecodeSyncPayload(r.body);
        if (!in.ok() || in->from != from) {
          const std::string msg =
              in.ok() ? "payload is from '" + in->from + "', header says '" + from + "'"
                      : in.status().message();
          Reject(SyncReject::kMalformed, from, msg);
          return HttpResponse::Json(400, json({{"error", msg}}).dump());
        }
        // Before anything reaches the view: a replay must not count as a sign of life.
        if (auto why = CheckNewer(from, *in, ts_ms)) {
          Reject(*why, from + " at " + r.remote,
                 "boot " + in->boot + " seq " + std::to_string(in->seq) +
                     " is not newer than the last request accepted");
          return HttpResponse::Json(401, R"({"error":"sync request replayed or out of order"})");
        }
        if (Status s = Absorb(*in); !s.ok()) {
          return HttpResponse::Json(400, json({{"error", s.message()}}).dump());
        }
        // Push-pull: the answer is our payload for this peer. It carries our table changes
        // only while our own requests to it fail (ClusterView::BuildFor), and it advances
        // nothing of what we think the peer has (our requests' answers and its echoes do),
        // so nothing is lost if it is dropped.
        HttpResponse resp = HttpResponse::Json(200, EncodeSyncPayload(Build(from, SyncRole::kResponse)));
        view_.CountSyncBytes(from, resp.body.size(), r.body.size());
        const int64_t ts = ToUnixMillis(clock_.WallNow());
        resp.headers.emplace_back(kPeerHeader, view_.self());
        resp.headers.emplace_back(kTimestampHeader, std::to_string(ts));
        resp.headers.emplace_back(kSignatureHeader, SyncSignature(links_.at(from).key, view_.self(),
                                                                  ts, resp.body, *request_signature));
        return resp;
      },
      // Public: the peer's signature authenticates it.
      RouteOptions{Access::kPublic, kMaxSyncBody,
                   [this] { Reject(SyncReject::kTooLarge, "?", "body over the limit"); }});
  http.Route("GET", "/api/v1/collectors",
             [this](const HttpRequest&) { return HttpResponse::Json(200, CollectorsJson()); });
}

std::string Cluster::CollectorsJson() const {
  const ClusterStatus st = view_.Snapshot();
  json cols = json::array();
  for (const auto& c : st.collectors) {
    json j = {{"id", c.member.id},
              {"self", c.self},
              {"url", c.member.url},
              {"labels", c.member.labels},
              {"state", std::string(PeerStateName(c.state))},
              {"rank", c.rank >= 0 ? json(c.rank) : json(nullptr)},
              {"config_digest", c.config_digest},
              {"config_matches", c.config_matches},
              {"unheard_sources", c.unheard_sources}};
    if (!c.self) {
      j["path_warning"] = !c.unreachable_from.empty();
      j["unreachable_from"] = c.unreachable_from;
      j["phi"] = c.phi;
      j["last_sync_age_ms"] = c.last_sync_age_ms >= 0 ? json(c.last_sync_age_ms) : json(nullptr);
      j["sees"] = c.sees;
      j["syncs_ok"] = c.syncs_ok;
      j["syncs_failed"] = c.syncs_failed;
      j["last_error"] = c.last_error;
      j["sources"] = c.table_entries;
      j["sync_bytes_sent"] = c.sync_bytes_sent;
      j["sync_bytes_received"] = c.sync_bytes_received;
      j["last_exchange_ms"] = c.last_exchange_ms >= 0 ? json(c.last_exchange_ms) : json(nullptr);
    }
    cols.push_back(std::move(j));
  }
  json warnings = json::array();
  for (const auto& w : st.path_warnings) {
    warnings.push_back({{"source", w.source}, {"unheard_by", w.unheard_by}});
  }
  json out = {{"self", st.self},
              {"config_digest", st.config_digest},
              {"isolated", st.isolated},
              {"alone", st.alone},
              {"collectors", cols},
              {"path_warnings", warnings},
              {"path_warnings_total", st.path_warnings_total}};
  return out.dump();
}

void RegisterStandaloneCollectors(HttpServer& http, const std::string& self_id,
                                  std::function<std::string()> config_digest) {
  http.Route("GET", "/api/v1/collectors", [self_id, config_digest](const HttpRequest&) {
    const std::string digest = config_digest();  // follows reloads
    const std::string body = json({{"self", self_id},
                                   {"config_digest", digest},
                                   {"isolated", false},
                                   {"alone", false},
                                   {"collectors", json::array({json{{"id", self_id},
                                                                    {"self", true},
                                                                    {"url", ""},
                                                                    {"labels", json::object()},
                                                                    {"state", "up"},
                                                                    {"rank", 0},
                                                                    {"config_digest", digest},
                                                                    {"config_matches", true},
                                                                    {"unheard_sources", 0}}})},
                                   {"path_warnings", json::array()},
                                   {"path_warnings_total", 0}})
                                 .dump();
    return HttpResponse::Json(200, body);
  });
}

}  // namespace firewatch::collector
