// One collector endpoint (host:port) and the address the agent sends to: the "keep the
// last good address" rule in one place, free of I/O so it is unit-tested directly.
//
// DNS may live in the building that burned, so a failed or empty lookup never erases a
// known address: the agent keeps sending to the last address that resolved. IP
// literals are parsed once and never looked up.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "firewatch/config/yaml_reader.h"
#include "socket_address.h"

namespace firewatch::agent {

class ResolvedEndpoint {
 public:
  // What a lookup result did to the address.
  enum class Update {
    kUnchanged,      // same address as before
    kChanged,        // a new address is in use (including the first one)
    kKeptLastGood,   // lookup failed; the previous address stays in use
    kStillUnknown,   // lookup failed and there never was an address
  };

  explicit ResolvedEndpoint(config::HostPort target);

  const config::HostPort& target() const { return target_; }
  // True for IP literals: address() is set from the start and lookups are not needed.
  bool is_literal() const { return literal_; }
  // The address to send to, or nullptr while none is known.
  const SocketAddress* address() const { return address_ ? &*address_ : nullptr; }
  // True once at least one lookup finished (successfully or not), or for literals.
  bool settled() const { return literal_ || lookups_ > 0; }

  // A lookup returned `found` (already carrying the target's port). The current address
  // is kept when it is still among the results, so a round-robin DNS answer does not
  // flip the agent between addresses; otherwise the first result is taken. An empty
  // list counts as a failure. Ignored for literals (returns kUnchanged).
  Update OnLookupSuccess(const std::vector<SocketAddress>& found);
  // A lookup failed. Keeps the last good address.
  Update OnLookupFailure();

  uint64_t failures() const { return failures_; }

 private:
  config::HostPort target_;
  bool literal_ = false;
  std::optional<SocketAddress> address_;
  uint64_t lookups_ = 0;
  uint64_t failures_ = 0;
};

}  // namespace firewatch::agent
