#include "agent_metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "local_routes.h"

namespace firewatch::agent {
namespace {

using namespace std::chrono_literals;

AgentMetrics Sample() {
  AgentMetrics m("0.1.0", 5s);
  m.AddCollector("a", true, true);
  m.AddCollector("b", false, true);
  m.CountSent("a", Transport::kUdp);
  m.CountSent("a", Transport::kUdp);
  m.CountSendError("a", Transport::kHttp);
  m.CountResolveFailure("b");
  m.SetLastHeartbeat(FromUnixMillis(1'700'000'000'250));
  return m;
}

// Basic checks of the text format 0.0.4: every family has HELP and TYPE before its
// samples, sample lines parse, counters end in _total, no family appears twice.
void CheckExposition(const std::string& text) {
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$)");
  static const std::regex kHelp(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$)");
  static const std::regex kType(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n') << "the exposition must end with a newline";
  std::map<std::string, std::string> types;
  std::set<std::string> helped;
  std::string current;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, kHelp)) {
      EXPECT_TRUE(helped.insert(m[1]).second) << "HELP twice: " << line;
      current = m[1];
    } else if (std::regex_match(line, m, kType)) {
      EXPECT_EQ(m[1], current) << "TYPE without HELP first: " << line;
      EXPECT_TRUE(types.emplace(m[1], m[2]).second) << "TYPE twice: " << line;
      if (m[2] == "counter") {
        EXPECT_TRUE(std::string(m[1]).ends_with("_total")) << line;
      }
    } else if (std::regex_match(line, m, kSample)) {
      EXPECT_EQ(m[1], current) << "sample outside its family: " << line;
      EXPECT_TRUE(types.count(m[1])) << line;
    } else {
      ADD_FAILURE() << "unparseable line: '" << line << "'";
    }
  }
}

TEST(AgentMetricsTest, ExpositionIsWellFormed) {
  CheckExposition(Sample().RenderText());
  CheckExposition(AgentMetrics("x", 1s).RenderText());  // no collectors at all
}

TEST(AgentMetricsTest, SeriesExistFromTheStartAndCount) {
  std::string t = Sample().RenderText();
  EXPECT_NE(t.find("firewatch_agent_heartbeats_sent_total{collector=\"a\",transport=\"udp\"} 2\n"),
            std::string::npos) << t;
  EXPECT_NE(t.find("firewatch_agent_heartbeats_sent_total{collector=\"a\",transport=\"http\"} 0\n"),
            std::string::npos) << t;
  EXPECT_NE(t.find("firewatch_agent_send_errors_total{collector=\"a\",transport=\"http\"} 1\n"),
            std::string::npos) << t;
  EXPECT_NE(t.find("firewatch_agent_heartbeats_sent_total{collector=\"b\",transport=\"http\"} 0\n"),
            std::string::npos) << t;
  EXPECT_EQ(t.find("collector=\"b\",transport=\"udp\""), std::string::npos) << t;
  EXPECT_NE(t.find("firewatch_agent_resolve_failures_total{collector=\"b\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("firewatch_agent_resolve_failures_total{collector=\"a\"} 0\n"), std::string::npos);
  EXPECT_NE(t.find("firewatch_agent_last_heartbeat_timestamp_seconds 1700000000.250\n"),
            std::string::npos) << t;
  EXPECT_NE(t.find("firewatch_agent_build_info{version=\"0.1.0\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("firewatch_agent_interval_seconds 5\n"), std::string::npos) << t;
  EXPECT_NE(t.find("# TYPE firewatch_agent_last_heartbeat_timestamp_seconds gauge\n"),
            std::string::npos);
  AgentMetrics m = Sample();
  EXPECT_EQ(m.sent("a", Transport::kUdp), 2u);
  EXPECT_EQ(m.send_errors("a", Transport::kHttp), 1u);
  EXPECT_EQ(m.resolve_failures("b"), 1u);
}

TEST(AgentMetricsTest, LabelValuesAreEscaped) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  AgentMetrics m("1.0\"", 1500ms);
  std::string t = m.RenderText();
  EXPECT_NE(t.find("version=\"1.0\\\"\""), std::string::npos) << t;
  EXPECT_NE(t.find("firewatch_agent_interval_seconds 1.5\n"), std::string::npos) << t;
  CheckExposition(t);
}

TEST(AgentMetricsTest, PassesPromtoolWhenInstalled) {
  const char* promtool = "/usr/bin/promtool";
  if (access(promtool, X_OK) != 0) GTEST_SKIP() << "promtool not installed";
  auto path = std::filesystem::temp_directory_path() /
              ("fw-agent-metrics-" + std::to_string(getpid()) + ".txt");
  {
    std::ofstream out(path);
    out << Sample().RenderText();
  }
  std::string cmd = std::string(promtool) + " check metrics < " + path.string() + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buf[512];
  while (fgets(buf, sizeof buf, p) != nullptr) output += buf;
  int rc = pclose(p);
  std::filesystem::remove(path);
  EXPECT_EQ(rc, 0) << output;
  EXPECT_EQ(output, "") << "promtool complained (lint warnings count)";
}

TEST(LocalRoutesTest, HealthzIsJsonWithTheFacts) {
  HealthSnapshot h{"web-\"01\"", 1'700'000'000'123, 7, "0.1.0", {"disk", "ntp\"x"}};
  EXPECT_EQ(HealthJson(h),
            "{\"status\":\"ok\",\"source_id\":\"web-\\\"01\\\"\",\"last_heartbeat_unix_ms\":"
            "1700000000123,\"sequence\":7,\"version\":\"0.1.0\","
            "\"stale_checks\":[\"disk\",\"ntp\\\"x\"]}\n");
  h.last_heartbeat_unix_ms.reset();
  EXPECT_NE(HealthJson(h).find("\"last_heartbeat_unix_ms\":null"), std::string::npos);
  // A UTF-8 source id stays as it is (escaping is firewatch/text/json_escape.h's).
  h.source_id = "caf\xc3\xa9-01";
  EXPECT_NE(HealthJson(h).find("\"source_id\":\"caf\xc3\xa9-01\""), std::string::npos);
}

TEST(LocalRoutesTest, RoutesByPath) {
  AgentMetrics m("0.1.0", 5s);
  HealthSnapshot h{"s", std::nullopt, 0, "0.1.0", {}};
  HttpRequest req{"GET", "/healthz", "/healthz", "HTTP/1.1"};
  HttpResponse r = RouteLocalRequest(req, h, m);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  req.path = "/metrics";
  r = RouteLocalRequest(req, h, m);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type.rfind("text/plain; version=0.0.4", 0), 0u);
  req.path = "/metrics/";
  EXPECT_EQ(RouteLocalRequest(req, h, m).status, 404);
  req.path = "/";
  EXPECT_EQ(RouteLocalRequest(req, h, m).status, 404);
}

}  // namespace
}  // namespace firewatch::agent
