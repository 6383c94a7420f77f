#include "resolved_endpoint.h"

#include <gtest/gtest.h>

namespace firewatch::agent {
namespace {

using U = ResolvedEndpoint::Update;

SocketAddress Addr(const char* ip, uint16_t port = 9761) {
  return *SocketAddress::FromLiteral(ip, port);
}

TEST(ResolvedEndpointTest, IpLiteralsAreUsableAtOnceAndNeverChange) {
  ResolvedEndpoint v4(config::HostPort{"10.1.2.3", 9761});
  EXPECT_TRUE(v4.is_literal());
  EXPECT_TRUE(v4.settled());
  ASSERT_NE(v4.address(), nullptr);
  EXPECT_EQ(v4.address()->ToString(), "10.1.2.3:9761");
  EXPECT_EQ(v4.OnLookupSuccess({Addr("10.9.9.9")}), U::kUnchanged);
  EXPECT_EQ(v4.OnLookupFailure(), U::kUnchanged);
  EXPECT_EQ(v4.address()->ToString(), "10.1.2.3:9761");
  EXPECT_EQ(v4.failures(), 0u);

  ResolvedEndpoint v6(config::HostPort{"::1", 9760});
  EXPECT_TRUE(v6.is_literal());
  EXPECT_EQ(v6.address()->ToString(), "[::1]:9760");
  EXPECT_TRUE(v6.address()->is_loopback());
}

TEST(ResolvedEndpointTest, NamesStartUnknownAndUnsettled) {
  ResolvedEndpoint ep(config::HostPort{"collector-a.example", 9761});
  EXPECT_FALSE(ep.is_literal());
  EXPECT_FALSE(ep.settled());
  EXPECT_EQ(ep.address(), nullptr);
}

TEST(ResolvedEndpointTest, FailuresKeepTheLastGoodAddress) {
  ResolvedEndpoint ep(config::HostPort{"collector-a.example", 9761});
  EXPECT_EQ(ep.OnLookupFailure(), U::kStillUnknown);
  EXPECT_TRUE(ep.settled());
  EXPECT_EQ(ep.address(), nullptr);
  EXPECT_EQ(ep.OnLookupSuccess({Addr("192.0.2.10")}), U::kChanged);
  ASSERT_NE(ep.address(), nullptr);
  EXPECT_EQ(ep.address()->ToString(), "192.0.2.10:9761");
  // DNS burned with the datacenter: keep sending to the last good address.
  EXPECT_EQ(ep.OnLookupFailure(), U::kKeptLastGood);
  EXPECT_EQ(ep.OnLookupFailure(), U::kKeptLastGood);
  EXPECT_EQ(ep.OnLookupSuccess({}), U::kKeptLastGood);  // an empty answer is a failure too
  ASSERT_NE(ep.address(), nullptr);
  EXPECT_EQ(ep.address()->ToString(), "192.0.2.10:9761");
  EXPECT_EQ(ep.failures(), 4u);
}

TEST(ResolvedEndpointTest, StaysOnItsAddressWhileDnsStillListsIt) {
  ResolvedEndpoint ep(config::HostPort{"collectors.example", 9761});
  EXPECT_EQ(ep.OnLookupSuccess({Addr("192.0.2.1"), Addr("192.0.2.2")}), U::kChanged);
  EXPECT_EQ(ep.address()->ToString(), "192.0.2.1:9761");
  // Round-robin DNS reorders the answer: no flip.
  EXPECT_EQ(ep.OnLookupSuccess({Addr("192.0.2.2"), Addr("192.0.2.1")}), U::kUnchanged);
  EXPECT_EQ(ep.address()->ToString(), "192.0.2.1:9761");
  // The address is gone from DNS: move to the new first one.
  EXPECT_EQ(ep.OnLookupSuccess({Addr("192.0.2.3"), Addr("192.0.2.2")}), U::kChanged);
  EXPECT_EQ(ep.address()->ToString(), "192.0.2.3:9761");
}

TEST(SocketAddressTest, ParsesOnlyLiterals) {
  EXPECT_TRUE(SocketAddress::FromLiteral("127.0.0.1", 1).has_value());
  EXPECT_TRUE(SocketAddress::FromLiteral("2001:db8::1", 1).has_value());
  EXPECT_FALSE(SocketAddress::FromLiteral("localhost", 1).has_value());
  EXPECT_FALSE(SocketAddress::FromLiteral("127.1", 1).has_value());  // inet_aton-only forms
  EXPECT_FALSE(SocketAddress::FromLiteral("", 1).has_value());
  EXPECT_TRUE(Addr("127.0.0.1") == Addr("127.0.0.1"));
  EXPECT_FALSE(Addr("127.0.0.1") == Addr("127.0.0.1", 1));
  EXPECT_FALSE(Addr("10.0.0.1").is_loopback());
}

}  // namespace
}  // namespace firewatch::agent
