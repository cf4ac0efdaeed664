#pragma once

#include <cstddef>

namespace hearth {

// Randomness for decisions (load balancing, weighted aliases), injected so tests can script it.
// Thread-safe.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Uniform in [0, 1).
  virtual double uniform() = 0;
  // Uniform in [0, n). REQUIRES: n > 0.
  virtual size_t index(size_t n) = 0;
};

// A per-thread Mersenne Twister seeded from std::random_device.
class SystemRandom final : public RandomSource {
 public:
  double uniform() override;
  size_t index(size_t n) override;
};

}  // namespace hearth
