#pragma once

#include <string>

namespace hearth {

// A random RFC 4122 version-4 UUID, lower case. Thread-safe.
std::string newUuid();

}  // namespace hearth
