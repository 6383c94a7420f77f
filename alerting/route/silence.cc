#include "route/silence.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>

#include "firewatch/random_id.h"
#include "firewatch/text/rfc3339.h"

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

bool IsBroad(const Matchers& ms) {
  return std::none_of(ms.begin(), ms.end(), [](const Matcher& m) {
    return m.name() != "alertname" && m.IsSelective();
  });
}

namespace {

bool ValidId(std::string_view id, size_t max) {
  if (id.empty() || id.size() > max) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.';
  });
}

bool InRange(WallTime t) {
  const int64_t ms = ToUnixMillis(t);
  return ms >= kMinSilenceUnixMs && ms <= kMaxSilenceUnixMs;
}

Status TooLong(const char* field, size_t size, size_t limit) {
  return Status::InvalidArgument(std::string(field) + ": " + std::to_string(size) +
                                 " bytes; the limit is " + std::to_string(limit));
}

}  // namespace

Status ValidateSilence(const Silence& s, const SilenceLimits& limits) {
  if (!s.id.empty() && !ValidId(s.id, limits.max_id_bytes)) {
    return Status::InvalidArgument("id: want 1 to " + std::to_string(limits.max_id_bytes) +
                                   " letters, digits, '-', '_' or '.'");
  }
  if (s.matchers.empty()) return Status::InvalidArgument("matchers: at least one matcher is required");
  if (s.matchers.size() > limits.max_matchers) {
    return Status::InvalidArgument("matchers: " + std::to_string(s.matchers.size()) +
                                   " matchers; the limit is " +
                                   std::to_string(limits.max_matchers) + " per silence");
  }
  for (const WallTime t : {s.starts_at, s.ends_at, s.updated_at}) {
    if (!InRange(t)) {
      return Status::InvalidArgument("startsAt/endsAt/updatedAt: times must be between 1970 and 2199");
    }
  }
  if (s.ends_at < s.starts_at) return Status::InvalidArgument("endsAt: must not be before startsAt");
  if (s.created_by.empty()) return Status::InvalidArgument("createdBy: the author is required");
  if (s.created_by.size() > limits.max_created_by_bytes) {
    return TooLong("createdBy", s.created_by.size(), limits.max_created_by_bytes);
  }
  if (s.comment.empty()) return Status::InvalidArgument("comment: a comment is required");
  if (s.comment.size() > limits.max_comment_bytes) {
    return TooLong("comment", s.comment.size(), limits.max_comment_bytes);
  }
  if (!s.force && IsBroad(s.matchers)) {
    return Status::InvalidArgument(
        "matchers: " + MatchersString(s.matchers) +
        " is broad: it would mute this kind of alert for every source. A silence needs a "
        "matcher that pins a label other than alertname to specific values (name=\"value\", "
        "or name=~\"regex\" whose matches all contain a literal of 2+ characters, e.g. "
        "source=\"web-1\", dc=~\"dc1.*\"). To mute this broadly on purpose, an operator "
        "sets \"force\": true (firewatchctl silence add --force)");
  }
  return Status::Ok();
}

Result<WallTime> ParseSilenceTime(std::string_view text) {
  const auto unix_ms = text::ParseRfc3339(text);
  if (!unix_ms || *unix_ms < kMinSilenceUnixMs || *unix_ms > kMaxSilenceUnixMs) {
    return Status::InvalidArgument("expected an RFC 3339 time like 2024-05-01T12:00:00Z, got '" +
                                   std::string(text) + "'");
  }
  return FromUnixMillis(*unix_ms);
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
            {"startsAt", text::FormatRfc3339(ToUnixMillis(s.starts_at))},
            {"endsAt", text::FormatRfc3339(ToUnixMillis(s.ends_at))},
            {"updatedAt", text::FormatRfc3339(ToUnixMillis(s.updated_at))},
            {"createdBy", s.created_by},
            {"comment", s.comment}};
  if (s.force) j["force"] = true;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
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
  auto t = ParseSilenceTime(*s);
  if (!t.ok()) return Status::InvalidArgument(std::string(name) + ": " + t.status().message());
  return t;
}

Result<Silence> FromJsonValue(const json& j, const SilenceLimits& limits) {
  if (!j.is_object()) return Status::InvalidArgument("silence: expected a JSON object");
  Silence s;
  auto id = StringField(j, "id", false);
  if (!id.ok()) return id.status();
  s.id = *id;
  auto ms = j.find("matchers");
  if (ms == j.end() || !ms->is_array()) {
    return Status::InvalidArgument("matchers: expected an array of matchers");
  }
  if (ms->size() > limits.max_matchers) {  // before compiling any of them
    return Status::InvalidArgument("matchers: " + std::to_string(ms->size()) +
                                   " matchers; the limit is " +
                                   std::to_string(limits.max_matchers) + " per silence");
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
  if (auto f = j.find("force"); f != j.end() && !f->is_null()) {
    if (!f->is_boolean()) return Status::InvalidArgument("force: expected true or false");
    s.force = f->get<bool>();
  }
  Status v = ValidateSilence(s, limits);
  if (!v.ok()) return v;
  return s;
}

}  // namespace

Result<Silence> SilenceFromJson(std::string_view text, const SilenceLimits& limits) {
  if (text.size() > kMaxSilenceJsonBytes) {
    return Status::InvalidArgument("silence: " + std::to_string(text.size()) +
                                   " bytes of JSON; the limit is " +
                                   std::to_string(kMaxSilenceJsonBytes));
  }
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("silence: not valid JSON");
  return FromJsonValue(j, limits);
}

Result<Silence> SilenceFromJsonValue(const json& value, const SilenceLimits& limits) {
  return FromJsonValue(value, limits);
}

std::string RandomSilenceId() {
  return RandomUuidV4();
}

// ---------------------------------------------------------------- snapshot

SilenceSnapshot::SilenceSnapshot(std::vector<std::shared_ptr<const Silence>> silences) {
  entries_.reserve(silences.size());
  for (auto& s : silences) {
    Entry e;
    e.silence = std::move(s);
    for (const auto& m : e.silence->matchers) e.order.push_back(&m);
    std::stable_sort(e.order.begin(), e.order.end(), [](const Matcher* a, const Matcher* b) {
      return a->Cost() < b->Cost();
    });
    entries_.push_back(std::move(e));
  }
}

bool SilenceSnapshot::Matches(const Entry& e, const LabelSet& labels, WallTime now) const {
  if (StateAt(*e.silence, now) != SilenceState::kActive) return false;
  return std::all_of(e.order.begin(), e.order.end(),
                     [&](const Matcher* m) { return m->Matches(labels); });
}

bool SilenceSnapshot::Mutes(const LabelSet& labels, WallTime now) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const Entry& e) { return Matches(e, labels, now); });
}

std::vector<std::string> SilenceSnapshot::MutedBy(const LabelSet& labels, WallTime now) const {
  std::vector<std::string> out;
  for (const auto& e : entries_) {
    if (Matches(e, labels, now)) out.push_back(e.silence->id);
  }
  return out;  // entries_ are by id
}

// ---------------------------------------------------------------- silencer

Silencer::Silencer(IdGenerator ids, SilenceLimits limits)
    : ids_(std::move(ids)), limits_(limits), snapshot_(std::make_shared<SilenceSnapshot>()) {}

size_t Silencer::LiveCountLocked(WallTime now) const {
  return static_cast<size_t>(std::count_if(silences_.begin(), silences_.end(), [&](const auto& kv) {
    return StateAt(*kv.second, now) != SilenceState::kExpired;
  }));
}

void Silencer::PublishLocked(WallTime now) {
  // Every silence not expired at `now`: a pending one becomes active without a write, so
  // it must be in the snapshot already. Expired ones can never mute again.
  std::vector<std::shared_ptr<const Silence>> live;
  for (const auto& [id, s] : silences_) {
    if (StateAt(*s, now) != SilenceState::kExpired) live.push_back(s);
  }
  auto next = std::make_shared<const SilenceSnapshot>(std::move(live));
  MutexLock lock(snapshot_mu_);
  snapshot_ = std::move(next);
}

std::shared_ptr<const SilenceSnapshot> Silencer::Snapshot() const {
  MutexLock lock(snapshot_mu_);
  return snapshot_;
}

Result<std::string> Silencer::Set(Silence s, WallTime now, std::vector<Silence>* changed) {
  MutexLock lock(mu_);
  std::shared_ptr<const Silence> old;
  if (!s.id.empty()) {
    auto it = silences_.find(s.id);
    if (it == silences_.end()) return Status::NotFound("silence '" + s.id + "' not found");
    old = it->second;
    const SilenceState state = StateAt(*old, now);
    bool in_place = false;
    if (old->matchers == s.matchers) {
      if (state == SilenceState::kPending) in_place = s.starts_at >= now;
      if (state == SilenceState::kActive) in_place = s.starts_at == old->starts_at;
    }
    if (in_place) {
      if (s.ends_at <= now) return Status::InvalidArgument("endsAt: must be in the future");
      s.updated_at = now;
      Status v = ValidateSilence(s, limits_);
      if (!v.ok()) return v;
      it->second = std::make_shared<const Silence>(s);
      if (changed) changed->push_back(s);
      PublishLocked(now);
      return s.id;
    }
  }
  // A new silence (possibly replacing an existing one, expired below).
  if (s.ends_at <= now) return Status::InvalidArgument("endsAt: must be in the future");
  if (s.starts_at < now) s.starts_at = now;
  s.updated_at = now;
  const std::string replaces = s.id;
  s.id.clear();  // the new one gets a fresh id
  Status v = ValidateSilence(s, limits_);
  if (!v.ok()) return v;
  const bool replaces_live = old && StateAt(*old, now) != SilenceState::kExpired;
  if (!replaces_live && LiveCountLocked(now) >= limits_.max_live) {
    return Status::InvalidArgument("silences: " + std::to_string(limits_.max_live) +
                                   " active or pending silences already (the limit); expire "
                                   "some first");
  }
  const std::string id = ids_();
  if (!ValidId(id, limits_.max_id_bytes) || silences_.count(id)) {
    return Status::InvalidArgument("silence id '" + id + "' unusable or already in use");
  }
  if (replaces_live) {
    Silence ended = *old;
    if (StateAt(ended, now) == SilenceState::kPending) ended.starts_at = now;
    ended.ends_at = now;
    ended.updated_at = now;
    silences_[replaces] = std::make_shared<const Silence>(ended);
    if (changed) changed->push_back(ended);
  }
  s.id = id;
  silences_.emplace(s.id, std::make_shared<const Silence>(s));
  if (changed) changed->push_back(s);
  PublishLocked(now);
  return s.id;
}

Status Silencer::Expire(const std::string& id, WallTime now) {
  MutexLock lock(mu_);
  auto it = silences_.find(id);
  if (it == silences_.end()) return Status::NotFound("silence '" + id + "' not found");
  Silence s = *it->second;
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
  it->second = std::make_shared<const Silence>(std::move(s));
  PublishLocked(now);
  return Status::Ok();
}

MergeOutcome Silencer::MergeAll(const std::vector<Silence>& silences, WallTime now) {
  MergeOutcome out;
  MutexLock lock(mu_);
  size_t live = LiveCountLocked(now);
  for (const Silence& s : silences) {
    if (s.id.empty()) {
      out.refused.emplace_back("", Status::InvalidArgument("id: required to merge a silence"));
      continue;
    }
    if (Status v = ValidateSilence(s, limits_); !v.ok()) {
      out.refused.emplace_back(s.id, v);
      continue;
    }
    auto it = silences_.find(s.id);
    if (it != silences_.end() && it->second->updated_at >= s.updated_at) continue;
    const bool is_live = StateAt(s, now) != SilenceState::kExpired;
    // Long expired: already dropped here (Gc), so taking it again would only churn.
    if (!is_live && s.ends_at + limits_.retention <= now) continue;
    const bool was_live = it != silences_.end() && StateAt(*it->second, now) != SilenceState::kExpired;
    if (is_live && !was_live && live >= limits_.max_live) {
      out.refused.emplace_back(
          s.id, Status::InvalidArgument("silences: " + std::to_string(limits_.max_live) +
                                        " active or pending silences already (the limit)"));
      continue;
    }
    live = live + (is_live ? 1 : 0) - (was_live ? 1 : 0);
    silences_[s.id] = std::make_shared<const Silence>(s);
    out.changed.push_back(s);
  }
  out.dropped = PruneExpiredLocked(now, limits_.retention);
  if (!out.changed.empty() || !out.dropped.empty()) PublishLocked(now);
  // A silence taken and dropped in the same call is not reported as changed.
  if (!out.dropped.empty()) {
    std::erase_if(out.changed,
                  [&](const Silence& s) FW_REQUIRES(mu_) { return !silences_.count(s.id); });
  }
  return out;
}

Result<bool> Silencer::Merge(const Silence& s, WallTime now) {
  MergeOutcome o = MergeAll({s}, now);
  if (!o.refused.empty()) return o.refused.front().second;
  return !o.changed.empty();
}

Result<Silence> Silencer::Get(const std::string& id) const {
  MutexLock lock(mu_);
  auto it = silences_.find(id);
  if (it == silences_.end()) return Status::NotFound("silence '" + id + "' not found");
  return *it->second;
}

std::vector<Silence> Silencer::List() const {
  std::vector<Silence> out;
  {
    MutexLock lock(mu_);
    out.reserve(silences_.size());
    for (const auto& [id, s] : silences_) out.push_back(*s);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Silence& a, const Silence& b) { return a.starts_at < b.starts_at; });
  return out;
}

std::map<SilenceState, size_t> Silencer::Count(WallTime now) const {
  std::map<SilenceState, size_t> out{
      {SilenceState::kPending, 0}, {SilenceState::kActive, 0}, {SilenceState::kExpired, 0}};
  MutexLock lock(mu_);
  for (const auto& [id, s] : silences_) ++out[StateAt(*s, now)];
  return out;
}

bool Silencer::Mutes(const LabelSet& labels, WallTime now) const {
  return Snapshot()->Mutes(labels, now);
}

std::vector<std::string> Silencer::MutedBy(const LabelSet& labels, WallTime now) const {
  return Snapshot()->MutedBy(labels, now);
}

std::vector<std::string> Silencer::PruneExpiredLocked(WallTime now, Duration retention) {
  std::vector<std::string> dropped;
  std::vector<std::pair<WallTime, std::string>> expired;  // (ends_at, id)
  for (auto it = silences_.begin(); it != silences_.end();) {
    const Silence& s = *it->second;
    if (StateAt(s, now) != SilenceState::kExpired) {
      ++it;
    } else if (s.ends_at + retention <= now) {
      dropped.push_back(it->first);
      it = silences_.erase(it);
    } else {
      expired.emplace_back(s.ends_at, it->first);
      ++it;
    }
  }
  if (expired.size() > limits_.max_expired) {
    std::sort(expired.begin(), expired.end());
    for (size_t i = 0; i < expired.size() - limits_.max_expired; ++i) {
      silences_.erase(expired[i].second);
      dropped.push_back(expired[i].second);
    }
  }
  return dropped;
}

std::vector<std::string> Silencer::Gc(WallTime now, Duration retention) {
  MutexLock lock(mu_);
  auto dropped = PruneExpiredLocked(now, retention);
  if (!dropped.empty()) PublishLocked(now);
  return dropped;
}

}  // namespace firewatch::alerting::route
