// A child process owned by a test: started with fork/exec, stopped by its pid (SIGTERM,
// then SIGKILL after 3 s) when the guard is destroyed. stdout and stderr go to a log
// file the test can print on failure.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace firewatch::alerting::notify::testing {

class Subprocess {
 public:
  // Starts argv[0] (an absolute path) with `argv` and extra environment `env`.
  // pid() is -1 when fork failed.
  Subprocess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
             const std::string& log_file);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  // True while the child has not exited (reaps it when it has).
  bool Running();
  // Sends SIGTERM, waits up to 3 s, then SIGKILL. Idempotent.
  void Stop();
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::string log_file_;
};

// Runs a command to completion (for openssl); true when it exited with status 0.
bool RunCommand(const std::vector<std::string>& argv, const std::string& log_file);

}  // namespace firewatch::alerting::notify::testing
