// Says in the log, at most once per `period`, that the kernel dropped heartbeats because
// the UDP socket's receive buffer was full, with what to do about it.
//
// Why: those heartbeats are lost before firewatch sees them, so nothing else reports
// them but the firewatch_udp_kernel_drops_total counter. The buffer is what absorbs a
// moment the event loop spends elsewhere (a datacenter going dark is 100,000 transitions
// in one tick: ~0.7 s of CPU at a million sources), and what it holds is counted in
// datagrams, not in seconds: 16 MiB is ~0.1 s of a million sources at a 5 s interval and
// ~50 s of 2,000. The line says how long the buffer lasted at the rate that arrived, so
// the operator can size collector.udp_buffer_mib (docs/operations.md, "Heartbeats
// dropped by the kernel").
//
// Loop thread only (not thread-safe).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "firewatch/clock.h"

namespace firewatch::collector {

class UdpDropReport {
 public:
  // One finished line (without level or time stamp); the default writes spdlog warn.
  using Emit = std::function<void(const std::string&)>;
  // Datagrams one MiB of requested buffer holds: the kernel doubles the request for its
  // bookkeeping and charges each datagram's whole buffer (~0.8-1.3 KiB on loopback for
  // a heartbeat, up to 2-4 KiB from a NIC), so ~1,000 is the figure to plan with.
  static constexpr uint64_t kDatagramsPerMiB = 1000;

  // `buffer_bytes`: what the kernel granted (UdpReceiver::receive_buffer_bytes()), which
  // is less than collector.udp_buffer_mib when capped by net.core.rmem_max.
  UdpDropReport(const Clock& clock, int buffer_bytes, Duration period = std::chrono::seconds(60),
                Emit emit = nullptr);

  // The receiver's running totals (UdpReceiver::datagrams(), kernel_drops()), once a
  // second. Drops since the last line are reported when the period since it has passed;
  // none are forgotten (the next line counts them).
  void Observe(uint64_t datagrams, uint64_t kernel_drops);

 private:
  const Clock& clock_;
  double buffer_mib_;  // granted, e.g. 0.2 when capped at Debian's 208 KiB
  Duration period_;
  Emit emit_;
  bool started_ = false;
  MonoTime since_{};           // start of the span the next line reports
  uint64_t datagrams_at_ = 0;  // totals at since_
  uint64_t drops_at_ = 0;
  MonoTime last_line_{};
  bool logged_ = false;
};

}  // namespace firewatch::collector
