#include "resolved_endpoint.h"

#include <algorithm>

namespace firewatch::agent {

ResolvedEndpoint::ResolvedEndpoint(config::HostPort target) : target_(std::move(target)) {
  address_ = SocketAddress::FromLiteral(target_.host, target_.port);
  literal_ = address_.has_value();
}

ResolvedEndpoint::Update ResolvedEndpoint::OnLookupSuccess(const std::vector<SocketAddress>& found) {
  if (literal_) return Update::kUnchanged;
  if (found.empty()) return OnLookupFailure();
  ++lookups_;
  if (address_ && std::find(found.begin(), found.end(), *address_) != found.end()) {
    return Update::kUnchanged;
  }
  address_ = found.front();
  return Update::kChanged;
}

ResolvedEndpoint::Update ResolvedEndpoint::OnLookupFailure() {
  if (literal_) return Update::kUnchanged;
  ++lookups_;
  ++failures_;
  return address_ ? Update::kKeptLastGood : Update::kStillUnknown;
}

}  // namespace firewatch::agent
