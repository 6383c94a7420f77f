// Deadline-based sources: the tracker's second kind of source, for scheduled checks (cron
// jobs pinging /ping/<uuid>, docs/checks.md). A heartbeat source is judged by its rhythm
// (phi accrual + backstop); a job that runs daily at 03:00 has no rhythm to learn, only a
// deadline: the next success is due at policy.NextDueMs(last success), and it is DOWN
// once that deadline plus the grace time has passed (healthchecks.io's semantics).
//
// Everything else is shared with heartbeat sources: the same entries, states,
// transitions, store rows, cluster sync and paging. A check's source id is
// "check/<slug or uuid>" (the app names them); a heartbeat frame for a deadline
// source's id is refused (key_not_allowed).
//
// State rules (Tracker::Ping and Tracker::Evaluate):
//   first ping (any but /log)      -> UP (a new source)
//   success / exit status 0        -> UP (from LATE or DOWN at once: no hysteresis)
//   /fail or exit status 1-255     -> DOWN at once, flagged `reported` (pages even when
//                                     a peer still has the check UP; docs/cluster.md)
//   /start                         -> opens a run; no state change
//   /log                           -> keeps the message; no state change
//   now >= due                     -> LATE (UP only)
//   now >= due + grace             -> DOWN
//   a run open for >= grace        -> DOWN ("started, not finished")
//   a reported DOWN whose next success was due + grace ago without any ping here turns
//     into an ordinary silence DOWN (reported cleared; the cluster then asks the peers).
// After a restart nothing turns DOWN before one grace time from the restart (the
// collector could not hear pings while stopped).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "firewatch/protocol/frame.h"

namespace firewatch::collector {

// When a deadline source's next success is due. Implementations are immutable and
// thread-safe (shared between the tracker and the app).
class DeadlinePolicy {
 public:
  virtual ~DeadlinePolicy() = default;
  // Unix ms when the next success is due after one at `last_ms`; nullopt = never (a cron
  // expression with no fire time left in its search window).
  virtual std::optional<int64_t> NextDueMs(int64_t last_ms) const = 0;
  virtual int64_t grace_ms() const = 0;
  // The period for "every N" checks (shown as interval_seconds); 0 for cron schedules.
  virtual uint32_t period_ms() const = 0;
};

struct DeadlineSource {
  std::string id;           // "check/<slug or uuid>"
  protocol::Labels labels;  // sorted by key
  std::shared_ptr<const DeadlinePolicy> policy;
};

enum class PingKind : uint8_t { kSuccess, kStart, kFail, kLog };
std::string_view PingKindName(PingKind k);  // "success", "start", "fail", "log"

// One request to /ping/... as the tracker sees it.
struct PingEvent {
  PingKind kind = PingKind::kSuccess;
  int exit_status = -1;   // 0-255 when the URL carried one, else -1
  std::string_view rid;   // ?rid= (pairs a start with its finish); may be empty
  std::string_view body;  // kept (up to kMaxPingMessage bytes) as the last message
};

// Bytes of a ping's body kept as the check's last message; the rest is dropped
// (`message_truncated`).
inline constexpr size_t kMaxPingMessage = 10 * 1024;
// Runs open at once per check (start without finish); the oldest is dropped beyond.
inline constexpr size_t kMaxOpenRuns = 16;

// What a check's pings said, for the API and the status page. Kept in memory only: after
// a restart it starts empty (state and last_seen come back from the store).
struct PingInfo {
  int64_t last_ping_ms = 0;  // any kind
  std::string last_kind;     // "success", "start", "fail", "log", "exit 3"
  std::string last_message;  // body of the last ping (truncated)
  bool message_truncated = false;
  int64_t last_duration_ms = -1;  // start -> finish of the last finished run; -1 unknown
  int64_t running_since_ms = -1;  // oldest open run; -1 none
  int64_t next_due_ms = -1;       // when the next success is due; -1 never
  int64_t grace_ms = 0;
  uint64_t pings = 0;             // since the collector started
  bool failure_reported = false;  // DOWN because the job said so
};

}  // namespace firewatch::collector
