#pragma once

#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cli/runner.h"
#include "common/result.h"

namespace hearth {

// Adds `function update-code`, `function update-config`, `function alias` and
// `function aliases` under `function`.
void addFunctionUpdateCommands(CLI::App* function, std::shared_ptr<Runner> runner, int* exit_code);

// Polls GetFunctionConfiguration until the version (empty: $LATEST) has left Pending and its
// last update has finished. A Failed state or update is an error naming its reason.
Result<boost::json::value> waitSettled(Runner& runner, const std::string& name,
                                       const std::string& qualifier,
                                       std::chrono::seconds timeout = std::chrono::seconds(120));

// KEY=VALUE pairs as Environment.Variables. kInvalidParameter for a pair without '='.
Result<boost::json::object> parseEnvironment(const std::vector<std::string>& pairs);

}  // namespace hearth
