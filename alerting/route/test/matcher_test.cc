#include "route/matcher.h"

#include <gtest/gtest.h>

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

TEST(MatcherTest, Re2OnlySyntaxIsRefused) {
  EXPECT_FALSE(ParseMatcher(R"x(a=~"(?P<n>b)")x").ok());
  EXPECT_FALSE(ParseMatcher(R"x(a=~"(?i)b")x").ok());
  EXPECT_TRUE(ParseMatcher(R"x(a=~"(?:b|c)\d+")x").ok());
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
