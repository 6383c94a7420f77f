// Label matchers, as in Alertmanager: `name="value"`, `name!="value"`, `name=~"regex"`,
// `name!~"regex"`. A label the alert does not have matches as the empty string, so
// `team!="db"` matches an alert without `team`, and `team=""` matches only alerts without
// it (or with it empty). Regexes are fully anchored: `dc=~"dc1"` does not match "dc10".
//
// Regex dialect: std::regex ECMAScript, wrapped as ^(?:re)$. That covers the RE2 subset
// operators write in practice (classes, alternation, ?, *, +, {m,n}, \d \w \s); RE2-only
// syntax such as (?P<name>...) or [[:^alpha:]] is refused at parse time, and ECMAScript
// lookaheads are accepted though RE2 would refuse them (docs/routing.md lists these).
//
// Matchers are immutable values, cheap to copy (the compiled regex is shared), and safe
// to use from several threads at once.
#pragma once

#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "firewatch/status.h"
#include "model/alert.h"

namespace firewatch::alerting::route {

enum class MatchType : uint8_t { kEqual, kNotEqual, kRegex, kNotRegex };

// "=", "!=", "=~", "!~".
std::string_view MatchTypeString(MatchType t);

class Matcher {
 public:
  // Builds a matcher. Fails with InvalidArgument when `name` is not a valid label name
  // ([a-zA-Z_][a-zA-Z0-9_]*) or, for regex types, when `value` does not compile.
  [[nodiscard]] static Result<Matcher> Make(MatchType type, std::string name, std::string value);

  MatchType type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }
  bool is_regex() const { return type_ == MatchType::kRegex || type_ == MatchType::kNotRegex; }
  bool is_negative() const { return type_ == MatchType::kNotEqual || type_ == MatchType::kNotRegex; }

  // True when the label value `v` satisfies this matcher.
  bool MatchesValue(const std::string& v) const;
  // True when `labels` satisfies this matcher; a missing label is the empty string.
  bool Matches(const LabelSet& labels) const;

  // Canonical text, `name="value"` with Go-style escaping of \ " and newline; parses back
  // to an equal matcher.
  std::string ToString() const;

  friend bool operator==(const Matcher& a, const Matcher& b) {
    return a.type_ == b.type_ && a.name_ == b.name_ && a.value_ == b.value_;
  }
  // Orders by name, then operator, then value (the order used in route and group keys).
  friend bool operator<(const Matcher& a, const Matcher& b);

 private:
  Matcher() = default;
  MatchType type_ = MatchType::kEqual;
  std::string name_;
  std::string value_;
  std::shared_ptr<const std::regex> re_;  // set for regex types
};

using Matchers = std::vector<Matcher>;

// True when every matcher matches (an empty list matches everything).
bool MatchesAll(const Matchers& ms, const LabelSet& labels);

// `{a="b",c=~"d"}` (Alertmanager's form, used in route keys) in the order given (callers sort first for a canonical form).
std::string MatchersString(const Matchers& ms);

// Parses one matcher as written in Alertmanager configs and amtool:
//   severity="critical"   dc=~"dc[12]"   team!=db   "team"!~"x.*"
// Whitespace around the operator is allowed. The value is a double-quoted string with
// \" \\ \n escapes (any other backslash is kept, as Alertmanager does, so "web-\d+"
// needs no doubling), or a bare word (no spaces, quotes or commas). Errors quote the
// input and say what and where ("matcher 'dc=~': expected a value after '=~' ... at
// column 5").
[[nodiscard]] Result<Matcher> ParseMatcher(std::string_view text);

// Parses a comma-separated list, optionally wrapped in braces: `{a="b", c!~"x|y"}`.
// An empty list ("" or "{}") is valid and yields no matchers.
[[nodiscard]] Result<Matchers> ParseMatcherList(std::string_view text);

// True when `name` is a valid label name.
bool IsValidLabelName(std::string_view name);

}  // namespace firewatch::alerting::route
