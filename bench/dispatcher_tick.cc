// bench_dispatcher_tick: what the alerting thread's route::Dispatcher::Tick costs with
// many groups, the DOWN storm's shape (issue #13): --groups firing alerts, one group per
// source (group_by alertname, dc, source: the system tests' and dc-dark bench's host
// route), every alert muted (the DomainDown inhibition), group_wait 20 s, group_interval
// 2 s. The alerting thread ticks at least four times a second (and on every batch it is
// handed), so what counts is the tick when nothing is due.
//
// A FakeClock drives it: CPU only (thread CPU time around each call). Prints, in ms of
// CPU: the mean Tick while no group is due (the 80 ticks of group_wait at 4/s), the Tick
// that flushes every group, and the CPU per simulated second over the next 10 s (4 ticks
// a second; every group due each 2 s).
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "firewatch/clock.h"
#include "route/dispatcher.h"
#include "route/route.h"

namespace {

using namespace firewatch;
using namespace firewatch::alerting;
using namespace std::chrono_literals;

double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

struct MuteAll final : route::Muter {
  bool Mutes(const LabelSet&, WallTime) const override { return true; }
};

}  // namespace

int main(int argc, char** argv) {
  size_t groups = 100'000;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--groups" && i + 1 < argc) {
      groups = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: bench_dispatcher_tick [--groups 100000]\n");
      return 2;
    }
  }
  route::RouteSpec spec;
  spec.escalation_policy = "ops";
  spec.group_by = std::vector<std::string>{"alertname", "dc", "source"};
  spec.group_wait = 20s;
  spec.group_interval = 2s;
  spec.repeat_interval = 4h;
  auto root = route::Route::Build(spec);
  if (!root.ok()) {
    std::fprintf(stderr, "%s\n", root.status().message().c_str());
    return 1;
  }
  MuteAll mute;
  route::Dispatcher dispatcher(**root, {&mute});
  FakeClock clock;
  for (size_t i = 0; i < groups; ++i) {
    Alert a;
    a.labels = {{"alertname", "SourceDown"}, {"dc", "dc3"}, {"source", "host-" + std::to_string(i)}};
    dispatcher.Insert(a, clock.Now());
  }
  auto tick = [&] {
    clock.Advance(250ms);
    const double start = ThreadCpuMs();
    const auto out = dispatcher.Tick(clock.Now(), clock.WallNow());
    if (!out.empty()) std::abort();  // all muted: nothing to send
    return ThreadCpuMs() - start;
  };
  double waiting = 0;
  for (int i = 0; i < 79; ++i) waiting += tick();
  const double flush = tick();  // at 20 s: every group
  double after = 0;
  for (int i = 0; i < 40; ++i) after += tick();
  std::printf("| %zu groups | %.3f | %.1f | %.1f |\n", dispatcher.group_count(), waiting / 79,
              flush, after / 10);
  return 0;
}
