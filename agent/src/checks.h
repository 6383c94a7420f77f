// Extension point for local checks. Heartbeats carry the latest state of every check;
// the agent's checks (check_scheduler.h) implement CheckProvider and are handed to the
// Agent; NoChecks is for tests and configs without checks.
#pragma once

#include <string>
#include <vector>

#include "firewatch/protocol/frame.h"

namespace firewatch::agent {

// Supplies the check results to put in the next heartbeat. Called on the loop thread,
// once per heartbeat; must not block (run checks elsewhere and cache their results).
// The results must respect the protocol limits (frame.h); a frame that does not fit is
// sent without checks and the problem is logged.
class CheckProvider {
 public:
  virtual ~CheckProvider() = default;
  virtual std::vector<protocol::CheckResult> Current() = 0;
  // Metric families appended to the agent's /metrics (text format); "" for none.
  virtual std::string RenderMetrics() const { return {}; }
  // Names of checks that have not completed for longer than they should (/healthz).
  virtual std::vector<std::string> StaleChecks() const { return {}; }
  // Stops scheduling and closes every handle on the loop (the agent's shutdown).
  virtual void Close() {}
};

// No checks configured: heartbeats carry an empty check list.
class NoChecks final : public CheckProvider {
 public:
  std::vector<protocol::CheckResult> Current() override { return {}; }
};

}  // namespace firewatch::agent
