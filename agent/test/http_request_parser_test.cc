#include "http_request_parser.h"

#include <gtest/gtest.h>

namespace firewatch::agent {
namespace {

using State = HttpRequestParser::State;

TEST(HttpRequestParserTest, ParsesAGetRequest) {
  HttpRequestParser p;
  EXPECT_EQ(p.Feed("GET /metrics?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n"),
            State::kComplete);
  EXPECT_EQ(p.request().method, "GET");
  EXPECT_EQ(p.request().target, "/metrics?x=1");
  EXPECT_EQ(p.request().path, "/metrics");
  EXPECT_EQ(p.request().version, "HTTP/1.1");
}

TEST(HttpRequestParserTest, AcceptsByteByByteInputAndBareLf) {
  const std::string req = "\r\nHEAD /healthz HTTP/1.0\nUser-Agent: x\n\nignored body";
  HttpRequestParser p;
  State s = State::kNeedMore;
  size_t i = 0;
  for (; i < req.size() && s == State::kNeedMore; ++i) s = p.Feed(req.substr(i, 1));
  ASSERT_EQ(s, State::kComplete) << p.error_reason();
  EXPECT_EQ(i, req.find("ignored"));  // complete exactly at the blank line
  EXPECT_EQ(p.request().method, "HEAD");
  EXPECT_EQ(p.request().path, "/healthz");
  EXPECT_EQ(p.Feed("more"), State::kComplete);  // sticky
}

TEST(HttpRequestParserTest, AbsoluteFormKeepsThePath) {
  HttpRequestParser p;
  ASSERT_EQ(p.Feed("GET http://127.0.0.1:9762/healthz HTTP/1.1\r\n\r\n"), State::kComplete);
  EXPECT_EQ(p.request().path, "/healthz");
}

struct BadCase {
  const char* name;
  std::string input;
  int status;
};

// Names the case in test output instead of dumping its bytes.
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class BadRequestTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadRequestTest, IsRejectedWithTheRightStatus) {
  HttpRequestParser p;
  State s = p.Feed(GetParam().input);
  ASSERT_EQ(s, State::kError) << GetParam().name;
  EXPECT_EQ(p.error_status(), GetParam().status) << p.error_reason();
  EXPECT_FALSE(p.error_reason().empty());
  EXPECT_EQ(p.Feed("GET / HTTP/1.1\r\n\r\n"), State::kError);  // sticky
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadRequestTest,
    ::testing::Values(
        BadCase{"no_version", "GET /\r\n\r\n", 400},
        BadCase{"two_spaces", "GET  / HTTP/1.1\r\n\r\n", 400},
        BadCase{"extra_field", "GET / HTTP/1.1 extra\r\n\r\n", 400},
        BadCase{"lowercase_version", "GET / http/1.1\r\n\r\n", 400},
        BadCase{"bad_method_char", "GE(T / HTTP/1.1\r\n\r\n", 400},
        BadCase{"relative_target", "GET metrics HTTP/1.1\r\n\r\n", 400},
        BadCase{"control_in_target", std::string("GET /a\x01 HTTP/1.1\r\n\r\n"), 400},
        BadCase{"binary_garbage_no_newline", std::string("\x16\x03\x01\x02\x00", 5), 400},
        BadCase{"nul_bytes", std::string("\0\0\0\0", 4), 400},
        BadCase{"http2_preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
        BadCase{"http_0_9_style", "GET / HTTP/0.9\r\n\r\n", 505},
        BadCase{"header_without_colon", "GET / HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n", 400},
        BadCase{"header_space_before_colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
        BadCase{"obs_fold", "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400},
        BadCase{"control_in_header", std::string("GET / HTTP/1.1\r\nA: \x01\r\n\r\n"), 400},
        BadCase{"long_target", "GET /" + std::string(3000, 'a') + " HTTP/1.1\r\n\r\n", 414},
        BadCase{"long_target_never_ending", "GET /" + std::string(5000, 'a'), 414},
        BadCase{"huge_head", "GET / HTTP/1.1\r\n" + std::string(9000, 'a') + ": b\r\n\r\n", 431},
        BadCase{"many_headers",
                [] {
                  std::string s = "GET / HTTP/1.1\r\n";
                  for (int i = 0; i < 1000; ++i) s += "X-" + std::to_string(i) + ": v\r\n";
                  return s;
                }(),
                431}),
    [](const ::testing::TestParamInfo<BadCase>& p) { return std::string(p.param.name); });

TEST(HttpRequestParserTest, LimitsAreConfigurable) {
  HttpRequestParser p(HttpRequestParser::Limits{64, 16});
  EXPECT_EQ(p.Feed("GET /" + std::string(20, 'a') + " HTTP/1.1\r\n"), State::kError);
  EXPECT_EQ(p.error_status(), 414);
  HttpRequestParser q(HttpRequestParser::Limits{64, 16});
  EXPECT_EQ(q.Feed("GET / HTTP/1.1\r\nX: " + std::string(60, 'v') + "\r\n\r\n"), State::kError);
  EXPECT_EQ(q.error_status(), 431);
}

TEST(HttpRequestParserTest, PartialInputNeedsMore) {
  HttpRequestParser p;
  EXPECT_EQ(p.Feed("GET /healthz HT"), State::kNeedMore);
  EXPECT_EQ(p.Feed("TP/1.1\r\nHost: x\r\n"), State::kNeedMore);
  EXPECT_EQ(p.Feed("\r"), State::kNeedMore);
  EXPECT_EQ(p.Feed("\n"), State::kComplete);
}

}  // namespace
}  // namespace firewatch::agent
