// The access policy's pieces without sockets: operator tokens, Host and Origin parsing,
// CheckAccess decisions. Over real sockets: http_server_test.cc.
#include "http/access.h"

#include <gtest/gtest.h>

#include "http/http_server.h"

namespace firewatch::collector {
namespace {

OperatorEntry Entry(const std::string& name, const std::string& token) {
  return {name, *ParseSha256Hex(TokenSha256Hex(token))};
}

HttpRequest Req(std::string method, std::map<std::string, std::string> headers) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = "/x";
  r.headers = std::move(headers);
  return r;
}

TEST(OperatorTokens, FindsTheOperatorOfAToken) {
  auto t = OperatorTokens::Make({Entry("alice", "token-a"), Entry("bob", "token-b")});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->Find("token-a"), "alice");
  EXPECT_EQ(t->Find("token-b"), "bob");
  EXPECT_EQ(t->Find("token-c"), std::nullopt);
  EXPECT_EQ(t->Find(""), std::nullopt);
  EXPECT_EQ(t->Find(std::string(300, 'x')), std::nullopt);
}

TEST(OperatorTokens, RefusesBadNamesAndDuplicates) {
  EXPECT_FALSE(OperatorTokens::Make({Entry("", "a")}).ok());
  EXPECT_FALSE(OperatorTokens::Make({Entry("al ice", "a")}).ok());
  EXPECT_FALSE(OperatorTokens::Make({Entry(std::string(65, 'a'), "a")}).ok());
  // Two tokens of one operator (a rotation in progress) are fine; one token twice is not.
  auto two = OperatorTokens::Make({Entry("alice", "a"), Entry("alice", "b")});
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->Find("b"), "alice");
  auto same = OperatorTokens::Make({Entry("alice", "a"), Entry("bob", "a")});
  ASSERT_FALSE(same.ok());
  EXPECT_NE(same.status().message().find("token_sha256"), std::string::npos);
  EXPECT_TRUE(OperatorTokens::Make({Entry("ops.bot@site-a_1", "a")}).ok());
}

TEST(OperatorTokens, NewTokensAreLongRandomAndHashAsDocumented) {
  const std::string a = MakeOperatorToken();
  const std::string b = MakeOperatorToken();
  EXPECT_EQ(a.substr(0, 5), "fwop_");
  EXPECT_EQ(a.size(), 5u + 43u);  // 32 bytes in unpadded base64url
  EXPECT_NE(a, b);
  // sha256("abc"), FIPS 180-2 B.1: what `printf %s abc | sha256sum` prints.
  EXPECT_EQ(TokenSha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(ParseSha256Hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD").ok());
  EXPECT_FALSE(ParseSha256Hex("ba78").ok());
  EXPECT_FALSE(ParseSha256Hex(std::string(64, 'g')).ok());
}

TEST(AccessParsing, HostAndOrigin) {
  EXPECT_EQ(HostOfAuthority("Collector-A.example:9760"), "collector-a.example");
  EXPECT_EQ(HostOfAuthority("10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(HostOfAuthority("[::1]:9760"), "::1");
  EXPECT_EQ(HostOfAuthority("a:b:c"), "");
  EXPECT_EQ(HostOfAuthority("evil.example/x"), "");
  EXPECT_EQ(OriginOfUrl("HTTP://Collector-A.example:80/path?q"), "http://collector-a.example");
  EXPECT_EQ(OriginOfUrl("https://c.example:443"), "https://c.example");
  EXPECT_EQ(OriginOfUrl("https://c.example:9443/"), "https://c.example:9443");
  EXPECT_EQ(OriginOfUrl("null"), "");
  EXPECT_EQ(OriginOfUrl("file:///etc"), "");
}

TEST(CheckAccess, DecisionsInOrder) {
  AccessPolicy p;
  p.operators = std::make_shared<const OperatorTokens>(*OperatorTokens::Make({Entry("alice", "t")}));
  p.own_hosts = {"collector.example"};
  const std::map<std::string, std::string> ok = {{"authorization", "Bearer t"},
                                                 {"content-type", "application/json"},
                                                 {"host", "collector.example:9760"}};
  auto with = [&](std::map<std::string, std::string> change) {
    auto h = ok;
    for (auto& [k, v] : change) {
      if (v.empty()) h.erase(k);
      else h[k] = v;
    }
    return CheckAccess(p, Access::kOperator, Req("POST", h));
  };
  AccessDecision d = with({});
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.operator_name, "alice");
  EXPECT_EQ(with({{"authorization", ""}}).refusal, HttpRefusal::kNoToken);
  EXPECT_EQ(with({{"authorization", "Bearer nope"}}).refusal, HttpRefusal::kBadToken);
  EXPECT_EQ(with({{"authorization", "bearer   t "}}).allowed, true);
  EXPECT_EQ(with({{"authorization", "Basic bWU6dA=="}}).refusal, HttpRefusal::kNoToken);  // me:t
  EXPECT_EQ(with({{"content-type", "text/plain"}}).refusal, HttpRefusal::kNotJson);
  EXPECT_EQ(with({{"host", "evil.example"}}).refusal, HttpRefusal::kForeignHost);
  // Host is checked first: a rebinding page learns nothing about tokens.
  EXPECT_EQ(with({{"host", "evil.example"}, {"authorization", ""}}).refusal, HttpRefusal::kForeignHost);
  EXPECT_TRUE(with({{"host", "127.0.0.1:9760"}}).allowed);
  EXPECT_TRUE(with({{"host", "localhost:9760"}}).allowed);
  EXPECT_TRUE(with({{"host", "[::1]:9760"}}).allowed);
  EXPECT_EQ(with({{"origin", "http://evil.example"}}).refusal, HttpRefusal::kForeignOrigin);
  EXPECT_TRUE(with({{"origin", "http://collector.example:9760"}}).allowed);
  EXPECT_EQ(with({{"origin", "https://collector.example:9760"}}).allowed, true);
  EXPECT_EQ(with({{"sec-fetch-site", "cross-site"}}).refusal, HttpRefusal::kForeignOrigin);
  EXPECT_TRUE(with({{"sec-fetch-site", "same-origin"}}).allowed);
  // DELETE without a body needs no Content-Type.
  auto del = ok;
  del.erase("content-type");
  EXPECT_TRUE(CheckAccess(p, Access::kOperator, Req("DELETE", del)).allowed);
  del["content-length"] = "2";
  EXPECT_EQ(CheckAccess(p, Access::kOperator, Req("DELETE", del)).refusal, HttpRefusal::kNotJson);
  // Without operators nobody may change anything.
  auto local = ok;
  local["host"] = "127.0.0.1:9760";
  EXPECT_EQ(CheckAccess(AccessPolicy{}, Access::kOperator, Req("POST", local)).refusal,
            HttpRefusal::kBadToken);
  // Reads: open, a valid token is still recognised, a wrong one ignored.
  EXPECT_TRUE(CheckAccess(p, Access::kRead, Req("GET", {})).allowed);
  EXPECT_EQ(CheckAccess(p, Access::kRead, Req("GET", ok)).operator_name, "alice");
  EXPECT_TRUE(CheckAccess(p, Access::kRead, Req("GET", {{"authorization", "Bearer x"}})).allowed);
  p.read_requires_token = true;
  EXPECT_EQ(CheckAccess(p, Access::kRead, Req("GET", {})).refusal, HttpRefusal::kNoToken);
  EXPECT_TRUE(CheckAccess(p, Access::kRead, Req("GET", {{"authorization", "Basic bWU6dA=="}})).allowed);
  EXPECT_TRUE(CheckAccess(p, Access::kPublic, Req("POST", {})).allowed);
}

}  // namespace
}  // namespace firewatch::collector
