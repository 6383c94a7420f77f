// LocalPager (app/local_pager.h): which transitions page, and the pages.log line, byte
// for byte the one nlohmann::json wrote before the line was built by hand (key order,
// escaping, invalid UTF-8, labels out of order or repeated).
#include "app/local_pager.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "firewatch/text/rfc3339.h"
#include "watch/own_sources.h"

namespace firewatch::collector {
namespace {

class LocalPagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/firewatch_pager_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<std::string> Lines() const {
    std::ifstream in(dir_ + "/pages.log");
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  // What the pager wrote with nlohmann::json (the reference for the hand-built line).
  static std::string Reference(const Transition& t, const std::string& collector) {
    nlohmann::json labels = nlohmann::json::object();
    for (const auto& [k, v] : t.labels) labels[k] = v;
    const bool firing = t.to == SourceState::kDown;
    nlohmann::json page = {{"status", firing ? "firing" : "resolved"},
                           {"source", t.source_id},
                           {"state", SourceStateName(t.to)},
                           {"at", text::FormatRfc3339(t.at_ms)},
                           {"reason", t.reason},
                           {"labels", labels},
                           {"collector", collector}};
    const std::string summary = OwnSourceSummary(t.source_id);
    if (!summary.empty()) page["summary"] = summary;
    return page.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  std::string dir_;
};

Transition Make(std::string id, SourceState from, SourceState to, protocol::Labels labels) {
  Transition t;
  t.source_id = std::move(id);
  t.from = from;
  t.to = to;
  t.at_ms = 1'764'000'000'123;
  t.reason = "silent for 17.2s (phi 9.1) \"quoted\"\tand\x01 a control";
  t.labels = std::move(labels);
  return t;
}

TEST_F(LocalPagerTest, EachPageIsTheLineNlohmannWrote) {
  auto pager = LocalPager::Open(dir_ + "/pages.log", "collector-a", /*echo=*/false);
  ASSERT_TRUE(pager.ok());
  const std::vector<Transition> ts = {
      Make("web-1", SourceState::kUp, SourceState::kDown, {{"dc", "pangyo"}, {"role", "web"}}),
      Make("db-1", SourceState::kDown, SourceState::kUp, {}),
      // Not from the wire: out of order, a key repeated (the last value wins), bad UTF-8.
      Make("probe/prometheus", SourceState::kUp, SourceState::kDown,
           {{"z", "1"}, {"a", "caf\xc3\xa9 \xff\xfe"}, {"z", "2"}}),
      Make("late-1", SourceState::kUp, SourceState::kLate, {{"dc", "x"}}),   // not a page
      Make("gone-1", SourceState::kUp, SourceState::kStopped, {}),           // not a page
  };
  EXPECT_EQ((*pager)->Notify(ts, nullptr), 3u);
  const auto lines = Lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], Reference(ts[0], "collector-a"));
  EXPECT_EQ(lines[1], Reference(ts[1], "collector-a"));
  EXPECT_EQ(lines[2], Reference(ts[2], "collector-a"));
  EXPECT_NE(lines[2].find("\"labels\":{\"a\":\"caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd\",\"z\":\"2\"}"),
            std::string::npos)
      << lines[2];
  EXPECT_NE(lines[0].find("\"status\":\"firing\""), std::string::npos);
  EXPECT_NE(lines[1].find("\"status\":\"resolved\""), std::string::npos);
}

TEST_F(LocalPagerTest, ABatchIsAppendedAfterWhatIsThere) {
  {
    auto pager = LocalPager::Open(dir_ + "/pages.log", "c", false);
    ASSERT_TRUE(pager.ok());
    (*pager)->Notify({Make("a", SourceState::kUp, SourceState::kDown, {})}, nullptr);
  }
  auto pager = LocalPager::Open(dir_ + "/pages.log", "c", false);
  ASSERT_TRUE(pager.ok());
  std::vector<Transition> storm;
  for (int i = 0; i < 1000; ++i) {
    storm.push_back(Make("h" + std::to_string(i), SourceState::kUp, SourceState::kDown, {}));
  }
  EXPECT_EQ((*pager)->Notify(storm, nullptr), 1000u);
  const auto lines = Lines();
  ASSERT_EQ(lines.size(), 1001u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["source"], "a");
  EXPECT_EQ(nlohmann::json::parse(lines[1000])["source"], "h999");
}

}  // namespace
}  // namespace firewatch::collector
