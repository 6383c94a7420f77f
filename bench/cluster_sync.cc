// Peer sync at scale, in-process (docs/benchmarks.md, "Scale"): two ClusterViews with
// --sources sources each exchange payloads through the real encoder and decoder, without
// HTTP, on a fake clock. Measures, for the wire format and the merge logic alone:
//   - a restarted member's convergence: payloads, bytes and CPU time until its copy of the
//     peer's table matches (every range, in bounded parts);
//   - steady state: the bytes of one payload when nothing changes (a peer sends one
//     request and one response per sync_interval);
//   - a lost entry: the bytes and exchanges the range repair takes;
//   - 100,000 sources going DOWN at once: the delta's bytes and exchanges;
//   - the other replicated pieces (incidents, notification log, silences) beside the
//     table: a payload's bytes for them sent whole (before) and as versioned deltas
//     (ReplicaDeltas), when nothing changes and when one incident is acked.
// Prints one JSON object. Usage: bench_cluster_sync [--sources N]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cluster/cluster_view.h"
#include "cluster/payload.h"
#include "cluster/replica_deltas.h"
#include "firewatch/clock.h"
#include "route/silence.h"

using namespace firewatch;
using namespace firewatch::collector;

namespace {

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

ClusterConfig Members() {
  ClusterConfig c;
  c.enabled = true;
  for (const char* id : {"a", "b"}) {
    ClusterMember m;
    m.id = id;
    m.url = std::string("http://") + id + ":9760";
    c.members.push_back(m);
  }
  c.sync_interval = std::chrono::seconds(1);
  c.peer_timeout = std::chrono::seconds(5);
  c.full_sync_every = std::chrono::seconds(30);
  c.claim_timeout = std::chrono::seconds(60);
  c.alone_hold = std::chrono::seconds(20);
  c.isolation_fraction = 0.5;
  c.digest = "bench";
  return c;
}

struct Wire {
  size_t payloads = 0;
  size_t bytes = 0;
  size_t largest = 0;
};

// One payload from `from` to `to` through the wire format; `ack`: the sender learns it
// arrived (a request whose response came back).
SyncPayload Send(ClusterView& from, ClusterView& to, const std::string& boot, Wire& w, bool ack) {
  SyncPayload p = from.BuildFor(to.self(), ack ? SyncRole::kRequest : SyncRole::kResponse);
  p.boot = boot;
  const std::string text = EncodeSyncPayload(p);
  w.payloads++;
  w.bytes += text.size();
  w.largest = std::max(w.largest, text.size());
  auto in = DecodeSyncPayload(text);
  if (!in.ok() || !to.Apply(*in).ok()) {
    std::fprintf(stderr, "exchange failed: %s\n", in.ok() ? "apply" : in.status().message().c_str());
    std::exit(1);
  }
  if (ack) from.Delivered(to.self(), p);
  return p;
}

// One sync exchange as cluster.cc runs it: a's request, b's response, a's ack. Returns
// the request.
SyncPayload Exchange(ClusterView& a, ClusterView& b, Wire& w) {
  SyncPayload req = a.BuildFor(b.self(), SyncRole::kRequest);
  req.boot = "boot-" + a.self();
  const std::string text = EncodeSyncPayload(req);
  w.payloads++;
  w.bytes += text.size();
  w.largest = std::max(w.largest, text.size());
  auto in = DecodeSyncPayload(text);
  if (!in.ok() || !b.Apply(*in).ok()) std::exit(1);
  Send(b, a, "boot-" + b.self(), w, false);
  a.Delivered(b.self(), req);
  return req;
}

// Nothing more to send either way, and neither side asks for anything.
bool Settled(const SyncPayload& a_to_b, const SyncPayload& b_to_a) {
  auto quiet = [](const SyncPayload& p) {
    return p.sources.empty() && !p.sources_more && !p.need_range_digests && p.need_ranges.empty();
  };
  return quiet(a_to_b) && quiet(b_to_a);
}

std::string Json(const char* name, const Wire& w, double cpu) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "\"%s\": {\"payloads\": %zu, \"bytes\": %zu, \"largest_payload\": %zu, "
                "\"cpu_seconds\": %.3f}",
                name, w.payloads, w.bytes, w.largest, cpu);
  return buf;
}

// The incidents, log and silences of a busy cluster: what one payload carries for them.
struct PieceBytes {
  size_t whole = 0;    // sent whole, as before deltas
  size_t quiet = 0;    // as deltas, nothing changed
  size_t one_ack = 0;  // as deltas, one incident acked
};

PieceBytes MeasurePieces(FakeClock& clock, int incidents, int log, int silences) {
  SyncPayload base;  // a payload's other fields, empty
  base.from = "a";
  base.boot = "boot-a";
  for (int i = 0; i < incidents; ++i) {
    alerting::PeerIncident inc;
    inc.id = "INC" + std::to_string(100000 + i);
    inc.group_key = "{}:{dc=\"dc" + std::to_string(i % 10) + "\",alertname=\"SourceDown\"}";
    inc.origin = "a";
    inc.started_ms = 1'764'000'000'000 + i;
    base.incidents.push_back(inc);
  }
  for (int i = 0; i < log; ++i) {
    alerting::LogEntry e;
    e.key =
        "INC" + std::to_string(100000 + i % incidents) + "/0/" + std::to_string(i) + "/alice/sms";
    e.state = alerting::LogEntry::State::kDelivered;
    e.updated_ms = 1'764'000'000'000 + i;
    e.age_ms = 1000;
    base.log.push_back(e);
  }
  for (int i = 0; i < silences; ++i) {
    auto s = alerting::route::SilenceFromJson(
        R"({"id":"sil-)" + std::to_string(i) + R"(","matchers":[{"name":"source","value":"web-)" +
        std::to_string(i) +
        R"(","isRegex":false,"isEqual":true}],"startsAt":"2030-01-01T00:00:00Z",)"
        R"("endsAt":"2030-01-01T01:00:00Z","updatedAt":"2030-01-01T00:00:00Z",)"
        R"("createdBy":"alice","comment":"rack move, CHG-1234"})");
    if (s.ok()) base.silences.push_back(*s);
  }
  PieceBytes out;
  out.whole = EncodeSyncPayload(base).size();
  ReplicaDeltas a(clock, "boot-a"), b(clock, "boot-b");
  auto send = [](ReplicaDeltas& from, ReplicaDeltas& to, const std::string& to_id, SyncPayload p) {
    from.Outgoing(to_id, p);
    const std::string text = EncodeSyncPayload(p);
    auto in = DecodeSyncPayload(text);
    if (!in.ok()) std::exit(1);
    to.Incoming(*in);
    return text.size();
  };
  SyncPayload from_b;
  from_b.from = "b";
  from_b.boot = "boot-b";
  for (int round = 0; round < 3; ++round) {  // whole lists, then everything once, then quiet
    send(a, b, "b", base);
    send(b, a, "a", from_b);
  }
  out.quiet = send(a, b, "b", base);
  send(b, a, "a", from_b);
  base.incidents[incidents / 2].state = alerting::IncidentState::kAcked;
  base.incidents[incidents / 2].acked_by = "alice";
  out.one_ack = send(a, b, "b", base);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = 1'000'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--sources") n = std::strtoull(argv[i + 1], nullptr, 10);
  }
  FakeClock clock;
  ClusterView a(clock, Members(), "a", "", "boot-a");  // the boots Send stamps
  ClusterView b(clock, Members(), "b", "", "boot-b");
  const int64_t now_ms = ToUnixMillis(clock.WallNow());
  std::vector<Transition> ts;
  ts.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Transition t;
    t.source_id = "dc" + std::to_string(i % 10) + ".rack" + std::to_string(i % 400) + ".host-" +
                  std::to_string(i);
    t.from = t.to = SourceState::kUp;
    t.at_ms = now_ms;
    ts.push_back(std::move(t));
  }
  a.OnLocal(ts);
  b.OnLocal(ts);

  // 1. b (re)starts: it hears a, then a sends every range until b's copy matches.
  Wire restart;
  double t0 = CpuSeconds();
  int exchanges = 0;
  for (; exchanges < 1000; ++exchanges) {
    clock.Advance(std::chrono::seconds(1));
    const SyncPayload ab = Exchange(a, b, restart);
    const SyncPayload ba = Exchange(b, a, restart);
    if (exchanges > 0 && Settled(ab, ba)) break;
  }
  const double restart_cpu = CpuSeconds() - t0;

  // 2. Steady state: nothing changes.
  Wire idle;
  t0 = CpuSeconds();
  for (int i = 0; i < 10; ++i) {
    clock.Advance(std::chrono::seconds(1));
    Exchange(a, b, idle);
    Exchange(b, a, idle);
  }
  const double idle_cpu = CpuSeconds() - t0;

  // 3. A lost entry: b misses one change; the digests find it, its range is sent again.
  std::vector<Transition> one = {ts[12345]};
  one[0].to = SourceState::kLate;
  a.OnLocal(one);
  SyncPayload lost = a.BuildFor("b");
  a.Delivered("b", lost);  // a believes b has it; b never applied it
  Wire repair;
  t0 = CpuSeconds();
  int repair_exchanges = 0;
  for (; repair_exchanges < 20; ++repair_exchanges) {
    clock.Advance(std::chrono::seconds(1));
    const SyncPayload ab = Exchange(a, b, repair);
    const SyncPayload ba = Exchange(b, a, repair);
    if (repair_exchanges > 0 && Settled(ab, ba)) break;
  }
  const double repair_cpu = CpuSeconds() - t0;

  // 4. A tenth of the sources go DOWN at once on a.
  std::vector<Transition> down;
  for (size_t i = 0; i < n; i += 10) {
    Transition t = ts[i];
    t.from = SourceState::kUp;
    t.to = SourceState::kDown;
    down.push_back(std::move(t));
  }
  a.OnLocal(down);
  Wire dark;
  t0 = CpuSeconds();
  int dark_exchanges = 0;
  for (; dark_exchanges < 100; ++dark_exchanges) {
    clock.Advance(std::chrono::seconds(1));
    const SyncPayload ab = Exchange(a, b, dark);
    const SyncPayload ba = Exchange(b, a, dark);
    if (dark_exchanges > 0 && Settled(ab, ba)) break;
  }
  const double dark_cpu = CpuSeconds() - t0;

  // 5. 200 open incidents, 2,000 log entries and 100 silences beside the table.
  const PieceBytes pieces = MeasurePieces(clock, 200, 2000, 100);

  // Exchanges are counted in sync intervals (each: a's request and b's, both answered).
  std::printf(
      "{\"sources\": %zu, \"restart_intervals\": %d, %s, \"idle_bytes_per_interval\": %zu, "
      "%s, \"repair_intervals\": %d, %s, \"dark_down\": %zu, \"dark_intervals\": %d, %s, "
      "\"pieces\": {\"incidents\": 200, \"log\": 2000, \"silences\": 100, "
      "\"whole_bytes\": %zu, \"delta_quiet_bytes\": %zu, \"delta_one_ack_bytes\": %zu}}\n",
      n, exchanges + 1, Json("restart", restart, restart_cpu).c_str(),
      idle.bytes / idle.payloads * 2, Json("idle", idle, idle_cpu).c_str(), repair_exchanges + 1,
      Json("repair", repair, repair_cpu).c_str(), down.size(), dark_exchanges + 1,
      Json("dark", dark, dark_cpu).c_str(), pieces.whole, pieces.quiet, pieces.one_ack);
  return 0;
}
