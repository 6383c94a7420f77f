#include "route/replicated_maintenance.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "incident/incidents_db.h"

namespace firewatch::alerting::route {

ReplicatedMaintenance::ReplicatedMaintenance(const Clock& clock, MaintenanceLimits limits,
                                             IdGenerator ids)
    : clock_(clock),
      limits_(limits),
      ids_(std::move(ids)),
      snapshot_(std::make_shared<const MaintenanceSnapshot>()) {}

ReplicatedMaintenance::~ReplicatedMaintenance() = default;

Status ReplicatedMaintenance::Open(const std::string& path) {
  MutexLock lock(mu_);
  store_ = std::make_unique<BodyTable>("maintenance");
  if (Status st = store_->Open(path); !st.ok()) return st;
  auto rows = store_->Rows();
  if (!rows.ok()) {
    // Fail open: no stored window mutes a page.
    spdlog::error("{}; no stored maintenance window is in force", rows.status().ToString());
    return Status::Ok();
  }
  const WallTime now = clock_.WallNow();
  size_t loaded = 0, skipped = 0;
  for (const auto& [id, body] : *rows) {
    auto w = WindowFromJson(body, limits_);
    if (w.ok() && w->base.id != id) {
      w = Status::InvalidArgument("id: the row's id is '" + id.substr(0, 64) + "'");
    }
    Result<bool> took = w.ok() ? TakeLocked(std::move(w).value(), now) : Result<bool>(w.status());
    if (!took.ok()) {
      ++skipped;
      spdlog::error("incidents.db: skipping stored maintenance window '{}': {}", id.substr(0, 64),
                    took.status().message());
      continue;
    }
    ++loaded;
  }
  store_refused_.fetch_add(skipped);
  PersistLocked({}, GcLocked(now));
  PublishLocked();
  spdlog::info("maintenance: {} window(s) loaded from incidents.db, {} skipped", loaded, skipped);
  return Status::Ok();
}

size_t ReplicatedMaintenance::LiveLocked(WallTime now) const {
  return static_cast<size_t>(std::count_if(windows_.begin(), windows_.end(), [&](const auto& kv) {
    return kv.second->window().base.ends_at > now;
  }));
}

Result<bool> ReplicatedMaintenance::TakeLocked(MaintenanceWindow w, WallTime now) {
  if (Status st = ValidateWindow(w, limits_); !st.ok()) return st;
  auto it = windows_.find(w.base.id);
  if (it != windows_.end() && it->second->window().base.updated_at >= w.base.updated_at) {
    return false;  // ours is as new or newer
  }
  const bool live = w.base.ends_at > now;
  if (live && (it == windows_.end() || it->second->window().base.ends_at <= now) &&
      LiveLocked(now) >= limits_.max_live) {
    return Status::InvalidArgument("maintenance: " + std::to_string(limits_.max_live) +
                                   " pending or active windows held; the limit is reached");
  }
  if (!live && w.base.ends_at + limits_.retention <= now) {
    return Status::InvalidArgument("maintenance: expired longer than the retention");
  }
  auto compiled = CompiledWindow::Make(std::move(w));
  if (!compiled.ok()) return compiled.status();
  std::shared_ptr<const CompiledWindow> taken = std::move(compiled).value();
  const std::string id = taken->window().base.id;
  windows_[id] = std::move(taken);
  return true;
}

std::vector<std::string> ReplicatedMaintenance::GcLocked(WallTime now) {
  std::vector<std::string> dropped;
  std::vector<std::pair<WallTime, std::string>> expired;  // (ends_at, id)
  for (auto it = windows_.begin(); it != windows_.end();) {
    const Silence& b = it->second->window().base;
    if (b.ends_at > now) {
      ++it;
    } else if (b.ends_at + limits_.retention <= now) {
      dropped.push_back(it->first);
      it = windows_.erase(it);
    } else {
      expired.emplace_back(b.ends_at, it->first);
      ++it;
    }
  }
  if (expired.size() > limits_.max_expired) {
    std::sort(expired.begin(), expired.end());
    for (size_t i = 0; i < expired.size() - limits_.max_expired; ++i) {
      windows_.erase(expired[i].second);
      dropped.push_back(expired[i].second);
    }
  }
  return dropped;
}

void ReplicatedMaintenance::PublishLocked() {
  // Expired windows stay in the snapshot until collected: Mutes() checks ends_at first,
  // and the status page lists them with their state.
  std::vector<std::shared_ptr<const CompiledWindow>> all;
  all.reserve(windows_.size());
  for (const auto& [id, w] : windows_) all.push_back(w);
  auto next = std::make_shared<const MaintenanceSnapshot>(std::move(all));
  MutexLock lock(snapshot_mu_);
  snapshot_ = std::move(next);
}

void ReplicatedMaintenance::PersistLocked(const std::vector<MaintenanceWindow>& changed,
                                          const std::vector<std::string>& dropped) {
  if (!store_ || (changed.empty() && dropped.empty())) return;
  std::vector<std::pair<std::string, std::string>> puts;
  puts.reserve(changed.size());
  for (const auto& w : changed) puts.emplace_back(w.base.id, WindowToJson(w));
  if (Status st = store_->Batch(puts, dropped); !st.ok()) {
    spdlog::error("incidents.db: maintenance windows not saved: {}", st.message());
  }
}

Result<std::string> ReplicatedMaintenance::Create(MaintenanceWindow w) {
  MutexLock lock(mu_);
  const WallTime now = clock_.WallNow();
  if (w.base.ends_at <= now) return Status::InvalidArgument("endsAt: must be in the future");
  if (w.base.starts_at < now) w.base.starts_at = now;
  w.base.id = ids_();
  w.base.updated_at = now;
  MaintenanceWindow copy = w;
  auto took = TakeLocked(std::move(w), now);
  if (!took.ok()) return took.status();
  if (!*took) return Status::InvalidArgument("id: '" + copy.base.id + "' is taken");
  PersistLocked({copy}, GcLocked(now));
  PublishLocked();
  spdlog::info("maintenance window {} created", copy.base.id);
  return copy.base.id;
}

Status ReplicatedMaintenance::Expire(const std::string& id) {
  MutexLock lock(mu_);
  const WallTime now = clock_.WallNow();
  auto it = windows_.find(id);
  if (it == windows_.end()) return Status::NotFound("maintenance window '" + id + "' not found");
  MaintenanceWindow w = it->second->window();
  if (w.base.ends_at <= now) {
    return Status::InvalidArgument("maintenance window '" + id + "' has already ended");
  }
  if (w.base.starts_at > now) w.base.starts_at = now;
  w.base.ends_at = now;
  // Strictly newer than the held copy even when the wall clock has not moved.
  w.base.updated_at = std::max(now, w.base.updated_at + std::chrono::milliseconds(1));
  auto compiled = CompiledWindow::Make(w);
  if (!compiled.ok()) return compiled.status();
  it->second = std::move(compiled).value();
  PersistLocked({w}, GcLocked(now));
  PublishLocked();
  spdlog::info("maintenance window {} expired", id);
  return Status::Ok();
}

std::vector<MaintenanceWindow> ReplicatedMaintenance::List() const {
  std::vector<MaintenanceWindow> out;
  for (const auto& w : Snapshot()->windows()) out.push_back(w->window());
  return out;
}

std::shared_ptr<const MaintenanceSnapshot> ReplicatedMaintenance::Snapshot() const {
  MutexLock lock(snapshot_mu_);
  return snapshot_;
}

std::map<std::string, uint64_t> ReplicatedMaintenance::Counts() const {
  std::map<std::string, uint64_t> out = {{"pending", 0}, {"active", 0}, {"waiting", 0}, {"expired", 0}};
  const WallTime now = clock_.WallNow();
  for (const auto& w : Snapshot()->windows()) ++out[std::string(WindowStateString(w->StateAt(now)))];
  return out;
}

std::map<std::string, uint64_t> ReplicatedMaintenance::Refused() const {
  return {{"peer", peer_refused_.load()}, {"store", store_refused_.load()}};
}

bool ReplicatedMaintenance::Mutes(const LabelSet& labels, WallTime now) const {
  return Snapshot()->Mutes(labels, now);
}

std::vector<std::string> ReplicatedMaintenance::MutedBy(const LabelSet& labels, WallTime now) const {
  return Snapshot()->MutedBy(labels, now);
}

PeerWindows ReplicatedMaintenance::Export() const {
  return PeerWindows{List(), 0, {}};
}

void ReplicatedMaintenance::Merge(const std::string& peer, PeerWindows part) {
  peer_refused_.fetch_add(part.refused_on_parse);
  if (part.items.empty()) return;
  const std::string from = peer.empty() ? "a peer" : "peer " + peer;
  MutexLock lock(mu_);
  const WallTime now = clock_.WallNow();
  std::vector<MaintenanceWindow> changed;
  for (auto& w : part.items) {
    MaintenanceWindow copy = w;
    auto took = TakeLocked(std::move(w), now);
    if (took.ok()) {
      if (*took) changed.push_back(std::move(copy));
      continue;
    }
    peer_refused_.fetch_add(1);
    if (refusal_logged_.size() >= 256) refusal_logged_.clear();  // bounded; logs again later
    if (refusal_logged_.insert(peer + "/" + copy.base.id).second) {
      spdlog::warn("maintenance window {} from {} refused (logged once): {}", copy.base.id, from,
                   took.status().message());
    }
  }
  if (changed.empty()) return;
  PersistLocked(changed, GcLocked(now));
  PublishLocked();
  for (const auto& w : changed) spdlog::info("maintenance window {} replicated from {}", w.base.id, from);
}

}  // namespace firewatch::alerting::route
