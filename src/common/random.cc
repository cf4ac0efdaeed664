#include "common/random.h"

#include <random>

namespace hearth {
namespace {
std::mt19937_64& engine() {
  thread_local std::mt19937_64 e{std::random_device{}()};
  return e;
}
}  // namespace

double SystemRandom::uniform() {
  return std::uniform_real_distribution<double>(0, 1)(engine());
}

size_t SystemRandom::index(size_t n) {
  return std::uniform_int_distribution<size_t>(0, n - 1)(engine());
}

}  // namespace hearth
