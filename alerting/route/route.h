// The routing tree, as in Alertmanager. A route has matchers, an escalation policy
// (Alertmanager's `receiver`), grouping settings and child routes. An alert enters at
// the root (which matches everything) and descends depth-first: the first child whose
// subtree matches takes it, unless that child has `continue: true`, in which case later
// siblings are tried as well. When no child matches, the route itself is the match.
//
// Children inherit every unset setting (escalation_policy, group_by, group_wait,
// group_interval, repeat_interval) from their parent; `matchers` and `continue` are
// never inherited.
//
// A built tree is immutable and safe to share between threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/status.h"
#include "model/alert.h"
#include "route/matcher.h"

namespace firewatch::alerting::route {

// The group_by value meaning "every label" (each distinct label set is its own group).
inline constexpr const char* kGroupByAll = "...";

// Defaults for the root route's unset timers. Alertmanager's values; see docs/routing.md
// for why firewatch keeps them (escalation, not repeat_interval, re-pages humans).
struct RouteDefaults {
  Duration group_wait = std::chrono::seconds(30);
  Duration group_interval = std::chrono::minutes(5);
  Duration repeat_interval = std::chrono::hours(4);
};

// A route as written in config: unset fields are inherited when the tree is built.
struct RouteSpec {
  std::optional<std::string> escalation_policy;
  Matchers matchers;
  std::optional<std::vector<std::string>> group_by;  // {"..."} groups by all labels
  std::optional<Duration> group_wait;
  std::optional<Duration> group_interval;
  std::optional<Duration> repeat_interval;
  bool continue_matching = false;  // `continue`
  std::vector<RouteSpec> routes;
};

class Route {
 public:
  // Resolves inheritance and builds the tree. Fails with InvalidArgument naming the route
  // path when: the root has no escalation_policy, has matchers or sets continue; a
  // group_by entry is not a label name or "..." is combined with other names or a name
  // repeats; group_interval or repeat_interval is not positive, or group_wait negative.
  [[nodiscard]] static Result<std::unique_ptr<const Route>> Build(const RouteSpec& root,
                                                                  const RouteDefaults& defaults = {});

  // "route", "route.routes[1]", "route.routes[1].routes[0]" (the config path).
  const std::string& path() const { return path_; }
  // Alertmanager's route key: parent key + "/" + sorted matchers, the root is "{}"; e.g.
  // `{}/{severity="critical"}`. When two siblings would get the same key, the later one
  // gets "/<index>" appended, so keys are unique within a tree and equal on every
  // collector that loads the same config.
  const std::string& key() const { return key_; }
  const std::string& escalation_policy() const { return escalation_policy_; }
  const Matchers& matchers() const { return matchers_; }  // sorted
  const std::vector<std::string>& group_by() const { return group_by_; }  // sorted, unique
  bool group_by_all() const { return group_by_all_; }
  Duration group_wait() const { return group_wait_; }
  Duration group_interval() const { return group_interval_; }
  Duration repeat_interval() const { return repeat_interval_; }
  bool continue_matching() const { return continue_; }
  const Route* parent() const { return parent_; }
  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

  // The routes that take an alert with `labels`, in tree order. Empty only when this
  // route's own matchers do not match (never for the root).
  std::vector<const Route*> Match(const LabelSet& labels) const;

  // The labels that identify the alert's group on this route: the group_by labels the
  // alert has (absent ones are left out), or all labels for group_by ['...'].
  LabelSet GroupLabels(const LabelSet& labels) const;

  // Every route in the tree, depth-first pre-order (for config checks and listings).
  std::vector<const Route*> Flatten() const;

 private:
  Route() = default;
  static Status Resolve(const RouteSpec& spec, Route* parent, const RouteDefaults& defaults,
                        const std::string& path, Route& out);
  void MatchInto(const LabelSet& labels, std::vector<const Route*>& out) const;

  std::string path_;
  std::string key_;
  std::string escalation_policy_;
  Matchers matchers_;
  std::vector<std::string> group_by_;
  bool group_by_all_ = false;
  Duration group_wait_{};
  Duration group_interval_{};
  Duration repeat_interval_{};
  bool continue_ = false;
  const Route* parent_ = nullptr;
  std::vector<std::unique_ptr<Route>> routes_;
};

// "{alertname="SourceDown", dc="dc1"}" (Prometheus' label set form, used in group keys).
std::string LabelSetString(const LabelSet& labels);

}  // namespace firewatch::alerting::route
