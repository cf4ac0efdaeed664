// The `hearth` binary: parses flags and wires components together. All logic lives in src/.
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "agent/agent.h"
#include "agent/runtime_roots.h"
#include "cli/commands.h"
#include "cli/observe_commands.h"
#include "sandbox/process_launcher.h"
#include "sandbox/sandboxing_launcher.h"
#include "server/demo.h"
#include "server/server.h"

namespace {

// Blocks SIGINT/SIGTERM in every thread (call before starting any) and waits for one of them.
void blockTerminationSignals(sigset_t* set) {
  sigemptyset(set);
  sigaddset(set, SIGINT);
  sigaddset(set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, set, nullptr);
}

// Parses repeated KEY=VALUE options, e.g. --interpreter python3.13=/usr/bin/python3.
std::map<std::string, std::string> parseMappings(const std::vector<std::string>& specs,
                                                 const std::string& option,
                                                 const std::string& form) {
  std::map<std::string, std::string> out;
  for (const auto& spec : specs) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      throw CLI::ValidationError(option, "expected " + form + ", got '" + spec + "'");
    }
    out[spec.substr(0, eq)] = spec.substr(eq + 1);
  }
  return out;
}

std::map<std::string, std::string> parseInterpreters(const std::vector<std::string>& specs) {
  return parseMappings(specs, "--interpreter", "RUNTIME=PROGRAM (or RUNTIME_PREFIX=PROGRAM)");
}

// --runtime-root RUNTIME=DIR: DIR must be an absolute path to a directory.
std::map<std::string, std::string> parseRuntimeRoots(const std::vector<std::string>& specs) {
  auto roots = parseMappings(specs, "--runtime-root", "RUNTIME=DIR");
  for (auto& [runtime, dir] : roots) {
    std::error_code ec;
    if (dir.front() != '/' || !std::filesystem::is_directory(dir, ec)) {
      throw CLI::ValidationError("--runtime-root",
                                 runtime + "=" + dir + ": DIR must be an absolute directory");
    }
    while (dir.size() > 1 && dir.back() == '/') {
      dir.pop_back();
    }
  }
  return roots;
}

// Servers and agents hold many sockets, pipes and listeners: use the hard file limit.
void raiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

std::vector<hearth::Credentials> parseAccessKeys(const std::vector<std::string>& specs) {
  std::vector<hearth::Credentials> keys;
  for (const auto& spec : specs) {
    auto colon = spec.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size()) {
      throw CLI::ValidationError("--access-key", "expected ACCESS_KEY_ID:SECRET");
    }
    keys.push_back({spec.substr(0, colon), spec.substr(colon + 1)});
  }
  return keys;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Hearth: self-hosted AWS Lambda Managed Instances"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("hearth ") + HEARTH_VERSION);
  auto* help_cmd = app.add_subcommand("help", "Show the commands, or one command's options");
  std::vector<std::string> help_topic;
  help_cmd->add_option("command", help_topic, "A command, e.g. function create");
  app.set_config("--config", "", "Read options from a TOML/INI file");

  hearth::ClientOptions client;
  app.add_option("--endpoint", client.endpoint, "API endpoint for client commands")
      ->envname("HEARTH_ENDPOINT")
      ->capture_default_str();
  app.add_option("--output", client.output, "Output format: table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();

  hearth::ServerOptions server;
  std::vector<std::string> access_keys;
  std::string log_level = "info";
  auto* up = app.add_subcommand("up", "Run the Hearth server (API, control plane)");
  up->add_option("--listen", server.listen, "HOST:PORT to serve the Lambda API on")
      ->envname("HEARTH_LISTEN")
      ->capture_default_str();
  up->add_option("--data-dir", server.data_dir, "Directory for state and code")
      ->envname("HEARTH_DATA_DIR")
      ->capture_default_str();
  up->add_option("--region", server.account.region, "Region in ARNs")
      ->envname("HEARTH_REGION")
      ->capture_default_str();
  up->add_option("--account-id", server.account.account_id, "Account id in ARNs")
      ->envname("HEARTH_ACCOUNT_ID")
      ->capture_default_str();
  up->add_option("--access-key", access_keys,
                 "ACCESS_KEY_ID:SECRET accepted with SigV4 (required beyond loopback)")
      ->envname("HEARTH_ACCESS_KEYS")
      ->delimiter(',');
  up->add_option("--io-threads", server.io_threads,
                 "HTTP I/O threads (0: one per two cores, at least one)")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  up->add_option("--max-connections", server.max_connections, "Open client connections, in all")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->capture_default_str();
  up->add_option("--max-connections-per-client", server.max_connections_per_client,
                 "Open connections one client (IPv4 address, IPv6 /64) may hold")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->capture_default_str();
  up->add_flag("--demo", server.demo, "Create a demo capacity provider and function");
  up->add_option("--log-level", log_level, "trace|debug|info|warn|error")
      ->envname("HEARTH_LOG_LEVEL")
      ->capture_default_str();

  std::vector<std::string> interpreters;
  std::vector<std::string> runtime_roots;
  int queue_wait_ms = 50;
  up->add_option("--runtimes-dir", server.runtimes_dir, "Directory of Hearth's runtime bootstraps");
  up->add_option("--interpreter", interpreters,
                 "Runtime (or runtime prefix) to interpreter, e.g. python3.13=/usr/bin/python3.13; "
                 "one of another version is used as a logged substitution (repeatable)");
  up->add_option("--runtime-root", runtime_roots,
                 "Runtime to a root file system directory, e.g. an unpacked Lambda base image: "
                 "python3.13=/srv/images/python3.13 (repeatable)");
  up->add_option("--instance-catalog", server.instance_catalog,
                 "JSON instance-type catalogue replacing the built-in one");
  int64_t agent_orphan_timeout_ms = 60000;
  up->add_option("--agent-orphan-timeout-ms", agent_orphan_timeout_ms,
                 "Local agents stop themselves when this server has been gone this long")
      ->capture_default_str();
  up->add_option("--router-queue-wait-ms", queue_wait_ms,
                 "How long an invoke may wait for a free slot before 429")
      ->capture_default_str();
  int64_t instance_lifetime_s = 14 * 24 * 3600;
  up->add_option("--instance-max-lifetime-seconds", instance_lifetime_s,
                 "Rotate instances older than this: replace their EEs, drain, release")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{10}, int64_t{365} * 24 * 3600));

  hearth::AgentOptions agent;
  auto* agent_cmd = app.add_subcommand("agent", "Run an instance agent (started by the server)");
  agent_cmd->add_option("--server", agent.server, "Server URL http://HOST:PORT")->required();
  agent_cmd->add_option("--token", agent.token, "Agent token")->envname("HEARTH_AGENT_TOKEN");
  agent_cmd->add_option("--instance-id", agent.instance_id, "Instance id")->required();
  agent_cmd->add_option("--zone", agent.zone, "Zone (subnet)");
  agent_cmd->add_option("--instance-type", agent.instance_type, "Instance type");
  agent_cmd->add_option("--vcpus", agent.vcpus, "vCPU budget");
  agent_cmd->add_option("--memory-mib", agent.memory_mib, "Memory budget in MiB");
  agent_cmd->add_option("--listen-host", agent.listen_host, "Address routers reach this agent at")
      ->capture_default_str();
  agent_cmd->add_option("--work-dir", agent.work_dir, "Work directory")->required();
  agent_cmd->add_option("--runtimes-dir", agent.runtimes_dir, "Runtime bootstraps directory");
  agent_cmd->add_option("--region", agent.region, "AWS_REGION for functions");
  agent_cmd
      ->add_option("--io-threads", agent.io_threads,
                   "HTTP I/O threads (0: one per 16 vCPUs, 1 to 8; with one, an invocation "
                   "reaches its runtime and its answer comes back on one thread)")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  int64_t orphan_timeout_ms = 60000;
  agent_cmd->add_option("--orphan-timeout-ms", orphan_timeout_ms,
                        "Stop after the server has not answered for this long");
  std::vector<std::string> agent_interpreters;
  agent_cmd->add_option("--interpreter", agent_interpreters,
                        "Runtime (or runtime prefix) to interpreter (repeatable)");
  std::vector<std::string> agent_runtime_roots;
  agent_cmd->add_option("--runtime-root", agent_runtime_roots,
                        "Runtime to a root file system directory (repeatable)");
  bool agent_insecure = false;
  agent_cmd->add_flag("--insecure-no-sandbox", agent_insecure,
                      "Run execution environments as plain root processes (development only)");
  up->add_flag("--insecure-no-sandbox", server.insecure_no_sandbox,
               "Run execution environments without a sandbox, as plain root processes of this "
               "host (development only)");

  int exit_code = 0;
  hearth::addClientCommands(app, &client, &exit_code);
  hearth::addObserveCommands(app, &client, &exit_code);
  // --endpoint and --output may follow the subcommand too: options a subcommand does not know
  // fall through to its parent.
  std::function<void(CLI::App*)> fallThrough = [&](CLI::App* parent) {
    for (auto* sub : parent->get_subcommands({})) {
      sub->fallthrough();
      fallThrough(sub);
    }
  };
  for (auto* sub : app.get_subcommands({})) {
    if (sub->get_name() != "up" && sub->get_name() != "agent") {
      sub->add_option("--region", client.region, "Region used to sign requests")
          ->envname("AWS_REGION");
      fallThrough(sub);
      sub->fallthrough();
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      return app.exit(e);  // --help, --version
    }
    // Down the command words: one that names no command where one is expected is a typo, not
    // a missing command.
    CLI::App* at = &app;
    std::string path = "hearth";
    for (int i = 1; i < argc; ++i) {
      std::string word = argv[i];
      if (word.empty()) {
        break;
      }
      if (word[0] == '-') {
        // The root's options that take a value, given apart from it.
        if (word == "--endpoint" || word == "--output" || word == "--region" ||
            word == "--config") {
          ++i;
        }
        continue;
      }
      auto subs = at->get_subcommands({});
      if (subs.empty()) {
        break;
      }
      CLI::App* next = nullptr;
      for (auto* sub : subs) {
        next = sub->get_name() == word ? sub : next;
      }
      if (next == nullptr) {
        std::cerr << "hearth: '" << word << "' is not a " << path << " command. Run '"
                  << (path == "hearth" ? std::string("hearth help")
                                       : "hearth help" + path.substr(6))
                  << "'.\n";
        return 2;
      }
      at = next;
      path += " " + word;
    }
    if (argc == 1 || (at != &app && !at->get_subcommands({}).empty() &&
                      e.get_name() == "RequiredError" && at->get_subcommands().empty())) {
      // A command that needs a subcommand, given none: its help.
      std::cerr << at->get_formatter()->make_help(at, path, CLI::AppFormatMode::Normal);
      return 2;
    }
    return app.exit(e);
  }
  if (help_cmd->parsed()) {
    CLI::App* topic = &app;
    for (const auto& word : help_topic) {
      CLI::App* next = nullptr;
      for (auto* sub : topic->get_subcommands({})) {
        if (sub->get_name() == word) {
          next = sub;
        }
      }
      if (next == nullptr) {
        std::cerr << "hearth: no command '" << word << "'. Run 'hearth help'.\n";
        return 2;
      }
      topic = next;
    }
    std::cout << topic->get_formatter()->make_help(topic, topic == &app ? "hearth" : "",
                                                   CLI::AppFormatMode::Normal);
    return 0;
  }
  if (agent_cmd->parsed() || up->parsed()) {
    raiseFileLimit();
  }
  if (agent_cmd->parsed()) {
    try {
      agent.interpreters = parseInterpreters(agent_interpreters);
      agent.root_filesystems = parseRuntimeRoots(agent_runtime_roots);
    } catch (const CLI::ParseError& e) {
      return app.exit(e);
    }
    if (agent.runtimes_dir.empty()) {
      agent.runtimes_dir = hearth::executableDir() + "/../runtimes";
    }
    agent.orphan_timeout = std::chrono::milliseconds(orphan_timeout_ms);
    spdlog::set_level(spdlog::level::from_str(log_level));
    sigset_t signals;
    blockTerminationSignals(&signals);
    agent.sandboxed = !agent_insecure;
    hearth::SandboxLauncherPtr launcher;
    if (agent.sandboxed) {
      hearth::SandboxingLauncherOptions sandbox;
      sandbox.staging_root = agent.work_dir + "/sandbox-root";
      sandbox.instance_name = agent.instance_id;
      sandbox.instance_limits = {agent.memory_mib * 1024 * 1024, agent.vcpus, 0};
      auto made = hearth::makeSandboxingLauncher(sandbox);
      if (!made.isOk()) {
        std::cerr << "hearth agent: " << made.status().message()
                  << "; --insecure-no-sandbox runs execution environments unisolated\n";
        return 1;
      }
      launcher = std::move(made).value();
    } else {
      spdlog::warn("execution environments run without a sandbox (--insecure-no-sandbox)");
      launcher = hearth::ProcessLauncher::makeProcessLauncher();
    }
    auto started = hearth::Agent::start(agent, launcher.get());
    if (!started.isOk()) {
      std::cerr << "hearth agent: " << started.status().message() << "\n";
      return 1;
    }
    // Until SIGINT/SIGTERM, or until the server has been gone for the orphan timeout.
    timespec tick{0, 200 * 1000 * 1000};
    while (sigtimedwait(&signals, nullptr, &tick) < 0 && !(*started)->orphaned()) {
    }
    (*started)->drain();
    launcher.reset();  // reaps the runtimes while the agent that gets their exit callbacks lives
    return 0;
  }
  if (!up->parsed()) {
    return exit_code;
  }

  spdlog::set_level(spdlog::level::from_str(log_level));
  try {
    server.access_keys = parseAccessKeys(access_keys);
    server.interpreters = parseInterpreters(interpreters);
    server.root_filesystems = parseRuntimeRoots(runtime_roots);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!server.insecure_no_sandbox) {
    hearth::Status support = hearth::checkSandboxSupport("/sys/fs/cgroup");
    if (!support.isOk()) {
      std::cerr
          << "hearth up: cannot sandbox execution environments on this host: " << support.message()
          << ". Pass --insecure-no-sandbox to run them as plain processes "
             "(development only: functions then run unisolated, with Hearth's own privileges).\n";
      return 1;
    }
  } else {
    spdlog::warn("execution environments run without a sandbox (--insecure-no-sandbox)");
  }
  // Local instances run on this host: say now which runtimes they will have.
  auto runtimes = hearth::resolveAndLogRuntimeRoots(
      {server.interpreters, server.root_filesystems, !server.insecure_no_sandbox}, "hearth up");
  server.router_queue_wait = std::chrono::milliseconds(queue_wait_ms);
  server.instance_max_lifetime = std::chrono::seconds(instance_lifetime_s);
  server.agent_orphan_timeout = std::chrono::milliseconds(agent_orphan_timeout_ms);
  sigset_t signals;
  blockTerminationSignals(&signals);
  auto started = hearth::Server::start(server);
  if (!started.isOk()) {
    std::cerr << "hearth up: " << started.status().message() << "\n";
    return 1;
  }
  std::cout << "Hearth is serving the AWS Lambda API at " << (*started)->endpoint() << std::endl;
  if (server.demo) {
    std::cout << "Demo function 'hello' on capacity provider 'demo'. Try:\n"
              << "  build/bin/hearth --endpoint " << (*started)->endpoint() << " function list\n"
              << "  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws lambda get-function "
                 "--function-name hello --endpoint-url "
              << (*started)->endpoint() << " --region " << server.account.region << "\n"
              << "  build/bin/hearth --endpoint " << (*started)->endpoint()
              << " invoke hello --payload '{\"name\":\"Hearth\"}'\n"
              << std::flush;
    if (const auto& demo_runtime = runtimes[hearth::kDemoRuntime]; !demo_runtime.available()) {
      std::cout << "The demo function will not start: " << demo_runtime.missing << std::endl;
    }
  }
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  spdlog::info("received signal {}, draining", signal_number);
  (*started)->drain();
  return 0;
}
