// libFuzzer target: the collector's YAML config (collector/app/collector_config.h), with
// its embedded route tree, inhibit rules (matchers, RE2), contacts, channels, schedules,
// escalation policies and cluster section. Checks that any text yields a config or an
// error, never a crash or a hang. Relative paths resolve under a directory that does not
// exist, so secret files named by the input are not found.
#include <cstddef>
#include <cstdint>
#include <string>

#include "app/collector_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto c = firewatch::collector::ParseCollectorConfig(text, "fuzz.yml", "/nonexistent/fuzz");
  (void)c;
  return 0;
}
