#include "version.h"

#ifndef FIREWATCH_VERSION
#error "FIREWATCH_VERSION must be defined by the build"
#endif

namespace firewatch::agent {

std::string_view AgentVersion() { return FIREWATCH_VERSION; }

}  // namespace firewatch::agent
