// firewatch/http_client.h without a server: refusals and the outcome text. Real exchanges
// are covered by the notifier tests (alerting/notify/test) and the cluster tests.
#include "firewatch/http_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace firewatch::http_client {
namespace {

TEST(HttpClientTest, OnlyHttpAndHttpsArePermanentlyRefusedOtherwise) {
  Request req;
  req.url = "file:///etc/passwd";
  const Response r = Perform(req, {});
  EXPECT_FALSE(r.transport_ok);
  EXPECT_TRUE(IsPermanentCurlError(r.curl_code)) << r.error;
  EXPECT_FALSE(r.error.empty());
  EXPECT_EQ(Detail(r), r.error);
}

TEST(HttpClientTest, NothingListeningIsRetryable) {
  // A port that was just free: bound, then closed.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  close(fd);
  Request req;
  req.method = "GET";
  req.url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/";
  const Response r = Perform(req, {});
  EXPECT_FALSE(r.transport_ok);
  EXPECT_FALSE(IsPermanentCurlError(r.curl_code)) << r.error;
}

TEST(HttpClientTest, DetailIsStatusAndBodyPrefix) {
  Response r;
  r.transport_ok = true;
  r.status = 503;
  EXPECT_EQ(Detail(r), "HTTP 503");
  r.body = std::string(300, 'x');
  EXPECT_EQ(Detail(r), "HTTP 503: " + std::string(200, 'x'));
}

}  // namespace
}  // namespace firewatch::http_client
