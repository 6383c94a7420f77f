#include "watch/probe_schedule.h"

#include <algorithm>

namespace firewatch::collector {

ProbeSchedule::ProbeSchedule(std::vector<ProbeConfig> probes, MonoTime start)
    : probes_(std::move(probes)), state_(probes_.size()) {
  for (auto& s : state_) s.due = start;
}

std::vector<size_t> ProbeSchedule::TakeDue(MonoTime now, size_t max) {
  std::vector<size_t> due;
  for (size_t i = 0; i < state_.size(); ++i) {
    if (!state_[i].running && state_[i].due <= now) due.push_back(i);
  }
  std::sort(due.begin(), due.end(),
            [this](size_t a, size_t b) { return state_[a].due < state_[b].due; });
  if (due.size() > max) due.resize(max);
  for (size_t i : due) {
    State& s = state_[i];
    s.running = true;
    // Fixed rate; after a stall (a whole interval missed), one interval from now.
    s.due += probes_[i].interval;
    if (s.due <= now) s.due = now + probes_[i].interval;
  }
  return due;
}

bool ProbeSchedule::Finished(size_t index, bool ok, MonoTime /*now*/) {
  State& s = state_[index];
  s.running = false;
  if (ok) {
    s.failures = 0;
    return true;
  }
  if (s.failures < UINT32_MAX) ++s.failures;
  return s.failures < probes_[index].failures_before_down;
}

std::optional<MonoTime> ProbeSchedule::NextDue() const {
  std::optional<MonoTime> next;
  for (const auto& s : state_) {
    if (!s.running && (!next || s.due < *next)) next = s.due;
  }
  return next;
}

}  // namespace firewatch::collector
