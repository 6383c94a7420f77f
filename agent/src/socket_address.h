// A resolved network address (IPv4 or IPv6 plus port) as a small value type.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace firewatch::agent {

class SocketAddress {
 public:
  // Parses an IP literal ("10.0.0.1", "::1", "fe80::1%eth0"); nullopt for anything
  // else, including host names. Never touches DNS.
  static std::optional<SocketAddress> FromLiteral(std::string_view ip, uint16_t port);
  // Copies an AF_INET or AF_INET6 sockaddr (e.g. from getaddrinfo), replacing its port
  // with `port`; nullopt for other families.
  static std::optional<SocketAddress> FromSockaddr(const sockaddr* sa, uint16_t port);

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  int family() const { return storage_.ss_family; }
  uint16_t port() const;
  bool is_loopback() const;
  // "10.0.0.1" or "::1" (no port, no brackets).
  std::string IpString() const;
  // "10.0.0.1:9761" or "[::1]:9761".
  std::string ToString() const;

  bool operator==(const SocketAddress& other) const;

 private:
  SocketAddress() = default;
  sockaddr_storage storage_{};
};

}  // namespace firewatch::agent
