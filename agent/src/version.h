// The agent's version string, as sent in every heartbeat and shown by --version and
// firewatch_agent_build_info. It is the CMake project version.
#pragma once

#include <string_view>

namespace firewatch::agent {

// "0.1.0"-style version of this build. Never empty.
std::string_view AgentVersion();

}  // namespace firewatch::agent
