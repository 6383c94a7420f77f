#include "http/api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <span>

#include "checks/check_book_json.h"
#include "checks/ping_json.h"
#include "firewatch/random_id.h"
#include "firewatch/text/rfc3339.h"
#include "http/status_page.h"
#include "ingest/ingestor.h"
#include "metrics/collector_metrics.h"
#include "store/store.h"
#include "tracker/tracker.h"

namespace firewatch::collector {

namespace {

using Json = nlohmann::ordered_json;

constexpr size_t kTransitionLimit = 50;

// Agents may send any bytes in ids, labels and check output: never let invalid UTF-8
// throw out of dump(); replace it with U+FFFD instead.
std::string Dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

Json SourceJson(const SourceSnapshot& s, int64_t now_ms, const ApiContext& ctx) {
  Json labels = Json::object();
  for (const auto& [k, v] : s.labels) labels[k] = v;
  Json checks = Json::array();
  if (s.check_book) {  // the checks of the last heartbeat, with since, flapping, history
    for (const auto& r : *s.check_book) {
      if (r.reported) checks.push_back(CheckRecordJson(r, kListHistory));
    }
  } else {
    for (const auto& c : s.checks) {
      checks.push_back({{"name", c.name},
                        {"state", std::string(protocol::CheckStateName(c.state))},
                        {"output", c.output}});
    }
  }
  Json j;
  j["source_id"] = s.source_id;
  j["state"] = std::string(SourceStateName(s.state));
  j["labels"] = std::move(labels);
  j["first_seen"] = text::FormatRfc3339(s.first_seen_ms);
  j["last_seen"] = text::FormatRfc3339(s.last_seen_ms);
  j["state_since"] = text::FormatRfc3339(s.state_since_ms);
  j["last_seen_ago_seconds"] = Seconds(std::max<int64_t>(0, now_ms - s.last_seen_ms));
  j["interval_seconds"] = Seconds(s.interval_ms);
  if (std::isfinite(s.phi)) {
    j["phi"] = std::round(s.phi * 1000.0) / 1000.0;
  } else {
    j["phi"] = nullptr;
  }
  j["agent_version"] = s.agent_version;
  if (!s.goodbye_reason.empty()) j["goodbye_reason"] = s.goodbye_reason;
  j["checks"] = std::move(checks);
  // The agent's digest did not match the full state we hold: these may be out of date.
  if (s.checks_stale) j["checks_stale"] = true;
  j["heartbeats"] = s.heartbeats;
  j["last_transport"] = std::string(TransportName(s.last_transport));
  if (s.ping) j["ping"] = PingInfoJson(*s.ping);  // a scheduled check (docs/checks.md)
  if (ctx.peer_checks) {
    // What peers alert on for this source: the cluster's view, also of a source this
    // collector does not hear (docs/cluster.md, "Checks").
    Json reports = Json::array();
    for (const auto& r : ctx.peer_checks(s.source_id)) {
      reports.push_back({{"collector", r.collector},
                         {"collector_state", r.collector_state},
                         {"name", r.name},
                         {"state", std::string(protocol::CheckStateName(r.state))},
                         {"output", r.output}});
    }
    if (!reports.empty()) j["cluster_checks"] = std::move(reports);
  }
  if (ctx.maintenance) {
    // Muted, not forgotten: still tracked, pages held back while a window is active.
    if (auto ids = ctx.maintenance(s); !ids.empty()) j["in_maintenance"] = ids;
  }
  return j;
}

Json TransitionJson(const Transition& t) {
  return {{"from", std::string(SourceStateName(t.from))},
          {"to", std::string(SourceStateName(t.to))},
          {"at", text::FormatRfc3339(t.at_ms)},
          {"reason", t.reason},
          {"new_source", t.new_source}};
}

std::string ValidStates() {
  std::string out;
  for (int i = 0; i < kSourceStateCount; ++i) {
    if (i) out += ", ";
    out += SourceStateName(static_cast<SourceState>(i));
  }
  return out;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

HttpResponse Heartbeat(const ApiContext& ctx, const HttpRequest& req) {
  IngestResult r;
  if (ctx.ingest) {
    auto taken = ctx.ingest(req.body, req.remote);
    if (!taken.ok()) return HttpResponse::Error(503, taken.status().message());
    r = std::move(taken).value();
  } else {
    const auto* bytes = reinterpret_cast<const uint8_t*>(req.body.data());
    r = ctx.ingestor->Ingest(std::span<const uint8_t>(bytes, req.body.size()), Transport::kHttp,
                             req.remote);
  }
  if (!r.rejected) {
    HttpResponse ok;
    ok.status = 204;
    return ok;
  }
  const std::string reason(protocol::RejectReasonName(*r.rejected));
  Json j = {{"error", "frame rejected: " + reason + (r.detail.empty() ? "" : ": " + r.detail)},
            {"reason", reason}};
  return HttpResponse::Json(400, Dump(j));
}

// The run this collector process is: a cursor carries it, so one from before a restart
// (whose sequence numbers meant other sources) is refused, not followed.
const std::string& RunId() {
  static const std::string id = RandomHex(4);
  return id;
}

std::string Cursor(uint64_t seq) { return RunId() + "." + std::to_string(seq); }

}  // namespace

Result<SourceListing> ParseSourceListing(std::string_view query) {
  SourceListing out;
  auto bad = [](const std::string& what) { return Status::InvalidArgument(what); };
  auto single = [&](std::string_view key) -> Result<std::optional<std::string>> {
    auto all = QueryParams(query, key);
    if (!all) return bad("query parameter '" + std::string(key) + "' is not valid %-encoding");
    if (all->size() > 1) return bad("query parameter '" + std::string(key) + "' given twice");
    if (all->empty()) return std::optional<std::string>();
    return std::optional<std::string>(std::move(all->front()));
  };

  auto state = single("state");
  if (!state.ok()) return state.status();
  if (*state) {
    std::string_view rest = **state;
    for (size_t n = 0; n <= kSourceStateCount; ++n) {
      const size_t comma = rest.find(',');
      const std::string name(rest.substr(0, comma));
      if (n == kSourceStateCount) return bad("state: too many states listed (at most " +
                                             std::to_string(kSourceStateCount) + ")");
      auto parsed = ParseSourceState(Upper(name));
      if (!parsed) {
        return bad("unknown state '" + name.substr(0, 64) + "'; valid: " + ValidStates());
      }
      out.states |= static_cast<uint8_t>(1u << static_cast<unsigned>(*parsed));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }

  auto q = single("q");
  if (!q.ok()) return q.status();
  if (*q) {
    if ((*q)->size() > kMaxListingText) {
      return bad("q: longer than " + std::to_string(kMaxListingText) + " bytes");
    }
    out.text = std::move(**q);
  }

  // match[] (Prometheus' spelling) and match: each one matcher or a {list} of them.
  for (const char* key : {"match[]", "match"}) {
    auto values = QueryParams(query, key);
    if (!values) return bad(std::string("query parameter '") + key + "' is not valid %-encoding");
    for (const auto& v : *values) {
      auto ms = alerting::route::ParseMatcherList(v);
      if (!ms.ok()) return bad(std::string(key) + ": " + ms.status().message());
      for (auto& m : *ms) out.matchers.push_back(std::move(m));
      if (out.matchers.size() > kMaxListingMatchers) {
        return bad("match: more than " + std::to_string(kMaxListingMatchers) + " matchers");
      }
    }
  }

  auto limit = single("limit");
  if (!limit.ok()) return limit.status();
  if (*limit) {
    const std::string& text = **limit;
    size_t n = 0;
    bool ok = !text.empty() && text.size() <= 6;
    for (char c : text) {
      if (c < '0' || c > '9') ok = false;
      n = n * 10 + static_cast<size_t>(c - '0');
    }
    if (!ok || n < 1 || n > kMaxListingLimit) {
      return bad("limit: must be a whole number from 1 to " + std::to_string(kMaxListingLimit) +
                 ", not '" + text.substr(0, 32) + "'");
    }
    out.limit = n;
  }

  auto after = single("after");
  if (!after.ok()) return after.status();
  if (*after) {
    const std::string& text = **after;
    const size_t dot = text.find('.');
    const std::string_view digits =
        dot == std::string::npos ? std::string_view() : std::string_view(text).substr(dot + 1);
    bool ok = !digits.empty() && digits.size() <= 19;
    uint64_t seq = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') ok = false;
      seq = seq * 10 + static_cast<uint64_t>(c - '0');
    }
    if (!ok) return bad("after: not a cursor from this API (pass back 'next' as it is)");
    if (text.substr(0, dot) != RunId()) {
      return bad("after: a cursor from an earlier run of this collector (it restarted); "
                 "list again from the start");
    }
    out.after = seq;
  }
  return out;
}

namespace {

HttpResponse Sources(const ApiContext& ctx, const HttpRequest& req) {
  auto listing = ParseSourceListing(req.query);
  if (!listing.ok()) return HttpResponse::Error(400, listing.status().message());
  SourceQuery query;
  query.states = listing->states;
  query.id_contains = listing->text;
  for (const auto& m : listing->matchers) {
    query.labels.push_back(
        {m.name(), [m](std::string_view v) { return m.MatchesValue(v); }});
  }
  query.after = listing->after;
  query.limit = listing->limit;
  // Counting every match costs a pass over the whole table: the first page has it,
  // the pages after it (a client walking the list) do not pay it again.
  query.count = listing->after == 0;
  const int64_t now_ms = ToUnixMillis(ctx.clock->WallNow());
  const SourcePage page = ctx.tracker->Query(query);
  Json list = Json::array();
  for (const auto& s : page.sources) list.push_back(SourceJson(s, now_ms, ctx));
  Json j;
  j["collector"] = ctx.collector_id;
  j["generated_at"] = text::FormatRfc3339(now_ms);
  j["next"] = page.next ? Json(Cursor(*page.next)) : Json(nullptr);
  j["matched"] = page.matched ? Json(*page.matched) : Json(nullptr);
  j["total"] = page.total;
  j["limit"] = listing->limit;
  j["sources"] = std::move(list);
  return HttpResponse::Json(200, Dump(j));
}

HttpResponse OneSource(const ApiContext& ctx, const HttpRequest& req) {
  std::optional<SourceSnapshot> s = ctx.tracker->Get(req.param);
  if (!s) return HttpResponse::Error(404, "unknown source '" + req.param + "'");
  Json j = SourceJson(*s, ToUnixMillis(ctx.clock->WallNow()), ctx);
  if (s->check_book) {  // the detail: every check's record and history (check_book.h)
    Json checks = Json::array();
    for (const auto& r : *s->check_book) checks.push_back(CheckRecordJson(r));
    j["checks"] = std::move(checks);
  }
  Json transitions = Json::array();
  if (ctx.store != nullptr) {
    auto loaded = ctx.store->LoadTransitions(s->source_id, kTransitionLimit);
    if (loaded.ok()) {
      for (const auto& t : *loaded) transitions.push_back(TransitionJson(t));
    } else {
      spdlog::warn("api: cannot load transitions of '{}': {}", s->source_id,
                   loaded.status().ToString());
      j["transitions_error"] = loaded.status().ToString();
    }
  }
  j["transitions"] = std::move(transitions);
  return HttpResponse::Json(200, Dump(j));
}

HttpResponse ForgetSource(const ApiContext& ctx, const HttpRequest& req) {
  Result<bool> known = ctx.forget ? ctx.forget(req.param, req.operator_name) : Result<bool>(false);
  if (!known.ok()) return HttpResponse::Error(503, known.status().message());
  if (!*known) return HttpResponse::Error(404, "unknown source '" + req.param + "'");
  return HttpResponse::Json(200, Dump(Json{{"forgotten", req.param}}));
}

HttpResponse CollectorStatus(const ApiContext& ctx) {
  const int64_t now_ms = ToUnixMillis(ctx.clock->WallNow());
  const StateCounts counts = ctx.tracker->Counts();
  const LimitStatus limits = ctx.tracker->Limits();
  Json by_state = Json::object();
  for (int i = 0; i < kSourceStateCount; ++i) {
    by_state[std::string(SourceStateName(static_cast<SourceState>(i)))] = counts.by_state[i];
  }
  Json j;
  j["collector"] = ctx.collector_id;
  j["version"] = ctx.version;
  j["generated_at"] = text::FormatRfc3339(now_ms);
  j["sources"] = {{"tracked", counts.total}, {"by_state", std::move(by_state)}};
  j["limits"] = {{"max_sources", limits.max_sources},
                 {"at_capacity", limits.at_capacity},
                 {"refused_at_capacity", limits.refused_at_capacity},
                 {"new_sources_per_key_per_minute", limits.new_sources_per_key_per_minute},
                 {"rate_limited_keys", limits.rate_limited_keys},
                 {"refused_by_rate", limits.refused_by_rate}};
  j["warnings"] = LimitWarnings(limits);
  if (ctx.config_info) {
    const ConfigInfo info = ctx.config_info();
    j["config"] = {{"digest", info.digest},
                   {"loaded_at", text::FormatRfc3339(info.loaded_at_ms)},
                   {"last_reload_ok", info.last_reload_ok},
                   {"reloads", info.reloads}};
  }
  return HttpResponse::Json(200, Dump(j));
}

HttpResponse StatusPage(const ApiContext& ctx, const HttpRequest& req) {
  // ?after= pages the UP sources, with the API's cursor (and its checks). A person's
  // bookmark may hold one from before a restart: shown as a warning over the first page.
  StatusPageModel model;
  model.warnings = LimitWarnings(ctx.tracker->Limits());
  auto listing = ParseSourceListing(req.query);
  if (!listing.ok()) {
    model.warnings.push_back("ignored the page's query (" + listing.status().message() +
                             "): showing the first UP sources");
    listing = SourceListing{};
  }
  model.collector_id = ctx.collector_id;
  model.version = ctx.version;
  model.now_ms = ToUnixMillis(ctx.clock->WallNow());
  const StateCounts counts = ctx.tracker->Counts();
  model.counts = StatusPageModel::Counts{};  // (not emplace(): clang cannot see the
  StatusPageModel::Counts& c = *model.counts;  // nested struct's default constructor)
  std::copy(std::begin(counts.by_state), std::end(counts.by_state), std::begin(c.by_state));
  c.total = counts.total;
  // What is not UP first, all of it up to the cap; then one page of UP sources.
  SourceQuery not_up;
  not_up.states = static_cast<uint8_t>(~(1u << static_cast<unsigned>(SourceState::kUp)) &
                                       ((1u << kSourceStateCount) - 1));
  not_up.limit = kStatusPageNotUpLimit;
  SourcePage bad = ctx.tracker->Query(not_up);
  model.not_up_matched = bad.matched.value_or(bad.sources.size());
  SourceQuery up;
  up.states = static_cast<uint8_t>(1u << static_cast<unsigned>(SourceState::kUp));
  up.limit = kStatusPageUpLimit;
  up.after = listing->after;
  up.count = false;
  SourcePage good = ctx.tracker->Query(up);
  if (good.next) model.up_next = Cursor(*good.next);
  if (listing->after != 0) model.up_after = Cursor(listing->after);
  model.sources = std::move(bad.sources);
  std::move(good.sources.begin(), good.sources.end(), std::back_inserter(model.sources));
  if (ctx.cluster_panel) model.cluster = ctx.cluster_panel();
  const std::string nonce = NewNonce();
  HttpResponse r = HttpResponse::Html(200, RenderStatusPage(model, nonce));
  r.headers.emplace_back("Content-Security-Policy", StatusPageCsp(nonce));
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

}  // namespace

std::vector<std::string> LimitWarnings(const LimitStatus& limits) {
  std::vector<std::string> out;
  if (limits.at_capacity) {
    out.push_back("source cap reached: " + std::to_string(limits.tracked) + " sources tracked, " +
                  "collector.max_sources is " + std::to_string(limits.max_sources) +
                  "; frames from new sources are refused (" +
                  std::to_string(limits.refused_at_capacity) +
                  " so far) until sources are forgotten (firewatchctl forget, "
                  "detection.forget_after) or the cap is raised");
  }
  if (!limits.rate_limited_keys.empty()) {
    std::string keys;
    for (const auto& k : limits.rate_limited_keys) keys += (keys.empty() ? "" : ", ") + k;
    out.push_back("new sources refused in the last minute: key(s) " + keys + " over " +
                  std::to_string(limits.new_sources_per_key_per_minute) +
                  " new sources per minute (collector.new_sources_per_key_per_minute)");
  }
  return out;
}

void RegisterApi(HttpServer& server, const ApiContext& ctx) {
  const ApiContext* c = &ctx;
  // Public: the frame's HMAC authenticates it (docs/protocol.md). Up to the u16 frame
  // length, not a datagram's 1,200 bytes: a full check state that does not fit a
  // datagram comes this way (docs/security.md).
  server.Route(
      "POST", "/api/v1/heartbeat", [c](const HttpRequest& r) { return Heartbeat(*c, r); },
      RouteOptions{Access::kPublic, protocol::kMaxHttpFrameSize, [c] {
                     c->metrics->FrameRejected(protocol::RejectReason::kOversize, Transport::kHttp);
                   }});
  server.Route("GET", "/api/v1/sources", [c](const HttpRequest& r) { return Sources(*c, r); });
  server.Route("GET", "/api/v1/sources/{}",
               [c](const HttpRequest& r) { return OneSource(*c, r); });
  // Operator: forgetting a source stops its paging (docs/security.md).
  server.Route("DELETE", "/api/v1/sources/{}",
               [c](const HttpRequest& r) { return ForgetSource(*c, r); },
               RouteOptions{Access::kOperator, 0, nullptr});
  server.Route("GET", "/api/v1/status", [c](const HttpRequest&) { return CollectorStatus(*c); });
  server.Route("GET", "/metrics", [c](const HttpRequest&) {
    HttpResponse r = HttpResponse::Text(200, c->metrics->Render(*c->tracker, c->store));
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  });
  // Public even when reads need a token: probes (systemd, load balancers) carry none.
  // The time lets agents measure their clock offset before signed heartbeats fall out
  // of the skew window (the agent's clock check, docs/agent.md).
  server.Route("GET", "/healthz", [c](const HttpRequest&) {
    return HttpResponse::Json(200, R"({"status":"ok","time_unix_ms":)" +
                                       std::to_string(ToUnixMillis(c->clock->WallNow())) + "}");
  }, RouteOptions{Access::kPublic, 0, nullptr});
  server.Route("GET", "/readyz", [c](const HttpRequest&) {
    if (c->ready == nullptr || c->ready->load()) {
      return HttpResponse::Json(200, R"({"status":"ready"})");
    }
    return HttpResponse::Json(503, R"({"status":"starting"})");
  }, RouteOptions{Access::kPublic, 0, nullptr});
  server.Route("GET", "/", [c](const HttpRequest& r) { return StatusPage(*c, r); });
}

}  // namespace firewatch::collector
