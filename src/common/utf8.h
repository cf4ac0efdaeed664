#pragma once

#include <string>
#include <string_view>

namespace hearth {

// `text` with every byte that does not begin or continue a well-formed UTF-8 sequence (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF) replaced by U+FFFD, so that it can be
// placed in a JSON document. Valid text comes back unchanged.
std::string toValidUtf8(std::string_view text);

}  // namespace hearth
