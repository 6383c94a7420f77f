#include "tracker/label_pool.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

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

TEST(InternedTest, AHandleCountsItsCopiesAndTheEmptyStringIsNull) {
  InternPool pool;
  EXPECT_FALSE(pool.Intern("", 10)) << "no block for the empty string";
  EXPECT_EQ(*Interned(), "");
  Interned a = pool.Intern(std::string("v1\0x", 4), 10);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, std::string_view("v1\0x", 4)) << "any bytes, NUL included";
  EXPECT_EQ(a.use_count(), 2u) << "the pool's handle and ours";
  {
    Interned copy = a;
    EXPECT_EQ(copy.get(), a.get());
    EXPECT_EQ(a.use_count(), 3u);
    Interned moved = std::move(copy);
    EXPECT_FALSE(copy);  // NOLINT(bugprone-use-after-move): a moved-from handle is null
    EXPECT_EQ(a.use_count(), 3u);
  }
  EXPECT_EQ(a.use_count(), 2u);
  a = pool.Intern("v2", 10);
  EXPECT_EQ(*a, "v2");
}

TEST(InternedTest, ThePoolGrowsKeepsWhatIsHeldAndSweepsOnlyWhenItCanFree) {
  InternPool pool;
  std::vector<Interned> held;
  for (int i = 0; i < 10000; ++i) held.push_back(pool.Intern("s" + std::to_string(i), 10000));
  EXPECT_EQ(pool.size(), 10000u);
  for (int i = 0; i < 10000; ++i) {
    ASSERT_EQ(pool.Intern("s" + std::to_string(i), 10000).get(), held[i].get()) << i;
  }
  // The caller says it holds fewer than it does (a sweep frees nothing): every string is
  // still found, and the pool stays one entry per string.
  for (int i = 0; i < 10000; ++i) {
    ASSERT_EQ(pool.Intern("s" + std::to_string(i), 1).get(), held[i].get()) << i;
  }
  pool.Intern("new", 1);
  EXPECT_EQ(pool.size(), 10001u);
  // Dropped by the caller: swept once the pool grows past twice what is live.
  held.resize(10);
  for (int i = 0; i < 30000; ++i) pool.Intern("t" + std::to_string(i), 10);
  EXPECT_LT(pool.size(), 30000u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(pool.Intern("s" + std::to_string(i), 10).get(), held[i].get()) << i;
  }
}

}  // namespace
}  // namespace firewatch::collector
