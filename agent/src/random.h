// Randomness as an injected dependency, so jitter is reproducible in tests.
#pragma once

#include <cstdint>
#include <random>

namespace firewatch::agent {

// A source of uniform random numbers. Not thread-safe; owned by the loop thread.
class Random {
 public:
  virtual ~Random() = default;
  // A uniformly distributed value in [0, 1).
  virtual double Uniform01() = 0;
};

// A seedable pseudo-random generator (not for secrets). The same seed gives the same
// sequence on every platform that has a standard-conforming mt19937_64.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : engine_(seed) {}
  // Seeded from std::random_device, for production use.
  static uint64_t SeedFromDevice();
  double Uniform01() override;

 private:
  std::mt19937_64 engine_;
};

}  // namespace firewatch::agent
