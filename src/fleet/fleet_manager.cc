#include "fleet/fleet_manager.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>

#include "artifact/code_store.h"
#include "common/ids.h"
#include "controlplane/capacity_providers.h"
#include "controlplane/function_config.h"
#include "controlplane/functions.h"
#include "controlplane/json_fields.h"
#include "fleet/placement.h"
#include "logs/log_store.h"
#include "net/async_http_client.h"
#include "router/router.h"

namespace hearth {
namespace json = boost::json;

int defaultConcurrencyPerVCpu(const std::string& runtime) {
  if (runtime.rfind("nodejs", 0) == 0)
    return 64;
  if (runtime.rfind("java", 0) == 0 || runtime.rfind("dotnet", 0) == 0)
    return 32;
  if (runtime.rfind("python", 0) == 0)
    return 16;
  return 8;
}

namespace {

HttpResponse reply(int status, const json::object& body) {
  HttpResponse response;
  response.status = status;
  response.set("Content-Type", "application/json");
  response.body = json::serialize(body);
  return response;
}

// Members of stored documents, with a fallback when absent or of another type.
int64_t intMember(const json::object& o, std::string_view key, int64_t fallback) {
  auto value = readInt(o, key);
  return value.isOk() && *value ? **value : fallback;
}

double doubleMember(const json::object& o, std::string_view key, double fallback) {
  auto value = readDouble(o, key);
  return value.isOk() && *value ? **value : fallback;
}

const json::object* lmiConfig(const json::object& config) {
  const auto* cp = config.if_contains("CapacityProviderConfig");
  if (cp == nullptr || !cp->is_object())
    return nullptr;
  const auto* lmi = cp->get_object().if_contains("LambdaManagedInstancesCapacityProviderConfig");
  return lmi != nullptr && lmi->is_object() ? &lmi->get_object() : nullptr;
}

}  // namespace

// A version the fleet should keep environments for, read from the Store.
struct FleetManager::DesiredVersion {
  std::string capacity_provider;
  std::string function;
  std::string version;
  std::string state;
  std::string function_arn;
  int count = 0;  // desired environments
  EnvironmentSize size;
  int max_concurrency = 1;
  int timeout_seconds = 3;
  std::string spec_json;  // what agents need to start one (id added per environment)
  std::vector<std::string> zones;
  InstanceRequirements requirements;
  int max_vcpus = 400;
};

FleetManager::FleetManager(FleetOptions options, Store* store, CapacityProviderRegistry* providers,
                           FunctionRegistry* functions, CodeStore* code, LogStore* logs,
                           InstanceCatalog catalog, Router* router, AsyncHttpClient* client,
                           const Clock* clock, std::string agent_token)
    : options_(options),
      store_(store),
      providers_(providers),
      functions_(functions),
      code_(code),
      logs_(logs),
      catalog_(std::move(catalog)),
      router_(router),
      client_(client),
      clock_(clock),
      token_(std::move(agent_token)) {}

FleetManager::~FleetManager() {
  stop();
}

void FleetManager::start() {
  watch_ = store_->watch("", [this](const std::vector<Change>&) {
    {
      std::lock_guard lock(mu_);
      store_dirty_ = true;
      routes_dirty_ = true;
    }
    wake_.notify_all();
  });
  thread_ = std::thread([this] { loop(); });
}

void FleetManager::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      return;
    }
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  watch_.reset();
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, instance] : instances_) {
      if (instance.state != InstanceState::kTerminated) {
        ids.push_back(id);
      }
    }
  }
  if (provider_ != nullptr) {
    for (const auto& id : ids) {
      provider_->terminate(id);
    }
  }
}

void FleetManager::poke() {
  {
    std::lock_guard lock(mu_);
    store_dirty_ = true;
  }
  wake_.notify_all();
}

FleetManager::Stats FleetManager::stats() const {
  std::lock_guard lock(mu_);
  Stats stats;
  for (const auto& [id, instance] : instances_) {
    if (instance.state != InstanceState::kTerminated)
      ++stats.instances;
  }
  for (const auto& [id, env] : environments_) {
    ++stats.environments;
    if (env.state == EnvState::kReady)
      ++stats.ready_environments;
  }
  return stats;
}

void FleetManager::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    reconcile();
    lock.lock();
    wake_.wait_for(lock, options_.reconcile_interval);
  }
}

Result<std::vector<FleetManager::DesiredVersion>> FleetManager::readDesired(
    const std::vector<FunctionRegistry::ManagedVersion>& versions) {
  std::vector<DesiredVersion> out;
  std::map<std::string, std::optional<CapacityProviderRecord>> providers;
  for (const auto& mv : versions) {
    auto& provider = providers[mv.capacity_provider];
    if (!provider) {
      auto loaded = providers_->load(mv.capacity_provider);
      if (!loaded.isOk()) {
        if (loaded.status().code() == StatusCode::kNotFound) {
          continue;
        }
        return loaded.status();  // a Store error must not read as "nothing is wanted"
      }
      provider = std::move(loaded).value();
    }
    DesiredVersion d;
    d.capacity_provider = mv.capacity_provider;
    d.function = mv.function;
    d.version = mv.version;
    d.state = stringMember(mv.config, "State");
    d.function_arn = stringMember(mv.config, "FunctionArn");
    int64_t min = options_.default_min_environments;
    int64_t max = -1;
    if (mv.scaling) {
      min = intMember(*mv.scaling, "MinExecutionEnvironments", min);
      max = intMember(*mv.scaling, "MaxExecutionEnvironments", -1);
    }
    d.count = static_cast<int>(max >= 0 ? std::min(min, max) : min);
    if (d.state == "Failed" || d.state == "Deactivated" || d.state == "Deactivating") {
      d.count = 0;
    }
    const json::object* lmi = lmiConfig(mv.config);
    double ratio = lmi ? doubleMember(*lmi, "ExecutionEnvironmentMemoryGiBPerVCpu", 2.0) : 2.0;
    int64_t memory = intMember(mv.config, "MemorySize", 2048);
    d.size.memory_mib = memory;
    d.size.memory_gib_per_vcpu = ratio;
    d.size.vcpus = std::max<int>(1, static_cast<int>(std::ceil(memory / (ratio * 1024.0))));
    std::string runtime = stringMember(mv.config, "Runtime");
    d.max_concurrency =
        static_cast<int>(lmi ? intMember(*lmi, "PerExecutionEnvironmentMaxConcurrency",
                                         int64_t{defaultConcurrencyPerVCpu(runtime)} * d.size.vcpus)
                             : defaultConcurrencyPerVCpu(runtime) * d.size.vcpus);
    d.timeout_seconds = static_cast<int>(intMember(mv.config, "Timeout", 3));
    json::object env_vars;
    if (const auto* env = mv.config.if_contains("Environment"); env && env->is_object()) {
      if (const auto* vars = env->get_object().if_contains("Variables");
          vars && vars->is_object()) {
        env_vars = vars->get_object();
      }
    }
    std::string log_group;
    if (const auto* lc = mv.config.if_contains("LoggingConfig"); lc && lc->is_object()) {
      log_group = stringMember(lc->get_object(), "LogGroup");
    }
    d.spec_json = json::serialize(json::object{{"functionName", d.function},
                                               {"version", d.version},
                                               {"functionArn", d.function_arn},
                                               {"runtime", runtime},
                                               {"handler", stringMember(mv.config, "Handler")},
                                               {"codeSha256Hex", mv.code_hex},
                                               {"memoryMb", memory},
                                               {"timeoutSeconds", d.timeout_seconds},
                                               {"maxConcurrency", d.max_concurrency},
                                               {"vcpus", d.size.vcpus},
                                               {"logGroup", log_group},
                                               {"environment", env_vars}});
    const json::object& p = provider->provider;
    if (const auto* vpc = p.if_contains("VpcConfig"); vpc && vpc->is_object()) {
      if (const auto* subnets = vpc->get_object().if_contains("SubnetIds");
          subnets && subnets->is_array()) {
        for (const auto& s : subnets->get_array()) {
          if (s.is_string())
            d.zones.emplace_back(s.get_string());
        }
      }
    }
    if (const auto* ir = p.if_contains("InstanceRequirements"); ir && ir->is_object()) {
      const auto& o = ir->get_object();
      if (const auto* a = o.if_contains("Architectures");
          a && a->is_array() && !a->get_array().empty()) {
        d.requirements.architecture = std::string(a->get_array()[0].as_string());
      }
      for (const char* key : {"AllowedInstanceTypes", "ExcludedInstanceTypes"}) {
        if (const auto* list = o.if_contains(key); list && list->is_array()) {
          for (const auto& t : list->get_array()) {
            if (t.is_string()) {
              (std::string_view(key) == "AllowedInstanceTypes" ? d.requirements.allowed
                                                               : d.requirements.excluded)
                  .emplace_back(t.get_string());
            }
          }
        }
      }
    }
    d.max_vcpus = static_cast<int>(provider->maxVCpuCount());
    out.push_back(std::move(d));
  }
  return out;
}

void FleetManager::reconcile() {
  auto now = clock_->steadyNow();
  // One read of the Store per pass, shared by placement and the routing table. If it fails,
  // the pass is skipped: the fleet and the last routing table stay as they are.
  auto versions = functions_->managedVersions();
  if (!versions.isOk()) {
    spdlog::warn("fleet: cannot read versions: {}", versions.status().toString());
    return;
  }
  auto desired_or = readDesired(*versions);
  if (!desired_or.isOk()) {
    spdlog::warn("fleet: cannot read capacity providers: {}", desired_or.status().toString());
    return;
  }
  std::vector<DesiredVersion> desired = std::move(desired_or).value();
  std::vector<std::pair<std::string, std::string>> to_stop;  // instance id, environment id
  std::vector<std::string> to_terminate;
  struct StateChange {
    std::string function, version, state, reason, code;
  };
  std::vector<StateChange> state_changes;
  {
    std::lock_guard lock(mu_);
    // 1. Lost instances: silent too long, or never registered.
    for (auto& [id, instance] : instances_) {
      bool lost = (instance.state == InstanceState::kRunning &&
                   now - instance.last_heartbeat > options_.heartbeat_timeout) ||
                  (instance.state == InstanceState::kPending &&
                   now - instance.launched_at > options_.register_timeout);
      if (lost) {
        spdlog::warn("fleet: instance {} lost", id);
        instance.state = InstanceState::kTerminated;
        to_terminate.push_back(id);
      }
    }
    for (auto& [id, env] : environments_) {
      auto it = instances_.find(env.instance_id);
      if (it == instances_.end() || it->second.state == InstanceState::kTerminated) {
        env.state = EnvState::kGone;
      }
      if (env.state == EnvState::kStarting &&
          now - env.sent_at > std::chrono::seconds(env.init_timeout_seconds)) {
        env.state = EnvState::kFailed;
        env.error_type = "FunctionError.InitTimeout";
        env.error_message = "The execution environment did not finish init in time.";
      }
    }

    // 2. Per desired version: fail, activate, or place what is missing.
    std::set<std::string> wanted_keys;
    for (const auto& d : desired) {
      std::string key = d.function + '\0' + d.version;
      wanted_keys.insert(key);
      int live = 0;
      int ready = 0;
      const Environment* failed = nullptr;
      for (auto& [id, env] : environments_) {
        if (env.function != d.function || env.version != d.version)
          continue;
        if (env.spec_json != d.spec_json)
          continue;  // runs an older publish of this version ($LATEST.PUBLISHED): replaced below
        if (env.state == EnvState::kFailed)
          failed = &env;
        if (env.state != EnvState::kFailed && env.state != EnvState::kGone)
          ++live;
        if (env.state == EnvState::kReady)
          ++ready;
      }
      if (d.count == 0) {
        continue;
      }
      if (d.state == "Pending" && failed != nullptr) {
        std::string code = failed->error_type.rfind("FunctionError.", 0) == 0
                               ? failed->error_type
                               : "FunctionError.RuntimeInitError";
        if (failed->error_type == "Runtime.InvalidRuntime" ||
            failed->error_type == "Runtime.InvalidEntrypoint") {
          code = "FunctionError.InvalidEntryPoint";
        }
        state_changes.push_back({d.function, d.version, "Failed",
                                 failed->error_type + ": " + failed->error_message, code});
        continue;
      }
      if (d.state == "Pending" && ready >= d.count) {
        state_changes.push_back({d.function, d.version, "Active", "", ""});
      }
      if (ready >= d.count) {
        // The new publish is serving: retire environments of the previous one.
        for (auto& [id, env] : environments_) {
          if (env.function == d.function && env.version == d.version &&
              env.spec_json != d.spec_json && env.state != EnvState::kGone) {
            env.state = EnvState::kGone;
          }
        }
      }
      if (live < d.count) {
        placeMissing(d, d.count - live);
        // A version that cannot get its environments within MaxVCpuCount fails (Pending only).
        int placed = 0;
        for (const auto& [id, env] : environments_) {
          if (env.function == d.function && env.version == d.version &&
              env.spec_json == d.spec_json && env.state != EnvState::kFailed &&
              env.state != EnvState::kGone) {
            ++placed;
          }
        }
        if (placed < d.count && d.state == "Pending") {
          state_changes.push_back(
              {d.function, d.version, "Failed",
               fmt::format("The capacity provider {} cannot provide {} execution environments "
                           "within its MaxVCpuCount of {}.",
                           d.capacity_provider, d.count, d.max_vcpus),
               "CapacityProviderScalingLimitExceeded"});
        }
      } else if (live > d.count) {
        int surplus = live - d.count;
        for (auto& [id, env] : environments_) {
          if (surplus == 0)
            break;
          if (env.function == d.function && env.version == d.version &&
              env.spec_json == d.spec_json && env.state != EnvState::kReady &&
              env.state != EnvState::kGone && env.state != EnvState::kFailed) {
            env.state = EnvState::kGone;
            --surplus;
          }
        }
        for (auto& [id, env] : environments_) {
          if (surplus == 0)
            break;
          if (env.function == d.function && env.version == d.version &&
              env.spec_json == d.spec_json && env.state == EnvState::kReady) {
            env.state = EnvState::kGone;
            --surplus;
          }
        }
      }
    }

    // 3. Environments nobody wants any more, failed or gone: stop and forget them.
    for (auto it = environments_.begin(); it != environments_.end();) {
      Environment& env = it->second;
      bool wanted = wanted_keys.contains(env.function + '\0' + env.version);
      bool version_desired = false;
      for (const auto& d : desired) {
        if (d.function == env.function && d.version == env.version && d.count > 0) {
          version_desired = true;
        }
      }
      if (!wanted || !version_desired || env.state == EnvState::kGone ||
          env.state == EnvState::kFailed) {
        to_stop.emplace_back(env.instance_id, env.id);
        routes_dirty_ = true;
        it = environments_.erase(it);
      } else {
        ++it;
      }
    }

    // 4. Start assigned environments on running instances.
    for (auto& [id, env] : environments_) {
      if (env.state != EnvState::kAssigned)
        continue;
      auto inst = instances_.find(env.instance_id);
      if (inst != instances_.end() && inst->second.state == InstanceState::kRunning) {
        sendEnvironment(env, inst->second);
      }
    }

    // 5. Release instances that have been empty for a while.
    for (auto& [id, instance] : instances_) {
      if (instance.state != InstanceState::kRunning)
        continue;
      bool empty = true;
      for (const auto& [eid, env] : environments_) {
        if (env.instance_id == id) {
          empty = false;
          break;
        }
      }
      if (!empty) {
        instance.empty_since = now;
      } else if (now - instance.empty_since > options_.idle_instance_ttl) {
        instance.state = InstanceState::kTerminated;
        to_terminate.push_back(id);
      }
    }
    for (auto it = instances_.begin(); it != instances_.end();) {
      it = it->second.state == InstanceState::kTerminated &&
                   std::find(to_terminate.begin(), to_terminate.end(), it->first) ==
                       to_terminate.end()
               ? instances_.erase(it)
               : std::next(it);
    }
  }

  for (const auto& [instance_id, env_id] : to_stop) {
    Environment gone;
    gone.id = env_id;
    gone.instance_id = instance_id;
    stopEnvironment(gone);
  }
  if (provider_ != nullptr) {
    for (const auto& id : to_terminate) {
      provider_->terminate(id);
    }
  }
  for (const auto& change : state_changes) {
    Status status = functions_->setVersionState(change.function, change.version, change.state,
                                                change.reason, change.code);
    if (!status.isOk()) {
      spdlog::warn("fleet: cannot set {}:{} {}: {}", change.function, change.version, change.state,
                   status.toString());
    } else {
      spdlog::info("fleet: {}:{} is {}{}", change.function, change.version, change.state,
                   change.code.empty() ? "" : " (" + change.code + ")");
    }
  }
  bool publish = false;
  {
    std::lock_guard lock(mu_);
    publish = routes_dirty_ || store_dirty_;
    routes_dirty_ = false;
    store_dirty_ = false;
  }
  if (publish) {
    publishRoutes(*versions);
  }
}

// REQUIRES: mu_ held.
void FleetManager::placeMissing(const DesiredVersion& d, int missing) {
  PlacementRequest request;
  request.size = d.size;
  request.count = missing;
  std::vector<InstanceCapacity> capacities;
  int used_vcpus = 0;
  for (const auto& [id, instance] : instances_) {
    if (instance.capacity_provider != d.capacity_provider ||
        instance.state == InstanceState::kTerminated ||
        instance.state == InstanceState::kDraining) {
      continue;
    }
    used_vcpus += instance.type.vcpus;
    InstanceCapacity capacity{id, instance.zone, instance.type.vcpus, instance.type.memory_mib};
    for (const auto& [eid, env] : environments_) {
      if (env.instance_id == id) {
        capacity.free_vcpus -= env.vcpus;
        capacity.free_memory_mib -= env.memory_mib;
      }
    }
    capacities.push_back(capacity);
  }
  for (const auto& [eid, env] : environments_) {
    if (env.function == d.function && env.version == d.version && env.spec_json == d.spec_json &&
        env.state != EnvState::kGone && env.state != EnvState::kFailed) {
      auto inst = instances_.find(env.instance_id);
      if (inst != instances_.end()) {
        ++request.existing_per_zone[inst->second.zone];
      }
    }
  }
  auto type = chooseInstanceType(catalog_, d.requirements, d.size,
                                 options_.preferred_environments_per_instance);
  if (!type) {
    spdlog::warn("fleet: no instance type fits {}:{} ({} vCPU, {} MiB)", d.function, d.version,
                 d.size.vcpus, d.size.memory_mib);
    return;
  }
  if (d.zones.empty()) {
    return;
  }
  PlacementDecision decision =
      placeEnvironments(request, d.zones, capacities, *type, used_vcpus, d.max_vcpus);
  std::vector<std::string> launched_ids;
  for (const auto& launch : decision.launches) {
    std::string id =
        fmt::format("i-{:08x}{:04x}", static_cast<uint32_t>(std::hash<std::string>{}(newUuid())),
                    next_id_++ & 0xffff);
    Instance instance;
    instance.id = id;
    instance.capacity_provider = d.capacity_provider;
    instance.zone = launch.zone;
    instance.type = launch.type;
    instance.launched_at = clock_->steadyNow();
    instance.empty_since = instance.launched_at;
    Status launched = provider_ != nullptr
                          ? provider_->launch({id, d.capacity_provider, launch.zone, launch.type})
                          : Status(StatusCode::kUnavailable, "no instance provider");
    if (!launched.isOk()) {
      spdlog::error("fleet: cannot launch an instance: {}", launched.toString());
      launched_ids.push_back("");
      continue;
    }
    spdlog::info("fleet: launched instance {} ({}, zone {}) for {}", id, launch.type.name,
                 launch.zone, d.capacity_provider);
    instances_.emplace(id, instance);
    launched_ids.push_back(id);
  }
  for (const auto& assignment : decision.assignments) {
    std::string instance_id = assignment.instance_id;
    if (instance_id.rfind("new:", 0) == 0) {
      size_t k = std::stoul(instance_id.substr(4));
      instance_id = k < launched_ids.size() ? launched_ids[k] : "";
    }
    if (instance_id.empty()) {
      continue;
    }
    Environment env;
    env.id = fmt::format("ee-{}", newUuid().substr(0, 13));
    env.instance_id = instance_id;
    env.function = d.function;
    env.version = d.version;
    env.capacity_provider = d.capacity_provider;
    env.vcpus = d.size.vcpus;
    env.memory_mib = d.size.memory_mib;
    env.max_concurrency = d.max_concurrency;
    env.spec_json = d.spec_json;
    env.created_at = clock_->steadyNow();
    env.init_timeout_seconds =
        static_cast<int>(std::max<int64_t>(options_.min_init_timeout.count(), d.timeout_seconds));
    environments_.emplace(env.id, std::move(env));
  }
}

// REQUIRES: mu_ held.
void FleetManager::sendEnvironment(Environment& env, const Instance& instance) {
  env.state = EnvState::kStarting;
  env.sent_at = clock_->steadyNow();
  HttpRequest request;
  request.method = "PUT";
  request.target = "/agent/v1/environments/" + env.id;
  request.headers.emplace_back("X-Hearth-Agent-Token", token_);
  request.headers.emplace_back("Content-Type", "application/json");
  request.body = env.spec_json;
  std::string id = env.id;
  client_->send(instance.host, instance.port, std::move(request), std::chrono::seconds(10),
                [this, id](Result<HttpResponse> response) {
                  if (response.isOk() && response->status / 100 == 2) {
                    return;
                  }
                  std::lock_guard lock(mu_);
                  auto it = environments_.find(id);
                  if (it != environments_.end()) {
                    it->second.state = EnvState::kGone;  // placed again on the next pass
                  }
                });
}

void FleetManager::stopEnvironment(const Environment& env) {
  std::string host;
  uint16_t port = 0;
  {
    std::lock_guard lock(mu_);
    auto it = instances_.find(env.instance_id);
    if (it == instances_.end() || it->second.state == InstanceState::kTerminated) {
      return;
    }
    host = it->second.host;
    port = it->second.port;
  }
  if (port == 0) {
    return;
  }
  HttpRequest request;
  request.method = "DELETE";
  request.target = "/agent/v1/environments/" + env.id;
  request.headers.emplace_back("X-Hearth-Agent-Token", token_);
  client_->send(host, port, std::move(request), std::chrono::seconds(10),
                [](Result<HttpResponse>) {});
}

void FleetManager::publishRoutes(const std::vector<FunctionRegistry::ManagedVersion>& versions) {
  auto aliases = functions_->allAliases();
  if (!aliases.isOk()) {
    return;  // keep serving from the last table
  }
  RoutingTable table;
  std::lock_guard lock(mu_);
  for (const auto& mv : versions) {
    FunctionRoute& fn = table.functions[mv.function];
    fn.managed = true;
    std::string state = stringMember(mv.config, "State");
    if (state != "Active" && state != "Pending") {
      continue;
    }
    VersionRoute route;
    route.function_name = mv.function;
    route.version = mv.version;
    route.function_arn = stringMember(mv.config, "FunctionArn");
    route.timeout_seconds = static_cast<int>(intMember(mv.config, "Timeout", 3));
    for (const auto& [id, env] : environments_) {
      if (env.function != mv.function || env.version != mv.version ||
          env.state != EnvState::kReady) {
        continue;
      }
      auto inst = instances_.find(env.instance_id);
      if (inst == instances_.end() || inst->second.state != InstanceState::kRunning) {
        continue;
      }
      route.slots.push_back(
          router_->slotFor(env.id, inst->second.host, inst->second.port, env.max_concurrency));
    }
    // A Pending version with ready environments is a republish ($LATEST.PUBLISHED) rolling
    // over, or a first publish half-way there: serve from what is ready.
    if (state == "Active" || !route.slots.empty()) {
      fn.versions.emplace(mv.version, std::move(route));
    }
  }
  for (const auto& alias : *aliases) {
    auto fn = table.functions.find(alias.function);
    if (fn == table.functions.end())
      continue;
    fn->second.aliases[alias.name] =
        AliasRoute{alias.version, alias.additional_version, alias.additional_weight};
  }
  router_->publish(std::move(table));
}

HttpResponse FleetManager::handleAgentRequest(const HttpRequest& request) {
  const std::string* token = request.header("X-Hearth-Agent-Token");
  if (token == nullptr || *token != token_) {
    return reply(403, json::object{{"message", "bad agent token"}});
  }
  std::string_view target = request.target;
  if (target == "/_hearth/agent/v1/register" && request.method == "POST") {
    return handleRegister(request.body);
  }
  if (target == "/_hearth/agent/v1/heartbeat" && request.method == "POST") {
    return handleHeartbeat(request.body);
  }
  if (target == "/_hearth/agent/v1/logs" && request.method == "POST") {
    boost::system::error_code ec;
    json::value value = json::parse(request.body, ec);
    if (ec || !value.is_object()) {
      return reply(400, json::object{{"message", "bad log batch"}});
    }
    std::map<std::string, std::vector<std::string>> by_function;
    if (const auto* lines = value.get_object().if_contains("lines"); lines && lines->is_array()) {
      for (const auto& entry : lines->get_array()) {
        if (!entry.is_object())
          continue;
        std::string fn = stringMember(entry.get_object(), "function");
        std::string line = stringMember(entry.get_object(), "line");
        if (isValidFunctionName(fn)) {
          by_function[fn].push_back(std::move(line));
        }
      }
    }
    for (const auto& [fn, lines] : by_function) {
      logs_->append(fn, lines).permitUnchecked();
    }
    HttpResponse stored;
    stored.status = 204;
    return stored;
  }
  constexpr std::string_view kCode = "/_hearth/agent/v1/code/";
  if (target.substr(0, kCode.size()) == kCode && request.method == "GET") {
    auto zip = code_->read(target.substr(kCode.size()));
    if (!zip.isOk()) {
      return reply(404, json::object{{"message", "no such code"}});
    }
    HttpResponse response;
    response.set("Content-Type", "application/zip");
    response.body = std::move(zip).value();
    return response;
  }
  return reply(404, json::object{{"message", "unknown agent route"}});
}

HttpResponse FleetManager::handleRegister(const std::string& body) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) {
    return reply(400, json::object{{"message", "bad registration"}});
  }
  const auto& o = value.get_object();
  std::string id = stringMember(o, "instanceId");
  std::string address = stringMember(o, "address");
  std::string host;
  uint16_t port = 0;
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return reply(400, json::object{{"message", "bad address"}});
  }
  host = address.substr(0, colon);
  port = static_cast<uint16_t>(std::stoi(address.substr(colon + 1)));
  {
    std::lock_guard lock(mu_);
    auto it = instances_.find(id);
    if (it == instances_.end() || it->second.state == InstanceState::kTerminated) {
      return reply(403, json::object{{"message", "unknown instance " + id}});
    }
    it->second.state = InstanceState::kRunning;
    it->second.host = host;
    it->second.port = port;
    it->second.last_heartbeat = clock_->steadyNow();
    it->second.empty_since = it->second.last_heartbeat;
    spdlog::info("fleet: instance {} registered at {}", id, address);
  }
  wake_.notify_all();
  return reply(200, json::object{{"heartbeatIntervalMs", 1000}});
}

HttpResponse FleetManager::handleHeartbeat(const std::string& body) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) {
    return reply(400, json::object{{"message", "bad heartbeat"}});
  }
  const auto& o = value.get_object();
  std::string id = stringMember(o, "instanceId");
  bool changed = false;
  json::array unknown;  // environments this server does not want: the agent stops them
  {
    std::lock_guard lock(mu_);
    auto it = instances_.find(id);
    if (it == instances_.end() || it->second.state != InstanceState::kRunning) {
      return reply(404, json::object{{"message", "unknown instance " + id}});
    }
    auto now = clock_->steadyNow();
    it->second.last_heartbeat = now;
    std::set<std::string> reported;
    if (const auto* envs = o.if_contains("environments"); envs && envs->is_array()) {
      for (const auto& entry : envs->get_array()) {
        if (!entry.is_object())
          continue;
        const auto& e = entry.get_object();
        std::string env_id = stringMember(e, "id");
        reported.insert(env_id);
        auto env = environments_.find(env_id);
        if (env == environments_.end() || env->second.instance_id != id) {
          unknown.emplace_back(env_id);
          continue;
        }
        std::string state = stringMember(e, "state");
        EnvState next = env->second.state;
        if (state == "Ready") {
          next = EnvState::kReady;
        } else if (state == "InitFailed") {
          next = EnvState::kFailed;
          env->second.error_type = stringMember(e, "errorType");
          env->second.error_message = stringMember(e, "errorMessage");
        } else if (state == "Exited") {
          next = env->second.state == EnvState::kReady ? EnvState::kGone : EnvState::kFailed;
          if (env->second.error_type.empty()) {
            env->second.error_type = "Runtime.ExitError";
            env->second.error_message = "The runtime exited during init.";
          }
        }
        if (next != env->second.state) {
          env->second.state = next;
          changed = true;
        }
      }
    }
    // Environments the agent should have but does not report (it restarted): gone.
    for (auto& [env_id, env] : environments_) {
      if (env.instance_id == id && env.state != EnvState::kAssigned && !reported.contains(env_id) &&
          now - env.sent_at > std::chrono::seconds(2)) {
        env.state = EnvState::kGone;
        changed = true;
      }
    }
    if (changed) {
      routes_dirty_ = true;
    }
  }
  if (changed) {
    wake_.notify_all();
  }
  return reply(200, json::object{{"stop", std::move(unknown)}});
}

void FleetManager::onInstanceExit(const std::string& instance_id, int exit_code) {
  {
    std::lock_guard lock(mu_);
    auto it = instances_.find(instance_id);
    if (it == instances_.end() || it->second.state == InstanceState::kTerminated) {
      return;
    }
    spdlog::warn("fleet: instance {} exited with code {}", instance_id, exit_code);
    it->second.state = InstanceState::kTerminated;
    for (auto& [id, env] : environments_) {
      if (env.instance_id == instance_id) {
        env.state = EnvState::kGone;
      }
    }
    routes_dirty_ = true;
  }
  wake_.notify_all();
}

}  // namespace hearth
