// The body Alertmanager's webhook receiver POSTs (webhook JSON version 4), as far as a
// Watchdog delivery needs it:
// https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
//
//   {"version": "4", "groupKey": "...", "truncatedAlerts": 0, "status": "firing",
//    "receiver": "firewatch", "groupLabels": {...}, "commonLabels": {...},
//    "commonAnnotations": {...}, "externalURL": "http://am:9093",
//    "alerts": [{"status": "firing", "labels": {"alertname": "Watchdog", ...},
//                "annotations": {...}, "startsAt": "...", "endsAt": "...",
//                "generatorURL": "...", "fingerprint": "..."}]}
//
// Validation (anything else is malformed, never a crash): at most kMaxWebhookBody bytes
// (the HTTP route refuses more with 413 before reading), nesting at most kMaxJsonDepth
// (checked before parsing), an object with "version" exactly "4", "status" firing or
// resolved, "alerts" an array of at most kMaxWebhookAlerts objects each with "status"
// firing|resolved and a "labels" object of string values; "receiver" and "groupKey", when
// present, strings. Other fields are ignored (newer Alertmanagers add some).
//
// Only a delivery with at least one firing alert is a sign of life: Alertmanager sends a
// resolved Watchdog when Prometheus stopped sending it, which is the path being broken.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "firewatch/status.h"

namespace firewatch::collector {

inline constexpr size_t kMaxWebhookBody = 256 * 1024;
inline constexpr size_t kMaxWebhookAlerts = 1000;
inline constexpr size_t kMaxJsonDepth = 16;

struct WebhookDelivery {
  std::string receiver;
  std::string status;  // "firing" or "resolved"
  size_t alerts = 0;
  size_t firing = 0;            // alerts whose status is firing
  std::string first_alertname;  // of the first alert, for logs (may be empty)
};

// Parses and validates `body`; InvalidArgument saying what is wrong (for the 400 answer).
Result<WebhookDelivery> ParseAlertmanagerWebhook(std::string_view body);

// The deepest nesting of arrays/objects in `json` (strings and escapes skipped), counting
// up to `cap` + 1 and stopping there: linear, no recursion, any bytes.
size_t JsonDepth(std::string_view json, size_t cap);

}  // namespace firewatch::collector
