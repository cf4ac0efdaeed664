#pragma once

#include "common/status.h"

namespace hearth {

class CapacityProviderRegistry;
class FunctionRegistry;

inline constexpr const char* kDemoCapacityProvider = "demo";
inline constexpr const char* kDemoFunction = "hello";
inline constexpr const char* kDemoRuntime = "python3.13";

// Creates the demo capacity provider and a published Python function when they do not exist.
// Idempotent.
Status ensureDemo(CapacityProviderRegistry* providers, FunctionRegistry* functions);

}  // namespace hearth
