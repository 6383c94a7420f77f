#include "checks/check_config.h"

#include <date/tz.h>

#include <set>

#include "cron/cron.h"

namespace firewatch::collector {
namespace {

using std::chrono::milliseconds;

int64_t Ms(Duration d) {
  return std::chrono::duration_cast<milliseconds>(d).count();
}

// "every `period`": due one period after the last ping (healthchecks' "timeout").
class PeriodPolicy final : public DeadlinePolicy {
 public:
  PeriodPolicy(Duration period, Duration grace) : period_(Ms(period)), grace_(Ms(grace)) {}
  std::optional<int64_t> NextDueMs(int64_t last_ms) const override { return last_ms + period_; }
  int64_t grace_ms() const override { return grace_; }
  uint32_t period_ms() const override { return static_cast<uint32_t>(period_); }

 private:
  int64_t period_;
  int64_t grace_;
};

// A cron schedule: due at the first fire time after the last ping (healthchecks' rule).
class CronPolicy final : public DeadlinePolicy {
 public:
  CronPolicy(cron::Expression e, const date::time_zone* zone, Duration grace)
      : expr_(std::move(e)), zone_(zone), grace_(Ms(grace)) {}
  std::optional<int64_t> NextDueMs(int64_t last_ms) const override {
    auto t = expr_.Next(FromUnixMillis(last_ms), zone_);
    if (!t) return std::nullopt;
    return ToUnixMillis(*t);
  }
  int64_t grace_ms() const override { return grace_; }
  uint32_t period_ms() const override { return 0; }

 private:
  cron::Expression expr_;
  const date::time_zone* zone_;
  int64_t grace_;
};

bool OnlyChars(const std::string& s, std::string_view extra) {
  for (char c : s) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || extra.find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool ValidPingKey(const std::string& k) {
  if (k.size() < 16 || k.size() > 64) return false;
  for (char c : k) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> CanonicalUuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::string out(text);
  for (size_t i = 0; i < out.size(); ++i) {
    char& c = out[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return std::nullopt;
      continue;
    }
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return out;
}

void ReadChecksConfig(config::MapReader& top, ChecksConfig& out) {
  config::Errors& errors = top.errors();
  YAML::Node node = top.Node("checks");
  if (!node.IsDefined() || node.IsNull()) return;
  config::MapReader r(errors, node, "checks");
  r.String("ping_key", out.ping_key);
  r.Uint("pings_per_minute", out.pings_per_minute, 1, 100'000);
  YAML::Node jobs = r.Node("jobs");
  if (!out.ping_key.empty() && !ValidPingKey(out.ping_key)) {
    errors.At(node, "checks.ping_key: expected 16 to 64 letters, digits, '-' or '_'");
  }
  if (jobs.IsDefined() && !jobs.IsNull()) {
    if (!jobs.IsSequence()) {
      errors.At(jobs, "checks.jobs: expected a list of checks");
    } else if (jobs.size() > kMaxChecks) {
      errors.At(jobs, "checks.jobs: more than " + std::to_string(kMaxChecks) + " checks");
    } else {
      std::set<std::string> names, uuids, slugs;
      for (size_t i = 0; i < jobs.size(); ++i) {
        const std::string path = "checks.jobs[" + std::to_string(i) + "]";
        config::MapReader j(errors, jobs[i], path);
        CheckSpec c;
        std::string uuid;
        j.String("name", c.name, true);
        j.String("uuid", uuid, true);
        j.String("slug", c.slug);
        j.Duration("period", c.period, std::chrono::seconds(1), std::chrono::hours(24 * 366));
        j.String("schedule", c.schedule);
        j.String("tz", c.tz);
        j.Duration("grace", c.grace, std::chrono::seconds(1), std::chrono::hours(24 * 366));
        j.StringMap("labels", c.labels);
        const bool has_period = j.Has("period"), has_schedule = j.Has("schedule");
        const bool has_tz = j.Has("tz");
        j.Finish();
        if (!j.valid()) continue;
        const YAML::Node& at = jobs[i];
        if (c.name.empty() || c.name.size() > 64 || !OnlyChars(c.name, "._-")) {
          errors.At(at, path + ".name: expected 1 to 64 of a-z, 0-9, '.', '_' or '-'");
        } else if (!names.insert(c.name).second) {
          errors.At(at, path + ".name: '" + c.name + "' is used by another check");
        }
        if (auto u = CanonicalUuid(uuid)) {
          c.uuid = *u;
          if (!uuids.insert(c.uuid).second) {
            errors.At(at, path + ".uuid: used by another check");
          }
        } else {
          errors.At(at, path +
                            ".uuid: expected a UUID like 5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278 "
                            "(generate one with `uuidgen -r`)");
        }
        if (!c.slug.empty()) {
          if (c.slug.size() > 100 || !OnlyChars(c.slug, "_-")) {
            errors.At(at, path + ".slug: expected 1 to 100 of a-z, 0-9, '_' or '-'");
          } else if (!slugs.insert(c.slug).second) {
            errors.At(at, path + ".slug: '" + c.slug + "' is used by another check");
          } else if (out.ping_key.empty()) {
            errors.At(
                at, path + ".slug: needs checks.ping_key (slug URLs are /ping/<ping_key>/<slug>)");
          }
        }
        if (has_period == has_schedule) {
          errors.At(at, path + ": needs exactly one of `period` (e.g. 1h) or `schedule` (cron)");
          continue;
        }
        if (has_tz && !has_schedule) {
          errors.At(at, path + ".tz: only applies to a `schedule`");
        }
        if (has_period) {
          c.policy = std::make_shared<PeriodPolicy>(c.period, c.grace);
        } else {
          auto e = cron::Expression::Parse(c.schedule);
          const date::time_zone* zone = nullptr;
          try {
            zone = date::locate_zone(c.tz);
          } catch (const std::exception&) {
            errors.At(at, path + ".tz: unknown time zone '" + c.tz + "'");
          }
          if (!e.ok()) {
            errors.At(at, path + ".schedule: " + e.status().message());
          } else if (zone != nullptr) {
            c.policy = std::make_shared<CronPolicy>(std::move(e).value(), zone, c.grace);
          }
        }
        if (c.policy) out.jobs.push_back(std::move(c));
      }
    }
  }
  r.Finish();
}

std::vector<DeadlineSource> DeadlineSourcesOf(const ChecksConfig& checks) {
  std::vector<DeadlineSource> out;
  out.reserve(checks.jobs.size());
  for (const auto& c : checks.jobs) {
    std::map<std::string, std::string> labels = c.labels;
    labels["check"] = c.name;
    out.push_back({c.source_id(), protocol::Labels(labels.begin(), labels.end()), c.policy});
  }
  return out;
}

}  // namespace firewatch::collector
