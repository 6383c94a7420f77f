#include "ingest/key_bindings.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace firewatch::collector {
namespace {

TEST(GlobMatchTest, StarMatchesAnyRunAndEverythingElseIsLiteral) {
  EXPECT_TRUE(GlobMatch("web-*", "web-01"));
  EXPECT_TRUE(GlobMatch("web-*", "web-"));
  EXPECT_FALSE(GlobMatch("web-*", "web"));
  EXPECT_FALSE(GlobMatch("web-*", "xweb-01"));
  EXPECT_TRUE(GlobMatch("*.dc1", "db-7.dc1"));
  EXPECT_FALSE(GlobMatch("*.dc1", "db-7.dc12"));
  EXPECT_TRUE(GlobMatch("db-*-replica", "db-7-replica"));
  EXPECT_TRUE(GlobMatch("db-*-replica", "db--replica"));
  EXPECT_TRUE(GlobMatch("db-*-replica", "db-a-replica-b-replica"));
  EXPECT_FALSE(GlobMatch("db-*-replica", "db-7-replicas"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("**", "x"));
  EXPECT_TRUE(GlobMatch("exact", "exact"));
  EXPECT_FALSE(GlobMatch("exact", "exac"));
  EXPECT_FALSE(GlobMatch("", "x"));
  // Regex and shell metacharacters other than '*' are plain bytes.
  EXPECT_TRUE(GlobMatch("a.b?[c]+", "a.b?[c]+"));
  EXPECT_FALSE(GlobMatch("a.b", "axb"));
  EXPECT_FALSE(GlobMatch("a?", "ab"));
}

TEST(GlobMatchTest, PathologicalPatternsStayFast) {
  // The shape that makes backtracking matchers exponential: many stars, no match.
  const std::string pattern = std::string(63, '*').insert(0, "a") + "b";  // "a***...*b"
  std::string stars_and_a;
  for (int i = 0; i < 64; ++i) stars_and_a += "a*";
  const std::string id(64, 'a');
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10'000; ++i) {
    ASSERT_FALSE(GlobMatch(pattern, id));
    ASSERT_FALSE(GlobMatch(stars_and_a + "b", id));
  }
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(5)) << "20,000 worst-case matches";
}

TEST(KeyBindingsTest, UnboundKeysSpeakForEverySource) {
  KeyBindings b;
  EXPECT_TRUE(b.Allows("fleet", "anything"));
  ASSERT_TRUE(b.Bind("web", {"web-*", "lb-1"}).ok());
  EXPECT_TRUE(b.Allows("fleet", "anything"));
  EXPECT_FALSE(b.IsBound("fleet"));
  EXPECT_TRUE(b.IsBound("web"));
  EXPECT_TRUE(b.Allows("web", "web-01"));
  EXPECT_TRUE(b.Allows("web", "lb-1"));
  EXPECT_FALSE(b.Allows("web", "lb-2"));
  EXPECT_FALSE(b.Allows("web", "db-1"));
}

TEST(KeyBindingsTest, BadBindingsAreRefusedNamingTheEntry) {
  KeyBindings b;
  auto message = [&](std::vector<std::string> sources) {
    Status s = b.Bind("web", sources);
    EXPECT_FALSE(s.ok());
    return s.message();
  };
  EXPECT_NE(message({}).find("omit"), std::string::npos);
  EXPECT_NE(message({""}).find("empty"), std::string::npos);
  EXPECT_NE(message({"a", "a"}).find("'a' is listed twice"), std::string::npos);
  EXPECT_NE(message({std::string(65, 'x')}).find("limit is 64"), std::string::npos);
  EXPECT_NE(message({std::string(129, '*')}).find("limit is 128"), std::string::npos);
  std::vector<std::string> many;
  for (size_t i = 0; i <= KeyBindings::kMaxPatternsPerKey; ++i) many.push_back("h" + std::to_string(i) + "-*");
  EXPECT_NE(message(many).find("more than 256 patterns"), std::string::npos);
  EXPECT_TRUE(b.empty()) << "nothing half-bound";
}

}  // namespace
}  // namespace firewatch::collector
