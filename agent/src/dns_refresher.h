// Background name resolution for collector endpoints (uv_getaddrinfo on libuv's thread
// pool). Every endpoint that is not an IP literal is looked up at Start() and then in
// rounds: the next round starts `interval` after the previous one finished, or after
// `retry` when some endpoint still has no address at all. Rounds never overlap, so a
// hung resolver costs at most one thread-pool thread per endpoint, and it never delays
// sending: senders use whatever address ResolvedEndpoint holds (last good wins).
//
// Threading: loop thread only (results are delivered on the loop).
#pragma once

#include <uv.h>

#include <functional>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/net/uv_handle.h"
#include "resolved_endpoint.h"

namespace firewatch::agent {

class DnsRefresher {
 public:
  // Called on the loop after each lookup of `endpoint`, with what it did and the
  // libuv status of the lookup (0 on success).
  using OnResult = std::function<void(ResolvedEndpoint::Update update, int uv_status)>;

  DnsRefresher(uv_loop_t* loop, Duration interval, Duration retry);
  ~DnsRefresher();
  DnsRefresher(const DnsRefresher&) = delete;
  DnsRefresher& operator=(const DnsRefresher&) = delete;

  // Registers an endpoint before Start(). `endpoint` must outlive the refresher's
  // lookups (until Close() and in_flight() == 0). Literals are ignored.
  // `socktype` is SOCK_DGRAM or SOCK_STREAM.
  void Add(ResolvedEndpoint* endpoint, int socktype, OnResult on_result);

  // Starts the first round now.
  void Start();

  // Stops the schedule and cancels queued lookups. Lookups already running in the
  // thread pool cannot be interrupted; they finish later without calling OnResult, and
  // `on_idle` (if set) runs once none is left. Idempotent.
  void Close(std::function<void()> on_idle = nullptr);

  // Lookups started and not yet finished.
  size_t in_flight() const { return in_flight_; }

 private:
  struct Entry {
    ResolvedEndpoint* endpoint;
    int socktype;
    OnResult on_result;
  };
  struct Lookup;

  void StartRound();
  void OnLookupDone(Lookup* lookup, int status, addrinfo* res);
  void ScheduleNextRound();

  uv_loop_t* loop_;
  Duration interval_;
  Duration retry_;
  std::vector<Entry> entries_;
  std::vector<Lookup*> lookups_;
  net::UvTimer timer_;  // the next round
  size_t in_flight_ = 0;
  bool closed_ = false;
  std::function<void()> on_idle_;
};

}  // namespace firewatch::agent
