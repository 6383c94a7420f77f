#include "ingest/udp_drop_report.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace firewatch::collector {

UdpDropReport::UdpDropReport(const Clock& clock, int buffer_bytes, Duration period, Emit emit)
    : clock_(clock),
      buffer_mib_(std::max(0, buffer_bytes) / double(1 << 20)),
      period_(period),
      emit_(emit ? std::move(emit) : [](const std::string& l) { spdlog::warn("{}", l); }) {}

void UdpDropReport::Observe(uint64_t datagrams, uint64_t kernel_drops) {
  const MonoTime now = clock_.Now();
  if (!started_) {  // drops before the first reading are the previous totals' business
    started_ = true;
    since_ = now;
    datagrams_at_ = datagrams;
    drops_at_ = kernel_drops;
    return;
  }
  if (kernel_drops <= drops_at_) {
    if (now - since_ >= period_) {  // a quiet span: the next line's rate starts here
      since_ = now;
      datagrams_at_ = datagrams;
      drops_at_ = kernel_drops;
    }
    return;
  }
  if (logged_ && now - last_line_ < period_) return;  // counted in the next line
  const uint64_t dropped = kernel_drops - drops_at_;
  const double seconds = std::max(1.0, std::chrono::duration<double>(now - since_).count());
  const double arrived = static_cast<double>(datagrams - datagrams_at_ + dropped) / seconds;
  const uint64_t holds = static_cast<uint64_t>(buffer_mib_ * kDatagramsPerMiB);
  emit_(fmt::format(
      "UDP: the kernel dropped {} heartbeats in the last {:.0f} s because the receive buffer "
      "was full ({:g} MiB, about {} datagrams: {:.2f} s at the {:.0f}/s that arrived). The event "
      "loop was busy or short of CPU for longer than that; raise collector.udp_buffer_mib so that "
      "it holds a second or more (docs/operations.md, \"Heartbeats dropped by the kernel\")",
      dropped, seconds, std::round(buffer_mib_ * 1000) / 1000, holds,
      arrived > 0 ? static_cast<double>(holds) / arrived : 0.0, arrived));
  logged_ = true;
  last_line_ = now;
  since_ = now;
  datagrams_at_ = datagrams;
  drops_at_ = kernel_drops;
}

}  // namespace firewatch::collector
