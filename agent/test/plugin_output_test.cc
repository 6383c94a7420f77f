#include "plugin_output.h"

#include <gtest/gtest.h>

#include "firewatch/text/utf8.h"

namespace firewatch::agent {
namespace {

TEST(PluginOutputTest, MessageAndPerfdataOfTheFirstLine) {
  auto o = ParsePluginOutput(
      "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968 'the load'=0.5\n"
      "long output | more=1\n");
  EXPECT_EQ(o.message, "DISK OK - free space: / 3326 MB (56%);");
  ASSERT_EQ(o.perfdata.size(), 2u);
  EXPECT_EQ(o.perfdata[0].label, "/");
  EXPECT_EQ(o.perfdata[0].value, 2643);
  EXPECT_EQ(o.perfdata[0].unit, "MB");
  EXPECT_EQ(o.perfdata[0].min, 0);
  EXPECT_EQ(o.perfdata[0].max, 5968);
  EXPECT_EQ(o.perfdata[1].label, "the load");
  EXPECT_EQ(o.perfdata[1].value, 0.5);
  EXPECT_FALSE(o.perfdata[1].max.has_value());
}

TEST(PluginOutputTest, QuotedLabelWithEscapedQuoteIsRefusedNotCrashing) {
  // '' inside quotes is a quote; a quote cannot be a Prometheus-safe label here.
  auto o = ParsePluginOutput("OK | 'it''s'=1 ok=2");
  ASSERT_EQ(o.perfdata.size(), 1u);
  EXPECT_EQ(o.perfdata[0].label, "ok");
  EXPECT_EQ(o.perfdata_rejected, 1u);
}

TEST(PluginOutputTest, BadItemsAreSkippedAndCounted) {
  auto o = ParsePluginOutput("X | a=nan b=1e999 c=5parsecs d= =3 e=7s f=1 f=2 'open=1 g=1");
  // 'open=1 g=1 never closes its quote: one bad item to the end of the line.
  std::vector<std::string> labels;
  for (const auto& p : o.perfdata) labels.push_back(p.label);
  EXPECT_EQ(labels, (std::vector<std::string>{"e", "f"}));
  EXPECT_EQ(o.perfdata_rejected, 7u);
}

TEST(PluginOutputTest, LimitsHold) {
  std::string many = "OK |";
  for (int i = 0; i < 100; ++i) many += " m" + std::to_string(i) + "=1";
  auto o = ParsePluginOutput(many, {.max_message = 256, .max_perfdata = 16, .max_label = 64});
  EXPECT_EQ(o.perfdata.size(), 16u);
  EXPECT_EQ(o.perfdata_rejected, 84u);
  auto long_msg = ParsePluginOutput(std::string(1000, 'x'));
  EXPECT_EQ(long_msg.message.size(), 256u);
}

TEST(PluginOutputTest, ControlBytesAndUtf8Cuts) {
  auto o =
      ParsePluginOutput(std::string("a\tb\x01"
                                    "c\r\n"));
  EXPECT_EQ(o.message, "a b c");
  // A cut never splits a UTF-8 sequence (é is two bytes).
  EXPECT_EQ(text::Utf8Prefix("caf\xc3\xa9", 4), "caf");
  EXPECT_EQ(text::Utf8Prefix("caf\xc3\xa9", 5), "caf\xc3\xa9");
  EXPECT_EQ(ParsePluginOutput("").message, "");
  EXPECT_EQ(ParsePluginOutput("|").perfdata.size(), 0u);
}

}  // namespace
}  // namespace firewatch::agent
