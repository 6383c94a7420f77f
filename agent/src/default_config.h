// The embedded default configuration, used when firewatch-agent runs without --config
// and printed by --print-default-config. It is YAML parsed by the same strict loader as
// any file, so the defaults and the printed text can never disagree.
#pragma once

#include <string_view>

namespace firewatch::agent {

// The default config as YAML text, with comments. Passes --check-config.
std::string_view DefaultAgentConfigYaml();

// The name used for the embedded defaults in messages.
inline constexpr std::string_view kDefaultConfigName = "<embedded defaults>";

}  // namespace firewatch::agent
