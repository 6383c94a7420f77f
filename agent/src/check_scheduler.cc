#include "check_scheduler.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <cmath>

#include "agent_log.h"
#include "agent_metrics.h"
#include "builtin_probes.h"
#include "firewatch/net/uv_handle.h"
#include "net_probes.h"
#include "socket_address.h"
#include "firewatch/text/utf8.h"

namespace firewatch::agent {

using protocol::CheckState;

struct CheckScheduler::Check {
  CheckConfig cfg;
  Status st;
  net::UvTimer timer;       // the schedule (repeating)
  net::UvTimer fs_timeout;  // bounds a thread-pool probe
  bool busy = false;        // a run is in progress: the next due run is skipped
  bool fs_pending = false;  // a thread-pool request has not come back yet
  bool queued = false;
  uint64_t run_id = 0;  // identifies the run a late callback belongs to
  MonoTime started{};
  std::optional<uint32_t> uid, gid;
};

namespace {

std::optional<std::string> ReadSmallFile(const std::string& path, size_t max) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  std::string out(max, '\0');
  size_t got = 0;
  while (got < max) {
    ssize_t n = ::read(fd, out.data() + got, max - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

std::string Seconds(Duration d) {
  return config::FormatDuration(d);
}

// Process present by name: /proc/PID/comm (the kernel's 15-byte name) of every process.
bool ProcessRunning(const std::string& name, uint64_t& count) {
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return false;
  count = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    auto comm = ReadSmallFile(std::string("/proc/") + e->d_name + "/comm", 32);
    if (!comm) continue;
    if (!comm->empty() && comm->back() == '\n') comm->pop_back();
    if (*comm == name) ++count;
  }
  ::closedir(d);
  return true;
}

struct FsProbe {
  uv_fs_t req{};
  std::weak_ptr<bool> alive;
  std::function<void(const uv_fs_t&)> done;
};

}  // namespace

CheckScheduler::CheckScheduler(uv_loop_t* loop, const Clock& clock, std::vector<CheckConfig> checks,
                               Options options)
    : loop_(loop),
      clock_(clock),
      options_(options),
      exec_(loop, clock,
            ExecRunner::Limits{options.max_concurrent, options.max_output,
                               std::chrono::milliseconds(200)}) {
  for (auto& cfg : checks) {
    auto c = std::make_unique<Check>();
    c->cfg = std::move(cfg);
    checks_.push_back(std::move(c));
  }
}

CheckScheduler::~CheckScheduler() {
  *alive_ = false;
  alive_.reset();
  Close();
}

const CheckScheduler::Status& CheckScheduler::status(size_t i) const {
  return checks_[i]->st;
}
const CheckConfig& CheckScheduler::config(size_t i) const {
  return checks_[i]->cfg;
}

firewatch::Status CheckScheduler::Start() {
  if (started_) return firewatch::Status::InvalidArgument("checks already started");
  for (auto& c : checks_) {
    if (c->cfg.user.empty()) continue;
    struct passwd pw {};
    struct passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (getpwnam_r(c->cfg.user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found) {
      return firewatch::Status::InvalidArgument("check " + c->cfg.name + ": user '" + c->cfg.user +
                                                "' does not exist");
    }
    if (::geteuid() != 0 && found->pw_uid != ::geteuid()) {
      return firewatch::Status::InvalidArgument(
          "check " + c->cfg.name + ": running it as user '" + c->cfg.user +
          "' needs the agent to run as root (it runs as uid " + std::to_string(::geteuid()) +
          "); remove user: or run the check as the agent's user");
    }
    c->uid = found->pw_uid;
    c->gid = found->pw_gid;
  }
  started_ = true;
  Duration first{};
  for (auto& c : checks_) {
    Check* check = c.get();
    c->started = clock_.Now();  // for StaleChecks before the first run
    c->timer.Start(loop_, CeilMillis(first), CeilMillis(c->cfg.interval),
                   [this, check] { Due(*check); });
    // A hung mount keeps a thread-pool thread; report the run and skip later ones until
    // the request comes back (fs_pending keeps the check busy).
    c->fs_timeout.Init(loop_, [this, check] {
      ++check->st.timeouts;
      Finish(*check, CheckState::kUnknown,
             check->cfg.path + ": no answer within " + Seconds(check->cfg.timeout));
      check->busy = check->fs_pending;
    });
    first += options_.stagger;
    if (first >= std::chrono::seconds(5)) first = Duration::zero();
  }
  if (!checks_.empty()) LogInfo("{} check(s) scheduled", checks_.size());
  return firewatch::Status::Ok();
}

void CheckScheduler::Close() {
  if (closed_) return;
  closed_ = true;
  exec_.Close();
  if (https_) https_->Close();  // in-flight checks' callbacks run now and see closed_
  queue_.clear();
  if (!started_) return;
  for (auto& c : checks_) {
    c->timer.Close();
    c->fs_timeout.Close();
  }
}

void CheckScheduler::Due(Check& c) {
  if (closed_) return;
  if (c.busy || c.queued) {
    ++c.st.skipped;
    return;
  }
  Launch(c);
}

void CheckScheduler::Launch(Check& c) {
  c.busy = true;
  c.started = clock_.Now();
  ++c.run_id;
  switch (c.cfg.type) {
    case CheckType::kExec:
    case CheckType::kSystemd:
      LaunchExec(c);
      return;
    case CheckType::kTcp:
      LaunchTcp(c);
      return;
    case CheckType::kHttp:
      LaunchHttp(c);
      return;
    case CheckType::kClock:
      LaunchClock(c);
      return;
    case CheckType::kDisk:
    case CheckType::kFileAge:
      LaunchFs(c);
      return;
    case CheckType::kLoad:
    case CheckType::kMemory:
    case CheckType::kProcess:
      RunInline(c);
      return;
  }
}

ExecRunner::Spec CheckScheduler::SpecFor(const Check& c) const {
  ExecRunner::Spec spec;
  if (c.cfg.type == CheckType::kSystemd) {
    spec.argv = {"systemctl", "is-active", "--", c.cfg.unit};
  } else if (c.cfg.shell) {
    spec.argv = {"/bin/sh", "-c", c.cfg.command.at(0)};
  } else {
    spec.argv = c.cfg.command;
  }
  // Exactly this environment: nothing of the agent's (no credentials, no LD_PRELOAD).
  spec.env = {"PATH=" + options_.path, "LANG=C", "LC_ALL=C", "HOME=/"};
  for (const auto& [k, v] : c.cfg.env) spec.env.push_back(k + "=" + v);
  spec.uid = c.uid;
  spec.gid = c.gid;
  spec.timeout = c.cfg.timeout;
  return spec;
}

void CheckScheduler::LaunchExec(Check& c) {
  const uint64_t run = c.run_id;
  bool started = exec_.Run(SpecFor(c), [this, &c, run](ExecRunner::Outcome o) {
    if (closed_ || run != c.run_id) return;
    c.st.discarded_bytes += o.discarded_bytes;
    using K = ExecRunner::Outcome::Kind;
    PluginOutput out = ParsePluginOutput(o.output);
    if (o.kind == K::kTimedOut) {
      ++c.st.timeouts;
      Finish(c, CheckState::kUnknown,
             "timed out after " + Seconds(c.cfg.timeout) + " (process group killed)");
    } else if (o.kind == K::kSpawnFailed) {
      Finish(c, CheckState::kUnknown, o.error);
    } else if (o.kind == K::kSignaled) {
      Finish(c, CheckState::kUnknown, "killed by signal " + std::to_string(o.term_signal));
    } else if (c.cfg.type == CheckType::kSystemd) {
      std::string state = out.message.empty() ? "unknown" : out.message;
      Finish(c, o.exit_status == 0 ? CheckState::kOk : CheckState::kCritical,
             c.cfg.unit + " is " + state);
    } else if (o.exit_status >= 0 && o.exit_status <= 3) {
      Finish(c, static_cast<CheckState>(o.exit_status), std::move(out.message),
             std::move(out.perfdata));
    } else {
      Finish(c, CheckState::kUnknown,
             "exit status " + std::to_string(o.exit_status) + ": " + out.message);
    }
    DrainQueue();
  });
  if (!started) {
    // All slots are taken: wait for one (FIFO), without counting as a run.
    c.busy = false;
    c.queued = true;
    queue_.push_back(&c);
  }
}

void CheckScheduler::DrainQueue() {
  while (!queue_.empty() && exec_.running() < options_.max_concurrent && !closed_) {
    Check* next = queue_.front();
    queue_.pop_front();
    next->queued = false;
    Launch(*next);
    if (next->queued) return;  // refused again
  }
}

void CheckScheduler::LaunchTcp(Check& c) {
  auto addr = SocketAddress::FromLiteral(c.cfg.address.host, c.cfg.address.port);
  const std::string target = c.cfg.address.ToString();
  const uint64_t run = c.run_id;
  auto done = [this, &c, run, target](NetProbeResult r) {
    if (closed_ || run != c.run_id) return;
    if (r.status == 0) {
      Finish(c, CheckState::kOk, "connected to " + target);
    } else if (r.timed_out) {
      ++c.st.timeouts;
      Finish(c, CheckState::kCritical,
             "no answer from " + target + " within " + Seconds(c.cfg.timeout));
    } else {
      Finish(c, CheckState::kCritical,
             "cannot connect to " + target + ": " + uv_strerror(r.status));
    }
  };
  if (!addr) return done(NetProbeResult{UV_EINVAL, false, {}});
  StartNetProbe(loop_, *addr, "", c.cfg.timeout, 0, alive_, std::move(done));
}

void CheckScheduler::LaunchHttp(Check& c) {
  HttpTarget t;
  std::string why = ParseHttpUrl(c.cfg.url, t);
  auto addr = why.empty() ? SocketAddress::FromLiteral(t.host, t.port) : std::nullopt;
  if (!addr) return Finish(c, CheckState::kUnknown, "bad url: " + c.cfg.url);
  if (t.tls) return LaunchHttps(c, t);
  std::string request = "GET " + t.path + " HTTP/1.1\r\nHost: " + t.host_header +
                        "\r\nUser-Agent: firewatch-agent\r\nAccept: */*\r\n"
                        "Connection: close\r\n\r\n";
  constexpr size_t kMaxResponse = 16 * 1024;
  const uint64_t run = c.run_id;
  StartNetProbe(
      loop_, *addr, std::move(request), c.cfg.timeout, kMaxResponse, alive_,
      [this, &c, run](NetProbeResult r) {
        if (closed_ || run != c.run_id) return;
        if (r.timed_out) {
          ++c.st.timeouts;
          return Finish(c, CheckState::kCritical,
                        c.cfg.url + ": no answer within " + Seconds(c.cfg.timeout));
        }
        if (r.status != 0) {
          return Finish(c, CheckState::kCritical, c.cfg.url + ": " + uv_strerror(r.status));
        }
        ProbeResult p = EvaluateHttpResponse(r.response, c.cfg.expect_status, c.cfg.body_contains,
                                             r.response.size() >= kMaxResponse);
        Finish(c, p.state, c.cfg.url + ": " + p.message,
               {PerfDatum{"time", std::chrono::duration<double>(clock_.Now() - c.started).count(),
                          "s", 0.0, std::nullopt}});
      });
}

void CheckScheduler::LaunchHttps(Check& c, const HttpTarget& t) {
  constexpr size_t kMaxBody = 16 * 1024;
  if (!https_) {
    https_ = std::make_unique<net::UvHttpClient>(
        loop_, net::UvHttpClient::Options{kMaxBody, "firewatch-agent"});
  }
  // With tls_server_name the URL names the certificate's host and libcurl is told its
  // address (no lookup: checks do not look names up); without it, the IP is the name.
  net::UvHttpClient::TlsOptions tls{c.cfg.ca_file, c.cfg.tls_verify, ""};
  std::string url = c.cfg.url;
  if (!c.cfg.tls_server_name.empty()) {
    const std::string port = std::to_string(t.port);
    const bool v6 = t.host.find(':') != std::string::npos;
    url = "https://" + c.cfg.tls_server_name + ":" + port + t.path;
    tls.resolve = c.cfg.tls_server_name + ":" + port + ":" + (v6 ? "[" + t.host + "]" : t.host);
  }
  const uint64_t run = c.run_id;
  firewatch::Status s = https_->Get(
      url, {"Accept: */*"}, c.cfg.timeout, tls,
      [this, &c, run](Result<net::HttpResponse> r) {
        if (closed_ || run != c.run_id) return;
        const Duration took = clock_.Now() - c.started;
        if (!r.ok()) {
          if (took >= c.cfg.timeout) {
            ++c.st.timeouts;
            return Finish(c, CheckState::kCritical,
                          c.cfg.url + ": no answer within " + Seconds(c.cfg.timeout));
          }
          return Finish(c, CheckState::kCritical, c.cfg.url + ": " + r.status().message());
        }
        ProbeResult p = EvaluateHttpAnswer(static_cast<int>(r->status), r->body,
                                           c.cfg.expect_status, c.cfg.body_contains,
                                           r->body_truncated);
        Finish(c, p.state, c.cfg.url + ": " + p.message,
               {PerfDatum{"time", std::chrono::duration<double>(took).count(), "s", 0.0,
                          std::nullopt}});
      });
  // libcurl could not be loaded or refused the request: the check cannot run here.
  if (!s.ok()) Finish(c, CheckState::kUnknown, c.cfg.url + ": " + s.message());
}

void CheckScheduler::LaunchClock(Check& c) {
  auto addr = SocketAddress::FromLiteral(c.cfg.address.host, c.cfg.address.port);
  if (!addr) return Finish(c, CheckState::kUnknown, "bad address");
  const std::string target = c.cfg.address.ToString();
  std::string request = "GET /healthz HTTP/1.1\r\nHost: " + target +
                        "\r\nUser-Agent: firewatch-agent\r\nConnection: close\r\n\r\n";
  const uint64_t run = c.run_id;
  const int64_t sent_ms = ToUnixMillis(clock_.WallNow());
  StartNetProbe(loop_, *addr, std::move(request), c.cfg.timeout, 4096, alive_,
                [this, &c, run, target, sent_ms](NetProbeResult r) {
                  if (closed_ || run != c.run_id) return;
                  if (r.status != 0) {
                    if (r.timed_out) ++c.st.timeouts;
                    return Finish(c, CheckState::kUnknown,
                                  "collector " + target + ": " +
                                      (r.timed_out ? "no answer within " + Seconds(c.cfg.timeout)
                                                   : std::string(uv_strerror(r.status))));
                  }
                  auto theirs = ParseCollectorTime(r.response);
                  if (!theirs) {
                    return Finish(c, CheckState::kUnknown,
                                  "collector " + target + " did not say its time in /healthz");
                  }
                  double offset = 0;
                  ProbeResult p =
                      EvaluateClockOffset(*theirs, sent_ms, ToUnixMillis(clock_.WallNow()),
                                          c.cfg.warning, c.cfg.critical, &offset);
                  Finish(c, p.state, p.message + " at " + target,
                         {PerfDatum{"offset", offset, "s", std::nullopt, std::nullopt}});
                });
}

void CheckScheduler::LaunchFs(Check& c) {
  auto* p = new FsProbe;
  p->alive = alive_;
  p->req.data = p;
  const uint64_t run = c.run_id;
  c.fs_pending = true;
  p->done = [this, &c, run](const uv_fs_t& req) {
    c.fs_pending = false;
    c.fs_timeout.Stop();
    if (closed_ || run != c.run_id || !c.busy) {
      c.busy = false;  // the timeout already reported this run
      return;
    }
    if (req.result < 0) {
      Finish(c, c.cfg.type == CheckType::kFileAge ? CheckState::kCritical : CheckState::kUnknown,
             c.cfg.path + ": " + uv_strerror(static_cast<int>(req.result)));
      return;
    }
    if (c.cfg.type == CheckType::kDisk) {
      const auto* s = static_cast<const uv_statfs_t*>(req.ptr);
      DiskUsage u{s->f_blocks, s->f_bfree, s->f_bavail, s->f_bsize, s->f_files, s->f_ffree};
      double pct = 0, ipct = 0;
      ProbeResult r = EvaluateDisk(c.cfg.path, u, c.cfg.warning, c.cfg.critical,
                                   c.cfg.inodes_warning, c.cfg.inodes_critical, &pct, &ipct);
      Finish(c, r.state, std::move(r.message),
             {PerfDatum{"used", pct, "%", 0.0, 100.0},
              PerfDatum{"inodes_used", ipct, "%", 0.0, 100.0}});
      return;
    }
    const uv_stat_t& st = req.statbuf;
    double mtime = static_cast<double>(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec / 1e9;
    double now = std::chrono::duration<double>(clock_.WallNow().time_since_epoch()).count();
    double age = std::max(0.0, now - mtime);
    Finish(c, AtOrAbove(age, c.cfg.warning, c.cfg.critical),
           fmt::format("{} modified {:.0f}s ago", c.cfg.path, age),
           {PerfDatum{"age", age, "s", std::nullopt, std::nullopt}});
  };
  auto cb = [](uv_fs_t* req) {
    auto* probe = static_cast<FsProbe*>(req->data);
    if (!probe->alive.expired()) probe->done(*req);
    uv_fs_req_cleanup(req);
    delete probe;
  };
  int rc = c.cfg.type == CheckType::kDisk ? uv_fs_statfs(loop_, &p->req, c.cfg.path.c_str(), cb)
                                          : uv_fs_stat(loop_, &p->req, c.cfg.path.c_str(), cb);
  if (rc != 0) {
    c.fs_pending = false;
    delete p;
    Finish(c, CheckState::kUnknown, c.cfg.path + ": " + uv_strerror(rc));
    return;
  }
  c.fs_timeout.Again(CeilMillis(c.cfg.timeout));
}

void CheckScheduler::RunInline(Check& c) {
  switch (c.cfg.type) {
    case CheckType::kLoad: {
      auto text = ReadSmallFile("/proc/loadavg", 256);
      auto load = text ? ParseLoadAvg(*text) : std::nullopt;
      if (!load) return Finish(c, CheckState::kUnknown, "cannot read /proc/loadavg");
      long cpus = std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
      double per_cpu = *load / static_cast<double>(cpus);
      return Finish(c, AtOrAbove(per_cpu, c.cfg.warning, c.cfg.critical),
                    fmt::format("load {:.2f} on {} CPU(s) ({:.2f} per CPU)", *load, cpus, per_cpu),
                    {PerfDatum{"load1", *load, "", 0.0, std::nullopt}});
    }
    case CheckType::kMemory: {
      auto text = ReadSmallFile("/proc/meminfo", 16384);
      auto mem = text ? ParseMemInfo(*text) : std::nullopt;
      if (!mem) return Finish(c, CheckState::kUnknown, "cannot read /proc/meminfo");
      double pct =
          100.0 * static_cast<double>(mem->available_kb) / static_cast<double>(mem->total_kb);
      return Finish(c, AtOrBelow(pct, c.cfg.warning, c.cfg.critical),
                    fmt::format("{:.1f}% of memory available ({} MiB of {} MiB)", pct,
                                mem->available_kb / 1024, mem->total_kb / 1024),
                    {PerfDatum{"available", pct, "%", 0.0, 100.0}});
    }
    case CheckType::kProcess: {
      if (!c.cfg.path.empty()) {
        auto text = ReadSmallFile(c.cfg.path, 32);
        long pid = 0;
        if (text) {
          auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), pid);
          if (ec != std::errc() || p == text->data()) pid = 0;
        }
        if (pid <= 0) return Finish(c, CheckState::kCritical, "no pid in " + c.cfg.path);
        bool alive = ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
        return Finish(c, alive ? CheckState::kOk : CheckState::kCritical,
                      "pid " + std::to_string(pid) + " from " + c.cfg.path +
                          (alive ? " is running" : " is not running"));
      }
      uint64_t count = 0;
      if (!ProcessRunning(c.cfg.process_name, count)) {
        return Finish(c, CheckState::kUnknown, "cannot list /proc");
      }
      return Finish(c, count > 0 ? CheckState::kOk : CheckState::kCritical,
                    std::to_string(count) + " process(es) named " + c.cfg.process_name,
                    {PerfDatum{"procs", static_cast<double>(count), "", 0.0, std::nullopt}});
    }
    default:
      return Finish(c, CheckState::kUnknown, "not an inline check");
  }
}

void CheckScheduler::Finish(Check& c, CheckState state, std::string message,
                            std::vector<PerfDatum> perf) {
  const MonoTime now = clock_.Now();
  c.st.streak = c.st.runs > 0 && c.st.raw == state ? c.st.streak + 1 : 1;
  c.st.raw = state;
  // Damping: a change is reported once enough consecutive runs agree (attempts for a
  // problem, recover_after for OK). Before anything was reported, OK is reported at once
  // and a problem after `attempts` runs (the check is left out of heartbeats till then).
  const uint64_t needed = state == CheckState::kOk ? c.cfg.recover_after : c.cfg.attempts;
  const bool report = c.st.reported ? (state == c.st.state || c.st.streak >= needed)
                                    : (state == CheckState::kOk || c.st.streak >= c.cfg.attempts);
  if (report && (!c.st.reported || c.st.state != state)) {
    LogInfo("check {}: {}: {}", c.cfg.name, protocol::CheckStateName(state), message);
  }
  c.busy = false;
  if (report) {
    c.st.reported = true;
    c.st.state = state;
    c.st.message = std::string(text::Utf8Prefix(message, protocol::kMaxCheckOutput));
  }
  c.st.perfdata = std::move(perf);
  c.st.duration = now - c.started;
  c.st.last_done = now;
  ++c.st.runs;
}

std::vector<protocol::CheckResult> CheckScheduler::Current() {
  std::vector<protocol::CheckResult> out;
  for (const auto& c : checks_) {
    if (!c->st.reported) continue;  // nothing to say before the first (confirmed) result
    out.push_back({c->cfg.name, c->st.state, c->st.message});
  }
  return out;
}

std::vector<std::string> CheckScheduler::StaleChecks() const {
  std::vector<std::string> out;
  const MonoTime now = clock_.Now();
  for (const auto& c : checks_) {
    MonoTime since = c->st.last_done.value_or(c->started);
    if (now - since > 2 * c->cfg.interval + c->cfg.timeout) out.push_back(c->cfg.name);
  }
  return out;
}

std::string CheckScheduler::RenderMetrics() const {
  if (checks_.empty()) return {};
  std::string out;
  auto family = [&out](std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  auto label = [](const Check& c) {
    return fmt::format("check=\"{}\",type=\"{}\"", EscapeLabelValue(c.cfg.name),
                       CheckTypeName(c.cfg.type));
  };
  family("firewatch_agent_check_state", "gauge",
         "Reported state of the check (what heartbeats carry): 0 OK, 1 WARNING, 2 CRITICAL, "
         "3 UNKNOWN (-1 before the first).");
  for (const auto& c : checks_) {
    int v = !c->st.reported ? -1 : static_cast<int>(c->st.state);
    out += fmt::format("firewatch_agent_check_state{{{}}} {}\n", label(*c), v);
  }
  family("firewatch_agent_check_raw_state", "gauge",
         "State of the latest run, before damping (attempts, recover_after); -1 before the "
         "first run.");
  for (const auto& c : checks_) {
    int v = c->st.runs == 0 ? -1 : static_cast<int>(c->st.raw);
    out += fmt::format("firewatch_agent_check_raw_state{{{}}} {}\n", label(*c), v);
  }
  family("firewatch_agent_check_duration_seconds", "gauge", "How long the latest run took.");
  for (const auto& c : checks_) {
    out += fmt::format("firewatch_agent_check_duration_seconds{{{}}} {:.6f}\n", label(*c),
                       std::chrono::duration<double>(c->st.duration).count());
  }
  family("firewatch_agent_check_runs_total", "counter", "Completed runs.");
  for (const auto& c : checks_) {
    out += fmt::format("firewatch_agent_check_runs_total{{{}}} {}\n", label(*c), c->st.runs);
  }
  family("firewatch_agent_check_timeouts_total", "counter", "Runs that hit their timeout.");
  for (const auto& c : checks_) {
    out +=
        fmt::format("firewatch_agent_check_timeouts_total{{{}}} {}\n", label(*c), c->st.timeouts);
  }
  family("firewatch_agent_check_skipped_total", "counter",
         "Runs not started because the previous one was still going.");
  for (const auto& c : checks_) {
    out += fmt::format("firewatch_agent_check_skipped_total{{{}}} {}\n", label(*c), c->st.skipped);
  }
  family("firewatch_agent_check_output_discarded_bytes_total", "counter",
         "Plugin output read and thrown away beyond the per-run limit.");
  for (const auto& c : checks_) {
    out += fmt::format("firewatch_agent_check_output_discarded_bytes_total{{{}}} {}\n", label(*c),
                       c->st.discarded_bytes);
  }
  family("firewatch_agent_check_perfdata", "gauge",
         "Performance data of the latest run (plugin perfdata, or the built-in check's "
         "measurement), by label and unit.");
  for (const auto& c : checks_) {
    for (const auto& p : c->st.perfdata) {
      out += fmt::format("firewatch_agent_check_perfdata{{{},label=\"{}\",unit=\"{}\"}} {}\n",
                         label(*c), EscapeLabelValue(p.label), EscapeLabelValue(p.unit), p.value);
    }
  }
  return out;
}

}  // namespace firewatch::agent
