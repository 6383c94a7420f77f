// Incidents: what a human is paged about and acknowledges. One incident per open alert
// group (route + group labels); it opens when the group first fires, can be acked (stops
// escalation), and resolves as soon as every one of its alerts has recovered: its alerts
// follow the alerts' truth (ObserveAlert), not the group's notification timers. A group
// that fires again within the reopen window reopens its last incident (flap damping).
//
// The incident id is short and typeable ("K7Q2MX"): it is the ack code in SMS replies and
// appears in every message. It is derived from (group key, start time), so every collector
// computes the same id for the same incident.
//
// Thread-safety: IncidentBook is safe to call from any thread (one mutex).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "firewatch/status.h"
#include "firewatch/sync/mutex.h"
#include "model/alert.h"

namespace firewatch::alerting {

enum class IncidentState : uint8_t { kOpen, kAcked, kResolved };
std::string_view IncidentStateName(IncidentState s);  // "open", "acked", "resolved"

struct Incident {
  std::string id;
  std::string group_key;
  std::string origin;  // collector whose id this is (own id, or a peer's after adoption)
  std::string policy;  // escalation policy name
  LabelSet group_labels;
  std::vector<Alert> alerts;
  IncidentState state = IncidentState::kOpen;
  int64_t started_ms = 0;
  int64_t acked_ms = 0;
  std::string acked_by;
  int64_t resolved_ms = 0;
  uint32_t reopened = 0;    // times it fired again within the reopen window (flaps)
  int64_t reopened_ms = 0;  // the last reopen
};

// True while any alert of the incident is firing.
bool AnyFiring(const Incident& inc);

// What Upsert did.
enum class UpsertKind : uint8_t { kOpened, kReopened, kUpdated };
struct UpsertResult {
  Incident incident;  // a copy
  UpsertKind kind = UpsertKind::kUpdated;
};

// Six characters from an alphabet without look-alikes (no 0/O, 1/I/L).
std::string IncidentId(const std::string& group_key, int64_t started_ms);

class IncidentBook {
 public:
  // Records a firing notification for a group: updates the alerts of the group's open
  // incident; else reopens the group's last incident when it resolved at most
  // `reopen_window_ms` ago (state open again, ack cleared, `reopened` counted, same id
  // and start); else opens a new incident.
  // `adopt` (cluster): open the incident under this id and start instead of new ones.
  UpsertResult Upsert(const std::string& group_key, const std::string& policy,
                      const LabelSet& group_labels, const std::vector<Alert>& alerts,
                      int64_t now_ms, const std::string& origin = "",
                      const std::optional<std::pair<std::string, int64_t>>& adopt = std::nullopt,
                      int64_t reopen_window_ms = 0);
  // The alert's current truth: every unresolved incident holding an alert with the same
  // labels takes its status (and ends_at_ms). Returns the incidents that changed.
  std::vector<Incident> ObserveAlert(const Alert& alert);
  // Renames the open (or acked) incident of `group_key` to a peer's id and start (the
  // cluster's canonical incident for the group). Returns the old id, or nullopt when the
  // group has no unresolved incident or it already has that id.
  std::optional<std::string> Adopt(const std::string& group_key, const std::string& id,
                                   int64_t started_ms, const std::string& origin);
  // The unresolved incident of a group, if any.
  std::optional<Incident> OpenFor(const std::string& group_key) const;
  // Marks the group's open incident resolved; nullopt when none is open.
  std::optional<Incident> Resolve(const std::string& group_key, int64_t now_ms);
  // Acknowledges by id (case-insensitive). NotFound for unknown ids; acking an acked or
  // resolved incident is a no-op that succeeds (acks replicate and repeat).
  Result<Incident> Ack(const std::string& id, const std::string& by, int64_t now_ms);
  std::optional<Incident> Get(const std::string& id) const;
  std::vector<Incident> List() const;  // newest first
  // Restores persisted incidents (after a restart).
  void Restore(std::vector<Incident> incidents);

 private:
  mutable Mutex mu_;
  std::map<std::string, Incident> by_id_ FW_GUARDED_BY(mu_);
  // group key -> id (not resolved)
  std::map<std::string, std::string> open_by_group_ FW_GUARDED_BY(mu_);
  std::map<std::string, std::string> last_resolved_by_group_ FW_GUARDED_BY(mu_);  // key -> id
};

}  // namespace firewatch::alerting
