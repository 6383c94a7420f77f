// The service map of the failure-domain watch (docs/domains.md): services, the services
// each depends on, and which sources belong to each (label matchers, as in routes).
//
// Build() checks the map once: every depends_on names a service of the map, and the
// dependencies form no cycle (a cycle is refused with its names in order, "a -> b -> a",
// and the index of the service it starts at, so the config reader can name file:line).
// After that, Affected() answers "which services does losing these sources touch, and in
// which order do we bring them back": the services with a lost source (directly), every
// service depending on one of them (through dependencies), in a restore order where each
// service comes after everything it depends on (ties in config order, so the order is
// the same on every collector and every run).
//
// Immutable after Build: safe to share between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "firewatch/status.h"
#include "model/alert.h"
#include "route/matcher.h"

namespace firewatch::collector {

struct ServiceSpec {
  std::string name;
  alerting::route::Matchers sources;  // a source joins when its labels match all of them
  std::vector<std::string> depends_on;
};

// A dependency cycle: the services on it, the first repeated at the end.
struct ServiceCycle {
  std::vector<std::string> names;  // {"a", "b", "a"}
  size_t start = 0;                // index of names[0] in the specs given to Build
  std::string ToString() const;    // "a -> b -> a"
};

class ServiceMap {
 public:
  ServiceMap() = default;

  // Fails on an unknown depends_on name or a duplicate service name (InvalidArgument
  // naming it) and on a cycle (InvalidArgument "dependency cycle: a -> b -> a"; `cycle`,
  // when given, receives it).
  [[nodiscard]] static Result<ServiceMap> Build(std::vector<ServiceSpec> specs,
                                                ServiceCycle* cycle = nullptr);

  struct Impact {
    std::vector<std::string> direct;         // a lost source is theirs; config order
    std::vector<std::string> through_deps;   // depend on a direct one (transitively)
    std::vector<std::string> restore_order;  // both, dependencies first
  };
  // The services touched by losing sources with these label sets.
  Impact Affected(const std::vector<alerting::LabelSet>& lost) const;
  // The same from the services the lost sources belong to (indices into specs()).
  Impact Affected(const std::vector<bool>& direct) const;
  // The services a source with these labels belongs to (indices into specs()).
  std::vector<uint16_t> ServicesOf(const alerting::LabelSet& labels) const;

  bool empty() const { return specs_.empty(); }
  const std::vector<ServiceSpec>& specs() const { return specs_; }
  // Every service, dependencies first (the full restore order).
  const std::vector<size_t>& order() const { return order_; }

 private:
  std::vector<ServiceSpec> specs_;
  std::vector<std::vector<size_t>> deps_;  // per service: indices it depends on
  std::vector<size_t> order_;              // topological, dependencies first
};

}  // namespace firewatch::collector
