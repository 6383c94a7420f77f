// Runs the configured checks (check_config.h) on the agent's loop and keeps their latest
// results for the heartbeats (CheckProvider), /metrics and /healthz.
//
// Each check has its own repeating timer; a check never overlaps itself (a run still
// going when the next is due is skipped and counted). Plugins (exec, systemd) go through
// one ExecRunner: at most max_concurrent at once; a check due while all slots are taken
// waits in a FIFO queue. tcp and http are libuv connects with a timer (net_probes.h),
// http a plain HTTP/1.1 GET whose answer is read up to 16 KiB; disk and file_age
// use the libuv thread pool (uv_fs_statfs/uv_fs_stat) so a hung mount cannot stall the
// loop; load, memory and process read /proc, which does not block.
//
// Nothing here blocks the loop, so heartbeats (a timer on the same loop) stay on time
// whatever a plugin does. Loop thread only.
#pragma once

#include <uv.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "check_config.h"
#include "checks.h"
#include "exec_runner.h"
#include "firewatch/clock.h"
#include "firewatch/net/uv_http_client.h"
#include "firewatch/status.h"
#include "plugin_output.h"

namespace firewatch::agent {

class CheckScheduler final : public CheckProvider {
 public:
  struct Options {
    size_t max_concurrent = 4;
    size_t max_output = 4096;  // stdout bytes kept per plugin run
    // Minimal PATH for plugins (no inherited environment at all); the Debian plugin
    // directory is on it so `check_disk` needs no absolute path.
    std::string path =
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:"
        "/usr/lib/nagios/plugins";
    // First runs are spread this far apart so checks do not start in one burst.
    Duration stagger = std::chrono::milliseconds(100);
  };

  // What the agent knows about one check.
  struct Status {
    protocol::CheckState state = protocol::CheckState::kUnknown;  // reported (damped)
    std::string message;
    protocol::CheckState raw = protocol::CheckState::kUnknown;  // the latest run's
    uint64_t streak = 0;                                        // consecutive runs with state `raw`
    bool reported = false;                                      // `state` holds a reported result
    std::vector<PerfDatum> perfdata;
    Duration duration{};
    std::optional<MonoTime> last_done;
    uint64_t runs = 0, timeouts = 0, skipped = 0;
    uint64_t discarded_bytes = 0;
  };

  CheckScheduler(uv_loop_t* loop, const Clock& clock, std::vector<CheckConfig> checks,
                 Options options);
  ~CheckScheduler() override;
  CheckScheduler(const CheckScheduler&) = delete;
  CheckScheduler& operator=(const CheckScheduler&) = delete;

  // Resolves run-as users (refused unless the agent is root or already that user) and
  // arms the timers. On error nothing was started.
  firewatch::Status Start();
  void Close() override;

  std::vector<protocol::CheckResult> Current() override;
  std::string RenderMetrics() const override;
  std::vector<std::string> StaleChecks() const override;

  size_t size() const { return checks_.size(); }
  const Status& status(size_t i) const;
  const CheckConfig& config(size_t i) const;

 private:
  struct Check;
  void Due(Check& c);
  void Launch(Check& c);
  void LaunchExec(Check& c);
  void LaunchTcp(Check& c);
  void LaunchHttp(Check& c);
  void LaunchHttps(Check& c, const struct HttpTarget& t);
  void LaunchClock(Check& c);
  void LaunchFs(Check& c);
  void RunInline(Check& c);
  void Finish(Check& c, protocol::CheckState state, std::string message,
              std::vector<PerfDatum> perf = {});
  void DrainQueue();
  ExecRunner::Spec SpecFor(const Check& c) const;

  uv_loop_t* loop_;
  const Clock& clock_;
  Options options_;
  ExecRunner exec_;
  std::vector<std::unique_ptr<Check>> checks_;
  std::deque<Check*> queue_;
  bool started_ = false;
  bool closed_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  // https checks only, made at the first one: libcurl (and its TLS library, ~8 MB of RSS)
  // is loaded only by an agent that has one (docs/agent.md, "http").
  std::unique_ptr<net::UvHttpClient> https_;
};

}  // namespace firewatch::agent
