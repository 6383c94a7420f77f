#include "route/route.h"

#include <algorithm>
#include <set>

namespace firewatch::alerting::route {

std::string LabelSetString(const LabelSet& labels) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ", ";
    first = false;
    out += k + "=" + QuoteLabelValue(v);
  }
  return out + "}";
}

Result<std::unique_ptr<const Route>> Route::Build(const RouteSpec& root,
                                                  const RouteDefaults& defaults) {
  if (!root.escalation_policy || root.escalation_policy->empty()) {
    return Status::InvalidArgument("route.escalation_policy: the root route needs an escalation policy");
  }
  if (!root.matchers.empty()) {
    return Status::InvalidArgument("route.matchers: the root route must not have matchers");
  }
  if (root.continue_matching) {
    return Status::InvalidArgument("route.continue: cannot be set on the root route");
  }
  std::unique_ptr<Route> r(new Route());
  Status s = Resolve(root, nullptr, defaults, "route", *r);
  if (!s.ok()) return s;
  return std::unique_ptr<const Route>(std::move(r));
}

Status Route::Resolve(const RouteSpec& spec, Route* parent, const RouteDefaults& defaults,
                      const std::string& path, Route& out) {
  out.path_ = path;
  out.parent_ = parent;
  out.matchers_ = spec.matchers;
  std::sort(out.matchers_.begin(), out.matchers_.end());
  out.continue_ = spec.continue_matching;

  out.escalation_policy_ = spec.escalation_policy.value_or(parent ? parent->escalation_policy_ : "");
  out.group_wait_ = spec.group_wait.value_or(parent ? parent->group_wait_ : defaults.group_wait);
  out.group_interval_ =
      spec.group_interval.value_or(parent ? parent->group_interval_ : defaults.group_interval);
  out.repeat_interval_ =
      spec.repeat_interval.value_or(parent ? parent->repeat_interval_ : defaults.repeat_interval);
  if (out.escalation_policy_.empty()) {
    return Status::InvalidArgument(path + ".escalation_policy: must not be empty");
  }
  if (out.group_wait_ < Duration::zero()) {
    return Status::InvalidArgument(path + ".group_wait: must not be negative");
  }
  if (out.group_interval_ <= Duration::zero()) {
    return Status::InvalidArgument(path + ".group_interval: must be positive");
  }
  if (out.repeat_interval_ <= Duration::zero()) {
    return Status::InvalidArgument(path + ".repeat_interval: must be positive");
  }

  if (spec.group_by) {
    std::set<std::string> seen;
    for (const auto& name : *spec.group_by) {
      if (name == kGroupByAll) {
        if (spec.group_by->size() != 1) {
          return Status::InvalidArgument(path + ".group_by: '...' must be the only entry");
        }
        out.group_by_all_ = true;
        continue;
      }
      if (!IsValidLabelName(name)) {
        return Status::InvalidArgument(path + ".group_by: invalid label name '" + name + "'");
      }
      if (!seen.insert(name).second) {
        return Status::InvalidArgument(path + ".group_by: duplicated label '" + name + "'");
      }
    }
    out.group_by_.assign(seen.begin(), seen.end());
  } else if (parent) {
    out.group_by_ = parent->group_by_;
    out.group_by_all_ = parent->group_by_all_;
  }

  out.key_ = (parent ? parent->key_ + "/" : std::string()) + MatchersString(out.matchers_);
  if (parent) {
    const size_t index = parent->routes_.size();  // this route is appended after Resolve
    for (const auto& sibling : parent->routes_) {
      if (sibling->key_ == out.key_) {
        out.key_ += "/" + std::to_string(index);
        break;
      }
    }
  }

  for (size_t i = 0; i < spec.routes.size(); ++i) {
    auto child = std::unique_ptr<Route>(new Route());
    Status s = Resolve(spec.routes[i], &out, defaults, path + ".routes[" + std::to_string(i) + "]",
                       *child);
    if (!s.ok()) return s;
    out.routes_.push_back(std::move(child));
  }
  return Status::Ok();
}

std::vector<const Route*> Route::Match(const LabelSet& labels) const {
  std::vector<const Route*> out;
  MatchInto(labels, out);
  return out;
}

void Route::MatchInto(const LabelSet& labels, std::vector<const Route*>& out) const {
  if (!MatchesAll(matchers_, labels)) return;
  const size_t before = out.size();
  for (const auto& child : routes_) {
    const size_t n = out.size();
    child->MatchInto(labels, out);
    if (out.size() > n && !child->continue_) break;
  }
  if (out.size() == before) out.push_back(this);
}

LabelSet Route::GroupLabels(const LabelSet& labels) const {
  if (group_by_all_) return labels;
  LabelSet out;
  for (const auto& name : group_by_) {
    auto it = labels.find(name);
    if (it != labels.end()) out.emplace(name, it->second);
  }
  return out;
}

std::vector<const Route*> Route::Flatten() const {
  std::vector<const Route*> out{this};
  for (const auto& child : routes_) {
    auto sub = child->Flatten();
    out.insert(out.end(), sub.begin(), sub.end());
  }
  return out;
}

}  // namespace firewatch::alerting::route
