#include "schedule/schedule.h"

#include <algorithm>

namespace firewatch::alerting::schedule {
namespace {

using std::chrono::seconds;

bool Valid(const Rotation& r) {
  return !r.members.empty() && r.zone != nullptr && r.length >= std::chrono::hours(1);
}

std::optional<WallTime> EndOf(const Rotation& r) {
  if (!r.end) return std::nullopt;
  return ToWall(r.zone, *r.end);
}

// Who is on call at t and which layer decided.
struct Resolved {
  std::vector<std::string> contacts;
  std::string source;
};

Resolved ResolveAt(const Schedule& s, WallTime t) {
  Resolved out;
  for (const auto& o : s.overrides) {
    if (o.start <= t && t < o.end &&
        std::find(out.contacts.begin(), out.contacts.end(), o.contact) == out.contacts.end()) {
      out.contacts.push_back(o.contact);
    }
  }
  if (!out.contacts.empty()) {
    out.source = "override";
    return out;
  }
  for (auto it = s.rotations.rbegin(); it != s.rotations.rend(); ++it) {
    if (auto shift = ShiftAt(*it, t)) {
      out.contacts.push_back(shift->member);
      out.source = it->name;
      return out;
    }
  }
  return out;
}

// The smallest instant > t at which anything in the schedule starts or ends.
std::optional<WallTime> NextBoundary(const Schedule& s, WallTime t) {
  std::optional<WallTime> best;
  auto offer = [&](WallTime b) {
    if (b > t && (!best || b < *best)) best = b;
  };
  for (const auto& r : s.rotations) {
    if (!Valid(r)) continue;
    offer(HandoffAt(r, 0));
    if (auto shift = ShiftAt(r, t)) offer(shift->end);
    if (auto end = EndOf(r)) offer(*end);
  }
  for (const auto& o : s.overrides) {
    offer(o.start);
    offer(o.end);
  }
  return best;
}

}  // namespace

WallTime HandoffAt(const Rotation& r, int64_t k) {
  return ToWall(r.zone, r.start + k * std::chrono::duration_cast<seconds>(r.length));
}

std::optional<RotationShift> ShiftAt(const Rotation& r, WallTime t) {
  if (!Valid(r) || t < HandoffAt(r, 0)) return std::nullopt;
  const std::optional<WallTime> end = EndOf(r);
  if (end && t >= *end) return std::nullopt;
  // Estimate k from local time, then correct: around DST changes local time is off from
  // elapsed time by up to the DST delta, and the hand-off instants are what count.
  const int64_t len = std::chrono::duration_cast<seconds>(r.length).count();
  const int64_t elapsed = (ToLocal(r.zone, t) - r.start).count();
  int64_t k = elapsed > 0 ? elapsed / len : 0;
  while (k > 0 && HandoffAt(r, k) > t) --k;
  while (HandoffAt(r, k + 1) <= t) ++k;  // also steps over zero-length shifts
  RotationShift shift;
  shift.index = k;
  shift.member = r.members[static_cast<size_t>(k % static_cast<int64_t>(r.members.size()))];
  shift.start = HandoffAt(r, k);
  shift.end = HandoffAt(r, k + 1);
  if (end && *end < shift.end) shift.end = *end;
  return shift;
}

std::vector<std::string> OnCallAt(const Schedule& s, WallTime t) {
  return ResolveAt(s, t).contacts;
}

std::optional<WallTime> NextHandoff(const Schedule& s, WallTime t) {
  const std::vector<std::string> now = OnCallAt(s, t);
  const WallTime horizon = t + std::chrono::days(400);
  WallTime b = t;
  // Bounded: 400 days of the shortest (1h) shifts is 9600 boundaries, plus overrides.
  for (int i = 0; i < 100'000; ++i) {
    const std::optional<WallTime> next = NextBoundary(s, b);
    if (!next || *next > horizon) return std::nullopt;
    if (OnCallAt(s, *next) != now) return next;
    b = *next;
  }
  return std::nullopt;
}

std::vector<Shift> Shifts(const Schedule& s, WallTime from, WallTime to, size_t max_entries) {
  std::vector<Shift> out;
  WallTime b = from;
  while (b < to) {
    Resolved who = ResolveAt(s, b);
    const std::optional<WallTime> next = NextBoundary(s, b);
    const WallTime e = next ? std::min(*next, to) : to;
    if (!out.empty() && out.back().contacts == who.contacts && out.back().source == who.source) {
      out.back().end = e;
    } else {
      if (out.size() >= max_entries) break;
      out.push_back(Shift{b, e, std::move(who.contacts), std::move(who.source)});
    }
    b = e;
  }
  return out;
}

}  // namespace firewatch::alerting::schedule
