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
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ':') {
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

ProbeResult EvaluateDisk(std::string_view path, const DiskUsage& u, double warning, double critical,
                         double inodes_warning, double inodes_critical, double* used_percent,
                         double* inodes_percent) {
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

std::optional<int64_t> ParseCollectorTime(std::string_view raw) {
  if (EvaluateHttpResponse(raw, 200, "", false).state != CheckState::kOk) return std::nullopt;
  constexpr std::string_view kKey = "\"time_unix_ms\":";
  size_t at = raw.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = raw.substr(at + kKey.size());
  int64_t v = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
  if (ec != std::errc() || end == rest.data() || v <= 0) return std::nullopt;
  return v;
}

ProbeResult EvaluateClockOffset(int64_t collector_ms, int64_t sent_ms, int64_t received_ms,
                                double warning, double critical, double* offset_seconds) {
  // Wire values: compute in double, so no int64 overflow whatever the collector says.
  const double mid = (static_cast<double>(sent_ms) + static_cast<double>(received_ms)) / 2;
  const double offset = (mid - static_cast<double>(collector_ms)) / 1000.0;
  const double error =
      std::abs(static_cast<double>(received_ms) - static_cast<double>(sent_ms)) / 2000.0;
  *offset_seconds = offset;
  ProbeResult r;
  r.state = AtOrAbove(std::abs(offset), warning, critical);
  r.message = fmt::format("clock {:.3f}s {} the collector's (+/- {:.3f}s)", std::abs(offset),
                          offset >= 0 ? "ahead of" : "behind", error);
  return r;
}

std::string ParseHttpUrl(std::string_view url, HttpTarget& out) {
  constexpr std::string_view kHttp = "http://";
  constexpr std::string_view kHttps = "https://";
  out.tls = url.substr(0, kHttps.size()) == kHttps;
  if (!out.tls && url.substr(0, kHttp.size()) != kHttp) return "must start with http:// or https://";
  url.remove_prefix(out.tls ? kHttps.size() : kHttp.size());
  size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "/" : url.substr(slash);
  if (path.size() > 1024) return "the path is longer than 1024 bytes";
  for (unsigned char c : path) {
    if (c <= 0x20 || c >= 0x7f) return "the path must be printable ASCII without spaces";
  }
  if (authority.empty()) return "no host";
  std::string_view host = authority;
  std::string_view port;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return "unclosed [ in the host";
    host = authority.substr(1, close - 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return "unexpected text after ]";
      port = rest.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  uint32_t p = out.tls ? 443 : 80;
  if (!port.empty()) {
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535) {
      return "the port must be 1..65535";
    }
  }
  out.host = std::string(host);
  out.port = static_cast<uint16_t>(p);
  out.path = std::string(path);
  out.host_header = std::string(authority);
  return "";
}

ProbeResult EvaluateHttpResponse(std::string_view raw, int expect_status,
                                 std::string_view body_contains, bool truncated) {
  ProbeResult r;
  r.state = CheckState::kCritical;
  // "HTTP/1.1 200 OK\r\n"
  if (raw.size() < 12 || raw.substr(0, 7) != "HTTP/1." || raw[8] != ' ') {
    r.message = "not an HTTP/1.x answer";
    return r;
  }
  int status = 0;
  auto [end, ec] = std::from_chars(raw.data() + 9, raw.data() + 12, status);
  if (ec != std::errc() || end != raw.data() + 12 || status < 100) {
    r.message = "bad HTTP status line";
    return r;
  }
  size_t head_end = raw.find("\r\n\r\n");
  std::string_view body =
      head_end == std::string_view::npos ? std::string_view() : raw.substr(head_end + 4);
  return EvaluateHttpAnswer(status, body, expect_status, body_contains, truncated);
}

ProbeResult EvaluateHttpAnswer(int status, std::string_view body, int expect_status,
                               std::string_view body_contains, bool truncated) {
  ProbeResult r;
  r.state = CheckState::kCritical;
  if (status != expect_status) {
    r.message = fmt::format("HTTP {} (expected {})", status, expect_status);
    return r;
  }
  if (!body_contains.empty() && body.find(body_contains) == std::string_view::npos) {
    r.message = fmt::format("HTTP {} but the body{} does not contain the expected text", status,
                            truncated ? " (first bytes read)" : "");
    return r;
  }
  r.state = CheckState::kOk;
  r.message = fmt::format("HTTP {}", status);
  return r;
}

}  // namespace firewatch::agent
