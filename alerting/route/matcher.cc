#include "route/matcher.h"

#include <re2/filtered_re2.h>
#include <re2/re2.h>

#include <algorithm>
#include <tuple>

namespace firewatch::alerting::route {

std::string_view MatchTypeString(MatchType t) {
  switch (t) {
    case MatchType::kEqual: return "=";
    case MatchType::kNotEqual: return "!=";
    case MatchType::kRegex: return "=~";
    case MatchType::kNotRegex: return "!~";
  }
  return "?";
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || name.size() > kMaxLabelNameBytes) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

namespace {

// How every regex is compiled: RE2 syntax, UTF-8, case-sensitive, no capture groups
// (matching needs none), a memory budget, and no logging of its own.
RE2::Options RegexOptions() {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_never_capture(true);
  o.set_max_mem(kRegexMemoryBudget);
  return o;
}

// The first bytes of `text` for an error message (a refused value may be huge).
std::string Excerpt(std::string_view text, size_t max = 64) {
  if (text.size() <= max) return std::string(text);
  return std::string(text.substr(0, max)) + "... (" + std::to_string(text.size()) + " bytes)";
}

}  // namespace

Result<Matcher> Matcher::Make(MatchType type, std::string name, std::string value) {
  if (name.size() > kMaxLabelNameBytes) {
    return Status::InvalidArgument("label name '" + Excerpt(name) + "' is " +
                                   std::to_string(name.size()) + " bytes; the limit is " +
                                   std::to_string(kMaxLabelNameBytes));
  }
  if (!IsValidLabelName(name)) {
    return Status::InvalidArgument("invalid label name '" + name +
                                   "' (want letters, digits and _, not starting with a digit)");
  }
  if (value.size() > kMaxMatcherValueBytes) {
    return Status::InvalidArgument(
        std::string(type == MatchType::kRegex || type == MatchType::kNotRegex ? "regex" : "value") +
        " is " + std::to_string(value.size()) + " bytes; the limit is " +
        std::to_string(kMaxMatcherValueBytes) + " bytes per matcher");
  }
  Matcher m;
  m.type_ = type;
  m.name_ = std::move(name);
  m.value_ = std::move(value);
  if (m.is_regex()) {
    auto re = std::make_shared<const RE2>(m.value_, RegexOptions());
    if (!re->ok()) {
      if (re->error_code() == RE2::ErrorPatternTooLarge) {
        return Status::InvalidArgument("regex \"" + m.value_ + "\" is too complex: it needs more than " +
                                       std::to_string(kRegexMemoryBudget / 1024) +
                                       " KiB to compile (the limit per regex)");
      }
      return Status::InvalidArgument("invalid regex \"" + m.value_ + "\": " + re->error());
    }
    m.re_ = std::move(re);
  }
  return m;
}

bool Matcher::MatchesValue(std::string_view v) const {
  switch (type_) {
    case MatchType::kEqual: return v == value_;
    case MatchType::kNotEqual: return v != value_;
    case MatchType::kRegex:
      return re_->Match(re2::StringPiece(v.data(), v.size()), 0, v.size(), RE2::ANCHOR_BOTH,
                        nullptr, 0);
    case MatchType::kNotRegex:
      return !re_->Match(re2::StringPiece(v.data(), v.size()), 0, v.size(), RE2::ANCHOR_BOTH,
                         nullptr, 0);
  }
  return false;
}

bool Matcher::IsSelective() const {
  switch (type_) {
    case MatchType::kEqual: return !value_.empty();
    case MatchType::kNotEqual:
    case MatchType::kNotRegex: return false;
    case MatchType::kRegex: break;
  }
  if (MatchesValue("")) return false;
  // FilteredRE2's contract: a regex that does not pass the filter when none of its atoms
  // is present cannot match. So "does not pass with no atoms" means "every match
  // contains one of the atoms", and atoms shorter than min_atom_len are not kept.
  re2::FilteredRE2 filter(/*min_atom_len=*/2);
  int id = 0;
  if (filter.Add(value_, RegexOptions(), &id) != RE2::NoError) return false;
  std::vector<std::string> atoms;
  filter.Compile(&atoms);
  std::vector<int> passed;
  filter.AllPotentials({}, &passed);
  return passed.empty() && !atoms.empty();
}

int Matcher::Cost() const { return re_ ? re_->ProgramSize() : 0; }

bool Matcher::Matches(const LabelSet& labels) const {
  static const std::string kEmpty;
  auto it = labels.find(name_);
  return MatchesValue(it == labels.end() ? kEmpty : it->second);
}

std::string QuoteLabelValue(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

namespace {

// A cursor over matcher text; every error names the input and a 1-based column.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  void SkipSpace() {
    while (!AtEnd() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  Status Error(const std::string& what) const {
    return Status::InvalidArgument("matcher '" + Excerpt(text_, 200) + "': " + what +
                                   " at column " + std::to_string(pos_ + 1));
  }

  // A quoted string with \" \\ \n escapes; the cursor is on the opening quote.
  Result<std::string> Quoted() {
    ++pos_;
    std::string out;
    while (!AtEnd()) {
      char c = text_[pos_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (AtEnd()) break;
        char e = text_[pos_++];
        if (e == 'n') out += '\n';
        else if (e == '\\' || e == '"') out += e;
        else {  // as Alertmanager: a spurious escape is literal, so "\d+" stays a regex
          out += '\\';
          out += e;
        }
      } else {
        out += c;
      }
    }
    return Error("unterminated quoted string");
  }

  Result<Matcher> One() {
    SkipSpace();
    std::string name;
    const size_t name_col = pos_;
    if (Peek() == '"') {
      auto q = Quoted();
      if (!q.ok()) return q.status();
      name = *q;
    } else {
      while (!AtEnd() && IsNameChar(Peek())) name += text_[pos_++];
    }
    if (name.empty()) return Error("expected a label name");
    if (!IsValidLabelName(name)) {
      pos_ = name_col;
      return Error("invalid label name '" + Excerpt(name) + "'");
    }
    SkipSpace();
    MatchType type;
    if (Consume('=')) {
      type = Consume('~') ? MatchType::kRegex : MatchType::kEqual;
    } else if (Consume('!')) {
      if (Consume('=')) type = MatchType::kNotEqual;
      else if (Consume('~')) type = MatchType::kNotRegex;
      else return Error("expected '!=' or '!~'");
    } else {
      return Error("expected an operator (=, !=, =~, !~) after '" + name + "'");
    }
    SkipSpace();
    std::string value;
    if (Peek() == '"') {
      auto q = Quoted();
      if (!q.ok()) return q.status();
      value = *q;
    } else {
      while (!AtEnd() && Peek() != ',' && Peek() != '}' && Peek() != ' ' && Peek() != '\t') {
        if (Peek() == '"' || Peek() == '\'') return Error("unexpected quote in unquoted value");
        value += text_[pos_++];
      }
      if (value.empty()) {
        return Error("expected a value after '" + std::string(MatchTypeString(type)) +
                     "' (write \"\" for the empty string)");
      }
    }
    auto m = Matcher::Make(type, name, value);
    if (!m.ok()) return Error(m.status().message());
    SkipSpace();
    return m;
  }

 private:
  static bool IsNameChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-' || c == '/';  // invalid ones are reported whole
  }
  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

bool operator<(const Matcher& a, const Matcher& b) {
  return std::tie(a.name_, a.type_, a.value_) < std::tie(b.name_, b.type_, b.value_);
}

std::string Matcher::ToString() const {
  return name_ + std::string(MatchTypeString(type_)) + QuoteLabelValue(value_);
}

bool MatchesAll(const Matchers& ms, const LabelSet& labels) {
  return std::all_of(ms.begin(), ms.end(), [&](const Matcher& m) { return m.Matches(labels); });
}

std::string MatchersString(const Matchers& ms) {
  std::string out = "{";
  for (size_t i = 0; i < ms.size(); ++i) {
    if (i > 0) out += ",";
    out += ms[i].ToString();
  }
  return out + "}";
}

Result<Matcher> ParseMatcher(std::string_view text) {
  Parser p(text);
  auto m = p.One();
  if (!m.ok()) return m;
  if (!p.AtEnd()) return p.Error("unexpected '" + std::string(1, p.Peek()) + "' after the value");
  return m;
}

Result<Matchers> ParseMatcherList(std::string_view text) {
  Parser p(text);
  Matchers out;
  p.SkipSpace();
  const bool braces = p.Consume('{');
  p.SkipSpace();
  if (p.AtEnd() || (braces && p.Peek() == '}')) {
    if (braces && !p.Consume('}')) return p.Error("missing '}'");
    p.SkipSpace();
    if (!p.AtEnd()) return p.Error("unexpected text after '}'");
    return out;
  }
  while (true) {
    auto m = p.One();
    if (!m.ok()) return m.status();
    out.push_back(std::move(m).value());
    if (p.Consume(',')) continue;
    break;
  }
  if (braces && !p.Consume('}')) return p.Error("expected ',' or '}'");
  p.SkipSpace();
  if (!p.AtEnd()) return p.Error("unexpected '" + std::string(1, p.Peek()) + "'");
  return out;
}

}  // namespace firewatch::alerting::route
