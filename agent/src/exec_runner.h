// Runs check plugins as child processes on the agent's libuv loop (uv_spawn), so a
// plugin that hangs, forks or floods its output never blocks the loop that sends
// heartbeats.
//
// For every process:
//  - its own session and process group (UV_PROCESS_DETACHED = setsid), so the timeout
//    and the clean-up after exit kill(-pgid, SIGKILL) the plugin and everything it forked;
//  - stdin and stderr are /dev/null; stdout is a pipe read continuously into a fixed
//    buffer: the first Limits::max_output bytes are kept, the rest read and discarded
//    (counted), so a flood costs CPU until the timeout, never memory;
//  - the environment is exactly Spec::env (the caller builds it: no inherited secrets);
//  - optional uid/gid (setgid+setuid in the child; needs root, checked by the caller);
//  - at most `max_concurrent` at once: Run() refuses beyond that (the caller queues).
// The outcome is delivered once, on the loop, after the process was reaped and its
// output drained (or a short drain grace passed: a grandchild outside the group may
// hold the pipe open).
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "firewatch/clock.h"

namespace firewatch::agent {

class ExecRunner {
 public:
  struct Spec {
    std::vector<std::string> argv;  // argv[0] is the program (absolute, or found on PATH)
    std::vector<std::string> env;   // "NAME=value"
    std::optional<uint32_t> uid, gid;
    Duration timeout = std::chrono::seconds(10);
  };
  struct Outcome {
    enum class Kind { kExited, kSignaled, kTimedOut, kSpawnFailed };
    Kind kind = Kind::kExited;
    int64_t exit_status = 0;
    int term_signal = 0;
    std::string output;            // at most max_output bytes of stdout
    uint64_t discarded_bytes = 0;  // stdout bytes beyond max_output
    Duration duration{};
    std::string error;  // kSpawnFailed: why
  };
  using Done = std::function<void(Outcome)>;

  struct Limits {
    size_t max_concurrent = 4;
    size_t max_output = 4096;
    Duration drain_grace = std::chrono::milliseconds(200);
  };

  ExecRunner(uv_loop_t* loop, const Clock& clock, Limits limits);
  ~ExecRunner();
  ExecRunner(const ExecRunner&) = delete;
  ExecRunner& operator=(const ExecRunner&) = delete;

  // Starts `spec`; `done` runs later on the loop (also for a spawn failure). Returns
  // false, without calling `done`, when max_concurrent processes are already running or
  // the runner is closed.
  bool Run(const Spec& spec, Done done);
  size_t running() const { return procs_.size(); }
  // Kills every running process group; their `done` callbacks are not called. Handles
  // close on the next loop iterations.
  void Close();

  struct Proc;  // one running plugin (opaque; named by the libuv callbacks)

 private:
  void OnExit(Proc* p, int64_t status, int signal);
  void OnRead(Proc* p, ssize_t n, const uv_buf_t* buf);
  void OnTimer(Proc* p);
  void MaybeFinish(Proc* p);
  void Release(Proc* p);

  uv_loop_t* loop_;
  const Clock& clock_;
  Limits limits_;
  bool closed_ = false;
  std::vector<Proc*> procs_;
};

}  // namespace firewatch::agent
