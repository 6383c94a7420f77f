#include "domain/service_map.h"

#include <map>

namespace firewatch::collector {

std::string ServiceCycle::ToString() const {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : " -> ") + n;
  return out;
}

namespace {

// Depth-first search for a cycle (colours: 0 new, 1 on the stack, 2 done). Iterative, so a
// long dependency chain in a hostile config cannot overflow the stack.
std::optional<std::vector<size_t>> FindCycle(const std::vector<std::vector<size_t>>& deps) {
  std::vector<int> colour(deps.size(), 0);
  for (size_t root = 0; root < deps.size(); ++root) {
    if (colour[root] != 0) continue;
    std::vector<std::pair<size_t, size_t>> stack{{root, 0}};  // (service, next edge)
    colour[root] = 1;
    while (!stack.empty()) {
      auto& [v, edge] = stack.back();
      if (edge == deps[v].size()) {
        colour[v] = 2;
        stack.pop_back();
        continue;
      }
      const size_t w = deps[v][edge++];
      if (colour[w] == 1) {
        std::vector<size_t> cycle;
        size_t i = 0;
        while (stack[i].first != w) ++i;
        for (; i < stack.size(); ++i) cycle.push_back(stack[i].first);
        cycle.push_back(w);
        return cycle;
      }
      if (colour[w] == 0) {
        colour[w] = 1;
        stack.emplace_back(w, 0);
      }
    }
  }
  return std::nullopt;
}

}  // namespace

Result<ServiceMap> ServiceMap::Build(std::vector<ServiceSpec> specs, ServiceCycle* cycle_out) {
  ServiceMap m;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (!index.emplace(specs[i].name, i).second) {
      return Status::InvalidArgument("service '" + specs[i].name + "' is defined twice");
    }
  }
  m.deps_.resize(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    for (const auto& d : specs[i].depends_on) {
      auto it = index.find(d);
      if (it == index.end()) {
        return Status::InvalidArgument("service '" + specs[i].name + "' depends on '" + d +
                                       "', which is not a service of the map");
      }
      m.deps_[i].push_back(it->second);
    }
  }
  if (auto c = FindCycle(m.deps_)) {
    ServiceCycle cycle;
    cycle.start = (*c)[0];
    for (size_t i : *c) cycle.names.push_back(specs[i].name);
    const std::string text = cycle.ToString();
    if (cycle_out) *cycle_out = std::move(cycle);
    return Status::InvalidArgument("dependency cycle: " + text);
  }
  // Kahn's algorithm; among the ready services the first in config order goes first.
  std::vector<size_t> waiting(specs.size());
  std::vector<std::vector<size_t>> dependents(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    waiting[i] = m.deps_[i].size();
    for (size_t d : m.deps_[i]) dependents[d].push_back(i);
  }
  std::vector<bool> placed(specs.size(), false);
  while (m.order_.size() < specs.size()) {
    size_t next = 0;
    while (placed[next] || waiting[next] != 0) ++next;  // exists: the graph is acyclic
    placed[next] = true;
    m.order_.push_back(next);
    for (size_t d : dependents[next]) --waiting[d];
  }
  m.specs_ = std::move(specs);
  return m;
}

std::vector<uint16_t> ServiceMap::ServicesOf(const alerting::LabelSet& labels) const {
  std::vector<uint16_t> out;
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (alerting::route::MatchesAll(specs_[i].sources, labels)) out.push_back(static_cast<uint16_t>(i));
  }
  return out;
}

ServiceMap::Impact ServiceMap::Affected(const std::vector<alerting::LabelSet>& lost) const {
  std::vector<bool> direct(specs_.size(), false);
  for (const auto& labels : lost) {
    for (uint16_t i : ServicesOf(labels)) direct[i] = true;
  }
  return Affected(direct);
}

ServiceMap::Impact ServiceMap::Affected(const std::vector<bool>& direct_in) const {
  Impact out;
  const size_t n = specs_.size();
  std::vector<bool> direct(n, false), touched(n, false);
  for (size_t i = 0; i < n && i < direct_in.size(); ++i) direct[i] = touched[i] = direct_in[i];
  // In dependency order a service's dependencies are decided before it.
  for (size_t i : order_) {
    for (size_t d : deps_[i]) touched[i] = touched[i] || touched[d];
  }
  for (size_t i = 0; i < n; ++i) {
    if (direct[i]) {
      out.direct.push_back(specs_[i].name);
    } else if (touched[i]) {
      out.through_deps.push_back(specs_[i].name);
    }
  }
  for (size_t i : order_) {
    if (touched[i]) out.restore_order.push_back(specs_[i].name);
  }
  return out;
}

}  // namespace firewatch::collector
