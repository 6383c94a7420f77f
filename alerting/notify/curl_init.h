// libcurl plumbing shared by the notifiers (internal to firewatch_notify).
#pragma once

#include "notify/http_call.h"

namespace firewatch::alerting::notify {

// Runs curl_global_init once per process (thread-safe).
void EnsureCurlInitialized();

// Sets no-signal mode, the connect and total timeouts, the CA file and (tests only)
// disabled verification on a CURL* easy handle.
void ApplyTransport(void* curl_easy_handle, const TransportOptions& transport);

}  // namespace firewatch::alerting::notify
