// libFuzzer target: the matcher parser and RE2 regexes (alerting/route/matcher.h).
// Input: one matcher or a matcher list as an operator would type it. Checks that nothing
// crashes, that every parsed matcher prints back to itself, and that matching runs on
// values derived from the input (RE2: linear time, so -timeout catches any regression).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "route/matcher.h"

using firewatch::alerting::route::Matcher;
using firewatch::alerting::route::MatchType;
using firewatch::alerting::route::ParseMatcher;
using firewatch::alerting::route::ParseMatcherList;

namespace {

void Exercise(const Matcher& m, std::string_view value) {
  (void)m.MatchesValue(value);
  (void)m.MatchesValue("");
  (void)m.Matches({{m.name(), std::string(value)}, {"alertname", "SourceDown"}});
  const bool selective = m.IsSelective();
  // A selective matcher never matches the empty string (the broad-silence rule relies on it).
  if (selective && m.MatchesValue("")) __builtin_trap();
  auto again = ParseMatcher(m.ToString());
  if (!again.ok() || !(*again == m)) __builtin_trap();  // ToString round-trips
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // well over every limit; longer inputs only slow the search
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The second half (after a newline, if any) is a label value to match against.
  const size_t nl = text.find('\n');
  const std::string_view head = text.substr(0, nl);
  const std::string_view value = nl == std::string_view::npos ? text : text.substr(nl + 1);

  if (auto m = ParseMatcher(head); m.ok()) Exercise(*m, value);
  if (auto ms = ParseMatcherList(head); ms.ok()) {
    for (const auto& m : *ms) Exercise(m, value);
  }
  // The raw bytes as a pattern, the way the JSON API hands them over.
  if (auto re = Matcher::Make(MatchType::kRegex, "a", std::string(head)); re.ok()) {
    Exercise(*re, value);
  }
  return 0;
}
