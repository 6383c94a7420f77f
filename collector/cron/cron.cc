#include "cron/cron.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

namespace firewatch::cron {
namespace {

struct FieldSpec {
  const char* name;
  int lo;
  int hi;
  const std::array<std::string_view, 12>* names;  // value lo + i, or null
};

constexpr std::array<std::string_view, 12> kMonths = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                      "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 12> kWeekdays = {"SUN", "MON", "TUE", "WED",
                                                        "THU", "FRI", "SAT"};
// Index = field position. Day-of-week accepts 7 (Sunday again); it is folded to 0.
const FieldSpec kFields[5] = {{"minute", 0, 59, nullptr},
                              {"hour", 0, 23, nullptr},
                              {"day-of-month", 1, 31, nullptr},
                              {"month", 1, 12, &kMonths},
                              {"day-of-week", 0, 7, &kWeekdays}};

constexpr int kDaysInMonth[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

std::string FieldError(const FieldSpec& f, std::string_view text, std::string_view why) {
  return "bad " + std::string(f.name) + " field '" + std::string(text) + "': " + std::string(why);
}

// A number (at most 4 digits: no overflow) or, where the field has them, a name.
std::optional<int> Value(const FieldSpec& f, std::string_view s) {
  if (f.names != nullptr) {
    for (size_t i = 0; i < f.names->size(); ++i) {
      if (!(*f.names)[i].empty() && (*f.names)[i] == s) return f.lo + static_cast<int>(i);
    }
  }
  if (s.empty() || s.size() > 4) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// Parses one field into `bits` (bit i = value i). Returns an error message or "".
std::string ParseField(const FieldSpec& f, std::string_view text, std::vector<bool>& bits) {
  bits.assign(static_cast<size_t>(f.hi) + 1, false);
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    std::string_view term =
        text.substr(start, comma == std::string_view::npos ? comma : comma - start);
    if (term.empty()) return FieldError(f, text, "empty list item");
    int step = 1;
    bool has_step = false;
    if (size_t slash = term.find('/'); slash != std::string_view::npos) {
      auto s = Value({f.name, 0, 0, nullptr}, term.substr(slash + 1));
      if (!s || *s == 0) return FieldError(f, text, "step must be a number from 1");
      step = *s;
      has_step = true;
      term = term.substr(0, slash);
    }
    int lo = 0, hi = 0;
    if (term == "*") {
      lo = f.lo;
      hi = f.hi == 7 ? 6 : f.hi;  // "*" in day-of-week is 0-6 (7 would repeat Sunday)
    } else {
      const size_t dash = term.find('-');
      auto a = Value(f, term.substr(0, dash));
      if (!a) return FieldError(f, text, "'" + std::string(term) + "' is not a value");
      lo = *a;
      if (dash != std::string_view::npos) {
        auto b = Value(f, term.substr(dash + 1));
        if (!b) return FieldError(f, text, "'" + std::string(term) + "' is not a range");
        hi = *b;
      } else {
        hi = has_step ? f.hi : lo;  // "a/n" runs from a to the field's end
      }
      if (lo < f.lo || hi > f.hi || lo > f.hi) {
        return FieldError(
            f, text, "value out of range " + std::to_string(f.lo) + "-" + std::to_string(f.hi));
      }
      if (hi < lo) return FieldError(f, text, "range end before its start");
    }
    for (int v = lo; v <= hi; v += step) bits[static_cast<size_t>(v)] = true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return "";
}

std::string_view Alias(std::string_view s) {
  if (s == "@YEARLY" || s == "@ANNUALLY") return "0 0 1 1 *";
  if (s == "@MONTHLY") return "0 0 1 * *";
  if (s == "@WEEKLY") return "0 0 * * 0";
  if (s == "@DAILY" || s == "@MIDNIGHT") return "0 0 * * *";
  if (s == "@HOURLY") return "0 * * * *";
  return {};
}

}  // namespace

Result<Expression> Expression::Parse(std::string_view text) {
  if (text.size() > kMaxExpressionLength) {
    return Status::InvalidArgument("cron expression longer than " +
                                   std::to_string(kMaxExpressionLength) + " bytes");
  }
  std::string upper;
  for (char c : text) {
    upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  std::vector<std::string_view> fields;
  std::string_view rest = upper;
  while (!rest.empty()) {
    const size_t b = rest.find_first_not_of(" \t");
    if (b == std::string_view::npos) break;
    const size_t e = rest.find_first_of(" \t", b);
    fields.push_back(rest.substr(b, e == std::string_view::npos ? e : e - b));
    rest = e == std::string_view::npos ? std::string_view{} : rest.substr(e);
    if (fields.size() > 5) break;
  }
  if (fields.size() == 1 && !fields[0].empty() && fields[0][0] == '@') {
    const std::string_view expanded = Alias(fields[0]);
    if (expanded.empty()) {
      return Status::InvalidArgument("unknown cron alias '" + std::string(text) +
                                     "' (known: @yearly @annually @monthly @weekly @daily "
                                     "@midnight @hourly)");
    }
    auto e = Parse(expanded);
    if (e.ok()) e->text_ = std::string(text);
    return e;
  }
  if (fields.size() != 5) {
    return Status::InvalidArgument("cron expression '" + std::string(text) +
                                   "' must have 5 fields (minute hour day-of-month month "
                                   "day-of-week) or be an alias like @daily");
  }
  Expression x;
  x.text_ = std::string(text);
  std::vector<bool> bits;
  for (int i = 0; i < 5; ++i) {
    if (std::string err = ParseField(kFields[i], fields[i], bits); !err.empty()) {
      return Status::InvalidArgument(err);
    }
    for (size_t v = 0; v < bits.size(); ++v) {
      if (!bits[v]) continue;
      switch (i) {
        case 0:
          x.minutes_.set(v);
          break;
        case 1:
          x.hours_.set(v);
          break;
        case 2:
          x.days_.set(v);
          break;
        case 3:
          x.months_.set(v);
          break;
        case 4:
          x.weekdays_.set(v % 7);
          break;
      }
    }
  }
  x.day_and_ = fields[2][0] == '*' || fields[4][0] == '*';
  x.fixed_time_ = fields[0][0] != '*' && fields[1][0] != '*';
  // A day of month no selected month has can never fire (cronsim refuses it too).
  int first_day = 1;
  while (first_day <= 31 && !x.days_[static_cast<size_t>(first_day)]) ++first_day;
  int longest = 0;
  for (int m = 1; m <= 12; ++m) {
    if (x.months_[static_cast<size_t>(m)]) longest = std::max(longest, kDaysInMonth[m]);
  }
  if (first_day > longest) {
    return Status::InvalidArgument(
        FieldError(kFields[2], fields[2], "no selected month has that many days"));
  }
  return x;
}

bool Expression::DayMatches(const date::year_month_day& ymd) const {
  const bool dom = days_[static_cast<unsigned>(ymd.day())];
  const bool dow = weekdays_[date::weekday(ymd).c_encoding()];
  return day_and_ ? dom && dow : dom || dow;
}

std::optional<WallTime> Expression::Next(WallTime after, const date::time_zone* zone) const {
  using namespace std::chrono;
  const date::local_seconds local_after = zone->to_local(floor<seconds>(after));
  date::local_days day = floor<date::days>(local_after);
  const date::local_days end = day + date::days(366 * kMaxYears);
  while (day < end) {
    const date::year_month_day ymd{day};
    if (!months_[static_cast<unsigned>(ymd.month())]) {
      // Skip the whole month.
      const date::year_month next = date::year_month{ymd.year(), ymd.month()} + date::months(1);
      day = date::local_days{next / 1};
      continue;
    }
    if (!DayMatches(ymd)) {
      day += date::days(1);
      continue;
    }
    std::optional<date::sys_seconds> best;
    auto consider = [&](date::sys_seconds t) {
      if (t > after && (!best || t < *best)) best = t;
    };
    for (int h = 0; h < 24; ++h) {
      if (!hours_[static_cast<size_t>(h)]) continue;
      for (int m = 0; m < 60; ++m) {
        if (!minutes_[static_cast<size_t>(m)]) continue;
        const date::local_seconds local = day + hours(h) + minutes(m);
        const date::local_info info = zone->get_info(local);
        const auto utc = [&](const date::sys_info& i) {
          return date::sys_seconds{local.time_since_epoch() - i.offset};
        };
        switch (info.result) {
          case date::local_info::unique:
            consider(utc(info.first));
            break;
          case date::local_info::nonexistent:
            if (fixed_time_) consider(info.first.end);  // the end of the gap
            break;
          case date::local_info::ambiguous:
            consider(utc(info.first));
            if (!fixed_time_) consider(utc(info.second));
            break;
        }
      }
    }
    if (best) return time_point_cast<WallTime::duration>(*best);
    day += date::days(1);
  }
  return std::nullopt;
}

}  // namespace firewatch::cron
