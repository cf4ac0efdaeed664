#include "cli/function_update_commands.h"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <iostream>
#include <thread>

#include "artifact/encoding.h"
#include "cli/code_loader.h"
#include "cli/table.h"
#include "net/http.h"

namespace hearth {
namespace json = boost::json;

Result<json::object> parseEnvironment(const std::vector<std::string>& pairs) {
  json::object vars;
  for (const auto& pair : pairs) {
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return invalidParameter("--env takes KEY=VALUE, got '" + pair + "'");
    }
    vars[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return vars;
}

Result<json::value> waitSettled(Runner& runner, const std::string& name,
                                const std::string& qualifier, std::chrono::seconds timeout) {
  std::string target = "/2015-03-31/functions/" + percentEncode(name) + "/configuration";
  if (!qualifier.empty()) {
    target += "?Qualifier=" + percentEncode(qualifier);
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    HEARTH_ASSIGN_OR_RETURN(json::value config, runner.call("GET", target));
    std::string state = str(config, "State");
    std::string update = str(config, "LastUpdateStatus");
    if (state == "Failed") {
      return Status(StatusCode::kInvalidParameter,
                    fmt::format("{}:{} failed: {} {}", name, str(config, "Version"),
                                str(config, "StateReasonCode"), str(config, "StateReason")));
    }
    if (update == "Failed") {
      return Status(StatusCode::kInvalidParameter,
                    fmt::format("the last update of {} failed: {} {}", name,
                                str(config, "LastUpdateStatusReasonCode"),
                                str(config, "LastUpdateStatusReason")));
    }
    if (state != "Pending" && update != "InProgress") {
      return config;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status(StatusCode::kUnavailable,
                    fmt::format("{} is still {} after {} s", name, state, timeout.count()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

namespace {

// Prints a configuration after an update, waiting first when asked.
void finish(Runner& runner, const Result<json::value>& result, const std::string& name, bool wait,
            int* exit_code) {
  if (!result.isOk()) {
    *exit_code = fail(result.status());
    return;
  }
  json::value shown = *result;
  if (wait) {
    std::string version = str(*result, "Version");
    auto settled = waitSettled(runner, name, version == "$LATEST" ? "" : version);
    if (!settled.isOk()) {
      *exit_code = fail(settled.status());
      return;
    }
    shown = *settled;
  }
  if (runner.json()) {
    printJson(shown);
  } else {
    std::cout << fmt::format("{}:{} {} {}\n", str(shown, "FunctionName"), str(shown, "Version"),
                             str(shown, "State"), str(shown, "LastUpdateStatus"));
  }
  *exit_code = 0;
}

}  // namespace

void addFunctionUpdateCommands(CLI::App* fn, std::shared_ptr<Runner> runner, int* exit_code) {
  auto* code = fn->add_subcommand("update-code", "Replace a function's code");
  struct CodeArgs {
    std::string name, path;
    bool publish = false, wait = false;
  };
  auto ca = std::make_shared<CodeArgs>();
  code->add_option("name", ca->name, "Function name or ARN")->required();
  code->add_option("--code", ca->path, "Directory or .zip with the new code")->required();
  code->add_flag("--publish", ca->publish,
                 "Publish it too ($LATEST.PUBLISHED for a function on a capacity provider)");
  code->add_flag("--wait", ca->wait, "Wait until the update (and the version) is Active");
  code->callback([=] {
    auto zip = loadCode(ca->path);
    if (!zip.isOk()) {
      *exit_code = fail(zip.status());
      return;
    }
    json::object req{{"ZipFile", base64Encode(*zip)}};
    std::string base = "/2015-03-31/functions/" + percentEncode(ca->name);
    if (ca->publish) {
      auto current = runner->call("GET", base + "/configuration");
      if (!current.isOk()) {
        *exit_code = fail(current.status());
        return;
      }
      bool managed =
          current->is_object() && current->get_object().contains("CapacityProviderConfig");
      if (managed) {
        req["PublishTo"] = "LATEST_PUBLISHED";
      } else {
        req["Publish"] = true;
      }
    }
    finish(*runner, runner->call("PUT", base + "/code", json::serialize(req)), ca->name, ca->wait,
           exit_code);
  });

  auto* config = fn->add_subcommand("update-config", "Change a function's configuration");
  struct ConfigArgs {
    std::string name, handler, description, runtime;
    int memory = 0, timeout = 0;
    std::vector<std::string> env;
    bool clear_env = false, wait = false;
  };
  auto cf = std::make_shared<ConfigArgs>();
  config->add_option("name", cf->name, "Function name or ARN")->required();
  config->add_option("--memory", cf->memory, "MemorySize in MB");
  config->add_option("--timeout", cf->timeout, "Timeout in seconds");
  config->add_option("--handler", cf->handler, "Handler");
  config->add_option("--runtime", cf->runtime, "Runtime identifier");
  config->add_option("--description", cf->description, "Description");
  config->add_option("--env", cf->env, "Environment variable KEY=VALUE (repeatable; replaces all)");
  config->add_flag("--clear-env", cf->clear_env, "Remove every environment variable");
  config->add_flag("--wait", cf->wait, "Wait until the update has finished");
  config->callback([=] {
    json::object req;
    if (cf->memory > 0)
      req["MemorySize"] = cf->memory;
    if (cf->timeout > 0)
      req["Timeout"] = cf->timeout;
    if (!cf->handler.empty())
      req["Handler"] = cf->handler;
    if (!cf->runtime.empty())
      req["Runtime"] = cf->runtime;
    if (!cf->description.empty())
      req["Description"] = cf->description;
    if (!cf->env.empty() || cf->clear_env) {
      auto vars = parseEnvironment(cf->env);
      if (!vars.isOk()) {
        *exit_code = fail(vars.status());
        return;
      }
      req["Environment"] = json::object{{"Variables", std::move(*vars)}};
    }
    if (req.empty()) {
      *exit_code = fail(invalidParameter(
          "nothing to change: give --memory, --timeout, --handler, --runtime, --description, "
          "--env or --clear-env"));
      return;
    }
    finish(
        *runner,
        runner->call("PUT", "/2015-03-31/functions/" + percentEncode(cf->name) + "/configuration",
                     json::serialize(req)),
        cf->name, cf->wait, exit_code);
  });

  auto* alias = fn->add_subcommand("alias", "Create or move an alias to a version");
  struct AliasArgs {
    std::string name, alias, version, extra_version;
    double extra_weight = 0;
  };
  auto aa = std::make_shared<AliasArgs>();
  alias->add_option("name", aa->name, "Function name or ARN")->required();
  alias->add_option("alias", aa->alias, "Alias name")->required();
  alias->add_option("--version", aa->version, "The version it points to")->required();
  alias->add_option("--additional-version", aa->extra_version,
                    "A second version for weighted routing");
  alias
      ->add_option("--additional-weight", aa->extra_weight,
                   "The share (0-1) routed to --additional-version")
      ->check(CLI::Range(0.0, 1.0));
  alias->callback([=] {
    std::string base = "/2015-03-31/functions/" + percentEncode(aa->name) + "/aliases";
    json::object req{{"FunctionVersion", aa->version}};
    if (!aa->extra_version.empty()) {
      req["RoutingConfig"] = json::object{
          {"AdditionalVersionWeights", json::object{{aa->extra_version, aa->extra_weight}}}};
    }
    auto existing = runner->call("GET", base + "/" + percentEncode(aa->alias));
    Result<json::value> result =
        existing.isOk()
            ? runner->call("PUT", base + "/" + percentEncode(aa->alias), json::serialize(req))
            : [&] {
                req["Name"] = aa->alias;
                return runner->call("POST", base, json::serialize(req));
              }();
    if (!result.isOk()) {
      *exit_code = fail(result.status());
      return;
    }
    if (runner->json()) {
      printJson(*result);
    } else {
      std::cout << fmt::format("{} -> {}\n", str(*result, "AliasArn"),
                               str(*result, "FunctionVersion"));
    }
    *exit_code = 0;
  });

  auto* aliases = fn->add_subcommand("aliases", "List a function's aliases");
  auto aliases_name = std::make_shared<std::string>();
  aliases->add_option("name", *aliases_name, "Function name or ARN")->required();
  aliases->callback([=] {
    auto result =
        runner->call("GET", "/2015-03-31/functions/" + percentEncode(*aliases_name) + "/aliases");
    if (!result.isOk()) {
      *exit_code = fail(result.status());
      return;
    }
    if (runner->json()) {
      printJson(*result);
      *exit_code = 0;
      return;
    }
    Table table({"ALIAS", "VERSION", "ROUTING", "ARN"});
    for (const auto& a : result->at("Aliases").as_array()) {
      std::string routing;
      if (const auto* rc = a.get_object().if_contains("RoutingConfig"); rc && rc->is_object()) {
        routing = str(*rc, "AdditionalVersionWeights");
      }
      table.add({str(a, "Name"), str(a, "FunctionVersion"), routing, str(a, "AliasArn")});
    }
    table.print(std::cout);
    *exit_code = 0;
  });
}

}  // namespace hearth
