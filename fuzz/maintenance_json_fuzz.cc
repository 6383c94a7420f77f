// libFuzzer target: maintenance windows as the API, the store and peers hand them over
// (route::WindowFromJson). Checks that nothing crashes, that an accepted window passes
// ValidateWindow, serializes back to the same text, compiles, and that evaluating it
// (state, current/next occurrence through the cron library, muting) terminates.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "firewatch/clock.h"
#include "route/maintenance.h"

namespace route = firewatch::alerting::route;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto w = route::WindowFromJson(text);
  if (!w.ok()) return 0;
  if (!route::ValidateWindow(*w).ok()) __builtin_trap();
  const std::string json = route::WindowToJson(*w);
  auto back = route::WindowFromJson(json);
  if (!back.ok() || route::WindowToJson(*back) != json) __builtin_trap();
  auto compiled = route::CompiledWindow::Make(*w);
  if (!compiled.ok()) __builtin_trap();
  firewatch::alerting::LabelSet labels = {{"alertname", "SourceDown"}, {"source", "web-1"}};
  for (const auto& m : w->base.matchers) labels[m.name()] = m.value();
  for (auto at : {w->base.starts_at, w->base.starts_at + std::chrono::hours(25),
                  w->base.ends_at - std::chrono::seconds(1)}) {
    (void)(*compiled)->StateAt(at);
    (void)(*compiled)->CurrentOrNext(at);
    (void)(*compiled)->Mutes(labels, at);
  }
  return 0;
}
