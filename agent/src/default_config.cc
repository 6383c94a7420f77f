#include "default_config.h"

namespace firewatch::agent {

std::string_view DefaultAgentConfigYaml() {
  return R"(# firewatch-agent configuration (embedded defaults). Reference: docs/agent.md.
agent:
  # source_id: web-01        # default: this host's name
  interval: 5s               # 1s..1h
  jitter: 0.1                # fraction of the interval, 0..0.5
  http_listen: 127.0.0.1:9762  # /healthz and /metrics; "" disables
  resolve_interval: 60s      # how often collector names are looked up again
  labels: {}
  log_level: info            # trace, debug, info, warn, error
  log_format: text           # text or json: one line per event on stderr
key:
  id: default
  file: ./firewatch-data/fleet.key  # relative to this file's directory (or the working
                                    # directory for the embedded defaults)
collectors:
  - name: local
    udp: 127.0.0.1:9761
    http: 127.0.0.1:9760
)";
}

}  // namespace firewatch::agent
