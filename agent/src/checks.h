// Extension point for local checks. Heartbeats carry the latest state of every check;
// built-in and Nagios-plugin style checks (a later issue) implement CheckProvider and
// are handed to the Agent. Until then the agent uses NoChecks.
#pragma once

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
};

// No checks configured: heartbeats carry an empty check list.
class NoChecks final : public CheckProvider {
 public:
  std::vector<protocol::CheckResult> Current() override { return {}; }
};

}  // namespace firewatch::agent
