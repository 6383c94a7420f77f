#include "tracker/source_index.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace firewatch::collector {
namespace {

TEST(SourceIndexTest, FindsEveryIdAcrossGrowthAndNothingElse) {
  SourceIndex index;
  std::vector<std::string> ids;
  auto id_at = [&](uint32_t p) -> std::string_view { return ids[p]; };
  EXPECT_EQ(index.Find("web-01", SourceIndex::Hash("web-01"), id_at), SourceIndex::kNone);
  for (uint32_t i = 0; i < 20000; ++i) {  // many doublings of the table
    ids.push_back("host-" + std::to_string(i));
    index.Insert(SourceIndex::Hash(ids.back()), i);
  }
  EXPECT_EQ(index.size(), 20000u);
  for (uint32_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(index.Find(ids[i], SourceIndex::Hash(ids[i]), id_at), i) << ids[i];
  }
  EXPECT_EQ(index.Find("host-20000", SourceIndex::Hash("host-20000"), id_at), SourceIndex::kNone);
}

// Equal hashes (a collision, or an adversary's choice of ids) still resolve by id.
TEST(SourceIndexTest, CollidingHashesAreToldApartById) {
  SourceIndex index;
  std::vector<std::string> ids = {"a", "b", "c"};
  auto id_at = [&](uint32_t p) -> std::string_view { return ids[p]; };
  for (uint32_t i = 0; i < ids.size(); ++i) index.Insert(42, i);
  EXPECT_EQ(index.Find("a", 42, id_at), 0u);
  EXPECT_EQ(index.Find("b", 42, id_at), 1u);
  EXPECT_EQ(index.Find("c", 42, id_at), 2u);
  EXPECT_EQ(index.Find("d", 42, id_at), SourceIndex::kNone);
  EXPECT_EQ(index.Find("a", 43, id_at), SourceIndex::kNone);
}

}  // namespace
}  // namespace firewatch::collector
