#pragma once

#include <string>

#include "common/result.h"

namespace hearth {

// The bytes of a deployment package: a directory zipped as it is, or a .zip file read as it is.
Result<std::string> loadCode(const std::string& path);

}  // namespace hearth
