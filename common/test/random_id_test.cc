// firewatch/random_id.h: getrandom(2) and the ids made from it, and the fatal policy.
#include "firewatch/random_id.h"

#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <set>
#include <vector>

namespace firewatch {
namespace {

TEST(RandomIdTest, FillRandomFillsAndDiffers) {
  std::array<uint8_t, 32> a{}, b{};
  FillRandom(a);
  FillRandom(b);
  EXPECT_NE(a, b);
  FillRandom({});
  std::vector<uint8_t> big(1 << 20);  // larger than one getrandom call may return at once
  FillRandom(big);
  size_t zeros = 0;
  for (uint8_t x : big) zeros += x == 0;
  EXPECT_LT(zeros, big.size() / 128);  // ~1/256 expected
}

TEST(RandomIdTest, HexIsLowerCaseOfTheAskedLength) {
  EXPECT_EQ(RandomHex(0), "");
  for (size_t n : {1u, 8u, 16u, 64u, 65u, 200u}) {
    const std::string h = RandomHex(n);
    EXPECT_EQ(h.size(), 2 * n);
    EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos) << h;
  }
  EXPECT_NE(RandomHex(16), RandomHex(16));
}

TEST(RandomIdTest, UuidsAreVersion4) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string u = RandomUuidV4();
    ASSERT_EQ(u.size(), 36u);
    EXPECT_EQ(u[8], '-');
    EXPECT_EQ(u[13], '-');
    EXPECT_EQ(u[14], '4');
    EXPECT_EQ(u[18], '-');
    EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos) << u;
    EXPECT_EQ(u[23], '-');
    EXPECT_EQ(u.find_first_not_of("0123456789abcdef-"), std::string::npos) << u;
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 100u);
}

// Makes getrandom(2) fail with ENOSYS in this process, as an old kernel or a seccomp
// policy would.
void ForbidGetrandom() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getrandom, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(std::size(filter)), filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    std::abort();  // cannot set up the test: fails the death test's message match
  }
}

TEST(RandomIdDeathTest, NoRandomnessIsFatal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        ForbidGetrandom();
        RandomHex(16);
      },
      "getrandom\\(2\\) failed: Function not implemented");
}

}  // namespace
}  // namespace firewatch
