#include "schedule/oncall_config.h"

#include <chrono>
#include <optional>
#include <utility>
#include <vector>

namespace firewatch::alerting::schedule {
namespace {

using config::Errors;
using config::MapReader;
using namespace std::chrono_literals;

std::string Index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// A scalar under `key` of the mapping `m` reads, with its node for line numbers.
// nullopt (and an error when required or not a scalar) when it cannot be used.
struct Field {
  std::string text;
  YAML::Node node;
};
std::optional<Field> ScalarField(MapReader& m, const YAML::Node& map, const std::string& key,
                                 bool required) {
  YAML::Node n = m.Node(key);
  if (!n.IsDefined() || n.IsNull()) {
    if (required && m.valid()) m.errors().At(map, m.PathOf(key) + ": required but missing");
    return std::nullopt;
  }
  if (!n.IsScalar()) {
    m.errors().At(n, m.PathOf(key) + ": expected a string");
    return std::nullopt;
  }
  return Field{n.Scalar(), n};
}

// A list of names under `key`; each entry is passed to `check(name, node, path)`.
// Records "required" / "expected a list of names" / "must not be empty" errors.
template <typename Check>
std::vector<std::string> NameList(MapReader& m, const YAML::Node& map, const std::string& key,
                                  Check check) {
  std::vector<std::string> out;
  YAML::Node n = m.Node(key);
  const std::string path = m.PathOf(key);
  if (!n.IsDefined() || n.IsNull()) {
    if (m.valid()) m.errors().At(map, path + ": required but missing");
    return out;
  }
  if (!n.IsSequence()) {
    m.errors().At(n, path + ": expected a list of names");
    return out;
  }
  if (n.size() == 0) m.errors().At(n, path + ": must not be empty");
  for (size_t i = 0; i < n.size(); ++i) {
    const YAML::Node item = n[i];
    if (!item.IsScalar() || item.Scalar().empty()) {
      m.errors().At(item, Index(path, i) + ": expected a name");
      continue;
    }
    if (check(item.Scalar(), item, Index(path, i))) out.push_back(item.Scalar());
  }
  return out;
}

// The entries of an optional list under `key` (an error when it is not a list).
std::vector<YAML::Node> ListField(MapReader& m, const std::string& key) {
  std::vector<YAML::Node> out;
  YAML::Node n = m.Node(key);
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsSequence()) {
    m.errors().At(n, m.PathOf(key) + ": expected a list");
    return out;
  }
  for (size_t i = 0; i < n.size(); ++i) out.push_back(n[i]);
  return out;
}

// A scalar field parsed by `parse`; its error is reported at the field.
template <typename T>
std::optional<T> ParsedField(MapReader& m, const YAML::Node& map, const std::string& key,
                             bool required, Result<T> (*parse)(std::string_view)) {
  auto f = ScalarField(m, map, key, required);
  if (!f) return std::nullopt;
  auto parsed = parse(f->text);
  if (!parsed.ok()) {
    m.errors().At(f->node, m.PathOf(key) + ": " + parsed.status().message());
    return std::nullopt;
  }
  return *parsed;
}

std::optional<Zone> ZoneField(MapReader& m, const YAML::Node& map, const std::string& key,
                              bool required) {
  return ParsedField(m, map, key, required, FindZone);
}

std::optional<DateTime> DateTimeField(MapReader& m, const YAML::Node& map, const std::string& key,
                                      bool required) {
  return ParsedField(m, map, key, required, ParseDateTime);
}

class Reader {
 public:
  Reader(Errors& errors, const KnownNames& known) : errors_(errors), known_(known) {}

  bool KnownContact(const std::string& name, const YAML::Node& node, const std::string& path) {
    if (known_.contacts.count(name)) return true;
    errors_.At(node, path + ": undefined contact '" + name + "'");
    return false;
  }

  void Schedules(MapReader& top, ScheduleSet& out) {
    const std::string base = top.PathOf("schedules");
    const std::vector<YAML::Node> items = ListField(top, "schedules");
    for (size_t i = 0; i < items.size(); ++i) {
      Schedule s;
      if (ReadSchedule(items[i], Index(base, i), s) && !out.count(s.name)) {
        out.emplace(s.name, std::move(s));
      }
    }
  }

  void Policies(MapReader& top, PolicySet& out) {
    const std::string base = top.PathOf("escalation_policies");
    const std::vector<YAML::Node> items = ListField(top, "escalation_policies");
    for (size_t i = 0; i < items.size(); ++i) {
      EscalationPolicy p;
      if (ReadPolicy(items[i], Index(base, i), p) && !out.count(p.name)) {
        out.emplace(p.name, std::move(p));
      }
    }
  }

 private:
  bool ReadSchedule(const YAML::Node& node, const std::string& path, Schedule& s) {
    MapReader m(errors_, node, path);
    if (!m.valid()) return false;
    bool ok = true;
    if (auto name = ScalarField(m, node, "name", true)) {
      s.name = name->text;
      // Registered even when the rest is broken, so policies naming it get no extra error.
      if (!schedule_names_.insert(s.name).second) {
        errors_.At(name->node, m.PathOf("name") + ": schedule '" + s.name + "' is defined twice");
        ok = false;
      }
    } else {
      ok = false;
    }
    if (auto zone = ZoneField(m, node, "time_zone", true)) {
      s.zone = *zone;
    } else {
      ok = false;
    }
    const std::vector<YAML::Node> rotations = ListField(m, "rotations");
    if (rotations.empty() && m.valid()) {
      errors_.At(node, m.PathOf("rotations") + ": at least one rotation is required");
      ok = false;
    }
    for (size_t j = 0; j < rotations.size(); ++j) {
      Rotation r;
      r.name = "rotation-" + std::to_string(j + 1);
      r.zone = s.zone;
      if (ReadRotation(rotations[j], Index(m.PathOf("rotations"), j), r)) {
        s.rotations.push_back(std::move(r));
      } else {
        ok = false;
      }
    }
    const std::vector<YAML::Node> overrides = ListField(m, "overrides");
    for (size_t j = 0; j < overrides.size(); ++j) {
      Override o;
      if (ReadOverride(overrides[j], Index(m.PathOf("overrides"), j), s.zone, o)) {
        s.overrides.push_back(std::move(o));
      } else {
        ok = false;
      }
    }
    m.Finish();
    return ok;
  }

  // r.zone holds the schedule's zone (maybe null after an error) on entry.
  bool ReadRotation(const YAML::Node& node, const std::string& path, Rotation& r) {
    MapReader m(errors_, node, path);
    if (!m.valid()) return false;
    const size_t before = ErrorCount();
    m.String("name", r.name);
    r.members = NameList(m, node, "members", [&](const std::string& name, const YAML::Node& n,
                                                 const std::string& p) {
      return KnownContact(name, n, p);
    });
    if (m.Has("time_zone")) {
      auto zone = ZoneField(m, node, "time_zone", false);
      r.zone = zone ? *zone : nullptr;
    }
    auto start = DateTimeField(m, node, "start", true);
    auto handoff_field = ScalarField(m, node, "handoff", false);
    auto length_field = ScalarField(m, node, "length", true);
    auto end = DateTimeField(m, node, "end", false);
    m.Finish();

    if (length_field) {
      const std::string& l = length_field->text;
      if (l == "daily") {
        r.length = kDaily;
      } else if (l == "weekly") {
        r.length = kWeekly;
      } else {
        auto d = config::ParseDuration(l);
        if (!d.ok() || *d < 1h || *d > std::chrono::days(366) || *d % 1min != Duration(0)) {
          errors_.At(length_field->node,
                     m.PathOf("length") + ": expected daily, weekly or a whole number of "
                                          "minutes from 1h to 366d like 12h or 3d, got '" + l + "'");
        } else {
          r.length = std::chrono::duration_cast<std::chrono::minutes>(*d);
        }
      }
    }
    std::optional<std::chrono::minutes> handoff;
    if (handoff_field) {
      auto h = ParseTimeOfDay(handoff_field->text);
      if (!h.ok()) {
        errors_.At(handoff_field->node, m.PathOf("handoff") + ": " + h.status().message());
      } else {
        handoff = *h;
      }
    }
    if (start) {
      const std::string start_path = m.PathOf("start");
      const YAML::Node start_node = node["start"];
      if (start->utc_offset) {
        errors_.At(start_node, start_path + ": give the local time in the rotation's time "
                                            "zone, without an offset");
      } else if (start->has_time) {
        const auto tod = start->local - std::chrono::floor<std::chrono::days>(start->local);
        if (handoff && tod != *handoff) {
          errors_.At(handoff_field->node,
                     m.PathOf("handoff") + ": " + FormatTimeOfDay(*handoff) +
                         " differs from the time of day of start (" + start_node.Scalar() + ")");
        }
        r.start = start->local;
      } else if (!handoff) {
        if (!handoff_field) {
          errors_.At(node, m.PathOf("handoff") + ": required when start is a date without a time");
        }
      } else {
        r.start = start->local + *handoff;
      }
    }
    if (end) {
      const YAML::Node end_node = node["end"];
      if (end->utc_offset) {
        errors_.At(end_node, m.PathOf("end") + ": give the local time in the rotation's time "
                                               "zone, without an offset");
      } else if (start && end->local <= r.start) {
        errors_.At(end_node, m.PathOf("end") + ": must be after start");
      } else {
        r.end = end->local;
      }
    }
    return ErrorCount() == before && r.zone != nullptr && !r.members.empty();
  }

  bool ReadOverride(const YAML::Node& node, const std::string& path, Zone zone, Override& o) {
    MapReader m(errors_, node, path);
    if (!m.valid()) return false;
    const size_t before = ErrorCount();
    if (auto c = ScalarField(m, node, "contact", true)) {
      if (KnownContact(c->text, c->node, m.PathOf("contact"))) o.contact = c->text;
    }
    auto start = DateTimeField(m, node, "start", true);
    auto end = DateTimeField(m, node, "end", true);
    m.Finish();
    if (!start || !end) return false;
    if (zone == nullptr && (!start->utc_offset || !end->utc_offset)) return false;
    o.start = Resolve(*start, zone);
    o.end = Resolve(*end, zone);
    if (o.end <= o.start) {
      errors_.At(node["end"], m.PathOf("end") + ": must be after start");
    }
    return ErrorCount() == before;
  }

  bool ReadPolicy(const YAML::Node& node, const std::string& path, EscalationPolicy& p) {
    MapReader m(errors_, node, path);
    if (!m.valid()) return false;
    const size_t before = ErrorCount();
    if (auto name = ScalarField(m, node, "name", true)) {
      p.name = name->text;
      if (!policy_names_.insert(p.name).second) {
        errors_.At(name->node, m.PathOf("name") + ": escalation policy '" + p.name +
                                   "' is defined twice");
      }
    }
    uint64_t repeat = 0;
    m.Uint("repeat", repeat, 0, 100);
    p.repeat = static_cast<uint32_t>(repeat);
    const std::vector<YAML::Node> steps = ListField(m, "steps");
    if (steps.empty() && m.valid()) {
      errors_.At(node, m.PathOf("steps") + ": at least one step is required");
    }
    Duration cycle{};
    for (size_t j = 0; j < steps.size(); ++j) {
      EscalationStep step;
      if (ReadStep(steps[j], Index(m.PathOf("steps"), j), step)) {
        cycle += step.wait;
        p.steps.push_back(std::move(step));
      }
    }
    m.Finish();
    if (ErrorCount() == before && p.repeat > 0 && cycle < 1min) {
      errors_.At(node["repeat"],
                 m.PathOf("repeat") + ": a repeating policy needs its steps' waits to add up "
                                      "to at least 1m");
    }
    return ErrorCount() == before;
  }

  bool ReadStep(const YAML::Node& node, const std::string& path, EscalationStep& step) {
    MapReader m(errors_, node, path);
    if (!m.valid()) return false;
    const size_t before = ErrorCount();
    step.targets = NameList(m, node, "targets", [&](const std::string& name, const YAML::Node& n,
                                                    const std::string& p) {
      std::string_view t = name;
      if (t.substr(0, kScheduleTargetPrefix.size()) == kScheduleTargetPrefix) {
        const std::string sched(t.substr(kScheduleTargetPrefix.size()));
        if (schedule_names_.count(sched)) return true;
        errors_.At(n, p + ": undefined schedule '" + sched + "'");
        return false;
      }
      return KnownContact(name, n, p);
    });
    step.channels = NameList(m, node, "channels", [&](const std::string& name, const YAML::Node& n,
                                                      const std::string& p) {
      if (known_.channels.count(name)) return true;
      errors_.At(n, p + ": undefined channel '" + name + "'");
      return false;
    });
    m.Duration("wait", step.wait, Duration(0), std::chrono::days(7));
    m.Finish();
    return ErrorCount() == before;
  }

  // Errors has no count; the length of its joined messages only grows, which is enough
  // to tell whether reading one entry added any.
  size_t ErrorCount() const { return errors_.ToStatus().message().size(); }

  Errors& errors_;
  const KnownNames& known_;
  std::set<std::string, std::less<>> schedule_names_;
  std::set<std::string, std::less<>> policy_names_;
};

}  // namespace

void ReadOnCallConfig(config::MapReader& top, const KnownNames& known, OnCallConfig& out) {
  Reader reader(top.errors(), known);
  // Schedules first: policies refer to them.
  reader.Schedules(top, out.schedules);
  reader.Policies(top, out.escalation_policies);
}

namespace {
// The config in `root` (loaded from `name`), or every error in it.
template <typename Root>
Result<OnCallConfig> ReadOnCallRoot(const Root& root, const std::string& name,
                                    const KnownNames& known) {
  if (!root.ok()) return root.status();
  Errors errors(name);
  MapReader top(errors, *root, "");
  OnCallConfig out;
  ReadOnCallConfig(top, known, out);
  top.Finish();
  if (!errors.empty()) return errors.ToStatus();
  return out;
}
}  // namespace

Result<OnCallConfig> ParseOnCallConfig(const std::string& text, const std::string& name,
                                       const KnownNames& known) {
  return ReadOnCallRoot(config::LoadString(text, name), name, known);
}

Result<OnCallConfig> LoadOnCallConfig(const std::string& path, const KnownNames& known) {
  return ReadOnCallRoot(config::LoadFile(path), path, known);
}

}  // namespace firewatch::alerting::schedule
