#include "domain/domain_config.h"

#include <algorithm>

#include "route/routing_config.h"

namespace firewatch::collector {

using alerting::route::IsValidLabelName;
using alerting::route::ReadMatchers;
using alerting::route::StringList;

std::string DomainConfigText(const DomainConfig& c) {
  std::string out = std::string(c.enabled ? "on" : "off") + " label=" + c.label +
                    " threshold=" + std::to_string(c.threshold) +
                    " min_sources=" + std::to_string(c.min_sources) +
                    " window=" + config::FormatDuration(c.window);
  for (const auto& s : c.services.specs()) {
    out += " service=" + s.name + alerting::route::MatchersString(s.sources) + "<-";
    for (const auto& d : s.depends_on) out += d + ",";
  }
  return out;
}

std::vector<std::string> RoutesFasterThanWindow(const DomainConfig& c,
                                                const alerting::route::Route& root) {
  std::vector<std::string> out;
  if (!c.enabled) return out;
  for (const char* name : {"SourceDown", "CheckFailing"}) {
    for (const auto* r : root.Match({{"alertname", name}})) {
      const std::string line =
          r->path() + " (group_wait " + config::FormatDuration(r->group_wait()) + ")";
      if (r->group_wait() < c.window && std::find(out.begin(), out.end(), line) == out.end()) {
        out.push_back(line);
      }
    }
  }
  return out;
}

void ReadDomainConfig(config::MapReader& top, DomainConfig& out) {
  config::Errors& errors = top.errors();
  YAML::Node node = top.Node("domains");
  if (!node.IsDefined() || node.IsNull()) return;
  config::MapReader r(errors, node, "domains");
  r.Bool("enabled", out.enabled);
  r.String("label", out.label);
  if (!IsValidLabelName(out.label)) {
    errors.At(r.Node("label"), "domains.label: '" + out.label + "' is not a label name");
  }
  r.Double("threshold", out.threshold, 0.01, 1.0);
  r.Uint("min_sources", out.min_sources, 1, 10'000'000);
  r.Duration("window", out.window, std::chrono::seconds(1), std::chrono::hours(1));

  YAML::Node list = r.Node("services");
  std::vector<ServiceSpec> specs;
  std::vector<YAML::Node> nodes;
  if (list.IsDefined() && !list.IsNull()) {
    if (!list.IsSequence()) {
      errors.At(list, "domains.services: expected a list of {name, sources, depends_on}");
    } else if (list.size() > kMaxServices) {
      errors.At(list, "domains.services: at most " + std::to_string(kMaxServices) + " services");
    } else {
      for (size_t i = 0; i < list.size(); ++i) {
        const std::string path = "domains.services[" + std::to_string(i) + "]";
        config::MapReader s(errors, list[i], path);
        ServiceSpec spec;
        s.String("name", spec.name, true);
        const YAML::Node sources = s.Node("sources");
        spec.sources = ReadMatchers(errors, sources, path + ".sources");
        if (!sources.IsDefined() || sources.IsNull() || (sources.IsSequence() && sources.size() == 0)) {
          errors.At(list[i], path + ".sources: at least one matcher is required (which "
                                    "sources are this service)");
        }
        for (auto& [name, n] : StringList(errors, s.Node("depends_on"), path + ".depends_on")) {
          spec.depends_on.push_back(std::move(name));
        }
        s.Finish();
        specs.push_back(std::move(spec));
        nodes.push_back(list[i]);
      }
    }
  }
  r.Finish();
  if (!errors.empty()) return;
  ServiceCycle cycle;
  cycle.start = specs.size();
  auto built = ServiceMap::Build(std::move(specs), &cycle);
  if (!built.ok()) {
    if (cycle.start < nodes.size()) {
      errors.At(nodes[cycle.start], "domains.services[" + std::to_string(cycle.start) +
                                        "]: " + built.status().message());
    } else {
      errors.At(list, "domains.services: " + built.status().message());
    }
    return;
  }
  out.services = std::move(built).value();
}

}  // namespace firewatch::collector
