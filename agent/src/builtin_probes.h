// The arithmetic of the built-in checks, apart from the I/O that feeds it, so it is
// tested on fixed inputs: parsers for /proc files and the threshold rules that turn a
// measurement into a check state and a one-line message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "firewatch/protocol/frame.h"

namespace firewatch::agent {

struct ProbeResult {
  protocol::CheckState state = protocol::CheckState::kUnknown;
  std::string message;
};

// /proc/loadavg: the 1-minute load average.
std::optional<double> ParseLoadAvg(std::string_view text);

struct MemInfo {
  uint64_t total_kb = 0;
  uint64_t available_kb = 0;
};
// /proc/meminfo: MemTotal and MemAvailable (both required, both in kB).
std::optional<MemInfo> ParseMemInfo(std::string_view text);

// Larger is worse (disk used, load, age): >= critical is CRITICAL, >= warning WARNING.
protocol::CheckState AtOrAbove(double value, double warning, double critical);
// Smaller is worse (memory available).
protocol::CheckState AtOrBelow(double value, double warning, double critical);

// statvfs-style counts to the disk check's result. Percentages are of what an
// unprivileged user can use (blocks - free + avail), as df shows them.
struct DiskUsage {
  uint64_t blocks = 0, bfree = 0, bavail = 0, bsize = 0, files = 0, ffree = 0;
};
ProbeResult EvaluateDisk(std::string_view path, const DiskUsage& u, double warning, double critical,
                         double inodes_warning, double inodes_critical, double* used_percent,
                         double* inodes_percent);

// The http check's URL: http(s)://IP[:port][/path] (IP literal; port 80, or 443 for https,
// by default).
struct HttpTarget {
  bool tls = false;  // https://
  std::string host;  // as written (IPv6 without brackets)
  uint16_t port = 80;
  std::string path;         // starts with '/'; printable ASCII, no spaces, at most 1024 bytes
  std::string host_header;  // host[:port] as it goes in Host:
};
// Fills `out` or returns why the URL is refused ("" on success).
std::string ParseHttpUrl(std::string_view url, HttpTarget& out);

// Judges the first bytes of an HTTP/1.x answer: CRITICAL when it is not HTTP, the status
// differs from `expect_status`, or `body_contains` is set and not in the body read.
// `truncated` says the answer was cut at the read limit (named in the message).
ProbeResult EvaluateHttpResponse(std::string_view raw, int expect_status,
                                 std::string_view body_contains, bool truncated);
// The same for an answer already parsed (https, through libcurl): its status and body.
ProbeResult EvaluateHttpAnswer(int status, std::string_view body, int expect_status,
                               std::string_view body_contains, bool truncated);

// The collector's clock from its /healthz answer ("time_unix_ms":N in the body).
std::optional<int64_t> ParseCollectorTime(std::string_view raw);

// The clock check: the collector's time against the midpoint of the local send and
// receive times (all Unix ms). Positive offset: the agent is ahead. Thresholds are on
// the absolute offset in seconds.
ProbeResult EvaluateClockOffset(int64_t collector_ms, int64_t sent_ms, int64_t received_ms,
                                double warning, double critical, double* offset_seconds);

}  // namespace firewatch::agent
