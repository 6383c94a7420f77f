#include "route/matcher.h"

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
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

Result<Matcher> Matcher::Make(MatchType type, std::string name, std::string value) {
  if (!IsValidLabelName(name)) {
    return Status::InvalidArgument("invalid label name '" + name +
                                   "' (want letters, digits and _, not starting with a digit)");
  }
  Matcher m;
  m.type_ = type;
  m.name_ = std::move(name);
  m.value_ = std::move(value);
  if (m.is_regex()) {
    try {
      m.re_ = std::make_shared<const std::regex>("^(?:" + m.value_ + ")$",
                                                 std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return Status::InvalidArgument("invalid regex \"" + m.value_ + "\": " + e.what());
    }
  }
  return m;
}

bool Matcher::MatchesValue(const std::string& v) const {
  switch (type_) {
    case MatchType::kEqual: return v == value_;
    case MatchType::kNotEqual: return v != value_;
    case MatchType::kRegex: return std::regex_match(v, *re_);
    case MatchType::kNotRegex: return !std::regex_match(v, *re_);
  }
  return false;
}

bool Matcher::Matches(const LabelSet& labels) const {
  static const std::string kEmpty;
  auto it = labels.find(name_);
  return MatchesValue(it == labels.end() ? kEmpty : it->second);
}

namespace {

std::string Quote(const std::string& s) {
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
    return Status::InvalidArgument("matcher '" + std::string(text_) + "': " + what +
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
      return Error("invalid label name '" + name + "'");
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
  return name_ + std::string(MatchTypeString(type_)) + Quote(value_);
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
