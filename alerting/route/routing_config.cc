#include "route/routing_config.h"

#include <algorithm>
#include <chrono>
#include <optional>

namespace firewatch::alerting::route {

std::vector<std::pair<std::string, YAML::Node>> StringList(config::Errors& errors,
                                                           const YAML::Node& n,
                                                           const std::string& path) {
  std::vector<std::pair<std::string, YAML::Node>> out;
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsSequence()) {
    errors.At(n, path + ": expected a list of strings");
    return out;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) {
      errors.At(n[i], path + "[" + std::to_string(i) + "]: expected a string");
      continue;
    }
    out.emplace_back(n[i].Scalar(), n[i]);
  }
  return out;
}

Matchers ReadMatchers(config::Errors& errors, const YAML::Node& n, const std::string& path) {
  Matchers out;
  auto items = StringList(errors, n, path);
  for (size_t i = 0; i < items.size(); ++i) {
    auto m = ParseMatcher(items[i].first);
    if (!m.ok()) {
      errors.At(items[i].second, path + "[" + std::to_string(i) + "]: " + m.status().message());
      continue;
    }
    out.push_back(std::move(m).value());
  }
  return out;
}

namespace {

using namespace std::chrono_literals;
using config::Errors;
using config::MapReader;

std::vector<std::string> ReadLabelNames(Errors& errors, const YAML::Node& n, const std::string& path,
                                        bool allow_all) {
  std::vector<std::string> out;
  for (const auto& [name, node] : StringList(errors, n, path)) {
    if (allow_all && name == kGroupByAll) {
      if (n.size() != 1) errors.At(node, path + ": '...' (all labels) must be the only entry");
    } else if (!IsValidLabelName(name)) {
      errors.At(node, path + ": invalid label name '" + name + "'");
      continue;
    } else if (std::find(out.begin(), out.end(), name) != out.end()) {
      errors.At(node, path + ": duplicated label '" + name + "'");
      continue;
    }
    out.push_back(name);
  }
  return out;
}

// Alertmanager keys firewatch spells differently: name the replacement instead of
// reporting a bare "unknown key".
void Renamed(MapReader& r, const std::string& key, const std::string& hint) {
  if (!r.Has(key)) return;
  YAML::Node n = r.Node(key);
  r.errors().At(n, r.PathOf(key) + ": " + hint);
}

void OptionalDuration(MapReader& r, const std::string& key, std::optional<Duration>& out,
                      Duration min, Duration max) {
  if (!r.Has(key)) {
    r.Node(key);  // absent; keep unset so it is inherited
    return;
  }
  Duration d = Duration::min();
  r.Duration(key, d, min, max);
  if (d != Duration::min()) out = d;
}

void ReadRoute(Errors& errors, const YAML::Node& node, const std::string& path,
               const std::set<std::string>& policies, bool is_root, RouteSpec& out) {
  MapReader r(errors, node, path);
  if (!r.valid()) return;

  YAML::Node policy = r.Node("escalation_policy");
  if (policy.IsDefined() && !policy.IsNull()) {
    if (!policy.IsScalar() || policy.Scalar().empty()) {
      errors.At(policy, r.PathOf("escalation_policy") + ": expected the name of an escalation policy");
    } else if (!policies.count(policy.Scalar())) {
      errors.At(policy, r.PathOf("escalation_policy") + ": undefined escalation policy '" +
                            policy.Scalar() + "'");
    } else {
      out.escalation_policy = policy.Scalar();
    }
  } else if (is_root) {
    errors.At(node, r.PathOf("escalation_policy") + ": required on the root route");
  }
  Renamed(r, "receiver", "firewatch routes name an escalation_policy, not a receiver");
  Renamed(r, "match", "use matchers: ['name=\"value\"'] (match is not supported)");
  Renamed(r, "match_re", "use matchers: ['name=~\"regex\"'] (match_re is not supported)");

  YAML::Node matchers = r.Node("matchers");
  out.matchers = ReadMatchers(errors, matchers, r.PathOf("matchers"));
  if (is_root && !out.matchers.empty()) {
    errors.At(matchers, r.PathOf("matchers") + ": the root route matches every alert and must not have matchers");
  }
  YAML::Node group_by = r.Node("group_by");
  if (group_by.IsDefined() && !group_by.IsNull()) {
    out.group_by = ReadLabelNames(errors, group_by, r.PathOf("group_by"), /*allow_all=*/true);
  }
  OptionalDuration(r, "group_wait", out.group_wait, 0s, 24h);
  OptionalDuration(r, "group_interval", out.group_interval, 1s, 24h);
  OptionalDuration(r, "repeat_interval", out.repeat_interval, 1s, 24h * 30);
  if (r.Has("continue")) {
    YAML::Node c = node["continue"];
    r.Bool("continue", out.continue_matching);
    if (is_root && out.continue_matching) {
      errors.At(c, r.PathOf("continue") + ": cannot be set on the root route");
    }
  } else {
    r.Node("continue");
  }
  YAML::Node routes = r.Node("routes");
  if (routes.IsDefined() && !routes.IsNull()) {
    if (!routes.IsSequence()) {
      errors.At(routes, r.PathOf("routes") + ": expected a list of routes");
    } else {
      for (size_t i = 0; i < routes.size(); ++i) {
        RouteSpec child;
        ReadRoute(errors, routes[i], r.PathOf("routes") + "[" + std::to_string(i) + "]", policies,
                  false, child);
        out.routes.push_back(std::move(child));
      }
    }
  }
  r.Finish();
}

void ReadInhibitRules(Errors& errors, const YAML::Node& n, const std::string& path,
                      std::vector<InhibitRule>& out) {
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsSequence()) {
    errors.At(n, path + ": expected a list of rules");
    return;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string rp = path + "[" + std::to_string(i) + "]";
    MapReader r(errors, n[i], rp);
    if (!r.valid()) continue;
    InhibitRule rule;
    Renamed(r, "source_match", "use source_matchers: ['name=\"value\"']");
    Renamed(r, "source_match_re", "use source_matchers: ['name=~\"regex\"']");
    Renamed(r, "target_match", "use target_matchers: ['name=\"value\"']");
    Renamed(r, "target_match_re", "use target_matchers: ['name=~\"regex\"']");
    rule.source_matchers = ReadMatchers(errors, r.Node("source_matchers"), r.PathOf("source_matchers"));
    rule.target_matchers = ReadMatchers(errors, r.Node("target_matchers"), r.PathOf("target_matchers"));
    rule.equal = ReadLabelNames(errors, r.Node("equal"), r.PathOf("equal"), /*allow_all=*/false);
    // An empty side would match every alert: one typo and every page is muted.
    const YAML::Node& rule_node = n[i];
    for (const std::string side : {"source_matchers", "target_matchers"}) {
      const YAML::Node list = rule_node[side];
      const std::string am_key = side.substr(0, side.size() - 3);  // "source_match"
      if (!list.IsDefined() || list.IsNull()) {
        // Absent (a zombie node: only IsDefined may be asked). An Alertmanager-style key
        // in its place has been reported already.
        if (!r.Has(am_key) && !r.Has(am_key + "_re")) {
          errors.At(rule_node, r.PathOf(side) + ": required (at least one matcher)");
        }
      } else if (list.IsSequence() && list.size() == 0) {
        errors.At(list, r.PathOf(side) + ": at least one matcher is required");
      }
    }
    r.Finish();
    out.push_back(std::move(rule));
  }
}

}  // namespace

void ReadRouting(MapReader& parent, const std::set<std::string>& policies,
                 const RouteDefaults& defaults, RoutingConfig& out) {
  Errors& errors = parent.errors();
  YAML::Node route = parent.Node("route");
  RouteSpec spec;
  out.inhibit_rules.clear();
  try {  // yaml-cpp throws on misuse; never let that escape the config reader
    if (!route.IsDefined() || route.IsNull()) {
      errors.General(parent.PathOf("route") + ": required but missing");
    } else {
      ReadRoute(errors, route, parent.PathOf("route"), policies, /*is_root=*/true, spec);
    }
    ReadInhibitRules(errors, parent.Node("inhibit_rules"), parent.PathOf("inhibit_rules"),
                     out.inhibit_rules);
  } catch (const YAML::Exception& e) {
    errors.General(parent.PathOf("route") + ": " + e.what());
  }
  if (!errors.empty()) return;  // a tree with errors is never built
  auto built = Route::Build(spec, defaults);
  if (!built.ok()) {
    errors.General(built.status().message());  // checked above with lines; a safety net
    return;
  }
  out.route = std::shared_ptr<const Route>(std::move(built).value());
}

namespace {

Result<RoutingConfig> ReadTop(const YAML::Node& top, const std::string& name,
                              const std::set<std::string>& policies, const RouteDefaults& defaults) {
  Errors errors(name);
  MapReader r(errors, top, "");
  RoutingConfig out;
  ReadRouting(r, policies, defaults, out);
  r.Finish();
  Status s = errors.ToStatus();
  if (!s.ok()) return s;
  return out;
}

}  // namespace

Result<RoutingConfig> LoadRoutingConfig(const std::string& path, const std::set<std::string>& policies,
                                        const RouteDefaults& defaults) {
  auto node = config::LoadFile(path);
  if (!node.ok()) return node.status();
  return ReadTop(*node, path, policies, defaults);
}

Result<RoutingConfig> ParseRoutingConfig(const std::string& yaml, const std::string& name,
                                         const std::set<std::string>& policies,
                                         const RouteDefaults& defaults) {
  auto node = config::LoadString(yaml, name);
  if (!node.ok()) return node.status();
  return ReadTop(*node, name, policies, defaults);
}

}  // namespace firewatch::alerting::route
