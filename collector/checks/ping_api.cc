#include "checks/ping_api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "checks/ping_json.h"
#include "firewatch/crypto/hmac_sha256.h"
#include "tracker/tracker.h"

namespace firewatch::collector {
namespace {

using Json = nlohmann::ordered_json;

bool SameSecret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return crypto::ConstantTimeEqual({reinterpret_cast<const uint8_t*>(a.data()), a.size()},
                                   {reinterpret_cast<const uint8_t*>(b.data()), b.size()});
}

// "", "start", "fail", "log" or an exit status. False when `action` is none of them;
// `bad_status` when it is a number over 255.
bool ParseAction(std::string_view action, PingEvent& ev, bool& bad_status) {
  bad_status = false;
  if (action.empty()) {
    ev.kind = PingKind::kSuccess;
  } else if (action == "start") {
    ev.kind = PingKind::kStart;
  } else if (action == "fail") {
    ev.kind = PingKind::kFail;
  } else if (action == "log") {
    ev.kind = PingKind::kLog;
  } else {
    const bool digits =
        std::all_of(action.begin(), action.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) return false;
    if (action.size() > 3) {
      bad_status = true;
      return true;
    }
    int v = 0;
    for (char c : action) v = v * 10 + (c - '0');
    if (v > 255) {
      bad_status = true;
      return true;
    }
    ev.exit_status = v;
    ev.kind = v == 0 ? PingKind::kSuccess : PingKind::kFail;
  }
  return true;
}

HttpResponse Plain(int status, std::string body) {
  HttpResponse r = HttpResponse::Text(status, std::move(body));
  return r;
}

}  // namespace

PingApi::PingApi(const Clock& clock, Tracker& tracker, TransitionSink sink, OnLoop on_loop)
    : clock_(clock),
      tracker_(tracker),
      sink_(std::move(sink)),
      on_loop_(std::move(on_loop)),
      index_(std::make_shared<Index>()),
      log_limiter_(clock, std::chrono::seconds(10)) {}

void PingApi::SetChecks(const ChecksConfig& checks) {
  auto idx = std::make_shared<Index>();
  idx->config = checks;
  for (size_t i = 0; i < checks.jobs.size(); ++i) {
    idx->by_uuid.emplace(checks.jobs[i].uuid, i);
    if (!checks.jobs[i].slug.empty()) idx->by_slug.emplace(checks.jobs[i].slug, i);
  }
  MutexLock lock(mu_);
  std::erase_if(buckets_, [&](const auto& b) {
    return std::none_of(checks.jobs.begin(), checks.jobs.end(),
                        [&](const CheckSpec& c) { return c.source_id() == b.first; });
  });
  index_ = std::move(idx);
}

std::shared_ptr<const PingApi::Index> PingApi::index() const {
  MutexLock lock(mu_);
  return index_;
}

bool PingApi::Admit(const std::string& source_id, uint64_t per_minute) {
  const MonoTime now = clock_.Now();
  MutexLock lock(mu_);
  auto [it, fresh] = buckets_.try_emplace(source_id);
  Bucket& b = it->second;
  const double cap = static_cast<double>(per_minute);
  if (fresh) {
    b.tokens = cap;
    b.refilled = now;
  }
  const double minutes = std::chrono::duration<double, std::ratio<60>>(now - b.refilled).count();
  b.tokens = std::min(cap, b.tokens + std::max(0.0, minutes) * cap);
  b.refilled = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

HttpResponse PingApi::Unknown(const HttpRequest& req) {
  ++unknown_;
  uint64_t suppressed = 0;
  if (log_limiter_.Allow("unknown", suppressed)) {
    // Never the path: it may hold a mistyped (or another site's) uuid or ping key.
    spdlog::warn("ping for an unknown check from {} ({} similar suppressed)", req.remote,
                 suppressed);
  }
  return Plain(404, "not found");
}

HttpResponse PingApi::HandlePing(const HttpRequest& req) {
  const auto idx = index();
  const std::vector<std::string>& p = req.params;
  const CheckSpec* check = nullptr;
  std::string_view action;
  if (p.empty() || p.size() > 3) return Unknown(req);
  if (auto uuid = CanonicalUuid(p[0])) {
    if (p.size() == 3) return Unknown(req);
    auto it = idx->by_uuid.find(*uuid);
    if (it == idx->by_uuid.end()) return Unknown(req);
    check = &idx->config.jobs[it->second];
    if (p.size() == 2) action = p[1];
  } else {
    if (p.size() < 2 || idx->config.ping_key.empty() || !SameSecret(p[0], idx->config.ping_key)) {
      return Unknown(req);
    }
    auto it = idx->by_slug.find(p[1]);
    if (it == idx->by_slug.end()) return Unknown(req);
    check = &idx->config.jobs[it->second];
    if (p.size() == 3) action = p[2];
  }
  PingEvent ev;
  bool bad_status = false;
  if (!ParseAction(action, ev, bad_status)) return Unknown(req);
  if (bad_status) {
    ++bad_request_;
    return Plain(400, "invalid exit status (0-255)");
  }
  std::optional<std::string> rid = QueryParam(req.query, "rid");
  if (rid) {
    auto canonical = CanonicalUuid(*rid);
    if (!canonical) {
      ++bad_request_;
      return Plain(400, "invalid rid (expected a UUID)");
    }
    rid = std::move(canonical);
  }
  const std::string source_id = check->source_id();
  if (!Admit(source_id, idx->config.pings_per_minute)) {
    ++rate_limited_;
    uint64_t suppressed = 0;
    if (log_limiter_.Allow("rate:" + source_id, suppressed)) {
      spdlog::warn("check {}: pings over {}/min refused ({} similar suppressed)", check->name,
                   idx->config.pings_per_minute, suppressed);
    }
    return Plain(429, "rate limited");
  }
  // The work owns what it reads: when the loop is late, it may run after this returns.
  auto work = [this, source_id, ev, rid_text = rid.value_or(std::string()),
               body = req.method == "POST" ? req.body : std::string()]() mutable {
    ev.rid = rid_text;
    ev.body = body;
    Tracker::PingResult r = tracker_.Ping(source_id, ev);
    if (r.known && r.transition) {
      sink_({std::move(*r.transition)});
    } else if (r.known && persist_) {
      persist_(source_id);
    }
    return r.known;
  };
  Result<bool> known = on_loop_ ? on_loop_(std::move(work)) : Result<bool>(work());
  if (!known.ok()) return Plain(503, known.status().message());
  if (!*known) return Unknown(req);  // the tracker's set lags a reload: same answer
  ++accepted_;
  return Plain(200, "OK");
}

HttpResponse PingApi::ListChecks() const {
  const auto idx = index();
  Json list = Json::array();
  for (const CheckSpec& c : idx->config.jobs) {
    Json j;
    j["name"] = c.name;
    j["source_id"] = c.source_id();
    if (!c.slug.empty()) j["slug"] = c.slug;
    if (c.schedule.empty()) {
      j["period_seconds"] = std::chrono::duration<double>(c.period).count();
    } else {
      j["schedule"] = c.schedule;
      j["tz"] = c.tz;
    }
    j["grace_seconds"] = std::chrono::duration<double>(c.grace).count();
    Json labels = Json::object();
    for (const auto& [k, v] : c.labels) labels[k] = v;
    j["labels"] = std::move(labels);
    auto s = tracker_.Get(c.source_id());
    j["state"] = s ? std::string(SourceStateName(s->state)) : std::string("NEW");
    if (s) {
      j["state_since"] = text::FormatRfc3339(s->state_since_ms);
      if (s->ping) j["ping"] = PingInfoJson(*s->ping);
    }
    list.push_back(std::move(j));
  }
  const Stats st = stats();
  Json out;
  out["checks"] = std::move(list);
  out["pings"] = {{"accepted", st.accepted},
                  {"unknown", st.unknown},
                  {"bad_request", st.bad_request},
                  {"rate_limited", st.rate_limited}};
  return HttpResponse::Json(200, out.dump(-1, ' ', false, Json::error_handler_t::replace));
}

PingApi::Stats PingApi::stats() const {
  return {accepted_.load(), unknown_.load(), bad_request_.load(), rate_limited_.load()};
}

void PingApi::Register(HttpServer& server) {
  for (const char* pattern : {"/ping/{}", "/ping/{}/{}", "/ping/{}/{}/{}"}) {
    auto handler = [this](const HttpRequest& req) { return HandlePing(req); };
    server.Route("GET", pattern, handler, RouteOptions{Access::kPublic, 0, nullptr});
    server.Route("POST", pattern, handler, RouteOptions{Access::kPublic, kMaxPingBody, nullptr});
  }
  server.Route(
      "GET", "/api/v1/checks", [this](const HttpRequest&) { return ListChecks(); },
      RouteOptions{Access::kRead, 0, nullptr});
}

}  // namespace firewatch::collector
