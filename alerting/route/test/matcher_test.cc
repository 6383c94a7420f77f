#include "route/matcher.h"

#include <gtest/gtest.h>

#include <chrono>

namespace firewatch::alerting::route {
namespace {

Matcher M(const std::string& text) {
  auto m = ParseMatcher(text);
  EXPECT_TRUE(m.ok()) << text << ": " << m.status().message();
  return *m;
}

TEST(MatcherTest, EqualAndNotEqual) {
  EXPECT_TRUE(M(R"(severity="critical")").Matches({{"severity", "critical"}}));
  EXPECT_FALSE(M(R"(severity="critical")").Matches({{"severity", "warning"}}));
  EXPECT_TRUE(M(R"(severity!="critical")").Matches({{"severity", "warning"}}));
  EXPECT_FALSE(M(R"(severity!="critical")").Matches({{"severity", "critical"}}));
}

TEST(MatcherTest, MissingLabelIsTheEmptyString) {
  const LabelSet none = {{"alertname", "SourceDown"}};
  EXPECT_TRUE(M(R"(team!="db")").Matches(none));  // as Alertmanager
  EXPECT_TRUE(M(R"(team="")").Matches(none));
  EXPECT_FALSE(M(R"(team!="")").Matches(none));  // "has the label"
  EXPECT_FALSE(M(R"(team="db")").Matches(none));
  EXPECT_TRUE(M(R"(team=~".*")").Matches(none));
  EXPECT_FALSE(M(R"(team=~".+")").Matches(none));
  EXPECT_TRUE(M(R"(team!~"db|web")").Matches(none));
}

TEST(MatcherTest, RegexIsFullyAnchored) {
  const Matcher m = M(R"(dc=~"dc[12]")");
  EXPECT_TRUE(m.Matches({{"dc", "dc1"}}));
  EXPECT_TRUE(m.Matches({{"dc", "dc2"}}));
  EXPECT_FALSE(m.Matches({{"dc", "dc10"}}));
  EXPECT_FALSE(m.Matches({{"dc", "xdc1"}}));
  EXPECT_FALSE(m.Matches({{"dc", "dc3"}}));
  // Alternation is anchored as a whole, not just its first and last branch.
  const Matcher alt = M(R"(host=~"web|db")");
  EXPECT_TRUE(alt.Matches({{"host", "db"}}));
  EXPECT_FALSE(alt.Matches({{"host", "webserver"}}));
  EXPECT_FALSE(alt.Matches({{"host", "mydb"}}));
  const Matcher neg = M(R"(dc!~"dc[12]")");
  EXPECT_TRUE(neg.Matches({{"dc", "dc10"}}));
  EXPECT_FALSE(neg.Matches({{"dc", "dc1"}}));
}

TEST(MatcherTest, ParsesAlertmanagerForms) {
  auto m = M(R"(  dc =~ "dc[12]" )");
  EXPECT_EQ(m.type(), MatchType::kRegex);
  EXPECT_EQ(m.name(), "dc");
  EXPECT_EQ(m.value(), "dc[12]");
  EXPECT_EQ(M("severity=critical").value(), "critical");  // bare value
  EXPECT_EQ(M("team!~db").type(), MatchType::kNotRegex);
  EXPECT_EQ(M(R"(msg="say \"hi\"\\ \n")").value(), "say \"hi\"\\ \n");
  EXPECT_EQ(M(R"(x="")").value(), "");
  EXPECT_EQ(M(R"(host=~"web-\d+")").value(), "web-\\d+");  // spurious escapes stay literal
  EXPECT_EQ(M(R"("quoted_name"="v")").name(), "quoted_name");
}

TEST(MatcherTest, ToStringRoundTrips) {
  for (const char* text : {R"(a="b")", R"(a!="b")", R"(a=~"b|c")", R"(a!~"x.*")",
                           R"(msg="q\"uote\\ \n")"}) {
    const Matcher m = M(text);
    EXPECT_EQ(m.ToString(), text);
    EXPECT_EQ(M(m.ToString()), m);
  }
}

TEST(MatcherTest, ParseErrorsSayWhatAndWhere) {
  struct Case {
    const char* text;
    const char* fragment;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"", "expected a label name at column 1"},
           {"severity", "expected an operator (=, !=, =~, !~) after 'severity'"},
           {"severity==\"x\"", "unexpected quote"},
           {"dc=~", "expected a value after '=~' (write \"\" for the empty string) at column 5"},
           {"a!b", "expected '!=' or '!~' at column 3"},
           {"a=\"open", "unterminated quoted string"},
           {"1abc=\"x\"", "invalid label name '1abc' at column 1"},
           {"host-name=\"x\"", "invalid label name 'host-name'"},
           {"dc=~\"dc[12\"", "invalid regex \"dc[12\""},
           {"a=\"b\" c", "unexpected 'c' after the value"},
       }) {
    auto m = ParseMatcher(c.text);
    ASSERT_FALSE(m.ok()) << c.text;
    EXPECT_NE(m.status().message().find(c.fragment), std::string::npos)
        << c.text << " -> " << m.status().message();
    EXPECT_NE(m.status().message().find(std::string("matcher '") + c.text + "'"), std::string::npos);
  }
}

TEST(MatcherTest, DialectIsRe2) {
  // What Alertmanager and Prometheus accept works here too.
  EXPECT_TRUE(M(R"x(a=~"(?P<n>b)")x").Matches({{"a", "b"}}));
  EXPECT_TRUE(M(R"x(a=~"(?i)web")x").Matches({{"a", "WeB"}}));
  EXPECT_TRUE(M(R"x(a=~"[[:digit:]]+")x").Matches({{"a", "42"}}));
  EXPECT_TRUE(M(R"x(a=~"(?:b|c)\d+")x").Matches({{"a", "c7"}}));
  // Backtracking-only syntax is refused, naming RE2's reason.
  for (const char* text : {R"x(a=~"(?=b)b")x", R"x(a=~"(b)\1")x", R"x(a=~"b(?!c)")x"}) {
    auto m = ParseMatcher(text);
    ASSERT_FALSE(m.ok()) << text;
    EXPECT_NE(m.status().message().find("invalid regex"), std::string::npos) << m.status().message();
  }
  // Anchored as ^(?:re)$, and the pattern must stand on its own.
  EXPECT_FALSE(ParseMatcher(R"x(a=~"b)|(c")x").ok());
  EXPECT_FALSE(M(R"(a=~"b|c")").Matches({{"a", "bc"}}));
  EXPECT_FALSE(M(R"(a=~"b")").Matches({{"a", "b\n"}}));  // $ is the end of the text
}

TEST(MatcherTest, SizesAreBounded) {
  auto long_value = Matcher::Make(MatchType::kEqual, "a", std::string(1025, 'x'));
  ASSERT_FALSE(long_value.ok());
  EXPECT_NE(long_value.status().message().find("value is 1025 bytes; the limit is 1024"),
            std::string::npos)
      << long_value.status().message();
  EXPECT_TRUE(Matcher::Make(MatchType::kRegex, "a", std::string(1024, 'x')).ok());
  auto long_re = Matcher::Make(MatchType::kRegex, "a", std::string(1025, 'x'));
  EXPECT_NE(long_re.status().message().find("regex is 1025 bytes"), std::string::npos);
  auto long_name = Matcher::Make(MatchType::kEqual, std::string(129, 'n'), "x");
  EXPECT_NE(long_name.status().message().find("the limit is 128"), std::string::npos);
  EXPECT_FALSE(IsValidLabelName(std::string(129, 'n')));
  EXPECT_TRUE(IsValidLabelName(std::string(128, 'n')));
  // Short, but its program would not fit the memory budget.
  auto complex = Matcher::Make(MatchType::kRegex, "a", R"(\pL{50}\pL{50})");
  ASSERT_FALSE(complex.ok());
  EXPECT_NE(complex.status().message().find("too complex"), std::string::npos)
      << complex.status().message();
  // Nested counted repetition that would expand a million-fold.
  EXPECT_FALSE(Matcher::Make(MatchType::kRegex, "a", "((a{100}){100}){100}").ok());
  // Errors quote at most the start of a huge input.
  auto huge = ParseMatcher("a=~\"" + std::string(100'000, '(') + "\"");
  ASSERT_FALSE(huge.ok());
  EXPECT_LT(huge.status().message().size(), 600u);
}

TEST(MatcherTest, DeepNestingAndBacktrackingBombsAreCheapAndSafe) {
  const auto t0 = std::chrono::steady_clock::now();
  // 511 nested groups fit the length limit; RE2 parses them without recursion.
  auto deep = Matcher::Make(MatchType::kRegex, "a", std::string(511, '(') + "x" + std::string(511, ')'));
  ASSERT_TRUE(deep.ok()) << deep.status().message();
  EXPECT_TRUE(deep->MatchesValue("x"));
  for (const char* bomb : {"(.*)*(.*)*(.*)*(.*)*(.*)*(.*)*X", "(a+)+b", "(a|aa)+$", "(x+x+)+y"}) {
    auto m = Matcher::Make(MatchType::kRegex, "a", bomb);
    ASSERT_TRUE(m.ok()) << bomb;
    EXPECT_FALSE(m->MatchesValue(std::string(10'000, 'a') + "!")) << bomb;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST(MatcherTest, NonUtf8ValuesAreMatchedSafely) {
  const std::string bad = "web-\xff\xfe";
  EXPECT_TRUE(M(R"(a=~"web-.*")").MatchesValue("web-x"));
  EXPECT_FALSE(M(R"(a=~"web-[a-z]+")").MatchesValue(bad));
  EXPECT_TRUE(M(R"(a!~"db.*")").MatchesValue(bad));
}

TEST(MatcherTest, Selectivity) {
  EXPECT_TRUE(M(R"(a="x")").IsSelective());
  EXPECT_FALSE(M(R"(a="")").IsSelective());
  EXPECT_FALSE(M(R"(a!="x")").IsSelective());
  EXPECT_FALSE(M(R"(a!~"x.*")").IsSelective());
  EXPECT_TRUE(M(R"(a=~"web-.*")").IsSelective());
  EXPECT_TRUE(M(R"(a=~"dc[12]")").IsSelective());
  EXPECT_FALSE(M(R"(a=~".+")").IsSelective());
  EXPECT_FALSE(M(R"(a=~"[a-z]+")").IsSelective());
  EXPECT_FALSE(M(R"(a=~"(web)?")").IsSelective());
  EXPECT_FALSE(M(R"(a=~"x.*")").IsSelective());  // a one-byte literal is not enough
  EXPECT_GT(M(R"(a=~"web-\d{1,4}")").Cost(), 0);
  EXPECT_EQ(M(R"(a="x")").Cost(), 0);
}

TEST(MatcherTest, ParsesLists) {
  auto ms = ParseMatcherList(R"({severity="critical", dc=~"dc1|dc2",team!="a,b"})");
  ASSERT_TRUE(ms.ok()) << ms.status().message();
  ASSERT_EQ(ms->size(), 3u);
  EXPECT_EQ((*ms)[2].value(), "a,b");
  EXPECT_TRUE(MatchesAll(*ms, {{"severity", "critical"}, {"dc", "dc2"}}));
  EXPECT_FALSE(MatchesAll(*ms, {{"severity", "critical"}, {"dc", "dc3"}}));
  EXPECT_EQ(MatchersString(*ms), R"({severity="critical",dc=~"dc1|dc2",team!="a,b"})");
  auto bare = ParseMatcherList(R"(a="1",b="2")");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->size(), 2u);
  EXPECT_TRUE(ParseMatcherList("{}").ok());
  EXPECT_TRUE(ParseMatcherList("")->empty());
  EXPECT_FALSE(ParseMatcherList(R"({a="1")").ok());
  EXPECT_FALSE(ParseMatcherList(R"({a="1",})").ok());
  EXPECT_TRUE(MatchesAll({}, {{"anything", "x"}}));
}

}  // namespace
}  // namespace firewatch::alerting::route
