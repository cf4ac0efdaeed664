#pragma once

#include <CLI/CLI.hpp>
#include <boost/json/value.hpp>
#include <string>

#include "cli/commands.h"

namespace hearth {

// Adds `top` (a live terminal view of GET /_hearth/v1/metrics), `activity` (the activity log,
// --follow to stream it) and `cost` to `app`. `options` must outlive `app`.
void addObserveCommands(CLI::App& app, ClientOptions* options, int* exit_code);

// One frame of `hearth top` from a /_hearth/v1/metrics answer. Pure.
std::string renderTop(const boost::json::value& metrics, const std::string& endpoint,
                      const std::string& function, size_t max_environments);

}  // namespace hearth
