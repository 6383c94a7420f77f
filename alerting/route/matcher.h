// Label matchers, as in Alertmanager: `name="value"`, `name!="value"`, `name=~"regex"`,
// `name!~"regex"`. A label the alert does not have matches as the empty string, so
// `team!="db"` matches an alert without `team`, and `team=""` matches only alerts without
// it (or with it empty). Regexes are fully anchored: `dc=~"dc1"` does not match "dc10".
//
// Regex dialect: RE2 (the syntax Alertmanager and Prometheus use), matched as if written
// `^(?:re)$` (the pattern itself must be a valid regex on its own, so `a)|(b` is refused).
// RE2 runs in time linear in the input, never backtracks and never recurses on the
// pattern's structure, so no pattern, however nested, can crash or stall the thread
// that evaluates it. Every bound below is checked when the matcher is made:
//   - label names: kMaxLabelNameBytes; values and patterns: kMaxMatcherValueBytes;
//   - a regex compiles within kRegexMemoryBudget bytes (RE2::Options::set_max_mem; a
//     pattern whose program would not fit is refused, "too complex"); its lazily built
//     DFA cache stays within the same budget (RE2 then falls back to its NFA, still
//     linear). RE2 never logs to stderr for us (log_errors off).
//
// Matchers are immutable values, cheap to copy (the compiled regex is shared), and safe
// to use from several threads at once (RE2's const methods are thread-safe).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "firewatch/status.h"
#include "model/alert.h"

namespace re2 {
class RE2;
}

namespace firewatch::alerting::route {

// Bounds on what a matcher may hold (docs/routing.md, "Matchers"). Label names in
// heartbeats are at most 64 bytes and values 128 (protocol/frame.h), so these only stop
// abuse, never a real matcher.
inline constexpr size_t kMaxLabelNameBytes = 128;
inline constexpr size_t kMaxMatcherValueBytes = 1024;  // the "pattern length" limit
inline constexpr int64_t kRegexMemoryBudget = 256 * 1024;

enum class MatchType : uint8_t { kEqual, kNotEqual, kRegex, kNotRegex };

// "=", "!=", "=~", "!~".
std::string_view MatchTypeString(MatchType t);

class Matcher {
 public:
  // Builds a matcher. Fails with InvalidArgument when `name` is not a valid label name
  // ([a-zA-Z_][a-zA-Z0-9_]*, at most kMaxLabelNameBytes), when `value` is longer than
  // kMaxMatcherValueBytes (the message names the limit), or, for regex types, when
  // `value` is not a valid RE2 regex or needs more than kRegexMemoryBudget to compile.
  // Compiling is linear in the pattern's length and bounded in memory.
  [[nodiscard]] static Result<Matcher> Make(MatchType type, std::string name, std::string value);

  MatchType type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }
  bool is_regex() const { return type_ == MatchType::kRegex || type_ == MatchType::kNotRegex; }
  bool is_negative() const { return type_ == MatchType::kNotEqual || type_ == MatchType::kNotRegex; }

  // True when the label value `v` satisfies this matcher. Linear in v.size() for regexes.
  bool MatchesValue(std::string_view v) const;
  // True when `labels` satisfies this matcher; a missing label is the empty string.
  bool Matches(const LabelSet& labels) const;

  // Canonical text, `name="value"` with Go-style escaping of \ " and newline; parses back
  // to an equal matcher.
  std::string ToString() const;

  // True when this matcher pins its label to specific values, so that most values of
  // the label (and its absence) fail it:
  //   - `name="v"` with v not empty;
  //   - `name=~"re"` when re does not match the empty string AND every string re matches
  //     contains a literal of at least two bytes from a finite set (RE2's prefilter
  //     analysis, re2::FilteredRE2 with min_atom_len 2: "web-.*" needs "web-",
  //     "dc[12]" needs "dc1" or "dc2"; ".+", "\w+", "[a-z]+", ".{3,}", ".*a.*" need
  //     nothing long enough).
  // `!=` and `!~` are never selective: they exclude some values and keep all others.
  // Sound: a selective matcher never matches every value. Conservative: some narrow
  // regexes ("a|b") are not counted as selective. Costs one more regex compile.
  bool IsSelective() const;

  // RE2's program size (instructions) for regex types, 0 otherwise: a relative cost.
  int Cost() const;

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
  std::shared_ptr<const re2::RE2> re_;  // set for regex types
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

// True when `name` is a valid label name: [a-zA-Z_][a-zA-Z0-9_]*, 1 to kMaxLabelNameBytes.
bool IsValidLabelName(std::string_view name);

// `s` in double quotes as matcher text writes it: '\\' and '"' backslash-escaped, a newline
// as \n, every other byte as is (matchers and label sets print the same way).
std::string QuoteLabelValue(const std::string& s);

}  // namespace firewatch::alerting::route
