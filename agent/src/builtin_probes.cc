#include "builtin_probes.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace firewatch::agent {

using protocol::CheckState;

std::optional<double> ParseLoadAvg(std::string_view text) {
  size_t end = text.find(' ');
  if (end == std::string_view::npos || end == 0) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + end, v);
  if (ec != std::errc() || p != text.data() + end || !std::isfinite(v) || v < 0) {
    return std::nullopt;
  }
  return v;
}

namespace {

std::optional<uint64_t> MemField(std::string_view text, std::string_view key) {
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    std::string_view line = text.substr(at, nl == std::string_view::npos ? nl : nl - at);
    at = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.size() <= key.size() || line.substr(0, key.size()) != key ||
        line[key.size()] != ':') {
      continue;
    }
    line.remove_prefix(key.size() + 1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), v);
    if (ec != std::errc() || p == line.data()) return std::nullopt;
    return v;
  }
  return std::nullopt;
}

double Percent(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

}  // namespace

std::optional<MemInfo> ParseMemInfo(std::string_view text) {
  auto total = MemField(text, "MemTotal");
  auto avail = MemField(text, "MemAvailable");
  if (!total || !avail || *total == 0 || *avail > *total) return std::nullopt;
  return MemInfo{*total, *avail};
}

CheckState AtOrAbove(double value, double warning, double critical) {
  if (value >= critical) return CheckState::kCritical;
  if (value >= warning) return CheckState::kWarning;
  return CheckState::kOk;
}

CheckState AtOrBelow(double value, double warning, double critical) {
  if (value <= critical) return CheckState::kCritical;
  if (value <= warning) return CheckState::kWarning;
  return CheckState::kOk;
}

ProbeResult EvaluateDisk(std::string_view path, const DiskUsage& u, double warning,
                         double critical, double inodes_warning, double inodes_critical,
                         double* used_percent, double* inodes_percent) {
  // blocks >= bfree >= bavail on every sane file system; clamp instead of trusting it.
  uint64_t bfree = std::min(u.bfree, u.blocks);
  uint64_t bavail = std::min(u.bavail, bfree);
  uint64_t used = u.blocks - bfree;
  double pct = Percent(used, used + bavail);
  uint64_t ffree = std::min(u.ffree, u.files);
  double ipct = Percent(u.files - ffree, u.files);  // 0 when the fs has no inode count
  *used_percent = pct;
  *inodes_percent = ipct;
  CheckState a = AtOrAbove(pct, warning, critical);
  CheckState b = u.files == 0 ? CheckState::kOk : AtOrAbove(ipct, inodes_warning, inodes_critical);
  ProbeResult r;
  r.state = static_cast<int>(a) >= static_cast<int>(b) ? a : b;
  r.message = fmt::format("{} {:.1f}% used, inodes {:.1f}% used", path, pct, ipct);
  return r;
}

}  // namespace firewatch::agent
