// One line per event, text or JSON (firewatch/log_line.h), and the collector's spdlog
// setup (InitLogging) writing exactly those lines to stderr.
#include "firewatch/log_line.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>

#include "firewatch/log.h"

namespace firewatch {
namespace {

const auto kTime = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764650000123));

TEST(LogLineTest, ParsesTheFormatNames) {
  LogFormat f = LogFormat::kJson;
  EXPECT_TRUE(ParseLogFormat("text", f));
  EXPECT_EQ(f, LogFormat::kText);
  EXPECT_TRUE(ParseLogFormat("json", f));
  EXPECT_EQ(f, LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("JSON", f));
  EXPECT_FALSE(ParseLogFormat("", f));
  EXPECT_EQ(f, LogFormat::kJson);
}

TEST(LogLineTest, TextLineHasTimeLevelProcessMessage) {
  size_t begin = 0, end = 0;
  const std::string line = FormatLogLine(
      LogFormat::kText, {kTime, "warning", "firewatch-collector", "source web-1 is DOWN"}, &begin,
      &end);
  EXPECT_TRUE(std::regex_match(
      line, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.123[+-]\d\d:\d\d warning )"
                       R"(firewatch-collector: source web-1 is DOWN\n)")))
      << line;
  EXPECT_EQ(line.substr(begin, end - begin), "warning");
}

TEST(LogLineTest, TextLineIsOneLineWhateverTheMessage) {
  const std::string line = FormatLogLine(
      LogFormat::kText, {kTime, "error", "p", "bad config:\nfile:3: x\r\t\\ \x1b[31m"});
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_NE(line.find(R"(p: bad config:\nfile:3: x\r\t\\ \x1b[31m)"), std::string::npos) << line;
}

TEST(LogLineTest, JsonLineParsesAndKeepsEveryField) {
  const std::string message = "quote \" backslash \\ newline \n tab \t bell \a caf\xc3\xa9";
  const std::string line =
      FormatLogLine(LogFormat::kJson, {kTime, "info", "firewatch-agent", message});
  ASSERT_EQ(line.find('\n'), line.size() - 1) << line;
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j.size(), 4u);
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["process"], "firewatch-agent");
  EXPECT_EQ(j["message"], message);
  EXPECT_TRUE(std::regex_match(j["time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.123[+-]\d\d:\d\d)")));
  EXPECT_NE(line.find(R"(\u0007)"), std::string::npos) << line;
  EXPECT_EQ(line.rfind("{\"time\":", 0), 0u) << line;  // time first, for people reading too
}

TEST(LogLineTest, JsonLineReplacesIllFormedUtf8) {
  const std::string line =
      FormatLogLine(LogFormat::kJson, {kTime, "warning", "p", "source \xff\xfe id \xc3"});
  const auto j = nlohmann::json::parse(line);  // valid JSON, valid UTF-8
  EXPECT_EQ(j["message"], "source \xef\xbf\xbd\xef\xbf\xbd id \xef\xbf\xbd");
}

// Runs `log` with stderr sent to a temporary file; returns what was written.
template <typename F>
std::string CaptureStderr(F log) {
  std::fflush(stderr);
  std::FILE* tmp = std::tmpfile();
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(::fileno(tmp), STDERR_FILENO);
  log();
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::string out;
  std::rewind(tmp);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, tmp)) > 0) out.append(buf, n);
  std::fclose(tmp);
  return out;
}

TEST(LogLineTest, SpdlogWritesJsonLines) {
  const std::string out = CaptureStderr([] {
    ASSERT_TRUE(InitLogging("info", "fw-json-test", LogFormat::kJson).ok());
    spdlog::info("hello \"{}\"\nsecond", "world");
    spdlog::debug("not at info");
    spdlog::warn("careful");
  });
  spdlog::drop("fw-json-test");
  std::vector<nlohmann::json> lines;
  size_t start = 0;
  for (size_t nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(nlohmann::json::parse(out.substr(start, nl - start)));
  }
  ASSERT_EQ(lines.size(), 2u) << out;
  EXPECT_EQ(lines[0]["message"], "hello \"world\"\nsecond");
  EXPECT_EQ(lines[0]["process"], "fw-json-test");
  EXPECT_EQ(lines[1]["level"], "warning");
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << "no colour codes in JSON";
}

TEST(LogLineTest, SpdlogWritesTextLines) {
  const std::string out = CaptureStderr([] {
    ASSERT_TRUE(InitLogging("info", "fw-text-test").ok());
    spdlog::error("two\nlines");
  });
  spdlog::drop("fw-text-test");
  EXPECT_TRUE(std::regex_match(out, std::regex(R"(\S+ error fw-text-test: two\\nlines\n)"))) << out;
}

}  // namespace
}  // namespace firewatch
