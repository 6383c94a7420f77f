// Helpers shared by the route tests.
#pragma once

#include <gtest/gtest.h>

#include "route/matcher.h"

namespace firewatch::alerting::route::testing {

inline Matchers Ms(std::initializer_list<const char*> texts) {
  Matchers out;
  for (const char* t : texts) {
    auto m = ParseMatcher(t);
    EXPECT_TRUE(m.ok()) << t << ": " << m.status().message();
    if (m.ok()) out.push_back(*m);
  }
  return out;
}

inline Alert Firing(LabelSet labels) {
  Alert a;
  a.labels = std::move(labels);
  return a;
}

inline Alert Resolved(LabelSet labels) {
  Alert a;
  a.labels = std::move(labels);
  a.status = AlertStatus::kResolved;
  return a;
}

}  // namespace firewatch::alerting::route::testing
