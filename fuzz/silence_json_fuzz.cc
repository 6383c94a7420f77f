// libFuzzer target: silences as the API, the store and peers hand them over
// (route::SilenceFromJson), then into a Silencer. Checks that nothing crashes, that an
// accepted silence passes ValidateSilence, serializes back to an equal silence, and can be
// set, merged, listed, evaluated and expired.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "firewatch/clock.h"
#include "route/silence.h"

namespace route = firewatch::alerting::route;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto s = route::SilenceFromJson(text);
  if (!s.ok()) return 0;
  if (!route::ValidateSilence(*s).ok()) __builtin_trap();
  auto back = route::SilenceFromJson(route::SilenceToJson(*s));
  if (!back.ok() || back->matchers != s->matchers || back->comment != s->comment ||
      back->created_by != s->created_by || back->force != s->force) {
    __builtin_trap();
  }

  // Evaluate at its own start, with labels built from its own matchers' values.
  const firewatch::WallTime now = s->starts_at;
  firewatch::alerting::LabelSet labels = {{"alertname", "SourceDown"}, {"source", "web-1"}};
  for (const auto& m : s->matchers) labels[m.name()] = m.value();
  int n = 0;
  route::Silencer silencer([&n]() -> std::string {
    return "fuzz-" + std::to_string(++n);
  });
  route::Silence copy = *s;
  if (!copy.id.empty()) (void)silencer.Merge(copy, now);
  copy.id.clear();
  if (auto id = silencer.Set(copy, now); id.ok()) {
    (void)silencer.Mutes(labels, now);
    (void)silencer.MutedBy(labels, now);
    (void)silencer.Expire(*id, now);
  }
  (void)silencer.List();
  (void)silencer.Gc(now);
  return 0;
}
