// The collector's per-check record of one heartbeat source (issue 15): for each check an
// agent reports, its state as reported, since when, its message, its last change, the
// last N changes, and the state the CheckFailing alerts show — which a policy derives from
// the reports (docs/agent.md, "On the collector"):
//
//   consecutive   a new problem (WARNING, CRITICAL, UNKNOWN) alerts only after this many
//                 heartbeats in a row report it (Nagios' soft -> hard state); before that
//                 the alert keeps its previous state. OK resolves at once.
//   flapping      `flap_changes` changes of the reported state within `flap_window` mark
//                 the check flapping: its alert state is held (a check that was OK fires
//                 once, with the worst state of the window; a firing one stays firing) and
//                 no flip pages or resolves. It stops flapping after a whole window
//                 without a change; then the alert follows the report again.
//
// Only sources that ever reported a check have a book (Tracker::Entry::checks is a null
// pointer otherwise: memory per source is a budget, docs/benchmarks.md). A check missing
// from a heartbeat counts as reported OK (the agent leaves OK checks out of a full frame,
// docs/agent.md "In heartbeats"); its record stays, marked not reported.
//
// Not thread-safe: the tracker calls it under its lock.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "firewatch/protocol/frame.h"
#include "tracker/source.h"

namespace firewatch::collector {

inline constexpr uint32_t kMaxCheckHistory = 100;    // hard cap of `check_alerts.history`
inline constexpr size_t kMaxBookChecks = 128;        // records per source (agents send <= 64)
// Bytes of check messages kept per source (each record's `output`, the last heartbeat's):
// what an agent can send at most (64 checks, each message cut to 256 bytes by the agent,
// protocol::kMaxCheckOutput), so a real agent's messages are never cut; a frame over HTTP
// can carry 128 checks of 256 bytes, which would be twice that. Messages past the budget
// (in frame order) are cut to what is left of it, at a UTF-8 boundary, and counted
// (CheckBookUpdate::cut, firewatch_check_output_truncated_total).
inline constexpr size_t kMaxBookOutputBytes = 64 * protocol::kMaxCheckOutput;  // 16 KiB
// Bytes of the message kept with each history entry (CheckStateChange::output): the
// history says what changed and when; the whole message is the record's `output`. A
// record keeps up to kMaxCheckHistory entries, so this, not the frame, bounds it.
inline constexpr size_t kMaxHistoryOutput = 64;

// How the alerts of the checks a rule matches follow their reports.
struct CheckAlertRule {
  std::string check;         // the check's name; empty: every check
  protocol::Labels labels;   // each must equal the source's label of that name
  uint32_t consecutive = 1;  // heartbeats in a row reporting a problem before it alerts
  uint32_t flap_changes = 0; // changes within flap_window that mean flapping; 0: never
  int64_t flap_window_ms = 0;
};

struct CheckAlertPolicy {
  uint32_t history = 20;  // changes kept per check, 1..kMaxCheckHistory
  std::vector<CheckAlertRule> rules;  // the first that matches applies
  // The rule for `check` of a source with `labels`; the default (alert on the first
  // report, never flapping) when none matches.
  const CheckAlertRule& For(std::string_view check, const protocol::Labels& labels) const;
};

// One change of a check's reported state.
struct CheckStateChange {
  protocol::CheckState from = protocol::CheckState::kOk;
  protocol::CheckState to = protocol::CheckState::kOk;
  int64_t at_ms = 0;
  std::string output;  // the message that came with `to`, cut to kMaxHistoryOutput
};

struct CheckRecord {
  std::string name;
  protocol::CheckState state = protocol::CheckState::kOk;  // as last reported
  std::string output;
  int64_t since_ms = 0;    // when `state` began; 0: before the collector restarted
  int64_t changed_ms = 0;  // last change of the state or the message; 0: likewise
  uint32_t consecutive = 0;  // heartbeats in a row that reported `state`
  protocol::CheckState alerted = protocol::CheckState::kOk;  // what its alerts say
  bool flapping = false;
  bool reported = false;  // in the last heartbeat
  std::vector<CheckStateChange> history;  // oldest first, at most CheckAlertPolicy::history
};

using CheckBook = std::vector<CheckRecord>;

// Applies one heartbeat's checks to `book`: appends to `out` a CheckChange for each check
// whose alert state changed (from/to are alert states). `labels` is called at most once,
// only when a rule has to be looked up or a change is reported.
class CheckBookUpdate {
 public:
  CheckBookUpdate(const CheckAlertPolicy& policy, std::string_view source_id,
                  std::function<protocol::Labels()> labels, int64_t now_ms,
                  std::vector<CheckChange>& out);
  void Apply(CheckBook& book, std::span<const protocol::CheckView> checks);
  // Messages cut to kMaxBookOutputBytes by Apply so far (not the history's cuts, which
  // every long message gets).
  uint64_t cut() const { return cut_; }

 private:
  void Report(CheckRecord& r, protocol::CheckState state, std::string_view output);
  void Decide(CheckRecord& r, bool changed);
  const protocol::Labels& Labels();

  const CheckAlertPolicy& policy_;
  std::string_view source_id_;
  std::function<protocol::Labels()> labels_fn_;
  bool have_labels_ = false;
  protocol::Labels labels_;
  int64_t now_ms_;
  std::vector<CheckChange>& out_;
  uint64_t cut_ = 0;
};

// A book for checks restored from the store: each one's alert state is its state (the
// restart fires their alerts again, collector_app.cc StartupFor), times and history unknown.
std::shared_ptr<CheckBook> RestoredBook(const std::vector<protocol::CheckResult>& checks);

// True while some check's alert does not follow its report yet (fewer than `consecutive`
// reports of a new problem) or is held as flapping: only then does a heartbeat that
// repeats the same checks change anything.
bool StillDeciding(const CheckBook& book);

// Heap and inline bytes `book` holds (vector capacities, strings past the small-string
// buffer, rounded as glibc malloc does): what docs/agent.md's worst case per source is
// measured with.
size_t ApproxBytes(const CheckBook& book);

// The checks of the last heartbeat (SourceSnapshot::checks), in the book's order.
std::vector<protocol::CheckResult> ReportedChecks(const CheckBook& book);
// A 64-bit digest of what ReportedChecks would return (names, states, outputs, order):
// whether a heartbeat changed the checks the store keeps, without building them.
uint64_t ReportedDigest(const CheckBook& book);

// Each check of `s` with the state its alert shows (the book's alert states; without a
// book, the reported ones): what resolving a forgotten source's alerts must cover.
std::vector<protocol::CheckResult> AlertedChecks(const SourceSnapshot& s);

}  // namespace firewatch::collector
