// One-shot network probes on the agent's loop for the tcp and http checks: a libuv
// non-blocking connect with a timeout, and optionally a request written and the answer
// read until the peer closes, `max_response` bytes arrived, or the timeout.
//
// The probe owns its handles and frees itself once they are closed; `done` runs once, on
// the loop, unless the token `alive` has expired by then (the owner is gone).
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "firewatch/clock.h"
#include "socket_address.h"

namespace firewatch::agent {

struct NetProbeResult {
  int status = 0;          // 0: connected (and, with a request, answered); else a uv error
  bool timed_out = false;  // status is UV_ETIMEDOUT because the timeout fired
  std::string response;    // with a request: at most max_response bytes of the answer
};

// `request` empty: succeed as soon as the connect does (the tcp check).
void StartNetProbe(uv_loop_t* loop, const SocketAddress& address, std::string request,
                   Duration timeout, size_t max_response, std::weak_ptr<bool> alive,
                   std::function<void(NetProbeResult)> done);

}  // namespace firewatch::agent
