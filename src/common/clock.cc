#include "common/clock.h"

#include <fmt/format.h>

#include <ctime>

namespace hearth {
namespace {

std::tm toUtc(std::chrono::system_clock::time_point t, int* millis) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  *millis = static_cast<int>(ms % 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return tm;
}

}  // namespace

std::string formatAwsTimestamp(std::chrono::system_clock::time_point t) {
  int millis = 0;
  std::tm tm = toUtc(t, &millis);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

std::string formatIso8601(std::chrono::system_clock::time_point t) {
  int millis = 0;
  std::tm tm = toUtc(t, &millis);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

}  // namespace hearth
