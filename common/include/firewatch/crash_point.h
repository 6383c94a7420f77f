// Fault injection for the crash tests (tests/system/test_crash_points.py, docs/outbox.md
// "Crash points"): when the environment variable FIREWATCH_CRASH_AT names `point`, the
// process kills itself with SIGKILL right there, as a power cut or the OOM killer would,
// the first time it gets there. Unset (always in production): a no-op costing one
// comparison against a value read once.
#pragma once

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace firewatch {

inline void CrashPoint(const char* point) {
  static const char* const target = std::getenv("FIREWATCH_CRASH_AT");
  if (target == nullptr || std::strcmp(target, point) != 0) return;
  std::fprintf(stderr, "FIREWATCH_CRASH_AT=%s: killing the process here\n", point);
  std::fflush(stderr);
  std::raise(SIGKILL);
}

}  // namespace firewatch
