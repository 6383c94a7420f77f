#include "tracker/label_pool.h"

#include <gtest/gtest.h>

namespace firewatch::collector {
namespace {

TEST(LabelPoolTest, EncodesAndDecodesAnyBytes) {
  const protocol::Labels labels{{"dc", "dc1"}, {"empty", ""}, {"nul", std::string("a\0b", 3)},
                                {"long", std::string(300, 'x')}};
  const std::string blob = EncodeLabels(labels);
  EXPECT_EQ(DecodeLabels(blob), labels);
  EXPECT_TRUE(LabelsEqual(blob, protocol::LabelViews(labels.begin(), labels.end())));
  EXPECT_TRUE(DecodeLabels(EncodeLabels(protocol::Labels{})).empty());
  EXPECT_EQ(EncodeLabels(protocol::LabelViews(labels.begin(), labels.end())), blob)
      << "owned and viewed label sets encode alike";
}

TEST(LabelPoolTest, EqualityIsExact) {
  using V = protocol::LabelViews;
  const std::string blob = EncodeLabels(protocol::Labels{{"dc", "dc1"}, {"role", "web"}});
  EXPECT_TRUE(LabelsEqual(blob, V{{"dc", "dc1"}, {"role", "web"}}));
  EXPECT_FALSE(LabelsEqual(blob, V{{"dc", "dc1"}}));
  EXPECT_FALSE(LabelsEqual(blob, V{{"dc", "dc1"}, {"role", "web"}, {"x", "y"}}));
  EXPECT_FALSE(LabelsEqual(blob, V{{"dc", "dc1"}, {"role", "db"}}));
  EXPECT_FALSE(LabelsEqual(blob, V{{"dcr", "ole"}, {"", "web"}}));  // same bytes, other split
}

TEST(LabelPoolTest, SharesEqualSetsAndSweepsUnusedOnes) {
  LabelPool pool;
  LabelBlob a = pool.Intern(protocol::Labels{{"dc", "dc1"}}, 1);
  LabelBlob b = pool.Intern(protocol::Labels{{"dc", "dc1"}}, 1);
  EXPECT_EQ(a.get(), b.get()) << "one copy per distinct set";
  for (int i = 0; i < 200; ++i) pool.Intern(protocol::Labels{{"host", std::to_string(i)}}, 1);
  EXPECT_LE(pool.size(), 2u * 1 + 64 + 1) << "sets no source holds are swept";
  EXPECT_EQ(pool.Intern(protocol::Labels{{"dc", "dc1"}}, 1).get(), a.get()) << "held sets survive the sweep";
}

}  // namespace
}  // namespace firewatch::collector
