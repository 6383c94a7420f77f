// What the collector knows about one heartbeat source, as handed to the store, the API
// and the metrics. Plain values; the tracker keeps a compact internal form.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "firewatch/protocol/frame.h"
#include "firewatch/protocol/replay.h"
#include "tracker/deadline.h"

namespace firewatch::collector {

// Liveness of a source. Names are stable: they appear in the API, metrics and the store.
enum class SourceState : uint8_t {
  kUp = 0,       // heard within expectations
  kLate = 1,     // at least one heartbeat overdue; not paged
  kDown = 2,     // silent past the detector's threshold or the hard backstop; paged
  kStopped = 3,  // said goodbye (clean shutdown); not paged
};
inline constexpr int kSourceStateCount = 4;
std::string_view SourceStateName(SourceState s);               // "UP", "LATE", ...
std::optional<SourceState> ParseSourceState(std::string_view name);

enum class Transport : uint8_t { kUdp = 0, kHttp = 1 };
std::string_view TransportName(Transport t);  // "udp", "http"

struct CheckRecord;  // tracker/check_book.h

struct SourceSnapshot {
  std::string source_id;
  protocol::Labels labels;  // sorted by key
  SourceState state = SourceState::kUp;
  int64_t first_seen_ms = 0;   // Unix ms, collector wall clock
  int64_t last_seen_ms = 0;    // last accepted frame
  int64_t state_since_ms = 0;  // when the current state began
  uint32_t interval_ms = 0;    // as declared by the agent
  std::string agent_version;
  std::string goodbye_reason;  // set while STOPPED
  std::vector<protocol::CheckResult> checks;  // as in the last heartbeat
  // Per-check state, alert state and history (tracker/check_book.h); null for a source
  // that never reported a check. Not persisted beyond `checks`.
  std::shared_ptr<const std::vector<CheckRecord>> check_book;
  // The agent's last heartbeat named a full check state (digest) other than the one in
  // `checks`, which is kept, not guessed at, until the next full state (not persisted).
  bool checks_stale = false;
  protocol::ReplayState replay;  // persisted so a restart does not reopen replays
  uint64_t heartbeats = 0;       // accepted frames since first seen
  Transport last_transport = Transport::kUdp;
  double phi = 0;                // suspicion now (not persisted)
  // Deadline sources (checks) only; not persisted. Behind a pointer: a snapshot of a
  // heartbeat source (all but a few) carries 16 bytes for it, not a whole PingInfo.
  std::shared_ptr<const PingInfo> ping;
};

// What every heartbeat changes in a source's stored row, and nothing else: the store
// updates just these columns of a row it has (Store::Write). A source whose labels,
// interval, agent version, checks or state changed too goes to the store as a whole
// SourceSnapshot instead (Tracker::TakeDirty decides).
struct SourceProgress {
  std::string source_id;
  int64_t last_seen_ms = 0;
  uint64_t heartbeats = 0;
  Transport last_transport = Transport::kUdp;
  protocol::ReplayState replay;  // its persisted fields (seen, boot_id, sequence, ...)
};

// A chunk of Tracker::TakeDirty: whole rows and heartbeat-only updates, disjoint.
struct DirtyRows {
  std::vector<SourceSnapshot> rows;
  std::vector<SourceProgress> progress;
  bool empty() const { return rows.empty() && progress.empty(); }
  size_t size() const { return rows.size() + progress.size(); }
};

// One change of a source's state.
struct Transition {
  std::string source_id;
  protocol::Labels labels;
  SourceState from = SourceState::kUp;
  SourceState to = SourceState::kUp;
  int64_t at_ms = 0;    // Unix ms
  std::string reason;   // human-readable: "silent for 17.2s (phi 9.1)", "goodbye: SIGTERM", ...
  bool new_source = false;  // first time this source was ever heard
  // DOWN because the source itself reported a failure (a check's /fail): pages even
  // when a peer still hears the source (docs/cluster.md). A DOWN -> DOWN transition with
  // this false withdraws the report (the DOWN is an ordinary silence from then on).
  bool reported = false;
};

// The alert state of a check reported by an agent changed (tracker/check_book.h: with the
// default policy, whenever its reported state changes).
struct CheckChange {
  std::string source_id;
  protocol::Labels labels;  // the source's labels
  std::string check;
  protocol::CheckState from = protocol::CheckState::kOk;  // kOk when first reported
  protocol::CheckState to = protocol::CheckState::kOk;
  std::string output;
  int64_t at_ms = 0;
  bool flapping = false;  // the check is flapping: its alert is held (check_book.h)
};

}  // namespace firewatch::collector
