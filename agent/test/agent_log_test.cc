// The agent's logger writes the same line format as the collector's spdlog setup
// (common/src/log.cc): "%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ <process>: %v".
#include "agent_log.h"

#include <gtest/gtest.h>

#include <regex>

namespace firewatch::agent {
namespace {

class AgentLogTest : public ::testing::Test {
 protected:
  void TearDown() override { InitAgentLogging("info", "firewatch-agent", LogFormat::kText); }
};

TEST_F(AgentLogTest, ParsesTheConfigLevelsLikeSpdlog) {
  LogLevel l;
  const std::pair<const char*, LogLevel> cases[] = {
      {"trace", LogLevel::kTrace}, {"debug", LogLevel::kDebug},       {"info", LogLevel::kInfo},
      {"warn", LogLevel::kWarn},   {"warning", LogLevel::kWarn},      {"error", LogLevel::kError},
      {"err", LogLevel::kError},   {"critical", LogLevel::kCritical}, {"off", LogLevel::kOff}};
  for (const auto& [name, want] : cases) {
    ASSERT_TRUE(ParseLogLevel(name, l)) << name;
    EXPECT_EQ(l, want) << name;
  }
  EXPECT_FALSE(ParseLogLevel("loud", l));
  EXPECT_FALSE(ParseLogLevel("", l));
  EXPECT_FALSE(InitAgentLogging("loud", "x"));
  EXPECT_EQ(CurrentLogLevel(), LogLevel::kInfo);
}

TEST_F(AgentLogTest, LineHasTimeLevelProcessAndMessage) {
  ASSERT_TRUE(InitAgentLogging("info", "firewatch-agent"));
  const std::string line = FormatLogLine(LogLevel::kWarn, "collector c1: udp no route", false);
  EXPECT_TRUE(std::regex_match(
      line, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d warning )"
                       R"(firewatch-agent: collector c1: udp no route\n)")))
      << line;
  EXPECT_NE(FormatLogLine(LogLevel::kInfo, "m", false).find(" info firewatch-agent: m\n"),
            std::string::npos);
  EXPECT_NE(FormatLogLine(LogLevel::kError, "m", false).find(" error firewatch-agent: m\n"),
            std::string::npos);
}

TEST_F(AgentLogTest, ColourWrapsOnlyTheLevelName) {
  const std::string line = FormatLogLine(LogLevel::kInfo, "hello", true);
  EXPECT_NE(line.find(" \033[32minfo\033[m firewatch-agent: hello\n"), std::string::npos) << line;
  EXPECT_NE(FormatLogLine(LogLevel::kError, "x", true).find("\033[31m\033[1merror\033[m"),
            std::string::npos);
}

TEST_F(AgentLogTest, JsonLinesHaveNoColourAndEscape) {
  ASSERT_TRUE(InitAgentLogging("info", "firewatch-agent", LogFormat::kJson));
  const std::string line = FormatLogLine(LogLevel::kWarn, "collector \"c1\":\nudp", true);
  EXPECT_TRUE(std::regex_match(
      line, std::regex(R"(\{"time":"[^"]+","level":"warning","process":"firewatch-agent",)"
                       R"("message":"collector \\"c1\\":\\nudp"\}\n)")))
      << line;
}

TEST_F(AgentLogTest, TextLinesAreOneLinePerMessage) {
  const std::string line = FormatLogLine(LogLevel::kError, "a\nb", false);
  EXPECT_NE(line.find(" error firewatch-agent: a\\nb\n"), std::string::npos) << line;
}

TEST_F(AgentLogTest, LevelFiltersMessages) {
  ASSERT_TRUE(InitAgentLogging("warn", "firewatch-agent"));
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kWarn));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  ASSERT_TRUE(InitAgentLogging("off", "firewatch-agent"));
  EXPECT_FALSE(LogEnabled(LogLevel::kCritical));
  ASSERT_TRUE(InitAgentLogging("debug", "firewatch-agent"));
  EXPECT_TRUE(LogEnabled(LogLevel::kDebug));
  EXPECT_FALSE(LogEnabled(LogLevel::kTrace));
}

}  // namespace
}  // namespace firewatch::agent
