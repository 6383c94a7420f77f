// libFuzzer target: the agent's YAML config (agent/src/agent_config.h): YAML parse, then
// the strict reader (labels, checks, collectors, key, limits that keep a frame under
// 1200 bytes). Checks that any text yields a config or an error, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent_config.h"
#include "firewatch/config/yaml_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto doc = firewatch::config::LoadString(text, "fuzz.yml");
  if (!doc.ok()) return 0;
  auto c = firewatch::agent::ParseAgentConfig(*doc, "fuzz.yml", "fuzz-host", "/nonexistent/fuzz");
  (void)c;
  return 0;
}
