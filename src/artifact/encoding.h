#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace hearth {

// Byte-string encodings and digests shared by components that speak the AWS wire format. All
// functions are pure and safe to call from any thread.

// Standard base64 (RFC 4648 section 4) with '=' padding.
std::string base64Encode(std::string_view bytes);

// Strict inverse of base64Encode: the input length must be a multiple of 4, only the standard
// alphabet is accepted, '=' may appear only as one or two final characters, and unused trailing
// bits must be zero. No whitespace is skipped. Errors are kInvalidParameter.
Result<std::string> base64Decode(std::string_view text);

// The raw 32-byte SHA-256 digest of `bytes`. Aborts only if libcrypto itself is unusable.
std::string sha256Raw(std::string_view bytes);

// Lowercase hexadecimal, two characters per byte.
std::string hexEncode(std::string_view bytes);

}  // namespace hearth
