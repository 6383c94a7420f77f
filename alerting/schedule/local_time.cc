#include "schedule/local_time.h"

#include <charconv>
#include <exception>

namespace firewatch::alerting::schedule {
namespace {

using std::chrono::seconds;

// Reads exactly `n` digits at text[pos]; advances pos.
bool Digits(std::string_view text, size_t& pos, size_t n, int& out) {
  if (pos + n > text.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  pos += n;
  return true;
}

bool Expect(std::string_view text, size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

// Two digits, zero-padded; v is 0..99.
std::string Two(long long v) {
  return std::string{static_cast<char>('0' + v / 10 % 10), static_cast<char>('0' + v % 10)};
}

}  // namespace

Result<Zone> FindZone(std::string_view name) {
  if (name.empty()) return Status::NotFound("unknown time zone ''");
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return Status::NotFound("unknown time zone '" + std::string(name) + "'");
  }
}

WallTime ToWall(Zone zone, LocalTime local) {
  const date::local_info info = zone->get_info(local);
  date::sys_seconds sys;
  switch (info.result) {
    case date::local_info::unique:
    case date::local_info::ambiguous:  // first = the earlier instant (larger offset)
      sys = date::sys_seconds(local.time_since_epoch() - info.first.offset);
      break;
    case date::local_info::nonexistent:  // the gap ends at the transition
      sys = info.first.end;
      break;
  }
  return WallTime(sys.time_since_epoch());
}

LocalTime ToLocal(Zone zone, WallTime t) {
  return zone->to_local(std::chrono::floor<seconds>(t));
}

Result<std::chrono::minutes> ParseTimeOfDay(std::string_view text) {
  size_t pos = 0;
  int h = 0, m = 0;
  if (!Digits(text, pos, 2, h) || !Expect(text, pos, ':') || !Digits(text, pos, 2, m) ||
      pos != text.size() || h > 23 || m > 59) {
    return Status::InvalidArgument("expected a time of day like 09:00, got '" +
                                   std::string(text) + "'");
  }
  return std::chrono::minutes(h * 60 + m);
}

std::string FormatTimeOfDay(std::chrono::minutes tod) {
  return Two(tod.count() / 60) + ":" + Two(tod.count() % 60);
}

Result<DateTime> ParseDateTime(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument(
        "expected a date-time like 2026-03-02, 2026-03-02T09:00 (local) or "
        "2026-03-02T09:00:00+01:00 (RFC 3339), got '" + std::string(text) + "'");
  };
  size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!Digits(text, pos, 4, y) || !Expect(text, pos, '-') || !Digits(text, pos, 2, mo) ||
      !Expect(text, pos, '-') || !Digits(text, pos, 2, d)) {
    return bad();
  }
  const date::year_month_day ymd{date::year(y), date::month(static_cast<unsigned>(mo)),
                                 date::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return bad();
  DateTime out;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return bad();
    ++pos;
    if (!Digits(text, pos, 2, h) || !Expect(text, pos, ':') || !Digits(text, pos, 2, mi)) {
      return bad();
    }
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (!Digits(text, pos, 2, s)) return bad();
    }
    if (h > 23 || mi > 59 || s > 59) return bad();
    out.has_time = true;
    if (pos < text.size()) {
      const char z = text[pos];
      if (z == 'Z' || z == 'z') {
        ++pos;
        out.utc_offset = seconds(0);
      } else if (z == '+' || z == '-') {
        ++pos;
        int oh = 0, om = 0;
        if (!Digits(text, pos, 2, oh) || !Expect(text, pos, ':') || !Digits(text, pos, 2, om) ||
            oh > 23 || om > 59) {
          return bad();
        }
        const seconds off = std::chrono::hours(oh) + std::chrono::minutes(om);
        out.utc_offset = z == '+' ? off : -off;
      }
    }
    if (pos != text.size()) return bad();
  }
  out.local = LocalTime(date::local_days(ymd).time_since_epoch()) + std::chrono::hours(h) +
              std::chrono::minutes(mi) + seconds(s);
  return out;
}

WallTime Resolve(const DateTime& dt, Zone zone) {
  if (dt.utc_offset) return WallTime(dt.local.time_since_epoch() - *dt.utc_offset);
  return ToWall(zone, dt.local);
}

std::string FormatLocal(Zone zone, WallTime t) {
  const auto sys = std::chrono::floor<seconds>(t);
  const auto info = zone->get_info(sys);
  const auto local = date::local_seconds(sys.time_since_epoch() + info.offset);
  const bool with_seconds = (local.time_since_epoch() % std::chrono::minutes(1)).count() != 0;
  return date::format(with_seconds ? "%F %T " : "%F %R ", local) + info.abbrev;
}

std::string FormatRfc3339(Zone zone, WallTime t) {
  const auto sys = std::chrono::floor<seconds>(t);
  const auto info = zone->get_info(sys);
  const auto local = date::local_seconds(sys.time_since_epoch() + info.offset);
  std::string out = date::format("%FT%T", local);
  const long long off = info.offset.count();
  if (off == 0) return out + "Z";
  const long long a = off < 0 ? -off : off;
  return out + (off < 0 ? "-" : "+") + Two(a / 3600) + ":" + Two(a / 60 % 60);
}

}  // namespace firewatch::alerting::schedule
