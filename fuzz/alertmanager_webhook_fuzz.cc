// libFuzzer target: the Alertmanager webhook body POST /api/v1/watchdog/{name} parses
// (collector/watch/alertmanager_webhook.h) after the watchdog's token checked out. A
// broken or hostile Alertmanager (or whoever holds a token) must not crash, hang or
// balloon the collector: any input is a WebhookDelivery or an InvalidArgument.
//
// Checks beyond "no crash, no hang": an accepted body has at most kMaxWebhookAlerts
// alerts, no more firing than alerts, a status of firing or resolved, and nesting within
// kMaxJsonDepth; JsonDepth never reports beyond its cap + 1.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "watch/alertmanager_webhook.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace firewatch::collector;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const size_t depth = JsonDepth(body, kMaxJsonDepth);
  if (depth > kMaxJsonDepth + 1) std::abort();
  auto d = ParseAlertmanagerWebhook(body);
  if (!d.ok()) {
    if (d.status().message().empty()) std::abort();
    return 0;
  }
  const bool sane = depth <= kMaxJsonDepth && d->alerts <= kMaxWebhookAlerts &&
                    d->firing <= d->alerts && (d->status == "firing" || d->status == "resolved");
  if (!sane) std::abort();
  return 0;
}
