// healthchecks.io-compatible ping endpoints (docs/api.md, "Pings"; docs/checks.md), so a
// cron job switches from hc-ping.com by changing the host name:
//
//   GET|HEAD|POST /ping/<uuid>                success
//                 /ping/<uuid>/start          a run started (pairs with its finish by ?rid=)
//                 /ping/<uuid>/fail           failure: DOWN at once, pages
//                 /ping/<uuid>/<0-255>        exit status: 0 success, else failure
//                 /ping/<uuid>/log            a message only; no state change
//                 /ping/<ping_key>/<slug>[/start|/fail|/<0-255>|/log]   the same by slug
//   ?rid=<uuid>   run id: a finish closes the start with the same rid (run time measured)
//   POST body     up to kMaxPingBody bytes (more: 413); the first kMaxPingMessage are kept
//                 as the check's last message
//   Answers       200 "OK"; 404 "not found" (unknown uuid, slug or key: counted, logged
//                 rate-limited, the uuid never logged); 400 bad exit status or rid;
//                 429 over checks.pings_per_minute for this check
//
// Unauthenticated by design (docs/security.md, "Pings"): the uuid (or ping key) in the URL
// is the credential, as on healthchecks.io. Every ping is a deadline-source event in the
// tracker (tracker/deadline.h); transitions go to the same sink as heartbeats'.
//
//   GET /api/v1/checks    (read access) every configured check with its state ("NEW"
//                         before its first ping), schedule and last ping; never the uuid.
//
// Thread-safe: handlers run on civetweb workers; SetChecks() may run at any time. The
// tracker is changed only through `on_loop` (the app: its event loop's mailbox), so a
// ping's transition is made, paged and written on the thread that owns transitions.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "checks/check_config.h"
#include "firewatch/clock.h"
#include "firewatch/log.h"
#include "firewatch/status.h"
#include "firewatch/sync/mutex.h"
#include "http/http_server.h"
#include "tracker/source.h"

namespace firewatch::collector {

class Tracker;

inline constexpr size_t kMaxPingBody = 100 * 1024;  // healthchecks.io's limit

class PingApi {
 public:
  using TransitionSink = std::function<void(std::vector<Transition>)>;
  // Runs `work` where the tracker may change and returns its result: Unavailable when
  // it could not (the collector is stopping or its loop is busy: 503). Empty: at once,
  // on the calling thread (tests).
  using OnLoop = std::function<Result<bool>(std::function<bool()> work)>;
  PingApi(const Clock& clock, Tracker& tracker, TransitionSink sink, OnLoop on_loop = {});

  // Called (on the loop, like the sink) with the check's id after a ping that changed
  // no state: the app writes its row at once. A success ping moves the schedule; left
  // to the last-seen batch, a kill -9 would restore the previous success and the
  // restart could page a job that did run (docs/storage.md, "When rows are written").
  using Persist = std::function<void(const std::string& source_id)>;
  void SetPersist(Persist persist) { persist_ = std::move(persist); }

  // Installs the checks (startup and reload). Rate-limit budgets of kept checks survive.
  void SetChecks(const ChecksConfig& checks);
  // Registers the routes above on `server` (before Start()).
  void Register(HttpServer& server);

  HttpResponse HandlePing(const HttpRequest& req);
  HttpResponse ListChecks() const;

  struct Stats {
    uint64_t accepted = 0;
    uint64_t unknown = 0;       // 404
    uint64_t bad_request = 0;   // 400
    uint64_t rate_limited = 0;  // 429
  };
  Stats stats() const;

 private:
  struct Index {
    ChecksConfig config;
    std::map<std::string, size_t, std::less<>> by_uuid;  // -> config.jobs index
    std::map<std::string, size_t, std::less<>> by_slug;
  };
  struct Bucket {
    double tokens = 0;
    MonoTime refilled{};
  };
  std::shared_ptr<const Index> index() const;
  bool Admit(const std::string& source_id, uint64_t per_minute);
  HttpResponse Unknown(const HttpRequest& req);

  const Clock& clock_;
  Tracker& tracker_;
  TransitionSink sink_;
  OnLoop on_loop_;
  Persist persist_;  // set before Register(); read on the loop
  mutable Mutex mu_;
  std::shared_ptr<const Index> index_ FW_GUARDED_BY(mu_);
  // By source id; bounded by the checks.
  std::map<std::string, Bucket, std::less<>> buckets_ FW_GUARDED_BY(mu_);
  std::atomic<uint64_t> accepted_{0}, unknown_{0}, bad_request_{0}, rate_limited_{0};
  RateLimiter log_limiter_;
};

}  // namespace firewatch::collector
