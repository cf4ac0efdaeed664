#include "cli/observe_commands.h"

#include <fmt/format.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/runner.h"
#include "cli/table.h"
#include "net/http.h"

namespace hearth {
namespace json = boost::json;

namespace {

const json::array& arrayAt(const json::value& v, std::string_view key) {
  static const json::array kEmpty;
  if (!v.is_object()) {
    return kEmpty;
  }
  const json::value* m = v.get_object().if_contains(key);
  return m != nullptr && m->is_array() ? m->get_array() : kEmpty;
}

std::string fixed(double value, int digits = 1) {
  return fmt::format("{:.{}f}", value, digits);
}

std::string mib(double bytes) {
  return fmt::format("{:.0f}Mi", bytes / 1048576.0);
}

std::string age(double seconds) {
  if (seconds < 120) {
    return fmt::format("{:.0f}s", seconds);
  }
  if (seconds < 7200) {
    return fmt::format("{:.0f}m", seconds / 60);
  }
  return fmt::format("{:.1f}h", seconds / 3600);
}

bool matches(const json::value& row, const std::string& function) {
  return function.empty() || str(row, "FunctionName") == function;
}

}  // namespace

std::string renderTop(const json::value& m, const std::string& endpoint,
                      const std::string& function, size_t max_environments) {
  std::ostringstream out;
  out << fmt::format("hearth top · {} · {}\n\n", endpoint,
                     str(m, "Time").empty() ? "no sample yet" : str(m, "Time"));
  Table providers(
      {"CAPACITY PROVIDER", "INSTANCES", "VCPUS", "ALLOCATED", "MAX", "CPU%", "$/HOUR"});
  for (const auto& p : arrayAt(m, "CapacityProviders")) {
    providers.add({str(p, "CapacityProviderName"), str(p, "Instances"), str(p, "VCpus"),
                   str(p, "vCPUAllocated"), str(p, "MaxVCpuCount"), fixed(num(p, "CPUUtilization")),
                   fixed(num(p, "PricePerHour"), 4)});
  }
  providers.print(out);
  out << "\n";
  Table instances({"INSTANCE", "PROVIDER", "TYPE", "ZONE", "STATE", "EES", "VCPU", "ALLOC", "CPU%",
                   "MEM", "AGE"});
  for (const auto& i : arrayAt(m, "Instances")) {
    instances.add({str(i, "InstanceId"), str(i, "CapacityProviderName"), str(i, "InstanceType"),
                   str(i, "Zone"), str(i, "State"), str(i, "ExecutionEnvironments"),
                   str(i, "VCpus"), str(i, "vCPUAllocated"), fixed(num(i, "CPUUtilization")),
                   mib(num(i, "MemoryUsedBytes")), age(num(i, "AgeSeconds"))});
  }
  instances.print(out);
  out << "\n";
  Table versions({"FUNCTION", "VERSION", "READY", "STARTING", "DRAINING", "DESIRED", "IN FLIGHT",
                  "LIMIT", "REQ/S", "THROTTLED", "P50 MS", "P99 MS", "VCPUS BUSY"});
  for (const auto& v : arrayAt(m, "Versions")) {
    if (!matches(v, function)) {
      continue;
    }
    versions.add({str(v, "FunctionName"), str(v, "Version"), str(v, "ReadyExecutionEnvironments"),
                  str(v, "StartingExecutionEnvironments"), str(v, "DrainingExecutionEnvironments"),
                  str(v, "DesiredExecutionEnvironments"), str(v, "InFlight"),
                  str(v, "ConcurrencyLimit"), fixed(num(v, "RequestRate")),
                  str(v, "ConcurrencyThrottles"), fixed(num(v, "LatencyP50Ms"), 2),
                  fixed(num(v, "LatencyP99Ms"), 2), fixed(num(v, "CpuVCpusBusy"), 2)});
  }
  versions.print(out);
  out << "\n";
  Table environments(
      {"EE", "FUNCTION", "VERSION", "INSTANCE", "STATE", "CONCURRENCY", "CPU%", "MEM"});
  size_t shown = 0;
  size_t total = 0;
  for (const auto& e : arrayAt(m, "ExecutionEnvironments")) {
    if (!matches(e, function)) {
      continue;
    }
    ++total;
    if (shown >= max_environments) {
      continue;
    }
    ++shown;
    environments.add({str(e, "Id"), str(e, "FunctionName"), str(e, "Version"), str(e, "InstanceId"),
                      str(e, "State"),
                      fmt::format("{}/{}", str(e, "ExecutionEnvironmentConcurrency"),
                                  str(e, "ExecutionEnvironmentConcurrencyLimit")),
                      fixed(num(e, "CPUUtilization")), mib(num(e, "MemoryUsedBytes"))});
  }
  environments.print(out);
  if (total > shown) {
    out << fmt::format("… and {} more execution environments\n", total - shown);
  }
  out << fmt::format("\n{} execution environments\n", total);
  return out.str();
}

void addObserveCommands(CLI::App& app, ClientOptions* options, int* exit_code) {
  auto runner = std::make_shared<Runner>(options);

  auto* top = app.add_subcommand("top", "A live view of providers, instances, versions and EEs");
  struct TopArgs {
    int interval_ms = 1000;
    bool once = false;
    std::string function;
    size_t max_environments = 40;
  };
  auto ta = std::make_shared<TopArgs>();
  top->add_option("--interval-ms", ta->interval_ms, "Refresh period")
      ->capture_default_str()
      ->check(CLI::Range(100, 60000));
  top->add_flag("--once", ta->once, "Print one frame and exit");
  top->add_option("--function", ta->function, "Only this function's versions and EEs");
  top->add_option("--max-environments", ta->max_environments, "EE rows shown")
      ->capture_default_str();
  top->callback([=] {
    for (;;) {
      auto result = runner->call("GET", "/_hearth/v1/metrics");
      if (!result.isOk()) {
        *exit_code = fail(result.status());
        return;
      }
      std::string frame = runner->json() ? ""
                                         : renderTop(*result, options->endpoint, ta->function,
                                                     ta->max_environments);
      if (runner->json()) {
        printJson(*result);
      } else if (ta->once) {
        std::cout << frame;
      } else {
        // Home, draw each line clearing what the last frame left to its right, then clear what
        // it left below.
        std::string painted;
        for (char c : frame) {
          painted += c == '\n' ? std::string("\x1b[K\n") : std::string(1, c);
        }
        std::cout << "\x1b[H" << painted << "(Ctrl-C quits)\x1b[K\x1b[J" << std::flush;
      }
      if (ta->once) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(ta->interval_ms));
    }
    *exit_code = 0;
  });

  auto* activity = app.add_subcommand("activity", "The scaler's decisions and the fleet's actions");
  struct ActivityArgs {
    size_t limit = 50;
    bool follow = false;
    std::string function;
  };
  auto aa = std::make_shared<ActivityArgs>();
  activity->add_option("--limit", aa->limit, "How many of the latest entries")
      ->capture_default_str();
  activity->add_flag("--follow,-f", aa->follow, "Keep printing new entries");
  activity->add_option("--function", aa->function, "Only this function's entries");
  activity->callback([=] {
    std::string target = "/_hearth/v1/activity?limit=" + std::to_string(aa->limit);
    bool header = true;
    for (;;) {
      auto result = runner->call("GET", target);
      if (!result.isOk()) {
        *exit_code = fail(result.status());
        return;
      }
      if (runner->json()) {
        for (const auto& e : arrayAt(*result, "Entries")) {
          if (matches(e, aa->function)) {
            printJson(e);
          }
        }
      } else {
        Table table({"TIME", "KIND", "PROVIDER", "FUNCTION", "SUBJECT", "CHANGE", "REASON"});
        size_t rows = 0;
        for (const auto& e : arrayAt(*result, "Entries")) {
          if (!matches(e, aa->function)) {
            continue;
          }
          std::string fn = str(e, "FunctionName");
          if (!str(e, "Version").empty()) {
            fn += ":" + str(e, "Version");
          }
          std::string change =
              str(e, "From") != str(e, "To") ? str(e, "From") + " -> " + str(e, "To") : "";
          table.add({str(e, "Time"), str(e, "Kind"), str(e, "CapacityProviderName"), fn,
                     str(e, "Subject"), change, str(e, "Reason")});
          ++rows;
        }
        if (rows > 0 || header) {
          std::ostringstream text;
          table.print(text);
          std::string printed = text.str();
          if (!header) {
            printed = printed.substr(printed.find('\n') + 1);  // the header once
          }
          std::cout << printed << std::flush;
          header = false;
        }
      }
      if (!aa->follow) {
        break;
      }
      target = "/_hearth/v1/activity?limit=2000&after=" + str(*result, "Next");
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    *exit_code = 0;
  });

  auto* cost = app.add_subcommand("cost", "Cost so far per capacity provider and function");
  cost->callback([=] {
    auto result = runner->call("GET", "/_hearth/v1/cost");
    if (!result.isOk()) {
      *exit_code = fail(result.status());
      return;
    }
    if (runner->json()) {
      printJson(*result);
      *exit_code = 0;
      return;
    }
    std::cout << fmt::format(
        "Metered {:.0f} s. Instances at on-demand prices + {:.0f}% management fee + ${:.2f} per "
        "million requests (USD).\n\n",
        num(*result, "MeteredSeconds"), num(*result, "ManagementFeeRate") * 100,
        num(*result, "RequestPricePerMillion"));
    Table providers({"CAPACITY PROVIDER", "INSTANCE-SECONDS", "INSTANCES $", "FEE $", "REQUESTS",
                     "REQUESTS $", "TOTAL $"});
    for (const auto& p : arrayAt(*result, "CapacityProviders")) {
      double seconds = 0;
      if (const auto* by_type = p.get_object().if_contains("InstanceSeconds");
          by_type && by_type->is_object()) {
        for (const auto& [type, s] : by_type->get_object()) {
          seconds += s.is_double() ? s.get_double() : 0;
        }
      }
      providers.add({str(p, "CapacityProviderName"), fixed(seconds, 0),
                     fixed(num(p, "InstanceCost"), 6), fixed(num(p, "ManagementFee"), 6),
                     str(p, "Requests"), fixed(num(p, "RequestCost"), 6),
                     fixed(num(p, "Total"), 6)});
    }
    providers.print(std::cout);
    std::cout << "\n";
    Table functions({"FUNCTION", "CAPACITY PROVIDER", "INSTANCES $ (CPU SHARE)", "REQUESTS",
                     "REQUESTS $", "TOTAL $"});
    for (const auto& f : arrayAt(*result, "Functions")) {
      functions.add({str(f, "FunctionName"), str(f, "CapacityProviderName"),
                     fixed(num(f, "InstanceCost"), 6), str(f, "Requests"),
                     fixed(num(f, "RequestCost"), 6), fixed(num(f, "Total"), 6)});
    }
    functions.print(std::cout);
    std::cout << fmt::format("\nUnattributed (empty instances): ${:.6f}\nTotal: ${:.6f}\n",
                             num(*result, "Unattributed"), num(*result, "Total"));
    *exit_code = 0;
  });
}

}  // namespace hearth
