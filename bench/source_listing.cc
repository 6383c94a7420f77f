// bench_source_listing: what one GET /api/v1/sources page (and one status page) costs with
// a million sources in the tracker (issue #13: under 100 ms each).
//
// Restores --sources sources into a collector::Tracker (labels dc0..dc9, role, a unique
// host label), --down of them (all of dc3, then dc4, ...) DOWN, registers the real API on
// an HttpServer and times HttpServer::Dispatch for each request below: parsing, the
// tracker walk, the JSON (or HTML) rendering, everything but the socket. Each request
// runs --runs times; the median and the slowest are printed. Also times the longest the
// walk holds the tracker's lock (one slice, Tracker::kQuerySlice sources), and the
// longest the ingest path waits for that lock while each whole-table request runs (a
// second thread takes it, Tracker::Get, in a loop and times every wait).
//
// Output: a Markdown table on stdout.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "firewatch/clock.h"
#include "http/api.h"
#include "http/http_server.h"
#include "metrics/collector_metrics.h"
#include "tracker/tracker.h"

namespace {

using namespace firewatch;
using namespace firewatch::collector;

double Ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

[[noreturn]] void Usage() {
  std::fprintf(stderr, "usage: bench_source_listing [--sources 1000000] [--down 100000] [--runs 7]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  size_t sources = 1'000'000, down = 100'000, runs = 7;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) Usage();
    const size_t v = std::strtoull(argv[++i], nullptr, 10);
    if (a == "--sources") sources = v;
    else if (a == "--down") down = v;
    else if (a == "--runs") runs = v;
    else Usage();
  }
  if (sources == 0 || runs == 0 || down > sources) Usage();

  const Clock& clock = SystemClock::Instance();
  Tracker tracker(clock, DetectionConfig{});
  {
    const int64_t now_ms = ToUnixMillis(clock.WallNow());
    std::vector<SourceSnapshot> snaps;
    snaps.reserve(sources);
    // dc3's sources first in the DOWN count, then dc4's, ...: a datacenter gone dark.
    size_t downs = 0;
    for (size_t i = 0; i < sources; ++i) {
      SourceSnapshot s;
      const size_t dc = i % 10;
      s.source_id = "host-" + std::to_string(i);
      s.labels = {{"dc", "dc" + std::to_string(dc)},
                  {"host", s.source_id},
                  {"role", i % 4 == 0 ? "db" : "web"}};
      s.interval_ms = 5000;
      s.first_seen_ms = s.last_seen_ms = s.state_since_ms = now_ms;
      s.agent_version = "0.1.0";
      s.heartbeats = 1;
      snaps.push_back(std::move(s));
    }
    for (size_t dc = 3; downs < down; dc = (dc + 1) % 10) {
      for (size_t i = dc; i < sources && downs < down; i += 10, ++downs) {
        snaps[i].state = SourceState::kDown;
      }
    }
    tracker.Restore(std::move(snaps));
  }

  CollectorMetrics metrics("bench", "0", /*per_source=*/false);
  std::atomic<bool> ready{true};
  ApiContext ctx;
  ctx.collector_id = "bench";
  ctx.version = "0";
  ctx.clock = &clock;
  ctx.tracker = &tracker;
  ctx.metrics = &metrics;
  ctx.ready = &ready;
  HttpServer server(HttpServerOptions{});
  RegisterApi(server, ctx);  // the ingestor is needed only by POST /api/v1/heartbeat

  auto get = [&](const std::string& path, const std::string& query, HttpResponse* out) {
    HttpRequest req;
    req.method = "GET";
    req.path = path;
    req.query = query;
    const auto start = std::chrono::steady_clock::now();
    HttpResponse r = server.Dispatch(req);
    const auto took = std::chrono::steady_clock::now() - start;
    if (r.status != 200) {
      std::fprintf(stderr, "%s?%s: %d %s\n", path.c_str(), query.c_str(), r.status, r.body.c_str());
      std::exit(1);
    }
    if (out) *out = std::move(r);
    return took;
  };
  // The cursor of the first page of DOWN sources, for "a later page".
  HttpResponse first;
  get("/api/v1/sources", "state=DOWN&limit=500", &first);
  const size_t at = first.body.rfind("\"next\":\"");
  const std::string cursor = first.body.substr(at + 8, first.body.find('"', at + 8) - at - 8);

  struct Case {
    std::string what, path, query;
  };
  const std::vector<Case> cases = {
      {"no filter, first page (500)", "/api/v1/sources", ""},
      {"state=DOWN, first page (counts every match)", "/api/v1/sources", "state=DOWN"},
      {"state=DOWN, a later page (after=)", "/api/v1/sources", "state=DOWN&after=" + cursor},
      {"state=DOWN, limit=5000", "/api/v1/sources", "state=DOWN&limit=5000"},
      {"q=host-99999 (text; few matches, whole table)", "/api/v1/sources", "q=host-99999"},
      {"match[]=dc=\"dc7\"", "/api/v1/sources", "match[]=dc%3D%22dc7%22"},
      {"match[]=dc=~\"dc[37]\"&match[]=role!=\"db\"&state=UP", "/api/v1/sources",
       "match[]=dc%3D~%22dc%5B37%5D%22&match[]=role!%3D%22db%22&state=UP"},
      {"match[]=host=\"host-123457\" (one source)", "/api/v1/sources",
       "match[]=host%3D%22host-123457%22"},
      {"status page (1,000 not UP + 500 UP)", "/", ""},
      {"/api/v1/status (counts by state)", "/api/v1/status", ""},
      {"/metrics (counts by state and by dc)", "/metrics", ""},
  };
  std::printf("%zu sources, %zu DOWN; %zu runs each\n\n", sources, down, runs);
  std::printf("| request | median ms | slowest ms | response bytes |\n|---|---|---|---|\n");
  for (const auto& c : cases) {
    std::vector<double> t;
    HttpResponse r;
    for (size_t i = 0; i < runs; ++i) t.push_back(Ms(get(c.path, c.query, &r)));
    std::sort(t.begin(), t.end());
    std::printf("| `%s` | %.1f | %.1f | %zu |\n", c.what.c_str(), t[t.size() / 2], t.back(),
                r.body.size());
  }

  // The longest the ingest path can wait for a listing: one slice under the lock.
  SourceQuery slice;
  slice.states = 1u << static_cast<unsigned>(SourceState::kStopped);  // matches nothing
  slice.count = true;
  std::vector<double> t;
  for (size_t i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    (void)tracker.Query(slice);
    t.push_back(Ms(std::chrono::steady_clock::now() - start));
  }
  std::sort(t.begin(), t.end());
  const double slices = static_cast<double>((sources + Tracker::kQuerySlice - 1) / Tracker::kQuerySlice);
  std::printf("\nwhole-table walk (state=STOPPED, nothing matches): median %.1f ms over %.0f slices "
              "= %.2f ms per lock hold\n", t[t.size() / 2], slices, t[t.size() / 2] / slices);

  // What a scrape or a listing costs ingest: the longest wait for the tracker's lock.
  std::printf("\n| while this runs %zu times | lock waits | longest wait ms |\n|---|---|---|\n",
              runs);
  const std::vector<Case> walks = {cases[1], cases[8], cases[9], cases[10]};
  for (const auto& c : walks) {
    std::atomic<bool> stop{false};
    double longest = 0;
    size_t waits = 0;
    std::thread ingest([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        const auto start = std::chrono::steady_clock::now();
        (void)tracker.Get("host-1");
        longest = std::max(longest, Ms(std::chrono::steady_clock::now() - start));
        ++waits;
      }
    });
    for (size_t i = 0; i < runs; ++i) get(c.path, c.query, nullptr);
    stop = true;
    ingest.join();
    std::printf("| `%s` | %zu | %.2f |\n", c.what.c_str(), waits, longest);
  }
  return 0;
}
