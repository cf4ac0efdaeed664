#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

namespace hearth {

// Options shared by the client subcommands.
struct ClientOptions {
  std::string endpoint = "http://127.0.0.1:9001";
  std::string region = "us-east-1";
  std::string output = "table";  // table | json
};

// Adds `capacity-provider`, `function`, `invoke` and `logs` to `app`. Each subcommand's callback
// talks to the API and sets *exit_code (0 on success). `options` must outlive `app`.
void addClientCommands(CLI::App& app, ClientOptions* options, int* exit_code);

}  // namespace hearth
