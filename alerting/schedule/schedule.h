// On-call schedules: who is on call at an instant, when that changes next, and the
// timeline for the status page and CLI. Pure functions of (schedule, instant); no clock.
//
// A Schedule has layers (rotations) and overrides:
//   - A Rotation hands off between its members, in order, at LOCAL wall-clock times in its
//     zone: shift k starts at local time `start + k * length` (k = 0, 1, ...), member
//     k mod N is on call. So a daily 09:00 rotation hands off at 09:00 local every day and
//     one shift per DST change is 23 or 25 hours long (a weekly one 167 or 169 hours).
//     Local times that fall in a DST gap or overlap are resolved as local_time.h says;
//     a shift that thereby has no length (possible only with 1h lengths) is skipped.
//   - Before `start` and from `end` on, a rotation yields nobody.
//   - Layers: rotations are listed bottom-up. At an instant, the LAST listed rotation
//     that yields someone wins (scan from the top, first hit wins). With no
//     restrictions, that is the last rotation that has started and not ended.
//   - Overrides [start, end) replace whoever the rotations give. When several overlap,
//     all their contacts are on call (listed order, duplicates removed).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "schedule/local_time.h"

namespace firewatch::alerting::schedule {

inline constexpr std::chrono::minutes kDaily{24 * 60};
inline constexpr std::chrono::minutes kWeekly{7 * 24 * 60};

// One layer. Valid when members is non-empty, zone is set and length >= 1h (the config
// reader guarantees this; the functions below treat an invalid rotation as empty).
struct Rotation {
  std::string name;                        // for listings ("weekly", "follow-the-sun")
  std::vector<std::string> members;        // contact names, in hand-off order
  Zone zone = nullptr;                     // the wall clock of start, length and end
  LocalTime start{};                       // the first hand-off (its time of day is the
                                           // hand-off time for daily/weekly)
  std::chrono::minutes length = kWeekly;   // wall-clock length of each shift
  std::optional<LocalTime> end;            // yields nobody from here on
};

// Someone covering [start, end), whatever the rotations say.
struct Override {
  std::string contact;
  WallTime start;
  WallTime end;
};

struct Schedule {
  std::string name;
  Zone zone = nullptr;               // default zone of the rotations; used for display
  std::vector<Rotation> rotations;   // layers, bottom first
  std::vector<Override> overrides;
};

// One shift of one rotation.
struct RotationShift {
  int64_t index = 0;     // k: 0 for the shift starting at `start`
  std::string member;    // members[k mod N]
  WallTime start;        // hand-off instant
  WallTime end;          // next hand-off instant, or the rotation's end if earlier
};

// The instant of hand-off k of `r` (k >= 0). Non-decreasing in k.
WallTime HandoffAt(const Rotation& r, int64_t k);
// The shift of `r` containing t (start <= t < end); nullopt before the first hand-off,
// from the rotation's end on, or for an invalid rotation.
std::optional<RotationShift> ShiftAt(const Rotation& r, WallTime t);

// Who is on call at t: the covering overrides' contacts if any, else the winning layer's
// member, else empty (nobody: before every rotation started, or after all ended).
std::vector<std::string> OnCallAt(const Schedule& s, WallTime t);

// The first instant after t at which OnCallAt changes (a boundary where the same people
// stay on call is not a hand-off). nullopt when nothing changes within 400 days of t
// (a one-member rotation, say), so a timer is never armed for nothing.
std::optional<WallTime> NextHandoff(const Schedule& s, WallTime t);

// One entry of the effective timeline.
struct Shift {
  WallTime start;
  WallTime end;
  std::vector<std::string> contacts;  // empty: nobody on call
  std::string source;                 // "override", the rotation's name, or "" (nobody)
};
// The effective timeline over [from, to): consecutive, non-overlapping entries that
// cover the range exactly (clipped to it), adjacent entries with the same contacts and
// source merged, gaps with nobody included. At most `max_entries` entries (the last one
// then ends before `to`). Empty when to <= from.
std::vector<Shift> Shifts(const Schedule& s, WallTime from, WallTime to,
                          size_t max_entries = 10'000);

}  // namespace firewatch::alerting::schedule
