// libFuzzer entry point for inspectZip. Small limits keep each input cheap; any crash, sanitizer
// report or non-kInvalidParameter rejection is a bug.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "artifact/zip_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hearth::ZipLimits limits;
  limits.max_uncompressed_bytes = 1 << 20;
  limits.max_entries = 64;
  auto result =
      hearth::inspectZip(std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (!result.isOk() && result.status().code() != hearth::StatusCode::kInvalidParameter) {
    std::abort();
  }
  return 0;
}
