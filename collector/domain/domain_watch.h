// Whole failure domains (docs/domains.md): turns the verdicts that SourceDown alerts are
// made of into one DomainDown alert per failure domain that lost a large share of its
// sources at once, so that the per-host pages of that domain can be inhibited.
//
//   Learn(transitions)   the local tracker's transitions: which sources exist, in which
//                        domain (label domains.label) and which services (service map)
//   Observe(verdicts)    the verdicts that page (the tracker's own when standalone, the
//                        cluster's merged ones otherwise: DOWN only when no live collector
//                        hears the source), returning the DomainDown alerts to submit
//                        BEFORE the verdicts' own SourceDown alerts
//   Forget(ids)          sources forgotten
//
// A domain's known sources are those with its label that did not stop cleanly (a goodbye
// is not a loss). needed = max(min_sources, ceil(threshold * known)). The domain FIRES
// when at least `needed` of its sources went DOWN within `window` of the latest DOWN (the
// times are the verdicts' at_ms, from the collector's clock: tests use a fake one). While
// firing, each change in the number lost re-submits the alert with new annotations (same
// labels: no new page). It RESOLVES when fewer than `needed` are still DOWN; the hosts
// still DOWN then are no longer inhibited and page individually (docs/domains.md).
//
// DomainDown{alertname="DomainDown", <label>="<domain>", severity="critical"},
// annotations: summary ("dc=pangyo is DOWN: 38 of 50 sources"), description, and with a
// service map: services (affected, directly and through dependencies) and restore_order
// (dependencies first).
//
// Not thread-safe: the collector's loop thread owns it (it is where verdicts are made).
// Memory: one entry per source carrying the domain label (its domain, its services).
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "domain/domain_config.h"
#include "model/alert.h"
#include "tracker/source.h"

namespace firewatch::collector {

class DomainWatch {
 public:
  DomainWatch(DomainConfig config, std::string external_url);

  // Membership only (labels, clean stops); never fires or resolves anything.
  void Learn(const std::vector<Transition>& ts);
  // Membership and DOWN states from restored sources (`with_states`: standalone, where
  // the tracker's state is the verdict). Fires nothing: a restart is not a new loss.
  void Seed(const std::vector<SourceSnapshot>& sources, bool with_states);
  // After Seed with states (a restart): the DomainDown alerts that were firing before it,
  // re-derived by the same rule from the restored DOWN times (at least `needed` DOWN within
  // `window` of the latest), marked firing here. They join the engine's start-up state, so
  // the restored incident continues and its hosts stay inhibited; a slow decay that never
  // fired is not turned into a domain page by a restart.
  [[nodiscard]] std::vector<alerting::Alert> Resume();
  // Applies the verdicts; returns the DomainDown alerts (firing or resolved) to submit.
  [[nodiscard]] std::vector<alerting::Alert> Observe(const std::vector<Transition>& verdicts);
  // Drops forgotten sources; a domain that falls under its threshold resolves (at now_ms).
  [[nodiscard]] std::vector<alerting::Alert> Forget(const std::vector<std::string>& ids,
                                                    int64_t now_ms);

  // The DomainDown alerts firing now (for tests and the status API).
  std::vector<alerting::Alert> Firing() const;
  const DomainConfig& config() const { return config_; }

 private:
  struct Domain {
    size_t members = 0;
    size_t stopped = 0;
    std::map<std::string, int64_t> down;  // source -> when it went DOWN (Unix ms)
    // How many of `down` each service (by index) has: the alert names the affected
    // services without walking `down`. A dc going dark re-submits the alert on every
    // tick of its DOWN storm; walking 100,000 DOWN sources with a lookup each, every
    // time, was most of the storm's cost on the event loop.
    std::vector<uint32_t> down_by_service;
    bool firing = false;
    int64_t firing_since_ms = 0;
    size_t reported_down = 0;  // lost count in the last alert submitted
  };
  struct Member {
    // Its entry in domains_ (8 bytes, not a copy of the name: one per source). A
    // domain is erased only when it has no members left.
    std::map<std::string, Domain>::iterator domain;
    std::vector<uint16_t> services;
    bool stopped = false;
  };

  // Records the source's labels; returns its member entry, or null when it has no domain.
  Member* Upsert(const std::string& id, const protocol::Labels& labels);
  void Remove(const std::string& id);
  // The member's entry in its domain's `down` (with down_by_service kept in step). MarkDown
  // keeps an earlier time (DOWN -> DOWN).
  void MarkDown(const std::string& id, const Member& m, int64_t at_ms);
  void MarkNotDown(const std::string& id, const Member& m);
  void SetStopped(Member& m, bool stopped);
  size_t Needed(const Domain& d) const;
  void Evaluate(const std::string& name, Domain& d, int64_t now_ms,
                std::vector<alerting::Alert>& out);
  alerting::Alert AlertOf(const std::string& name, const Domain& d) const;

  DomainConfig config_;
  std::string external_url_;
  std::unordered_map<std::string, Member> members_;
  std::map<std::string, Domain> domains_;
};

}  // namespace firewatch::collector
