// libFuzzer target: the cron expression parser and its next-fire-time search
// (collector/cron/cron.h). Input: an expression as written in a check's `schedule`.
// Checks that nothing crashes, that Next() always ends (bounded scan; -timeout catches a
// regression) and that what it returns is strictly later than where it started.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cron/cron.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto e = firewatch::cron::Expression::Parse(text);
  if (!e.ok()) return 0;
  static const date::time_zone* const zones[] = {date::locate_zone("UTC"),
                                                 date::locate_zone("Europe/Riga"),
                                                 date::locate_zone("America/New_York")};
  // 2021-10-31 00:30 UTC: just before Riga's fall-back, so the DST paths run.
  firewatch::WallTime from{std::chrono::seconds(1635640200)};
  for (const auto* zone : zones) {
    firewatch::WallTime t = from;
    for (int i = 0; i < 3; ++i) {
      auto next = e->Next(t, zone);
      if (!next) break;
      if (*next <= t) __builtin_trap();
      t = *next;
    }
  }
  return 0;
}
