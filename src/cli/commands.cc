#include "cli/commands.h"

#include <fmt/format.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "artifact/encoding.h"
#include "artifact/zip_writer.h"
#include "cli/api_client.h"
#include "cli/code_loader.h"
#include "cli/function_update_commands.h"
#include "cli/runner.h"
#include "cli/table.h"
#include "net/http.h"

namespace hearth {
namespace json = boost::json;

namespace {

void printProviders(const json::array& providers) {
  Table table({"NAME", "STATE", "MAX VCPUS", "ZONES", "ARN"});
  for (const auto& p : providers) {
    std::string arn = str(p, "CapacityProviderArn");
    std::string zones;
    if (const auto* vpc = p.get_object().if_contains("VpcConfig"); vpc && vpc->is_object()) {
      if (const auto* s = vpc->get_object().if_contains("SubnetIds"); s && s->is_array()) {
        zones = std::to_string(s->get_array().size());
      }
    }
    std::string max_vcpu;
    if (const auto* sc = p.get_object().if_contains("CapacityProviderScalingConfig");
        sc && sc->is_object()) {
      max_vcpu = str(*sc, "MaxVCpuCount");
    }
    table.add({arn.substr(arn.rfind(':') + 1), str(p, "State"), max_vcpu, zones, arn});
  }
  table.print(std::cout);
}

void printFunctions(const json::array& functions) {
  Table table({"NAME", "VERSION", "RUNTIME", "MEMORY", "STATE", "CODE SHA256"});
  for (const auto& f : functions) {
    table.add({str(f, "FunctionName"), str(f, "Version"), str(f, "Runtime"), str(f, "MemorySize"),
               str(f, "State"), str(f, "CodeSha256")});
  }
  table.print(std::cout);
}

}  // namespace

void addClientCommands(CLI::App& app, ClientOptions* options, int* exit_code) {
  auto runner = std::make_shared<Runner>(options);

  // capacity-provider
  auto* cp = app.add_subcommand("capacity-provider", "Manage capacity providers");
  cp->require_subcommand(1);
  {
    auto* create = cp->add_subcommand("create", "Create a capacity provider");
    auto name = std::make_shared<std::string>();
    auto subnets = std::make_shared<std::vector<std::string>>();
    auto max_vcpu = std::make_shared<int>(0);
    auto role = std::make_shared<std::string>("arn:aws:iam::123456789012:role/hearth-operator");
    auto instance_types = std::make_shared<std::vector<std::string>>();
    create->add_option("name", *name, "Capacity provider name")->required();
    create->add_option("--subnets", *subnets, "Subnets (zones); at least 3 recommended")
        ->delimiter(',')
        ->default_str("zone-a,zone-b,zone-c");
    create->add_option("--max-vcpus", *max_vcpu, "MaxVCpuCount (2-15000)");
    create->add_option("--operator-role", *role, "Operator role ARN");
    create->add_option("--instance-types", *instance_types, "AllowedInstanceTypes")->delimiter(',');
    create->callback([=] {
      json::object req{{"CapacityProviderName", *name}};
      json::array s;
      if (subnets->empty()) {
        s = {"zone-a", "zone-b", "zone-c"};
      } else {
        for (const auto& x : *subnets) {
          s.emplace_back(x);
        }
      }
      req["VpcConfig"] = json::object{{"SubnetIds", s}, {"SecurityGroupIds", json::array{}}};
      req["PermissionsConfig"] = json::object{{"CapacityProviderOperatorRoleArn", *role}};
      if (*max_vcpu > 0) {
        req["CapacityProviderScalingConfig"] = json::object{{"MaxVCpuCount", *max_vcpu}};
      }
      if (!instance_types->empty()) {
        json::array types;
        for (const auto& t : *instance_types) {
          types.emplace_back(t);
        }
        req["InstanceRequirements"] = json::object{{"AllowedInstanceTypes", types}};
      }
      auto result = runner->call("POST", "/2025-11-30/capacity-providers", json::serialize(req));
      if (!result.isOk()) {
        *exit_code = fail(result.status());
        return;
      }
      if (runner->json()) {
        printJson(*result);
      } else {
        printProviders(json::array{result->at("CapacityProvider")});
      }
      *exit_code = 0;
    });

    auto* list = cp->add_subcommand("list", "List capacity providers");
    list->callback([=] {
      json::array all;
      std::string marker;
      for (;;) {
        std::string target = "/2025-11-30/capacity-providers?MaxItems=50";
        if (!marker.empty()) {
          target += "&Marker=" + percentEncode(marker);
        }
        auto result = runner->call("GET", target);
        if (!result.isOk()) {
          *exit_code = fail(result.status());
          return;
        }
        for (const auto& p : result->at("CapacityProviders").as_array()) {
          all.push_back(p);
        }
        marker = str(*result, "NextMarker");
        if (marker.empty()) {
          break;
        }
      }
      if (runner->json()) {
        printJson(json::object{{"CapacityProviders", all}});
      } else {
        printProviders(all);
      }
      *exit_code = 0;
    });

    for (const char* verb : {"get", "delete"}) {
      auto* sub = cp->add_subcommand(verb, std::string(verb) + " a capacity provider");
      auto target_name = std::make_shared<std::string>();
      sub->add_option("name", *target_name, "Capacity provider name or ARN")->required();
      std::string method = std::string(verb) == "get" ? "GET" : "DELETE";
      sub->callback([=] {
        auto result =
            runner->call(method, "/2025-11-30/capacity-providers/" + percentEncode(*target_name));
        if (!result.isOk()) {
          *exit_code = fail(result.status());
          return;
        }
        if (runner->json()) {
          printJson(*result);
        } else {
          printProviders(json::array{result->at("CapacityProvider")});
        }
        *exit_code = 0;
      });
    }
  }

  // function
  auto* fn = app.add_subcommand("function", "Manage functions");
  fn->require_subcommand(1);
  {
    auto* create = fn->add_subcommand("create", "Create a function from a directory or a zip");
    struct CreateArgs {
      std::string name, runtime = "python3.13", handler, code, role, provider, description;
      int memory = 0, timeout = 0, concurrency = 0;
      bool publish = false;
      bool wait = false;
      std::vector<std::string> env;
    };
    auto a = std::make_shared<CreateArgs>();
    create->add_option("name", a->name, "Function name")->required();
    create->add_option("--runtime", a->runtime, "Runtime identifier")->capture_default_str();
    create->add_option("--handler", a->handler, "Handler, e.g. lambda_function.handler");
    create->add_option("--code", a->code, "Directory or .zip with the function code")->required();
    create->add_option("--role", a->role, "Execution role ARN");
    create->add_option("--capacity-provider", a->provider, "Capacity provider name or ARN");
    create->add_option("--memory", a->memory, "MemorySize in MB");
    create->add_option("--timeout", a->timeout, "Timeout in seconds");
    create->add_option("--concurrency", a->concurrency, "PerExecutionEnvironmentMaxConcurrency");
    create->add_option("--description", a->description, "Description");
    create->add_flag("--publish", a->publish, "Publish to $LATEST.PUBLISHED after creating");
    create->add_option("--env", a->env, "Environment variable KEY=VALUE (repeatable)");
    create->add_flag("--wait", a->wait,
                     "Wait until the function (and the version --publish makes) is Active");
    create->callback([=] {
      auto vars = parseEnvironment(a->env);
      if (!vars.isOk()) {
        *exit_code = fail(vars.status());
        return;
      }
      auto zip = loadCode(a->code);
      if (!zip.isOk()) {
        *exit_code = fail(zip.status());
        return;
      }
      json::object req{{"FunctionName", a->name},
                       {"Runtime", a->runtime},
                       {"Code", json::object{{"ZipFile", base64Encode(*zip)}}}};
      req["Role"] = a->role.empty() ? "arn:aws:iam::123456789012:role/hearth-function" : a->role;
      if (!a->handler.empty())
        req["Handler"] = a->handler;
      if (a->memory > 0)
        req["MemorySize"] = a->memory;
      if (a->timeout > 0)
        req["Timeout"] = a->timeout;
      if (!a->description.empty())
        req["Description"] = a->description;
      if (!vars->empty())
        req["Environment"] = json::object{{"Variables", std::move(*vars)}};
      if (!a->provider.empty()) {
        std::string arn = a->provider;
        if (arn.rfind("arn:", 0) != 0) {
          auto got = runner->call("GET", "/2025-11-30/capacity-providers/" + percentEncode(arn));
          if (!got.isOk()) {
            *exit_code = fail(got.status());
            return;
          }
          arn = str(got->at("CapacityProvider"), "CapacityProviderArn");
        }
        json::object lmi{{"CapacityProviderArn", arn}};
        if (a->concurrency > 0)
          lmi["PerExecutionEnvironmentMaxConcurrency"] = a->concurrency;
        req["CapacityProviderConfig"] =
            json::object{{"LambdaManagedInstancesCapacityProviderConfig", lmi}};
        if (a->memory == 0)
          req["MemorySize"] = 2048;
        if (a->publish)
          req["PublishTo"] = "LATEST_PUBLISHED";
      } else if (a->publish) {
        req["Publish"] = true;
      }
      auto result = runner->call("POST", "/2015-03-31/functions", json::serialize(req));
      if (!result.isOk()) {
        *exit_code = fail(result.status());
        return;
      }
      json::value shown = *result;
      if (a->wait) {
        auto settled = waitSettled(*runner, a->name, "");
        if (settled.isOk() && a->publish && !a->provider.empty()) {
          settled = waitSettled(*runner, a->name, "$LATEST.PUBLISHED");
        }
        if (!settled.isOk()) {
          *exit_code = fail(settled.status());
          return;
        }
        shown = *settled;
      }
      if (runner->json()) {
        printJson(shown);
      } else {
        printFunctions(json::array{shown});
      }
      *exit_code = 0;
    });

    auto* list = fn->add_subcommand("list", "List functions");
    list->callback([=] {
      json::array all;
      std::string marker;
      for (;;) {
        std::string target = "/2015-03-31/functions/?MaxItems=50";
        if (!marker.empty())
          target += "&Marker=" + percentEncode(marker);
        auto result = runner->call("GET", target);
        if (!result.isOk()) {
          *exit_code = fail(result.status());
          return;
        }
        for (const auto& f : result->at("Functions").as_array())
          all.push_back(f);
        marker = str(*result, "NextMarker");
        if (marker.empty())
          break;
      }
      if (runner->json()) {
        printJson(json::object{{"Functions", all}});
        *exit_code = 0;
        return;
      }
      // A function on a capacity provider runs only its published versions: show the newest.
      Table table({"NAME", "RUNTIME", "MEMORY", "VERSION", "STATE", "REASON"});
      for (const auto& f : all) {
        std::string name = str(f, "FunctionName");
        json::value shown = f;
        if (f.get_object().contains("CapacityProviderConfig")) {
          auto versions =
              runner->call("GET", "/2015-03-31/functions/" + percentEncode(name) + "/versions");
          if (versions.isOk()) {
            const json::value* newest = nullptr;
            for (const auto& v : versions->at("Versions").as_array()) {
              if (str(v, "Version") != "$LATEST") {
                newest = &v;  // listed oldest first; $LATEST.PUBLISHED last
              }
            }
            if (newest != nullptr) {
              shown = *newest;
            }
          }
        }
        std::string reason = str(shown, "StateReasonCode");
        if (!str(shown, "StateReason").empty()) {
          reason += (reason.empty() ? "" : ": ") + str(shown, "StateReason");
        }
        table.add({name, str(f, "Runtime"), str(f, "MemorySize"), str(shown, "Version"),
                   str(shown, "State"), reason.substr(0, 100)});
      }
      table.print(std::cout);
      *exit_code = 0;
    });

    auto* get = fn->add_subcommand("get", "Show a function");
    auto get_name = std::make_shared<std::string>();
    auto get_qualifier = std::make_shared<std::string>();
    get->add_option("name", *get_name, "Function name or ARN")->required();
    get->add_option("--qualifier", *get_qualifier, "Version or alias");
    get->callback([=] {
      std::string target = "/2015-03-31/functions/" + percentEncode(*get_name);
      if (!get_qualifier->empty())
        target += "?Qualifier=" + percentEncode(*get_qualifier);
      auto result = runner->call("GET", target);
      if (!result.isOk()) {
        *exit_code = fail(result.status());
        return;
      }
      if (runner->json()) {
        printJson(*result);
      } else {
        const json::value& c = result->at("Configuration");
        Table table({"FIELD", "VALUE"});
        for (const char* key :
             {"FunctionName", "FunctionArn", "Version", "Runtime", "Handler", "MemorySize",
              "Timeout", "State", "StateReasonCode", "StateReason", "LastUpdateStatus",
              "LastUpdateStatusReasonCode", "LastUpdateStatusReason", "CodeSha256",
              "CapacityProviderConfig", "Environment", "LastModified"}) {
          if (!str(c, key).empty()) {
            table.add({key, str(c, key)});
          }
        }
        table.print(std::cout);
      }
      *exit_code = 0;
    });

    auto* del = fn->add_subcommand("delete", "Delete a function or one version");
    auto del_name = std::make_shared<std::string>();
    auto del_qualifier = std::make_shared<std::string>();
    del->add_option("name", *del_name, "Function name or ARN")->required();
    del->add_option("--qualifier", *del_qualifier, "Version to delete");
    del->callback([=] {
      std::string target = "/2015-03-31/functions/" + percentEncode(*del_name);
      if (!del_qualifier->empty())
        target += "?Qualifier=" + percentEncode(*del_qualifier);
      auto result = runner->call("DELETE", target);
      if (!result.isOk()) {
        *exit_code = fail(result.status());
        return;
      }
      if (runner->json()) {
        printJson(json::object{{"Deleted", *del_name}});
      } else {
        std::cout << "deleted " << *del_name << (del_qualifier->empty() ? "" : ":" + *del_qualifier)
                  << "\n";
      }
      *exit_code = 0;
    });

    auto* publish = fn->add_subcommand("publish", "Publish a version");
    auto pub_name = std::make_shared<std::string>();
    auto pub_latest = std::make_shared<bool>(false);
    auto pub_description = std::make_shared<std::string>();
    publish->add_option("name", *pub_name, "Function name or ARN")->required();
    publish->add_flag("--latest-published", *pub_latest,
                      "Publish to $LATEST.PUBLISHED instead of a new numbered version");
    publish->add_option("--description", *pub_description, "Version description");
    auto pub_wait = std::make_shared<bool>(false);
    publish->add_flag("--wait", *pub_wait, "Wait until the version is Active");
    publish->callback([=] {
      json::object req;
      if (*pub_latest)
        req["PublishTo"] = "LATEST_PUBLISHED";
      if (!pub_description->empty())
        req["Description"] = *pub_description;
      auto result =
          runner->call("POST", "/2015-03-31/functions/" + percentEncode(*pub_name) + "/versions",
                       json::serialize(req));
      if (!result.isOk()) {
        *exit_code = fail(result.status());
        return;
      }
      json::value shown = *result;
      if (*pub_wait) {
        auto settled = waitSettled(*runner, *pub_name, str(*result, "Version"));
        if (!settled.isOk()) {
          *exit_code = fail(settled.status());
          return;
        }
        shown = *settled;
      }
      if (runner->json()) {
        printJson(shown);
      } else {
        printFunctions(json::array{shown});
      }
      *exit_code = 0;
    });
    addFunctionUpdateCommands(fn, runner, exit_code);
  }

  // logs
  auto* logs = app.add_subcommand("logs", "Print a function's logs");
  struct LogsArgs {
    std::string name;
    int lines = 100;
    bool follow = false;
  };
  auto la = std::make_shared<LogsArgs>();
  logs->add_option("name", la->name, "Function name")->required();
  logs->add_option("--lines", la->lines, "How many of the latest lines to print")
      ->capture_default_str();
  logs->add_flag("--follow,-f", la->follow, "Keep printing new lines");
  logs->callback([=] {
    // A typo is an error, not an empty log (nor an endless --follow).
    if (auto exists = runner->call("GET", "/2015-03-31/functions/" + percentEncode(la->name));
        !exists.isOk()) {
      *exit_code = fail(exists.status());
      return;
    }
    std::string base = "/_hearth/v1/logs/" + percentEncode(la->name);
    auto result = runner->call("GET", base + "?limit=" + std::to_string(la->lines));
    for (;;) {
      if (!result.isOk()) {
        *exit_code = fail(result.status());
        return;
      }
      for (const auto& line : result->at("lines").as_array()) {
        std::cout << line.as_string().c_str() << "\n";
      }
      std::cout.flush();
      if (!la->follow) {
        break;
      }
      std::string cursor = json::serialize(result->at("cursor"));
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      result = runner->call("GET", base + "?limit=1000&cursor=" + cursor);
    }
    *exit_code = 0;
  });

  // invoke
  auto* invoke = app.add_subcommand("invoke", "Invoke a function and print its response");
  struct InvokeArgs {
    std::string name, payload = "{}", qualifier, type = "RequestResponse";
    bool tail = false;
  };
  auto inv = std::make_shared<InvokeArgs>();
  invoke->add_option("name", inv->name, "Function name or ARN")->required();
  invoke->add_option("--payload", inv->payload, "JSON event")->capture_default_str();
  invoke->add_option("--qualifier", inv->qualifier, "Version or alias");
  invoke->add_option("--invocation-type", inv->type, "RequestResponse | Event | DryRun");
  invoke->add_flag("--tail", inv->tail, "Print the last 4 KB of the function's log");
  invoke->callback([=] {
    std::string target = "/2015-03-31/functions/" + percentEncode(inv->name) + "/invocations";
    if (!inv->qualifier.empty())
      target += "?Qualifier=" + percentEncode(inv->qualifier);
    HeaderList headers{{"X-Amz-Invocation-Type", inv->type}};
    if (inv->tail)
      headers.emplace_back("X-Amz-Log-Type", "Tail");
    ApiClient* client = runner->client();
    if (client == nullptr) {
      *exit_code = fail(invalidParameter("bad endpoint " + options->endpoint));
      return;
    }
    auto result = client->call("POST", target, inv->payload, headers);
    if (!result.isOk()) {
      *exit_code = fail(result.status());
      return;
    }
    const std::string* error = result->header("X-Amz-Function-Error");
    const std::string* version = result->header("X-Amz-Executed-Version");
    if (runner->json()) {
      json::object out{{"StatusCode", result->status},
                       {"ExecutedVersion", version ? *version : ""},
                       {"Payload", result->body}};
      if (error)
        out["FunctionError"] = *error;
      printJson(out);
    } else {
      std::cout << result->body << "\n";
    }
    if (inv->tail) {
      if (const std::string* log = result->header("X-Amz-Log-Result")) {
        auto decoded = base64Decode(*log);
        if (decoded.isOk())
          std::cerr << *decoded;
      }
    }
    if (error) {
      // The payload (stdout) is the error document; say what happened where people look.
      std::string type, message;
      boost::system::error_code ec;
      json::value doc = json::parse(result->body, ec);
      if (!ec) {
        type = str(doc, "errorType");
        message = str(doc, "errorMessage");
      }
      std::cerr << fmt::format("error: the function failed ({}){}{}\n", *error,
                               type.empty() ? "" : ": " + type,
                               message.empty() ? "" : ": " + message);
    }
    *exit_code = error ? 2 : 0;
  });
}

}  // namespace hearth
