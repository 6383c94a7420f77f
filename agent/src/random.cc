#include "random.h"

namespace firewatch::agent {

uint64_t SeededRandom::SeedFromDevice() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

double SeededRandom::Uniform01() {
  // 53 random bits make every double in [0, 1) with step 2^-53; portable, unlike
  // std::uniform_real_distribution whose algorithm is implementation-defined.
  return static_cast<double>(engine_() >> 11) * 0x1.0p-53;
}

}  // namespace firewatch::agent
