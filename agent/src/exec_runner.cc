#include "exec_runner.h"

#include <signal.h>

#include <algorithm>
#include <array>

#include "firewatch/net/uv_handle.h"

namespace firewatch::agent {

// Freed after its three handles have closed (net::UvHandleOwner).
struct ExecRunner::Proc : net::UvHandleOwner<Proc> {
  ExecRunner* runner = nullptr;
  uv_process_t process{};
  uv_pipe_t out{};
  uv_timer_t timer{};
  int pid = 0;
  bool spawned = false;
  bool exited = false;
  bool eof = false;
  bool drain_over = false;
  bool timed_out = false;
  bool finished = false;
  MonoTime started{};
  Outcome outcome;
  Done done;
  std::array<char, 4096> buf{};
};

namespace {

template <typename H>
ExecRunner::Proc* ProcOf(H* h) {
  return static_cast<ExecRunner::Proc*>(h->data);
}

// Kills the plugin's whole process group (it is its session leader: pgid == pid).
void KillGroup(int pid) {
  if (pid > 0) ::kill(-pid, SIGKILL);
}

}  // namespace

ExecRunner::ExecRunner(uv_loop_t* loop, const Clock& clock, Limits limits)
    : loop_(loop), clock_(clock), limits_(limits) {}

ExecRunner::~ExecRunner() {
  Close();
}

bool ExecRunner::Run(const Spec& spec, Done done) {
  if (closed_ || procs_.size() >= limits_.max_concurrent || spec.argv.empty()) return false;
  auto* p = new Proc;
  p->runner = this;
  p->done = std::move(done);
  p->started = clock_.Now();
  uv_pipe_init(loop_, &p->out, 0);
  uv_timer_init(loop_, &p->timer);
  p->Adopt(&p->out, &p->timer);
  procs_.push_back(p);

  std::vector<char*> args, env;
  for (const auto& a : spec.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : spec.env) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);

  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[1].data.stream = reinterpret_cast<uv_stream_t*>(&p->out);
  stdio[2].flags = UV_IGNORE;

  uv_process_options_t opts{};
  opts.exit_cb = [](uv_process_t* h, int64_t status, int sig) {
    Proc* proc = ProcOf(h);
    proc->runner->OnExit(proc, status, sig);
  };
  opts.file = args[0];
  opts.args = args.data();
  opts.env = env.data();
  opts.stdio_count = 3;
  opts.stdio = stdio;
  opts.flags = UV_PROCESS_DETACHED;  // setsid: a process group to kill as a whole
  if (spec.uid) {
    opts.flags |= UV_PROCESS_SETUID;
    opts.uid = static_cast<uv_uid_t>(*spec.uid);
  }
  if (spec.gid) {
    opts.flags |= UV_PROCESS_SETGID;
    opts.gid = static_cast<uv_gid_t>(*spec.gid);
  }
  int rc = uv_spawn(loop_, &p->process, &opts);
  p->Adopt(&p->process);  // uv_spawn initialises the handle even when it fails
  if (rc != 0) {
    p->outcome.kind = Outcome::Kind::kSpawnFailed;
    p->outcome.error = std::string("cannot run ") + spec.argv[0] + ": " + uv_strerror(rc);
    p->exited = p->eof = true;
    // Deliver on a later loop iteration, like every other outcome.
    uv_timer_start(
        &p->timer, [](uv_timer_t* t) { ProcOf(t)->runner->MaybeFinish(ProcOf(t)); }, 0, 0);
    return true;
  }
  p->spawned = true;
  p->pid = p->process.pid;
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&p->out),
      [](uv_handle_t* h, size_t, uv_buf_t* b) {
        Proc* proc = ProcOf(h);
        *b = uv_buf_init(proc->buf.data(), static_cast<unsigned>(proc->buf.size()));
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
        Proc* proc = ProcOf(s);
        proc->runner->OnRead(proc, n, b);
      });
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(spec.timeout).count();
  uv_timer_start(
      &p->timer, [](uv_timer_t* t) { ProcOf(t)->runner->OnTimer(ProcOf(t)); },
      static_cast<uint64_t>(std::max<int64_t>(ms, 0)), 0);
  return true;
}

void ExecRunner::OnRead(Proc* p, ssize_t n, const uv_buf_t* b) {
  if (n > 0) {
    size_t room = limits_.max_output - std::min(limits_.max_output, p->outcome.output.size());
    size_t keep = std::min(room, static_cast<size_t>(n));
    p->outcome.output.append(b->base, keep);
    p->outcome.discarded_bytes += static_cast<uint64_t>(n) - keep;
    return;
  }
  if (n < 0) {  // EOF or a read error: either way no more output
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&p->out));
    p->eof = true;
    MaybeFinish(p);
  }
}

void ExecRunner::OnExit(Proc* p, int64_t status, int sig) {
  p->exited = true;
  p->outcome.duration = clock_.Now() - p->started;
  if (!p->timed_out) {
    if (sig != 0) {
      p->outcome.kind = Outcome::Kind::kSignaled;
      p->outcome.term_signal = sig;
    } else {
      p->outcome.exit_status = status;
    }
  }
  // The check is over when the plugin exits; whatever it forked goes with it (and so
  // releases the pipe).
  KillGroup(p->pid);
  if (!p->eof) {
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(limits_.drain_grace).count();
    uv_timer_start(
        &p->timer, [](uv_timer_t* t) { ProcOf(t)->runner->OnTimer(ProcOf(t)); },
        static_cast<uint64_t>(ms), 0);
  }
  MaybeFinish(p);
}

void ExecRunner::OnTimer(Proc* p) {
  if (!p->exited) {
    // Timeout: kill the group and wait for the exit (SIGKILL cannot be ignored).
    p->timed_out = true;
    p->outcome.kind = Outcome::Kind::kTimedOut;
    KillGroup(p->pid);
    return;
  }
  p->drain_over = true;
  MaybeFinish(p);
}

void ExecRunner::MaybeFinish(Proc* p) {
  if (p->finished || !p->exited || !(p->eof || p->drain_over)) return;
  p->finished = true;
  if (p->outcome.duration == Duration::zero()) p->outcome.duration = clock_.Now() - p->started;
  Done done = std::move(p->done);
  Outcome outcome = std::move(p->outcome);
  Release(p);
  if (done) done(std::move(outcome));
}

void ExecRunner::Release(Proc* p) {
  procs_.erase(std::remove(procs_.begin(), procs_.end(), p), procs_.end());
  p->Release();
}

void ExecRunner::Close() {
  if (closed_) return;
  closed_ = true;
  std::vector<Proc*> procs;
  procs.swap(procs_);
  for (Proc* p : procs) {
    if (!p->exited) KillGroup(p->pid);
    p->finished = true;
    p->done = nullptr;
    Release(p);
  }
}

}  // namespace firewatch::agent
