#include "plugin_output.h"

#include <charconv>
#include <cmath>

#include "firewatch/text/utf8.h"

namespace firewatch::agent {

namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// A finite number (from_chars, so no locale and no allocation); the whole of `s`.
std::optional<double> ParseNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

bool KnownUnit(std::string_view u) {
  for (std::string_view k : {"", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c"}) {
    if (u == k) return true;
  }
  return false;
}

// Splits off the next perfdata item from `rest`: a label may be quoted ('' is a quote
// inside quotes) and then contain spaces and '='. Returns false when nothing is left.
bool NextItem(std::string_view& rest, std::string& label, std::string_view& data, bool& ok) {
  while (!rest.empty() && IsSpace(rest.front())) rest.remove_prefix(1);
  if (rest.empty()) return false;
  ok = true;
  label.clear();
  size_t i = 0;
  if (rest[0] == '\'') {
    i = 1;
    bool closed = false;
    while (i < rest.size()) {
      if (rest[i] == '\'') {
        if (i + 1 < rest.size() && rest[i + 1] == '\'') {
          label.push_back('\'');
          i += 2;
          continue;
        }
        closed = true;
        ++i;
        break;
      }
      label.push_back(rest[i++]);
    }
    if (!closed || i >= rest.size() || rest[i] != '=') ok = false;
  } else {
    while (i < rest.size() && rest[i] != '=' && !IsSpace(rest[i])) label.push_back(rest[i++]);
    if (i >= rest.size() || rest[i] != '=') ok = false;
  }
  if (!ok) {
    // Skip to the next space: the item is lost, the rest may still parse.
    while (i < rest.size() && !IsSpace(rest[i])) ++i;
    rest.remove_prefix(i);
    return true;
  }
  ++i;  // '='
  size_t start = i;
  while (i < rest.size() && !IsSpace(rest[i])) ++i;
  data = rest.substr(start, i - start);
  rest.remove_prefix(i);
  return true;
}

bool ParseData(std::string_view data, PerfDatum& d) {
  // value[UOM];warn;crit;min;max -- fields after value may be empty or missing.
  std::string_view fields[5];
  size_t n = 0;
  while (n < 5) {
    size_t semi = data.find(';');
    fields[n++] = data.substr(0, semi);
    if (semi == std::string_view::npos) break;
    data.remove_prefix(semi + 1);
  }
  std::string_view v = fields[0];
  size_t unit_at = v.size();
  while (unit_at > 0 && !(v[unit_at - 1] >= '0' && v[unit_at - 1] <= '9') &&
         v[unit_at - 1] != '.') {
    --unit_at;
  }
  auto value = ParseNumber(v.substr(0, unit_at));
  std::string_view unit = v.substr(unit_at);
  if (!value || !KnownUnit(unit)) return false;
  d.value = *value;
  d.unit = std::string(unit);
  // warn and crit are ranges ("10:20", "@~:5"); they are the plugin's business, not
  // exported. min and max are plain numbers when present.
  if (n > 3 && !fields[3].empty()) d.min = ParseNumber(fields[3]);
  if (n > 4 && !fields[4].empty()) d.max = ParseNumber(fields[4]);
  return true;
}

bool GoodLabel(std::string_view l, size_t max) {
  if (l.empty() || l.size() > max) return false;
  for (unsigned char c : l) {
    if (c < 0x20 || c == 0x7f || c == '\'' || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace

PluginOutput ParsePluginOutput(std::string_view raw, const PluginOutputLimits& limits) {
  PluginOutput out;
  std::string_view line = raw.substr(0, raw.find('\n'));
  size_t bar = line.find('|');
  std::string_view message = Trim(line.substr(0, bar));
  std::string msg(text::Utf8Prefix(message, limits.max_message));
  for (char& c : msg) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  out.message = std::move(msg);
  if (bar == std::string_view::npos) return out;

  std::string_view rest = line.substr(bar + 1);
  std::string label;
  std::string_view data;
  bool ok = false;
  // Bounded by the line's length: every iteration consumes at least one byte.
  while (NextItem(rest, label, data, ok)) {
    PerfDatum d;
    if (!ok || !GoodLabel(label, limits.max_label) || !ParseData(data, d) ||
        out.perfdata.size() >= limits.max_perfdata) {
      ++out.perfdata_rejected;
      continue;
    }
    bool duplicate = false;  // one series per label in /metrics
    for (const auto& p : out.perfdata) duplicate = duplicate || p.label == label;
    if (duplicate) {
      ++out.perfdata_rejected;
      continue;
    }
    d.label = label;
    out.perfdata.push_back(std::move(d));
  }
  return out;
}

}  // namespace firewatch::agent
