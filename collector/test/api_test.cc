// The collector's HTTP API over a real Tracker (FakeClock), Ingestor, CollectorMetrics and
// Store (temp dir). Dispatch() where sockets are not the point; real sockets (libcurl)
// for the heartbeat upload path and the status page in headless Chromium.
#include "http/api.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/protocol/frame.h"
#include "firewatch/protocol/keyring.h"
#include "http/access.h"
#include "http/http_server.h"
#include "http/status_page.h"
#include "ingest/ingestor.h"
#include "metrics/collector_metrics.h"
#include "store/store.h"
#include "tracker/tracker.h"

namespace firewatch::collector {
namespace {

using nlohmann::json;

constexpr int64_t kStartMs = 1795624873123;  // 2026-11-25T16:41:13.123Z
const char* const kHostileLabel = "<script>alert(1)</script>";
const char* const kHostileId = "<img src=x onerror=alert(2)>";

protocol::Secret TestSecret() {
  protocol::Secret s(32);
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(i * 7 + 1);
  return s;
}

class ApiTest : public ::testing::Test {
 protected:
  ApiTest()
      : clock_(FromUnixMillis(kStartMs)),
        tracker_(clock_, DetectionConfig{}),
        metrics_("collector-a", "0.1.0-test", /*per_source=*/true),
        server_(HttpServerOptions{}) {}

  void SetUp() override {
    auto keys = std::make_shared<protocol::Keyring>();
    ASSERT_TRUE(keys->Add("k1", TestSecret()).ok());
    char tmpl[] = "/tmp/firewatch_api_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = Store::Open(dir_ + "/collector.db");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    ingestor_ = std::make_unique<Ingestor>(clock_, keys, tracker_, metrics_,
                                           [this](std::vector<Transition> t) {
                                             store_->Write({}, std::move(t));
                                           });
    ctx_.collector_id = "collector-a";
    ctx_.version = "0.1.0-test";
    ctx_.clock = &clock_;
    ctx_.tracker = &tracker_;
    ctx_.store = store_.get();
    ctx_.metrics = &metrics_;
    ctx_.ingestor = ingestor_.get();
    ctx_.ready = &ready_;
    RegisterApi(server_, ctx_);
    boot_ = protocol::NewBootId();
  }

  void TearDown() override {
    server_.Stop();
    ingestor_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  protocol::Heartbeat Beat(const std::string& id, uint64_t seq,
                           protocol::Labels labels = {{"dc", "dc1"}, {"role", "web"}}) {
    protocol::Heartbeat hb;
    hb.key_id = "k1";
    hb.source_id = id;
    hb.boot_id = boot_;
    hb.sequence = seq;
    hb.timestamp_ms = ToUnixMillis(clock_.WallNow());
    hb.interval_ms = 5000;
    hb.agent_version = "0.1.0";
    hb.labels = std::move(labels);
    hb.checks = {{"disk", protocol::CheckState::kOk, "40% used"},
                 {"ntp", protocol::CheckState::kWarning, "offset 120ms"}};
    return hb;
  }

  static std::string Frame(const protocol::Heartbeat& hb) {
    auto bytes = protocol::Encode(hb, TestSecret());
    EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
    if (!bytes.ok()) return "";
    return std::string(bytes->begin(), bytes->end());
  }

  HttpResponse Post(std::string body) {
    HttpRequest req;
    req.method = "POST";
    req.path = "/api/v1/heartbeat";
    req.body = std::move(body);
    req.remote = "192.0.2.10:40000";
    return server_.Dispatch(req);
  }

  HttpResponse Get(const std::string& path, const std::string& query = "") {
    HttpRequest req;
    req.method = "GET";
    req.path = path;
    req.query = query;
    return server_.Dispatch(req);
  }

  static json Parse(const HttpResponse& r) {
    json j = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }

  // The value of the first sample line of `metric` whose labels contain all `needles`.
  std::string Sample(const std::string& metric, const std::vector<std::string>& needles) {
    std::string text = metrics_.Render(tracker_, store_.get());
    size_t pos = 0;
    while (pos < text.size()) {
      size_t eol = text.find('\n', pos);
      std::string line = text.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
      pos = eol == std::string::npos ? text.size() : eol + 1;
      if (line.rfind(metric + "{", 0) != 0 && line.rfind(metric + " ", 0) != 0) continue;
      bool all = true;
      for (const auto& n : needles) all = all && line.find(n) != std::string::npos;
      if (all) return line.substr(line.rfind(' ') + 1);
    }
    return "";
  }

  FakeClock clock_;
  Tracker tracker_;
  CollectorMetrics metrics_;
  HttpServer server_;
  std::string dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Ingestor> ingestor_;
  std::atomic<bool> ready_{false};
  ApiContext ctx_;
  protocol::BootId boot_{};
};

// ---- heartbeat upload ----------------------------------------------------------------

TEST_F(ApiTest, ValidFrameIs204AndTheSourceAppears) {
  HttpResponse r = Post(Frame(Beat("web-01", 1)));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.body, "");

  clock_.Advance(std::chrono::milliseconds(1500));
  HttpResponse list = Get("/api/v1/sources");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.content_type, "application/json");
  json j = Parse(list);
  EXPECT_EQ(j["collector"], "collector-a");
  EXPECT_EQ(j["generated_at"], "2026-11-25T16:41:14.623Z");
  ASSERT_EQ(j["sources"].size(), 1u);
  const json& s = j["sources"][0];
  EXPECT_EQ(s["source_id"], "web-01");
  EXPECT_EQ(s["state"], "UP");
  EXPECT_EQ(s["labels"], json({{"dc", "dc1"}, {"role", "web"}}));
  EXPECT_EQ(s["first_seen"], "2026-11-25T16:41:13.123Z");
  EXPECT_EQ(s["last_seen"], "2026-11-25T16:41:13.123Z");
  EXPECT_EQ(s["state_since"], "2026-11-25T16:41:13.123Z");
  EXPECT_DOUBLE_EQ(s["last_seen_ago_seconds"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(s["interval_seconds"].get<double>(), 5.0);
  EXPECT_TRUE(s["phi"].is_number());
  EXPECT_EQ(s["agent_version"], "0.1.0");
  EXPECT_FALSE(s.contains("goodbye_reason"));
  ASSERT_EQ(s["checks"].size(), 2u);
  EXPECT_EQ(s["checks"][0]["name"], "disk");
  EXPECT_EQ(s["checks"][0]["state"], "OK");
  EXPECT_EQ(s["checks"][0]["output"], "40% used");
  EXPECT_EQ(s["checks"][0]["since"], "2026-11-25T16:41:13.123Z");  // the collector's record
  EXPECT_EQ(s["checks"][0]["alert_state"], "OK");
  EXPECT_EQ(s["checks"][0]["history"], json::array());
  EXPECT_EQ(s["checks"][1]["state"], "WARNING");
  EXPECT_EQ(s["checks"][1]["alert_state"], "WARNING");
  ASSERT_EQ(s["checks"][1]["history"].size(), 1u);
  EXPECT_EQ(s["checks"][1]["history"][0]["to"], "WARNING");
  EXPECT_EQ(s["heartbeats"], 1);
  EXPECT_EQ(s["last_transport"], "http");
  EXPECT_EQ(Sample("firewatch_heartbeats_received_total", {"http"}), "1");
}

TEST_F(ApiTest, BadMacIs400WithReason) {
  std::string frame = Frame(Beat("web-01", 1));
  frame.back() = static_cast<char>(frame.back() ^ 0x01);
  HttpResponse r = Post(frame);
  EXPECT_EQ(r.status, 400);
  json j = Parse(r);
  EXPECT_EQ(j["reason"], "bad_mac");
  EXPECT_TRUE(j["error"].is_string());
  EXPECT_EQ(tracker_.size(), 0u);
}

TEST_F(ApiTest, ReplayIs400Replayed) {
  std::string frame = Frame(Beat("web-01", 7));
  EXPECT_EQ(Post(frame).status, 204);
  HttpResponse again = Post(frame);
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(Parse(again)["reason"], "replayed");
  EXPECT_EQ(Sample("firewatch_frames_rejected_total", {"replayed", "http"}), "1");
}

TEST_F(ApiTest, ClockSkewIs400) {
  protocol::Heartbeat hb = Beat("web-01", 1);
  hb.timestamp_ms -= 3'600'000;
  HttpResponse r = Post(Frame(hb));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Parse(r)["reason"], "clock_skew");
}

TEST_F(ApiTest, GarbageAndEmptyBodiesAre400) {
  EXPECT_EQ(Parse(Post(""))["reason"], "truncated");
  HttpResponse r = Post(std::string(300, 'x'));
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(Parse(r)["reason"].is_string());
}

TEST_F(ApiTest, OversizeIs413AndCountedAsRejectedFrame) {
  HttpResponse r = Post(std::string(protocol::kMaxHttpFrameSize + 1, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(Sample("firewatch_frames_rejected_total", {"oversize", "http"}), "1");
  // Exactly the maximum is read and judged by the decoder instead; so is a frame over a
  // datagram's size (a full check state that did not fit one).
  EXPECT_EQ(Post(std::string(protocol::kMaxHttpFrameSize, 'x')).status, 400);
  EXPECT_EQ(Post(std::string(protocol::kMaxFrameSize + 1, 'x')).status, 400);
}

TEST_F(ApiTest, GoodbyeShowsStoppedWithReason) {
  ASSERT_EQ(Post(Frame(Beat("web-01", 1))).status, 204);
  protocol::Heartbeat bye = Beat("web-01", 2);
  bye.type = protocol::FrameType::kGoodbye;
  bye.goodbye_reason = "SIGTERM";
  ASSERT_EQ(Post(Frame(bye)).status, 204);
  json s = Parse(Get("/api/v1/sources/web-01"));
  EXPECT_EQ(s["state"], "STOPPED");
  EXPECT_EQ(s["goodbye_reason"], "SIGTERM");
}

// ---- source list and detail ----------------------------------------------------------

TEST_F(ApiTest, SourcesInFirstContactOrderAndFilteredByState) {
  ASSERT_EQ(Post(Frame(Beat("db-01", 1))).status, 204);
  clock_.Advance(std::chrono::seconds(120));  // db-01 falls silent
  (void)tracker_.Evaluate();
  ASSERT_EQ(Post(Frame(Beat("web-02", 1))).status, 204);
  ASSERT_EQ(Post(Frame(Beat("app-01", 1))).status, 204);

  json all = Parse(Get("/api/v1/sources"));
  ASSERT_EQ(all["sources"].size(), 3u);
  EXPECT_EQ(all["sources"][0]["source_id"], "db-01");
  EXPECT_EQ(all["sources"][1]["source_id"], "web-02");
  EXPECT_EQ(all["sources"][2]["source_id"], "app-01");
  EXPECT_EQ(all["next"], nullptr);
  EXPECT_EQ(all["matched"], 3);
  EXPECT_EQ(all["total"], 3);
  EXPECT_EQ(all["limit"], 500);

  for (const char* q : {"state=DOWN", "state=down"}) {
    json down = Parse(Get("/api/v1/sources", q));
    ASSERT_EQ(down["sources"].size(), 1u) << q;
    EXPECT_EQ(down["sources"][0]["source_id"], "db-01");
    EXPECT_EQ(down["sources"][0]["state"], "DOWN");
    EXPECT_EQ(down["matched"], 1);
    EXPECT_EQ(down["total"], 3);
  }
  EXPECT_EQ(Parse(Get("/api/v1/sources", "state=UP"))["sources"].size(), 2u);
  EXPECT_EQ(Parse(Get("/api/v1/sources", "state=STOPPED"))["sources"].size(), 0u);
  EXPECT_EQ(Parse(Get("/api/v1/sources", "state=DOWN,Up"))["sources"].size(), 3u);
  EXPECT_EQ(Parse(Get("/api/v1/sources", "state=DOWN%2CSTOPPED"))["sources"].size(), 1u);

  HttpResponse bad = Get("/api/v1/sources", "state=BROKEN");
  EXPECT_EQ(bad.status, 400);
  std::string err = Parse(bad)["error"];
  EXPECT_NE(err.find("BROKEN"), std::string::npos) << err;
  EXPECT_NE(err.find("UP, LATE, DOWN, STOPPED"), std::string::npos) << err;
  err = Parse(Get("/api/v1/sources", "state=UP,,DOWN"))["error"];
  EXPECT_NE(err.find("unknown state ''"), std::string::npos) << err;
}

TEST_F(ApiTest, SourcesFilterByTextAndLabelMatchers) {
  ASSERT_EQ(Post(Frame(Beat("web-01", 1, {{"dc", "dc1"}, {"role", "web"}}))).status, 204);
  ASSERT_EQ(Post(Frame(Beat("WEB-02", 1, {{"dc", "dc2"}, {"role", "web"}}))).status, 204);
  ASSERT_EQ(Post(Frame(Beat("db-01", 1, {{"dc", "dc2"}, {"role", "db"}}))).status, 204);
  ASSERT_EQ(Post(Frame(Beat("lone", 1, {}))).status, 204);
  auto ids = [this](const std::string& q) {
    HttpResponse r = Get("/api/v1/sources", q);
    EXPECT_EQ(r.status, 200) << q << ": " << r.body;
    std::vector<std::string> out;
    const json j = Parse(r);
    for (const auto& s : j["sources"]) out.push_back(s["source_id"]);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids("q=web"), (V{"web-01", "WEB-02"}));  // case-insensitive substring of the id
  EXPECT_EQ(ids("q=-0"), (V{"web-01", "WEB-02", "db-01"}));
  EXPECT_EQ(ids("q=dc2"), V{});                       // the id only, not label values
  EXPECT_EQ(ids("match[]=dc%3D%22dc2%22"), (V{"WEB-02", "db-01"}));  // dc="dc2"
  EXPECT_EQ(ids("match=dc=dc2&match[]=role!=db"), (V{"WEB-02"}));
  EXPECT_EQ(ids("match={dc=\"dc2\",role=~\"d.*\"}"), (V{"db-01"}));
  EXPECT_EQ(ids("match[]=role=~%22web%7Cdb%22&q=01"), (V{"web-01", "db-01"}));
  EXPECT_EQ(ids("match[]=dc=%22%22"), (V{"lone"}));  // a missing label is ""
  EXPECT_EQ(ids("match[]=role!~%22.%2B%22&state=UP"), (V{"lone"}));
  json j = Parse(Get("/api/v1/sources", "match[]=dc=dc2&limit=1"));
  EXPECT_EQ(j["matched"], 2);
  EXPECT_EQ(j["total"], 4);
  EXPECT_TRUE(j["next"].is_string());
}

TEST_F(ApiTest, SourcesPagesListEverySourceOnceWhileSourcesArrive) {
  const int n = 103;
  uint64_t seq = 0;
  for (int i = 0; i < n; ++i) {
    ASSERT_FALSE(tracker_.Observe(Beat("h-" + std::to_string(i), ++seq), Transport::kUdp).rejected);
  }
  std::map<std::string, int> seen;
  std::string query = "limit=10";
  int pages = 0, added = 0;
  std::optional<json> first;
  while (true) {
    HttpResponse r = Get("/api/v1/sources", query);
    ASSERT_EQ(r.status, 200) << r.body;
    json j = Parse(r);
    if (!first) first = j;
    ASSERT_LE(j["sources"].size(), 10u);
    for (const auto& s : j["sources"]) ++seen[s["source_id"]];
    ++pages;
    if (j["next"].is_null()) break;
    if (pages > 1) {
      EXPECT_TRUE(j["matched"].is_null());  // counted on the first page only
    }
    ASSERT_LT(pages, 100);
    // Sources arrive between pages: listed once, at the end.
    ASSERT_FALSE(
        tracker_.Observe(Beat("new-" + std::to_string(++added), ++seq), Transport::kUdp).rejected);
    query = "limit=10&after=" + j["next"].get<std::string>();
  }
  EXPECT_EQ((*first)["matched"], n);
  EXPECT_EQ(seen.size(), static_cast<size_t>(n + added));
  for (const auto& [id, times] : seen) EXPECT_EQ(times, 1) << id;
}

TEST_F(ApiTest, SourcesRefuseBadParameters) {
  ASSERT_EQ(Post(Frame(Beat("web-01", 1))).status, 204);
  ASSERT_EQ(Post(Frame(Beat("web-02", 1))).status, 204);
  const std::string cursor = Parse(Get("/api/v1/sources", "limit=1"))["next"];
  EXPECT_EQ(Get("/api/v1/sources", "after=" + cursor).status, 200);
  std::string other_run = cursor;
  other_run[0] = other_run[0] == 'a' ? 'b' : 'a';
  const std::string long_q = "q=" + std::string(kMaxListingText + 1, 'x');
  std::string many = "match[]=a=b";
  for (size_t i = 0; i < kMaxListingMatchers; ++i) many += "&match=a=b";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"limit=0", "limit"},
      {"limit=5001", "5000"},
      {"limit=abc", "limit"},
      {"limit=", "limit"},
      {"limit=-1", "limit"},
      {"limit=99999999999999999999", "limit"},
      {"state=UP,BROKEN", "BROKEN"},
      {"state=UP,UP,UP,UP,UP", "too many"},
      {"state=UP&state=DOWN", "twice"},
      {"state=%zz", "%-encoding"},
      {long_q, "q:"},
      {"match[]=dc", "match[]"},
      {"match=dc=~%22(%22", "match"},
      {many, "more than 16"},
      {"after=12", "cursor"},
      {"after=" + cursor + "x", "cursor"},
      {"after=" + other_run, "restarted"},
  };
  for (const auto& [q, needle] : cases) {
    HttpResponse r = Get("/api/v1/sources", q);
    EXPECT_EQ(r.status, 400) << q;
    const std::string err = Parse(r)["error"];
    EXPECT_NE(err.find(needle), std::string::npos) << q << ": " << err;
    EXPECT_LT(err.size(), 600u) << q;  // the input is quoted cut short, never whole
  }
  // Unknown parameters are ignored, as everywhere in the API.
  EXPECT_EQ(Get("/api/v1/sources", "_=123&verbose").status, 200);
}

TEST_F(ApiTest, UnknownSourceIs404) {
  HttpResponse r = Get("/api/v1/sources/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(Parse(r)["error"].is_string());
}

TEST_F(ApiTest, DeleteSourceForgetsItForAnOperatorOnly) {
  const std::string token = "fwop_" + std::string(64, 'a');
  auto tokens = OperatorTokens::Make({{"tester", *ParseSha256Hex(TokenSha256Hex(token))}});
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  auto policy = std::make_shared<AccessPolicy>();
  policy->operators = std::make_shared<const OperatorTokens>(std::move(tokens).value());
  server_.SetAccessPolicy(policy);
  ASSERT_EQ(Post(Frame(Beat("web-01", 1))).status, 204);
  std::vector<std::string> asked;
  ctx_.forget = [&](const std::string& id, const std::string& who) {
    asked.push_back(id);
    EXPECT_EQ(who, "tester") << "the token's operator, for the log and the resolving page";
    return tracker_.Forget(id).has_value();
  };
  auto del = [&](const std::string& auth) {
    HttpRequest req;
    req.method = "DELETE";
    req.path = "/api/v1/sources/web-01";
    req.headers["host"] = "localhost";
    if (!auth.empty()) req.headers["authorization"] = auth;
    return server_.Dispatch(req);
  };
  EXPECT_EQ(del("").status, 401) << "no token";
  EXPECT_EQ(del("Bearer fwop_guess").status, 401);
  EXPECT_TRUE(asked.empty()) << "refused before the handler";
  ASSERT_TRUE(tracker_.Get("web-01"));
  HttpResponse r = del("Bearer " + token);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Parse(r)["forgotten"], "web-01");
  EXPECT_EQ(Get("/api/v1/sources/web-01").status, 404);
  r = del("Bearer " + token);
  EXPECT_EQ(r.status, 404) << "already forgotten";
  EXPECT_EQ(asked, (std::vector<std::string>{"web-01", "web-01"}));
  ctx_.forget = nullptr;
  EXPECT_EQ(del("Bearer " + token).status, 404) << "no forget function wired";
}

TEST_F(ApiTest, StatusShowsLimitsAndWarnsOnceTheCapIsReached) {
  tracker_.SetLimits({.max_sources = 2, .new_sources_per_key_per_minute = 0});
  ASSERT_EQ(Post(Frame(Beat("web-01", 1))).status, 204);
  json st = Parse(Get("/api/v1/status"));
  EXPECT_EQ(st["collector"], "collector-a");
  EXPECT_EQ(st["sources"]["tracked"], 1);
  EXPECT_EQ(st["sources"]["by_state"]["UP"], 1);
  EXPECT_EQ(st["limits"]["max_sources"], 2);
  EXPECT_EQ(st["limits"]["at_capacity"], false);
  EXPECT_TRUE(st["warnings"].empty());
  EXPECT_EQ(Get("/").body.find("class=\"banner warning\""), std::string::npos);

  ASSERT_EQ(Post(Frame(Beat("web-02", 1))).status, 204);
  HttpResponse refused = Post(Frame(Beat("web-03", 1)));
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(Parse(refused)["reason"], "source_limit");
  st = Parse(Get("/api/v1/status"));
  EXPECT_EQ(st["limits"]["at_capacity"], true);
  EXPECT_EQ(st["limits"]["refused_at_capacity"], 1);
  ASSERT_EQ(st["warnings"].size(), 1u);
  EXPECT_NE(st["warnings"][0].get<std::string>().find("source cap reached"), std::string::npos);
  const std::string page = Get("/").body;
  EXPECT_NE(page.find("class=\"banner warning\""), std::string::npos);
  EXPECT_NE(page.find("source cap reached"), std::string::npos);
  EXPECT_EQ(Sample("firewatch_source_limit_reached", {"limit=\"max_sources\""}), "1");
  EXPECT_EQ(Sample("firewatch_source_limit", {"limit=\"max_sources\""}), "2");
  EXPECT_EQ(Sample("firewatch_frames_rejected_total", {"reason=\"source_limit\"", "transport=\"http\""}), "1");
}

TEST_F(ApiTest, SourceDetailHasTransitionsNewestFirst) {
  ASSERT_EQ(Post(Frame(Beat("web-01", 1))).status, 204);
  clock_.Advance(std::chrono::seconds(120));
  auto t = tracker_.Evaluate();
  store_->Write({}, t);
  ASSERT_TRUE(store_->Sync().ok());

  HttpResponse r = Get("/api/v1/sources/web-01");
  ASSERT_EQ(r.status, 200);
  json j = Parse(r);
  EXPECT_EQ(j["source_id"], "web-01");
  EXPECT_EQ(j["state"], "DOWN");
  EXPECT_EQ(j["labels"]["dc"], "dc1");
  ASSERT_GE(j["transitions"].size(), 2u);
  const json& newest = j["transitions"][0];
  EXPECT_EQ(newest["to"], "DOWN");
  EXPECT_EQ(newest["new_source"], false);
  EXPECT_TRUE(newest["reason"].is_string());
  const json& first = j["transitions"].back();
  EXPECT_EQ(first["new_source"], true);
  EXPECT_EQ(first["at"], "2026-11-25T16:41:13.123Z");
  EXPECT_FALSE(j.contains("transitions_error"));
}

TEST_F(ApiTest, SourceDetailWithoutStoreHasEmptyTransitions) {
  ASSERT_EQ(Post(Frame(Beat("web 01/x", 1))).status, 204);
  ctx_.store = nullptr;
  HttpResponse r = Get("/api/v1/sources/web 01/x");  // Dispatch: path already decoded
  EXPECT_EQ(r.status, 404);  // '/' splits segments ...
  HttpServerOptions o;
  o.listen = {"127.0.0.1", 0};
  // ... while over HTTP the id is one %-encoded segment.
  HttpServer real(o);
  RegisterApi(real, ctx_);
  ASSERT_TRUE(real.Start().ok());
  CURL* c = curl_easy_init();
  std::string body;
  std::string url = "http://127.0.0.1:" + std::to_string(real.port()) + "/api/v1/sources/web%2001%2Fx";
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* out) {
    static_cast<std::string*>(out)->append(d, s * n);
    return s * n;
  });
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  ASSERT_EQ(curl_easy_perform(c), CURLE_OK);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  real.Stop();
  EXPECT_EQ(status, 200);
  json j = json::parse(body);
  EXPECT_EQ(j["source_id"], "web 01/x");
  EXPECT_EQ(j["transitions"], json::array());
}

TEST_F(ApiTest, InvalidUtf8FromAgentsStillGivesValidJson) {
  ASSERT_EQ(Post(Frame(Beat("bin-01", 1, {{"dc", std::string("d\xff\xfe", 3)}}))).status, 204);
  HttpResponse r = Get("/api/v1/sources");
  ASSERT_EQ(r.status, 200);
  json j = Parse(r);
  EXPECT_EQ(j["sources"][0]["labels"]["dc"], "d\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_F(ApiTest, Utf8SourceIdsAndLabelsRoundTrip) {
  const std::string text = "caf\xc3\xa9/\xe6\x9d\xb1\xe4\xba\xac";  // café/東京
  ASSERT_EQ(Post(Frame(Beat("web-" + text, 1, {{"city", text}}))).status, 204);
  json j = Parse(Get("/api/v1/sources"));
  ASSERT_EQ(j["sources"].size(), 1u);
  EXPECT_EQ(j["sources"][0]["source_id"], "web-" + text);
  EXPECT_EQ(j["sources"][0]["labels"]["city"], text);
  EXPECT_EQ(j["generated_at"], "2026-11-25T16:41:13.123Z");  // RFC 3339, UTC, milliseconds
  // An error naming a source (hand-escaped JSON, not nlohmann) keeps its text too.
  const std::string gone = "gone-caf\xc3\xa9-\xe6\x9d\xb1\xe4\xba\xac";  // one path segment
  HttpResponse r = Get("/api/v1/sources/" + gone);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Parse(r)["error"], "unknown source '" + gone + "'");
}

// ---- metrics, health, readiness ------------------------------------------------------

TEST_F(ApiTest, MetricsAreText) {
  ASSERT_EQ(Post(Frame(Beat("web-01", 1))).status, 204);
  HttpResponse r = Get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("firewatch_heartbeats_received_total"), std::string::npos);
  EXPECT_NE(r.body.find("firewatch_sources"), std::string::npos);
}

TEST_F(ApiTest, HealthAndReadiness) {
  HttpResponse h = Get("/healthz");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(Parse(h)["status"], "ok");

  HttpResponse starting = Get("/readyz");
  EXPECT_EQ(starting.status, 503);
  EXPECT_EQ(Parse(starting)["status"], "starting");
  ready_ = true;
  HttpResponse ready = Get("/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(Parse(ready)["status"], "ready");
  ready_ = false;
  EXPECT_EQ(Get("/readyz").status, 503);
}

TEST_F(ApiTest, WrongMethodsAndUnknownPaths) {
  HttpRequest req;
  req.method = "GET";
  req.path = "/api/v1/heartbeat";
  HttpResponse r = server_.Dispatch(req);
  EXPECT_EQ(r.status, 405);
  ASSERT_NE(r.Header("Allow"), nullptr);
  EXPECT_EQ(*r.Header("Allow"), "POST");
  EXPECT_EQ(Get("/metricsXYZ").status, 404);
  EXPECT_EQ(Get("/api/v1/sources/a/b").status, 404);
}

// ---- status page ---------------------------------------------------------------------

TEST_F(ApiTest, StatusPageEscapesHostileAgentStrings) {
  protocol::Heartbeat hb = Beat(kHostileId, 1, {{"dc", "dc1"}, {"evil", kHostileLabel}});
  hb.checks = {{"<b>chk</b>", protocol::CheckState::kCritical, "\"><svg onload=alert(3)>"}};
  hb.agent_version = "'\"&";
  ASSERT_EQ(Post(Frame(hb)).status, 204);
  ASSERT_EQ(Post(Frame(Beat("web-01", 1))).status, 204);

  HttpResponse page = Get("/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  const std::string& html = page.body;
  EXPECT_EQ(html.find(kHostileLabel), std::string::npos);
  EXPECT_EQ(html.find(kHostileId), std::string::npos);
  EXPECT_EQ(html.find("<b>chk</b>"), std::string::npos);
  EXPECT_EQ(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("evil=&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(2)&gt;"), std::string::npos);
  EXPECT_NE(html.find("&quot;&gt;&lt;svg onload=alert(3)&gt;"), std::string::npos);

  // Self-contained: no external assets of any kind.
  for (const char* ext : {"src=\"http", "href=\"http", "src=\"//", "url(", "@import"}) {
    EXPECT_EQ(html.find(ext), std::string::npos) << ext;
  }
  // The script only ever uses textContent for data; never innerHTML and friends.
  EXPECT_NE(html.find("textContent"), std::string::npos);
  for (const char* sink : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("}) {
    EXPECT_EQ(html.find(sink), std::string::npos) << sink;
  }
  // Counts and collector id rendered server side.
  EXPECT_NE(html.find("<span id=\"collector\">collector-a</span>"), std::string::npos);
  EXPECT_NE(html.find("<b id=\"count-UP\">2</b>"), std::string::npos);
  EXPECT_NE(html.find("<b id=\"count-DOWN\">0</b>"), std::string::npos);

  // CSP with a nonce matching the style and script tags.
  const std::string* csp = page.Header("Content-Security-Policy");
  ASSERT_NE(csp, nullptr);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(*csp, m, std::regex("script-src 'nonce-([0-9a-f]{32})'")));
  EXPECT_NE(html.find("<script nonce=\"" + m[1].str() + "\">"), std::string::npos);
  EXPECT_NE(html.find("<style nonce=\"" + m[1].str() + "\">"), std::string::npos);
  EXPECT_NE(csp->find("default-src 'none'"), std::string::npos);
}

// A source whose last heartbeat named a full check state this collector did not get
// shows its last checks marked "checks stale" (server side; the script's row() is run
// by StatusPageScriptRendersSafelyInChromium); the others carry no mark.
TEST_F(ApiTest, StatusPageMarksStaleChecks) {
  ASSERT_EQ(Post(Frame(Beat("web-01", 1))).status, 204);
  protocol::Heartbeat marker = Beat("db-01", 1);
  marker.checks_mode = protocol::ChecksMode::kUnchanged;
  marker.checks_digest = 42;  // a full state this collector never got
  marker.checks.clear();
  ASSERT_EQ(Post(Frame(marker)).status, 204);

  const std::string html = Get("/").body;
  const size_t db = html.find(">db-01<");
  const size_t web = html.find(">web-01<");
  const size_t mark = html.find("<span class=\"reason checks-stale\"");
  ASSERT_NE(db, std::string::npos);
  ASSERT_NE(web, std::string::npos);
  ASSERT_NE(mark, std::string::npos) << "no stale mark";
  EXPECT_EQ(html.rfind("<tr", mark), html.rfind("<tr", db)) << "the mark is in db-01's row";
  EXPECT_NE(html.rfind("<tr", mark), html.rfind("<tr", web));
  EXPECT_EQ(html.find("<span class=\"reason checks-stale\"", mark + 1), std::string::npos);
  EXPECT_EQ(Parse(Get("/api/v1/sources", "q=db-01"))["sources"][0]["checks_stale"], true);

  // The next full state clears it.
  protocol::Heartbeat full = Beat("db-01", 2);
  full.checks_digest = protocol::ChecksDigest(full.checks);
  ASSERT_EQ(Post(Frame(full)).status, 204);
  EXPECT_EQ(Get("/").body.find("<span class=\"reason checks-stale\""), std::string::npos);
}

TEST_F(ApiTest, StatusPageListsDownFirst) {
  ASSERT_EQ(Post(Frame(Beat("aaa-down", 1))).status, 204);
  clock_.Advance(std::chrono::seconds(120));
  (void)tracker_.Evaluate();
  ASSERT_EQ(Post(Frame(Beat("zzz-up", 1))).status, 204);
  ASSERT_EQ(Post(Frame(Beat("bbb-up", 1))).status, 204);
  const std::string html = Get("/").body;
  size_t down = html.find(">aaa-down<");
  size_t up_b = html.find(">bbb-up<");
  size_t up_z = html.find(">zzz-up<");
  ASSERT_NE(down, std::string::npos);
  ASSERT_NE(up_b, std::string::npos);
  EXPECT_LT(down, up_b);
  EXPECT_LT(up_b, up_z);
  EXPECT_NE(html.find("<b id=\"count-DOWN\">1</b>"), std::string::npos);
  EXPECT_NE(html.find("2m 0s ago"), std::string::npos);
}

// At scale the page lists what is not UP first (all of it up to its cap) and pages the
// UP sources; the counts still cover every source.
TEST_F(ApiTest, StatusPageShowsWhatIsNotUpFirstAndPagesTheRest) {
  uint64_t seq = 0;
  const size_t up = kStatusPageUpLimit + 100;
  const size_t stopped = kStatusPageNotUpLimit + 5;
  auto observe = [&](const std::string& id, bool bye) {
    protocol::Heartbeat hb = Beat(id, ++seq);
    hb.checks.clear();  // healthy: an UP source with a failing check ranks before STOPPED
    if (bye) hb.type = protocol::FrameType::kGoodbye;
    ASSERT_FALSE(tracker_.Observe(hb, Transport::kUdp).rejected);
  };
  for (size_t i = 0; i < up; ++i) observe("up-" + std::to_string(i), false);
  for (size_t i = 0; i < stopped; ++i) observe("bye-" + std::to_string(i), true);

  const std::string html = Get("/").body;
  auto rows = [](const std::string& h, const std::string& prefix) {
    size_t n = 0;
    for (size_t p = h.find(">" + prefix); p != std::string::npos; p = h.find(">" + prefix, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(rows(html, "bye-"), kStatusPageNotUpLimit);  // not UP: up to the cap ...
  EXPECT_EQ(rows(html, "up-"), kStatusPageUpLimit);      // ... then one page of UP
  EXPECT_LT(html.find(">bye-0<"), html.find(">up-0<"));
  EXPECT_NE(html.find("showing the first " + std::to_string(kStatusPageNotUpLimit) + " of " +
                      std::to_string(stopped) + " sources that are not UP"),
            std::string::npos);
  EXPECT_NE(html.find("<b id=\"count-UP\">" + std::to_string(up) + "</b>"), std::string::npos);
  EXPECT_NE(html.find("<b id=\"count-total\">" + std::to_string(up + stopped) + "</b>"),
            std::string::npos);
  EXPECT_EQ(html.find("id=\"up-first\""), std::string::npos);

  // The next page of UP sources: the rest of them, the not-UP ones again first.
  const std::string marker = "id=\"up-next\" href=\"?after=";
  const size_t link = html.find(marker);
  ASSERT_NE(link, std::string::npos);
  const size_t start = link + marker.size();
  const std::string after = html.substr(start, html.find('"', start) - start);
  const std::string next = Get("/", "after=" + after).body;
  EXPECT_EQ(rows(next, "up-"), up - kStatusPageUpLimit);
  EXPECT_NE(next.find(">up-" + std::to_string(up - 1) + "<"), std::string::npos);
  EXPECT_EQ(next.find(">up-0<"), std::string::npos);
  EXPECT_EQ(rows(next, "bye-"), kStatusPageNotUpLimit);
  EXPECT_NE(next.find("id=\"up-first\""), std::string::npos);
  EXPECT_EQ(next.find("id=\"up-next\""), std::string::npos);
  // A cursor from before a restart (a bookmark): the first page, and why.
  const HttpResponse stale = Get("/", "after=nonsense");
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(rows(stale.body, "up-"), kStatusPageUpLimit);
  EXPECT_NE(stale.body.find("WARNING: ignored the page&#39;s query (after: not a cursor"),
            std::string::npos);
}

TEST(StatusPage, Helpers) {
  EXPECT_EQ(HtmlEscape("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
  EXPECT_EQ(FormatAgo(-5), "0s");
  EXPECT_EQ(FormatAgo(59'999), "59s");
  EXPECT_EQ(FormatAgo(192'000), "3m 12s");
  EXPECT_EQ(FormatAgo(5 * 3'600'000 + 120'000), "5h 2m");
  EXPECT_EQ(FormatAgo(2 * 86'400'000LL + 7 * 3'600'000LL), "2d 7h");
  EXPECT_NE(NewNonce(), NewNonce());
  EXPECT_EQ(NewNonce().size(), 32u);
}

// ---- over real sockets ---------------------------------------------------------------

size_t AppendTo(char* d, size_t s, size_t n, void* out) {
  static_cast<std::string*>(out)->append(d, s * n);
  return s * n;
}

struct CurlReply {
  long status = 0;
  std::string body;
  std::string content_type;
};

CurlReply CurlDo(const std::string& url, const std::string* post_body) {
  CurlReply r;
  CURL* c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, AppendTo);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/octet-stream");
  if (post_body != nullptr) {
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, post_body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post_body->size()));
  }
  curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  char* ct = nullptr;
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
  if (ct) r.content_type = ct;
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return r;
}

TEST_F(ApiTest, HeartbeatOverHttpSocket) {
  HttpServerOptions o;
  o.listen = {"127.0.0.1", 0};
  HttpServer real(o);
  RegisterApi(real, ctx_);
  std::mutex mu;
  std::vector<std::pair<std::string, int>> seen;
  real.SetObserver([&](const std::string& route, int status) {
    std::lock_guard lock(mu);
    seen.emplace_back(route, status);
  });
  ASSERT_TRUE(real.Start().ok());
  const std::string base = "http://127.0.0.1:" + std::to_string(real.port());

  std::string frame = Frame(Beat("web-01", 1));
  EXPECT_EQ(CurlDo(base + "/api/v1/heartbeat", &frame).status, 204);
  EXPECT_EQ(CurlDo(base + "/api/v1/heartbeat", &frame).status, 400);  // replay
  std::string huge(100'000, 'x');
  EXPECT_EQ(CurlDo(base + "/api/v1/heartbeat", &huge).status, 413);
  CurlReply metrics = CurlDo(base + "/metrics", nullptr);
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
  CurlReply list = CurlDo(base + "/api/v1/sources?state=UP", nullptr);
  EXPECT_EQ(json::parse(list.body)["sources"][0]["last_transport"], "http");
  real.Stop();

  EXPECT_EQ(Sample("firewatch_frames_rejected_total", {"oversize", "http"}), "1");
  EXPECT_EQ(Sample("firewatch_heartbeats_received_total", {"http"}), "1");
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0], (std::pair<std::string, int>{"/api/v1/heartbeat", 204}));
  EXPECT_EQ(seen[2], (std::pair<std::string, int>{"/api/v1/heartbeat", 413}));
  EXPECT_EQ(seen[3], (std::pair<std::string, int>{"/metrics", 200}));
}

// Runs the page's script for real in headless Chromium (Debian `chromium`): the table
// must be rebuilt from the API by the script (body data-rendered="js") with the hostile
// strings as text, and no element injected. Skipped when Chromium is not installed.
TEST_F(ApiTest, StatusPageScriptRendersSafelyInChromium) {
  const char* candidates[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser"};
  std::string browser;
  for (const char* c : candidates) {
    if (access(c, X_OK) == 0) browser = c;
  }
  if (browser.empty()) GTEST_SKIP() << "chromium not installed";

  protocol::Heartbeat hb = Beat(kHostileId, 1, {{"evil", kHostileLabel}});
  hb.checks = {{"chk", protocol::CheckState::kCritical, "<img src=y onerror=alert(4)>"}};
  ASSERT_EQ(Post(Frame(hb)).status, 204);
  ASSERT_EQ(Post(Frame(Beat("web-01", 1))).status, 204);
  protocol::Heartbeat marker = Beat("db-01", 1);  // names a full state never got: stale
  marker.checks_mode = protocol::ChecksMode::kUnchanged;
  marker.checks_digest = 42;
  marker.checks.clear();
  ASSERT_EQ(Post(Frame(marker)).status, 204);

  HttpServerOptions o;
  o.listen = {"127.0.0.1", 0};
  HttpServer real(o);
  RegisterApi(real, ctx_);
  ASSERT_TRUE(real.Start().ok());
  std::string profile = dir_ + "/chromium-profile";
  std::string cmd = browser +
                    " --headless=new --no-sandbox --disable-gpu --no-first-run"
                    " --disable-dev-shm-usage --user-data-dir=" + profile +
                    " --virtual-time-budget=12000 --dump-dom http://127.0.0.1:" +
                    std::to_string(real.port()) + "/ 2>/dev/null";
  std::string dom;
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) dom.append(buf.data(), n);
  int rc = pclose(p);
  real.Stop();
  ASSERT_EQ(WEXITSTATUS(rc), 0) << dom.substr(0, 500);

  EXPECT_NE(dom.find("data-rendered=\"js\""), std::string::npos) << "script did not render";
  EXPECT_NE(dom.find("updated 2026-11-25T16:41:13.123Z"), std::string::npos);
  EXPECT_NE(dom.find("evil=&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(dom.find("&lt;img src=x onerror=alert(2)&gt;"), std::string::npos);
  EXPECT_NE(dom.find("&lt;img src=y onerror=alert(4)&gt;"), std::string::npos);
  EXPECT_EQ(dom.find("<img"), std::string::npos);
  EXPECT_EQ(dom.find("<script>alert"), std::string::npos);
  EXPECT_NE(dom.find("<b id=\"count-UP\">3</b>"), std::string::npos);
  // The script marks the stale source's checks as the server does.
  const size_t mark = dom.find("class=\"reason checks-stale\"");
  ASSERT_NE(mark, std::string::npos) << "the script drew no stale mark";
  const size_t row = dom.rfind(">db-01<", mark);
  ASSERT_NE(row, std::string::npos);
  EXPECT_EQ(dom.find("<tr", row), dom.find("<tr", mark)) << "the mark is in db-01's row";
  EXPECT_EQ(dom.find("class=\"reason checks-stale\"", mark + 1), std::string::npos);
}

}  // namespace
}  // namespace firewatch::collector
