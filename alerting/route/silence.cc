#include "route/silence.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>

#include "firewatch/crypto/random.h"

namespace firewatch::alerting::route {

using nlohmann::json;

std::string_view SilenceStateString(SilenceState s) {
  switch (s) {
    case SilenceState::kPending: return "pending";
    case SilenceState::kActive: return "active";
    case SilenceState::kExpired: return "expired";
  }
  return "?";
}

SilenceState StateAt(const Silence& s, WallTime now) {
  if (now < s.starts_at) return SilenceState::kPending;
  if (now < s.ends_at) return SilenceState::kActive;
  return SilenceState::kExpired;
}

Status ValidateSilence(const Silence& s) {
  if (s.matchers.empty()) return Status::InvalidArgument("matchers: at least one matcher is required");
  const bool narrows = std::any_of(s.matchers.begin(), s.matchers.end(),
                                   [](const Matcher& m) { return !m.MatchesValue(""); });
  if (!narrows) {
    return Status::InvalidArgument(
        "matchers: at least one matcher must not match the empty string (this silence would "
        "mute every alert)");
  }
  if (s.ends_at < s.starts_at) return Status::InvalidArgument("endsAt: must not be before startsAt");
  if (s.created_by.empty()) return Status::InvalidArgument("createdBy: the author is required");
  if (s.comment.empty()) return Status::InvalidArgument("comment: a comment is required");
  return Status::Ok();
}

std::string FormatRfc3339(WallTime t) {
  const int64_t ms = ToUnixMillis(t);
  int64_t secs = ms / 1000;
  int64_t frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    secs -= 1;
  }
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(frac));
  return buf;
}

Result<WallTime> ParseRfc3339(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("expected an RFC 3339 time like 2024-05-01T12:00:00Z, got '" +
                                   std::string(text) + "'");
  };
  const std::string s(text);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0, n = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 ||
      n != 19) {
    return bad();
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return bad();
  size_t i = 19;
  int64_t ms = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 3) ms = ms * 10 + (s[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0) return bad();
    for (int k = digits; k < 3; ++k) ms *= 10;
  }
  int64_t offset_s = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59) return bad();
    offset_s = (oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return bad();
  }
  if (i != s.size()) return bad();
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  const int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset_s;
  return FromUnixMillis(secs * 1000 + ms);
}

std::string SilenceToJson(const Silence& s) {
  json ms = json::array();
  for (const auto& m : s.matchers) {
    ms.push_back({{"name", m.name()},
                  {"value", m.value()},
                  {"isRegex", m.is_regex()},
                  {"isEqual", !m.is_negative()}});
  }
  json j = {{"id", s.id},
            {"matchers", ms},
            {"startsAt", FormatRfc3339(s.starts_at)},
            {"endsAt", FormatRfc3339(s.ends_at)},
            {"updatedAt", FormatRfc3339(s.updated_at)},
            {"createdBy", s.created_by},
            {"comment", s.comment}};
  return j.dump();
}

namespace {

Result<std::string> StringField(const json& j, const char* name, bool required) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) {
    if (required) return Status::InvalidArgument(std::string(name) + ": required but missing");
    return std::string();
  }
  if (!it->is_string()) return Status::InvalidArgument(std::string(name) + ": expected a string");
  return it->get<std::string>();
}

Result<WallTime> TimeField(const json& j, const char* name, bool required) {
  auto s = StringField(j, name, required);
  if (!s.ok()) return s.status();
  if (s->empty()) return WallTime{};
  auto t = ParseRfc3339(*s);
  if (!t.ok()) return Status::InvalidArgument(std::string(name) + ": " + t.status().message());
  return t;
}

Result<Silence> FromJsonValue(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("silence: expected a JSON object");
  Silence s;
  auto id = StringField(j, "id", false);
  if (!id.ok()) return id.status();
  s.id = *id;
  auto ms = j.find("matchers");
  if (ms == j.end() || !ms->is_array()) {
    return Status::InvalidArgument("matchers: expected an array of matchers");
  }
  for (size_t i = 0; i < ms->size(); ++i) {
    const json& m = (*ms)[i];
    const std::string where = "matchers[" + std::to_string(i) + "]";
    if (!m.is_object()) return Status::InvalidArgument(where + ": expected an object");
    auto name = StringField(m, "name", true);
    auto value = StringField(m, "value", true);
    if (!name.ok()) return Status::InvalidArgument(where + "." + name.status().message());
    if (!value.ok()) return Status::InvalidArgument(where + "." + value.status().message());
    auto flag = [&](const char* key, bool dflt) -> Result<bool> {
      auto it = m.find(key);
      if (it == m.end() || it->is_null()) return dflt;
      if (!it->is_boolean()) return Status::InvalidArgument(where + "." + key + ": expected true or false");
      return it->get<bool>();
    };
    auto is_regex = flag("isRegex", false);
    auto is_equal = flag("isEqual", true);  // absent in Alertmanager before 0.22
    if (!is_regex.ok()) return is_regex.status();
    if (!is_equal.ok()) return is_equal.status();
    const MatchType type = *is_regex ? (*is_equal ? MatchType::kRegex : MatchType::kNotRegex)
                                     : (*is_equal ? MatchType::kEqual : MatchType::kNotEqual);
    auto matcher = Matcher::Make(type, *name, *value);
    if (!matcher.ok()) return Status::InvalidArgument(where + ": " + matcher.status().message());
    s.matchers.push_back(std::move(matcher).value());
  }
  auto starts = TimeField(j, "startsAt", true);
  auto ends = TimeField(j, "endsAt", true);
  auto updated = TimeField(j, "updatedAt", false);
  for (const auto* t : {&starts, &ends, &updated}) {
    if (!t->ok()) return t->status();
  }
  s.starts_at = *starts;
  s.ends_at = *ends;
  s.updated_at = *updated;
  auto by = StringField(j, "createdBy", true);
  auto comment = StringField(j, "comment", true);
  if (!by.ok()) return by.status();
  if (!comment.ok()) return comment.status();
  s.created_by = *by;
  s.comment = *comment;
  Status v = ValidateSilence(s);
  if (!v.ok()) return v;
  return s;
}

}  // namespace

Result<Silence> SilenceFromJson(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("silence: not valid JSON");
  return FromJsonValue(j);
}

Result<std::string> RandomSilenceId() {
  std::array<uint8_t, 16> b{};
  Status s = crypto::FillRandom(b);
  if (!s.ok()) return s;
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return std::string(out);
}

Silencer::Silencer(IdGenerator ids) : ids_(std::move(ids)) {}

Result<std::string> Silencer::Set(Silence s, WallTime now) {
  if (!s.id.empty()) {
    auto it = silences_.find(s.id);
    if (it == silences_.end()) return Status::NotFound("silence '" + s.id + "' not found");
    Silence& old = it->second;
    const SilenceState state = StateAt(old, now);
    bool in_place = false;
    if (old.matchers == s.matchers) {
      if (state == SilenceState::kPending) in_place = s.starts_at >= now;
      if (state == SilenceState::kActive) in_place = s.starts_at == old.starts_at;
    }
    if (in_place) {
      Status v = ValidateSilence(s);
      if (!v.ok()) return v;
      if (s.ends_at <= now) return Status::InvalidArgument("endsAt: must be in the future");
      s.updated_at = now;
      old = s;
      return s.id;
    }
  }
  // A new silence (possibly replacing an existing one, expired below).
  if (s.ends_at <= now) return Status::InvalidArgument("endsAt: must be in the future");
  if (s.starts_at < now) s.starts_at = now;
  Status v = ValidateSilence(s);
  if (!v.ok()) return v;
  if (!s.id.empty() && StateAt(silences_.at(s.id), now) != SilenceState::kExpired) {
    Status e = Expire(s.id, now);
    if (!e.ok()) return e;
  }
  auto id = ids_();
  if (!id.ok()) return id.status();
  if (silences_.count(*id)) return Status::InvalidArgument("silence id '" + *id + "' already in use");
  s.id = *id;
  s.updated_at = now;
  silences_.emplace(s.id, s);
  return s.id;
}

Status Silencer::Expire(const std::string& id, WallTime now) {
  auto it = silences_.find(id);
  if (it == silences_.end()) return Status::NotFound("silence '" + id + "' not found");
  Silence& s = it->second;
  switch (StateAt(s, now)) {
    case SilenceState::kExpired:
      return Status::InvalidArgument("silence '" + id + "' already expired");
    case SilenceState::kPending:
      s.starts_at = now;
      s.ends_at = now;
      break;
    case SilenceState::kActive:
      s.ends_at = now;
      break;
  }
  s.updated_at = now;
  return Status::Ok();
}

Result<bool> Silencer::Merge(const Silence& s) {
  if (s.id.empty()) return Status::InvalidArgument("id: required to merge a silence");
  Status v = ValidateSilence(s);
  if (!v.ok()) return v;
  auto it = silences_.find(s.id);
  if (it != silences_.end() && it->second.updated_at >= s.updated_at) return false;
  silences_[s.id] = s;
  return true;
}

Result<Silence> Silencer::Get(const std::string& id) const {
  auto it = silences_.find(id);
  if (it == silences_.end()) return Status::NotFound("silence '" + id + "' not found");
  return it->second;
}

std::vector<Silence> Silencer::List() const {
  std::vector<Silence> out;
  out.reserve(silences_.size());
  for (const auto& [id, s] : silences_) out.push_back(s);
  std::stable_sort(out.begin(), out.end(),
                   [](const Silence& a, const Silence& b) { return a.starts_at < b.starts_at; });
  return out;
}

bool Silencer::Mutes(const LabelSet& labels, WallTime now) const {
  for (const auto& [id, s] : silences_) {
    if (StateAt(s, now) == SilenceState::kActive && MatchesAll(s.matchers, labels)) return true;
  }
  return false;
}

std::vector<std::string> Silencer::MutedBy(const LabelSet& labels, WallTime now) const {
  std::vector<std::string> out;
  for (const auto& [id, s] : silences_) {
    if (StateAt(s, now) == SilenceState::kActive && MatchesAll(s.matchers, labels)) out.push_back(id);
  }
  return out;
}

size_t Silencer::Gc(WallTime now, Duration retention) {
  return std::erase_if(silences_, [&](const auto& kv) { return kv.second.ends_at + retention <= now; });
}

}  // namespace firewatch::alerting::route
