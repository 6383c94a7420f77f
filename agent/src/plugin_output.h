// Parser for the output of a Nagios-convention check plugin (Nagios Plugin API,
// "Plugin Output"): the first line is "MESSAGE[|PERFDATA]"; PERFDATA is a
// space-separated list of 'label'=value[UOM][;warn[;crit[;min[;max]]]].
//
// Every input is hostile (any binary may be configured as a plugin): the parser never
// reads past `raw`, keeps at most Limits::max_perfdata items and Limits::max_message
// bytes of message, replaces control bytes with spaces, and skips (counts) any perfdata
// item it cannot parse instead of failing the whole output. Long output (lines after the
// first) is ignored: the heartbeat has room for one short line only.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace firewatch::agent {

struct PerfDatum {
  std::string label;  // 1..max_label bytes, no control bytes, no quotes
  double value = 0;   // finite
  std::string unit;   // "", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c"
  std::optional<double> min, max;
  bool operator==(const PerfDatum&) const = default;
};

struct PluginOutput {
  std::string message;  // first line before '|', trimmed; may be empty
  std::vector<PerfDatum> perfdata;
  size_t perfdata_rejected = 0;  // items that did not parse or were over the limit
};

struct PluginOutputLimits {
  size_t max_message = 256;  // protocol::kMaxCheckOutput
  size_t max_perfdata = 16;
  size_t max_label = 64;
};

PluginOutput ParsePluginOutput(std::string_view raw, const PluginOutputLimits& limits = {});


}  // namespace firewatch::agent
