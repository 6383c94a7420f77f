// firewatch/text: Base64, percent-encoding, JSON escaping, RFC 3339.
#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "firewatch/text/base64.h"
#include "firewatch/text/hex.h"
#include "firewatch/text/json_escape.h"
#include "firewatch/text/rfc3339.h"
#include "firewatch/text/url.h"

namespace firewatch::text {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// ---- Base64 -------------------------------------------------------------------------

TEST(Base64Test, Rfc4648Vectors) {
  EXPECT_EQ(Base64Std(""), "");
  EXPECT_EQ(Base64Std("f"), "Zg==");
  EXPECT_EQ(Base64Std("fo"), "Zm8=");
  EXPECT_EQ(Base64Std("foo"), "Zm9v");
  EXPECT_EQ(Base64Std("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Std("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Std("foobar"), "Zm9vYmFy");
}

TEST(Base64Test, UrlAlphabetIsUnpaddedAndUrlSafe) {
  EXPECT_EQ(Base64Url(Bytes("any carnal pleas")), "YW55IGNhcm5hbCBwbGVhcw");
  EXPECT_EQ(Base64Url(Bytes("\xfb\xff\xbf")), "-_-_");
  EXPECT_EQ(Base64Std(Bytes("\xfb\xff\xbf")), "+/+/");
  EXPECT_EQ(Base64Url(Bytes("f")), "Zg");
  EXPECT_EQ(Base64Url(Bytes("fo")), "Zm8");
  EXPECT_EQ(Base64Url(Bytes("\xfb\xff")), "-_8");
  EXPECT_EQ(Base64Url(Bytes("")), "");
}

TEST(Base64Test, DecodeRoundTripsAndRefusesGarbage) {
  auto back = DecodeBase64Std("YW55IGNhcm5hbCBwbGVhcw==");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(std::string(back->begin(), back->end()), "any carnal pleas");
  EXPECT_EQ(DecodeBase64Std("YW55IGNhcm5hbCBwbGVhcw").value(), *back);  // padding optional
  EXPECT_EQ(DecodeBase64Std("").value().size(), 0u);
  EXPECT_FALSE(DecodeBase64Std("YW5*").has_value());
  EXPECT_FALSE(DecodeBase64Std("YW5 ").has_value());
  EXPECT_FALSE(DecodeBase64Std("-_-_").has_value());  // URL alphabet is not the standard one
  EXPECT_FALSE(DecodeBase64Std("Y").has_value());
  EXPECT_FALSE(DecodeBase64Std("Zm9vY").has_value());
  EXPECT_FALSE(DecodeBase64Std(std::string(5000, 'A')).has_value());
  EXPECT_TRUE(DecodeBase64Std(std::string(5000, 'A'), 5000).has_value());
  for (std::string s : {std::string(), std::string("a"), std::string("abcd"),
                        std::string("\x00\xff\x10 binary", 11)}) {
    EXPECT_EQ(DecodeBase64Std(Base64Std(s)).value(), std::vector<uint8_t>(s.begin(), s.end()));
  }
}

// ---- hex ----------------------------------------------------------------------------

TEST(HexTest, LowerCaseOutAnyCaseIn) {
  EXPECT_EQ(ToHex(Bytes("")), "");
  EXPECT_EQ(ToHex(Bytes(std::string_view("\x00\x01\xab\xff", 4))), "0001abff");
  EXPECT_EQ(HexDigitValue('0'), 0);
  EXPECT_EQ(HexDigitValue('9'), 9);
  EXPECT_EQ(HexDigitValue('a'), 10);
  EXPECT_EQ(HexDigitValue('F'), 15);
  EXPECT_EQ(HexDigitValue('g'), -1);
  EXPECT_EQ(HexDigitValue('\0'), -1);
}

// ---- URL ----------------------------------------------------------------------------

TEST(UrlTest, EncodeKeepsOnlyUnreserved) {
  EXPECT_EQ(UrlEncode("a b&c=d+é~"), "a%20b%26c%3Dd%2B%C3%A9~");
  EXPECT_EQ(UrlEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(UrlEncode("/?#%"), "%2F%3F%23%25");
  EXPECT_EQ(UrlEncode(std::string("\0\xff", 2)), "%00%FF");
  EXPECT_EQ(UrlEncode(""), "");
}

TEST(UrlTest, DecodeIsStrict) {
  EXPECT_EQ(UrlDecode("a%20b+c", false), "a b+c");
  EXPECT_EQ(UrlDecode("a%20b+c", true), "a b c");
  EXPECT_EQ(UrlDecode("%2F%2f", false), "//");
  EXPECT_EQ(UrlDecode("%C3%A9", false), "é");
  EXPECT_EQ(UrlDecode("", false), "");
  EXPECT_EQ(UrlDecode("%", false), std::nullopt);
  EXPECT_EQ(UrlDecode("%4", false), std::nullopt);
  EXPECT_EQ(UrlDecode("a+b%2", true), std::nullopt);
  EXPECT_EQ(UrlDecode("%g0", false), std::nullopt);
  EXPECT_EQ(UrlDecode("%00", false), std::nullopt);
  EXPECT_EQ(UrlDecode(std::string("a\0b", 3), false), std::nullopt);
}

TEST(UrlTest, RoundTripsEveryByteButNul) {
  std::string all;
  for (int c = 1; c < 256; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(UrlDecode(UrlEncode(all), true), all);
  EXPECT_EQ(UrlDecode(UrlEncode(all), false), all);
}

TEST(UrlTest, ParseForm) {
  auto f = ParseForm("i=K7Q2MX&by=Alice+B%C3%B6hm&e=&x&&i=2&bad=%zz&%=1");
  EXPECT_EQ(f.size(), 4u);
  EXPECT_EQ(f["i"], "2");  // the later one
  EXPECT_EQ(f["by"], "Alice Böhm");
  EXPECT_EQ(f["e"], "");
  EXPECT_EQ(f["x"], "");
  EXPECT_TRUE(ParseForm("").empty());
}

// ---- JSON escaping ------------------------------------------------------------------

std::string Parsed(const std::string& escaped) {
  return nlohmann::json::parse("\"" + escaped + "\"").get<std::string>();
}

TEST(JsonEscapeTest, EscapesWhatJsonRequires) {
  EXPECT_EQ(JsonEscape("plain"), "plain");
  EXPECT_EQ(JsonEscape("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(JsonEscape("\b\f\n\r\t"), "\\b\\f\\n\\r\\t");
  EXPECT_EQ(JsonEscape(std::string("a\x01\x1f\0b", 5)), "a\\u0001\\u001f\\u0000b");
  EXPECT_EQ(JsonEscape("/ \x7f"), "/ \x7f");
  EXPECT_EQ(JsonEscape(""), "");
}

TEST(JsonEscapeTest, Utf8IsCopiedAndRoundTrips) {
  const std::string label = "café/東京";
  EXPECT_EQ(JsonEscape(label), label);
  EXPECT_EQ(Parsed(JsonEscape(label)), label);
  const std::string edges =
      "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf"
      "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf😀";
  EXPECT_EQ(JsonEscape(edges), edges);
  EXPECT_EQ(Parsed(JsonEscape(edges)), edges);
}

TEST(JsonEscapeTest, IllFormedUtf8BecomesReplacementCharacters) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(JsonEscape("caf\xe9"), "caf" + r);                  // Latin-1 byte
  EXPECT_EQ(JsonEscape("\xc0\xaf"), r + r);                     // overlong '/'
  EXPECT_EQ(JsonEscape("\xe0\x80\xaf"), r + r + r);             // overlong, 3 bytes
  EXPECT_EQ(JsonEscape("\xed\xa0\x80"), r + r + r);             // surrogate U+D800
  EXPECT_EQ(JsonEscape("\xf4\x90\x80\x80"), r + r + r + r);     // above U+10FFFF
  EXPECT_EQ(JsonEscape("\xf5\x80"), r + r);                     // never a lead byte
  EXPECT_EQ(JsonEscape("\x80"), r);                             // lone continuation
  EXPECT_EQ(JsonEscape("\xe6\x9d"), r);                         // truncated at the end
  EXPECT_EQ(JsonEscape("\xe6\x9d\"x"), r + "\\\"x");            // truncated, then ASCII
  EXPECT_EQ(JsonEscape("\xf0\x9f\x98\xe6\x9d\xb1"), r + "東");  // maximal subpart, then valid
  // The same as nlohmann::json's replace mode, which writes the rest of our JSON.
  for (std::string bad : {"caf\xe9", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                          "\xe6\x9d\"x", "\xf0\x9f\x98\xe6\x9d\xb1"}) {
    const std::string dumped =
        nlohmann::json(bad).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    EXPECT_EQ("\"" + JsonEscape(bad) + "\"", dumped) << dumped;
  }
}

TEST(JsonEscapeTest, AppendAppends) {
  std::string out = "{\"k\":\"";
  AppendJsonEscaped(out, "v\n");
  EXPECT_EQ(out, "{\"k\":\"v\\n");
}

// ---- RFC 3339 -----------------------------------------------------------------------

TEST(Rfc3339Test, FormatsUtcWithMillis) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(1'764'088'873'123), "2025-11-25T16:41:13.123Z");
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339(951'782'400'005), "2000-02-29T00:00:00.005Z");
  EXPECT_EQ(FormatRfc3339(4'107'542'400'000), "2100-03-01T00:00:00.000Z");  // 2100: no Feb 29
}

TEST(Rfc3339Test, FractionModes) {
  EXPECT_EQ(FormatRfc3339(1'700'000'000'000, Rfc3339Fraction::kMillisIfNonZero),
            "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatRfc3339(1'700'000'000'120, Rfc3339Fraction::kMillisIfNonZero),
            "2023-11-14T22:13:20.120Z");
  EXPECT_EQ(FormatRfc3339(1'700'000'000'999, Rfc3339Fraction::kNone), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatRfc3339(-1, Rfc3339Fraction::kNone), "1969-12-31T23:59:59Z");
}

TEST(Rfc3339Test, FormatClampsToFourDigitYears) {
  EXPECT_EQ(FormatRfc3339(INT64_MAX), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339(INT64_MIN), "0000-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(253'402'300'799'999), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339(-62'167'219'200'000), "0000-01-01T00:00:00.000Z");
}

TEST(Rfc3339Test, ParsesWhatItFormats) {
  for (int64_t ms : {int64_t{0}, int64_t{-1}, int64_t{951'782'400'005}, int64_t{1'764'088'873'123},
                     int64_t{253'402'300'799'999}, int64_t{-62'167'219'200'000}}) {
    EXPECT_EQ(ParseRfc3339(FormatRfc3339(ms)), ms) << ms;
  }
}

TEST(Rfc3339Test, ParsesOffsetsFractionsAndLowerCase) {
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:20Z"), 1'700'000'000'000);
  EXPECT_EQ(ParseRfc3339("2023-11-14t22:13:20z"), 1'700'000'000'000);
  EXPECT_EQ(ParseRfc3339("2023-11-15T00:13:20+02:00"), 1'700'000'000'000);
  EXPECT_EQ(ParseRfc3339("2023-11-14T17:43:20-04:30"), 1'700'000'000'000);
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:20+00:00"), 1'700'000'000'000);
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:20-00:00"), 1'700'000'000'000);
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:20.5Z"), 1'700'000'000'500);
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:20.12Z"), 1'700'000'000'120);
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:20.123999999Z"), 1'700'000'000'123);  // truncated
  EXPECT_EQ(ParseRfc3339("1969-12-31T23:59:59.999Z"), -1);
  EXPECT_EQ(ParseRfc3339("2024-02-29T00:00:00Z"), 1'709'164'800'000);
  EXPECT_EQ(ParseRfc3339("2000-02-29T00:00:00Z"), 951'782'400'000);
}

TEST(Rfc3339Test, LeapSecondIsTheNextMinute) {
  EXPECT_EQ(ParseRfc3339("2016-12-31T23:59:60Z"), ParseRfc3339("2017-01-01T00:00:00Z"));
}

TEST(Rfc3339Test, RefusesEverythingElse) {
  for (const char* bad : {"",
                          "2023-11-14",
                          "2023-11-14T22:13:20",
                          "2023-11-14 22:13:20Z",
                          "2023-11-14T22:13Z",
                          "2023-11-14T22:13:20.Z",
                          "2023-11-14T22:13:20ZZ",
                          "2023-11-14T22:13:20Z ",
                          " 2023-11-14T22:13:20Z",
                          "+023-11-14T22:13:20Z",
                          "2023-1-14T22:13:20Z",
                          "2023-11-14T22:13:20+0200",
                          "2023-11-14T22:13:20+02",
                          "2023-11-14T22:13:20+24:00",
                          "2023-11-14T22:13:20+02:60",
                          "2023-11-14T22:13:20+0a:00",
                          "2023-00-14T22:13:20Z",
                          "2023-13-14T22:13:20Z",
                          "2023-11-00T22:13:20Z",
                          "2023-11-31T22:13:20Z",
                          "2023-02-29T00:00:00Z",
                          "1900-02-29T00:00:00Z",
                          "2023-11-14T24:00:00Z",
                          "2023-11-14T22:60:00Z",
                          "2023-11-14T22:13:61Z",
                          "2023-11-14X22:13:20Z",
                          "2023/11/14T22:13:20Z",
                          "20231114T221320Z",
                          "2023-11-14T22:13:2OZ"}) {
    EXPECT_EQ(ParseRfc3339(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace firewatch::text
