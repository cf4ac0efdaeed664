#include "common/ids.h"

#include <fmt/format.h>

#include <random>

namespace hearth {

std::string newUuid() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  uint64_t hi = engine();
  uint64_t lo = engine();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff,
                     hi & 0xffff, lo >> 48, lo & 0xffffffffffffULL);
}

}  // namespace hearth
