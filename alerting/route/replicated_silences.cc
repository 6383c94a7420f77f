#include "route/replicated_silences.h"

#include <spdlog/spdlog.h>

#include "route/silence_store.h"

namespace firewatch::alerting::route {

ReplicatedSilences::ReplicatedSilences(const Clock& clock) : clock_(clock) {}
ReplicatedSilences::~ReplicatedSilences() = default;

Status ReplicatedSilences::Open(const std::string& path) {
  MutexLock lock(write_mu_);
  store_ = std::make_unique<SilenceStore>();
  if (Status st = store_->Open(path); !st.ok()) return st;
  std::vector<Silence> loaded;
  size_t skipped = 0;
  for (const auto& [id, body] : store_->Rows()) {
    auto silence = SilenceFromJson(body);
    if (silence.ok() && silence->id != id) {
      silence = Status::InvalidArgument("id: the row's id is '" + id.substr(0, 64) + "'");
    }
    if (!silence.ok()) {
      ++skipped;
      spdlog::error("incidents.db: skipping stored silence '{}': {}", id.substr(0, 64),
                    silence.status().message());
      continue;
    }
    loaded.push_back(std::move(silence).value());
  }
  MergeOutcome out = silencer_.MergeAll(loaded, clock_.WallNow());
  for (const auto& [id, why] : out.refused) {
    ++skipped;
    spdlog::error("incidents.db: skipping stored silence '{}': {}", id, why.message());
  }
  store_refused_.fetch_add(skipped);
  // Rows pruned by retention go now; refused rows stay on disk for an operator to look at.
  Persist({}, out.dropped);
  spdlog::info("silences: {} loaded from incidents.db, {} skipped", out.changed.size(), skipped);
  return Status::Ok();
}

void ReplicatedSilences::Persist(const std::vector<Silence>& changed,
                                 const std::vector<std::string>& dropped) {
  if (!store_ || (changed.empty() && dropped.empty())) return;
  std::vector<std::pair<std::string, std::string>> puts;
  puts.reserve(changed.size());
  for (const auto& s : changed) puts.emplace_back(s.id, SilenceToJson(s));
  if (Status st = store_->Batch(puts, dropped); !st.ok()) {
    spdlog::error("incidents.db: silences not saved: {}", st.message());
  }
}

Result<std::string> ReplicatedSilences::Set(Silence silence) {
  MutexLock lock(write_mu_);
  const WallTime now = clock_.WallNow();
  std::vector<Silence> changed;
  auto id = silencer_.Set(std::move(silence), now, &changed);
  if (!id.ok()) return id;
  // Set may have expired an older version and created a new one: persist both.
  Persist(changed, silencer_.Gc(now));
  spdlog::info("silence {} set", *id);
  return id;
}

Status ReplicatedSilences::Expire(const std::string& id) {
  MutexLock lock(write_mu_);
  const WallTime now = clock_.WallNow();
  if (Status st = silencer_.Expire(id, now); !st.ok()) return st;
  std::vector<Silence> changed;
  if (auto s = silencer_.Get(id); s.ok()) changed.push_back(*s);
  Persist(changed, silencer_.Gc(now));
  spdlog::info("silence {} expired", id);
  return Status::Ok();
}

std::vector<Silence> ReplicatedSilences::List() const {
  return silencer_.List();
}

std::map<std::string, uint64_t> ReplicatedSilences::Counts() const {
  std::map<std::string, uint64_t> out;
  for (const auto& [state, n] : silencer_.Count(clock_.WallNow())) {
    out[std::string(SilenceStateString(state))] = n;
  }
  return out;
}

std::map<std::string, uint64_t> ReplicatedSilences::Refused() const {
  return {{"peer", peer_refused_.load()}, {"store", store_refused_.load()}};
}

PeerSilences ReplicatedSilences::Export() const {
  return PeerSilences{silencer_.List(), 0, {}};
}

void ReplicatedSilences::Merge(const std::string& peer, PeerSilences part) {
  const std::string from = peer.empty() ? "a peer" : "peer " + peer;
  // Counted here; the cluster logs those (rate-limited) when it decodes the payload.
  peer_refused_.fetch_add(part.refused_on_parse);
  if (part.items.empty()) return;
  MutexLock lock(write_mu_);
  MergeOutcome out = silencer_.MergeAll(part.items, clock_.WallNow());
  for (const auto& [id, why] : out.refused) {
    peer_refused_.fetch_add(1);
    if (refusal_logged_.size() >= 256) refusal_logged_.clear();  // bounded; logs again later
    if (refusal_logged_.insert(peer + "/" + id).second) {
      spdlog::warn("silence {} from {} refused (logged once): {}", id, from, why.message());
    }
  }
  Persist(out.changed, out.dropped);
  for (const auto& s : out.changed) spdlog::info("silence {} replicated from {}", s.id, from);
}

}  // namespace firewatch::alerting::route
