#include "socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <uv.h>

#include <cstring>

namespace firewatch::agent {

std::optional<SocketAddress> SocketAddress::FromLiteral(std::string_view ip, uint16_t port) {
  std::string s(ip);
  SocketAddress a;
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&a.storage_);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    sin->sin_addr = v4;
    return a;
  }
  // uv_ip6_addr understands zone ids ("fe80::1%eth0"); it needs a ':' to be IPv6.
  if (s.find(':') != std::string::npos &&
      uv_ip6_addr(s.c_str(), port, reinterpret_cast<sockaddr_in6*>(&a.storage_)) == 0) {
    return a;
  }
  return std::nullopt;
}

std::optional<SocketAddress> SocketAddress::FromSockaddr(const sockaddr* sa, uint16_t port) {
  SocketAddress a;
  if (sa == nullptr) return std::nullopt;
  if (sa->sa_family == AF_INET) {
    std::memcpy(&a.storage_, sa, sizeof(sockaddr_in));
    reinterpret_cast<sockaddr_in*>(&a.storage_)->sin_port = htons(port);
    return a;
  }
  if (sa->sa_family == AF_INET6) {
    std::memcpy(&a.storage_, sa, sizeof(sockaddr_in6));
    reinterpret_cast<sockaddr_in6*>(&a.storage_)->sin6_port = htons(port);
    return a;
  }
  return std::nullopt;
}

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
}

bool SocketAddress::is_loopback() const {
  if (family() == AF_INET) {
    uint32_t a = ntohl(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr.s_addr);
    return (a >> 24) == 127;
  }
  const auto* a6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
  return IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
}

std::string SocketAddress::IpString() const {
  char buf[INET6_ADDRSTRLEN + 1] = {};
  if (family() == AF_INET) {
    uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&storage_), buf, sizeof buf);
  } else {
    uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&storage_), buf, sizeof buf);
  }
  return buf;
}

std::string SocketAddress::ToString() const {
  std::string ip = IpString();
  if (family() == AF_INET6) ip = "[" + ip + "]";
  return ip + ":" + std::to_string(port());
}

bool SocketAddress::operator==(const SocketAddress& other) const {
  if (family() != other.family()) return false;
  if (family() == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&storage_);
    const auto* b = reinterpret_cast<const sockaddr_in*>(&other.storage_);
    return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
  }
  const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage_);
  const auto* b = reinterpret_cast<const sockaddr_in6*>(&other.storage_);
  return a->sin6_port == b->sin6_port && a->sin6_scope_id == b->sin6_scope_id &&
         std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
}

}  // namespace firewatch::agent
