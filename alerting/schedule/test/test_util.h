// Helpers shared by the schedule tests: instants written as RFC 3339 text.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "schedule/local_time.h"

namespace firewatch::alerting::schedule::testing {

// An absolute instant from "2026-03-08T09:00:00-04:00"; aborts the test on bad text.
inline WallTime T(std::string_view rfc3339) {
  auto dt = ParseDateTime(rfc3339);
  EXPECT_TRUE(dt.ok()) << rfc3339;
  EXPECT_TRUE(dt.ok() && dt->utc_offset.has_value()) << rfc3339 << " needs an offset";
  return Resolve(*dt, nullptr);
}

inline Zone Z(std::string_view name) {
  auto z = FindZone(name);
  EXPECT_TRUE(z.ok()) << z.status().message();
  return *z;
}

// A local wall-clock time "2026-03-02T09:00" (no offset).
inline LocalTime L(std::string_view text) {
  auto dt = ParseDateTime(text);
  EXPECT_TRUE(dt.ok() && !dt->utc_offset) << text;
  return dt->local;
}

}  // namespace firewatch::alerting::schedule::testing
