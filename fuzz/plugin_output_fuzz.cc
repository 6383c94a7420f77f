// libFuzzer target: the parser for check plugins' output (agent/src/plugin_output.h).
// Any executable can be configured as a plugin, so its stdout is hostile input.
//
// Input: byte 0 picks small limits (to reach the limit paths with short inputs) or the
// defaults; the rest is the plugin's stdout. Checks beyond "no crash, no hang":
//  - the message is within max_message, has no control bytes and no '\n';
//  - at most max_perfdata items, each with a label of 1..max_label bytes without quotes,
//    control bytes or backslashes, a finite value, a known unit, and unique labels
//    (one Prometheus series each);
//  - text::Utf8Prefix never splits a UTF-8 sequence that was whole in its input.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "plugin_output.h"
#include "firewatch/text/utf8.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 64 * 1024) return 0;
  firewatch::agent::PluginOutputLimits limits;
  if (data[0] & 1)
    limits = {
        .max_message = data[0] / 8u, .max_perfdata = data[0] % 5u, .max_label = 1u + data[0] % 7u};
  std::string_view raw(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto out = firewatch::agent::ParsePluginOutput(raw, limits);

  Check(out.message.size() <= limits.max_message);
  for (unsigned char c : out.message) Check(c >= 0x20 && c != 0x7f);
  Check(out.perfdata.size() <= limits.max_perfdata);
  std::set<std::string> labels;
  for (const auto& p : out.perfdata) {
    Check(!p.label.empty() && p.label.size() <= limits.max_label);
    Check(p.label.find_first_of("'\"\\\n") == std::string::npos);
    Check(labels.insert(p.label).second);
    Check(std::isfinite(p.value));
    Check(p.unit.size() <= 2);
    if (p.min) Check(std::isfinite(*p.min));
    if (p.max) Check(std::isfinite(*p.max));
  }

  // A cut at any length of a valid-UTF-8 prefix ends on a sequence boundary.
  std::string_view cut = firewatch::text::Utf8Prefix(raw, data[0]);
  Check(cut.size() <= data[0] || cut.size() == raw.size());
  if (cut.size() < raw.size() && !cut.empty()) {
    unsigned char next = static_cast<unsigned char>(raw[cut.size()]);
    Check((next & 0xC0) != 0x80 || cut.size() == 0);
  }
  return 0;
}
