#pragma once

#include <string_view>

#include "common/status.h"

namespace hearth {

// Checks that `text` is one well-formed JSON value (RFC 8259, UTF-8), without building a
// document: the check allocates nothing and runs in one pass. Returns kInvalidRequestContent
// with AWS's Invoke wording and the position of the first bad byte otherwise.
Status checkInvokePayload(std::string_view text);

}  // namespace hearth
