#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "controlplane/functions.h"
#include "fleet/instance_provider.h"
#include "fleet/instance_types.h"
#include "net/http.h"
#include "store/store.h"

namespace hearth {

class AsyncHttpClient;
class CapacityProviderRegistry;
class CodeStore;
class LogStore;
class Router;

struct FleetOptions {
  std::chrono::milliseconds reconcile_interval{200};
  std::chrono::milliseconds heartbeat_timeout{3000};    // a silent instance is lost after this
  std::chrono::milliseconds register_timeout{30000};    // a launched agent must register by then
  std::chrono::milliseconds idle_instance_ttl{120000};  // empty instances are released after this
  std::chrono::seconds min_init_timeout{130};           // LMI: max(130 s, function timeout)
  int preferred_environments_per_instance = 4;
  int default_min_environments = 3;
};

// Per-vCPU default of PerExecutionEnvironmentMaxConcurrency for a runtime (Node 64, Java and
// .NET 32, Python 16, others 8).
int defaultConcurrencyPerVCpu(const std::string& runtime);

// The fleet manager: keeps the desired execution environments of every published version on a
// capacity provider placed on instances, launches and releases instances within MaxVCpuCount,
// turns versions Active (or Failed with AWS reason codes), replaces lost environments, serves the
// agent protocol, and publishes the router's routing table. Its reconcile loop runs on its own
// thread, off the request path. Thread-safe. Every pointer must outlive the manager.
class FleetManager {
 public:
  FleetManager(FleetOptions options, Store* store, CapacityProviderRegistry* providers,
               FunctionRegistry* functions, CodeStore* code, LogStore* logs,
               InstanceCatalog catalog, Router* router, AsyncHttpClient* client, const Clock* clock,
               std::string agent_token);
  ~FleetManager();

  // REQUIRES: set before start().
  void setInstanceProvider(InstanceProvider* provider) { provider_ = provider; }

  void start();
  // Stops the loop and releases every instance. Idempotent.
  void stop();

  // The agent protocol under /_hearth/agent/v1/ (register, heartbeat, logs, code). Checks the
  // agent token. Called on server I/O threads; never blocks on the Store.
  HttpResponse handleAgentRequest(const HttpRequest& request);

  // An instance's agent process exited (from the instance provider).
  void onInstanceExit(const std::string& instance_id, int exit_code);

  // Wakes the reconcile loop now (after a control-plane change).
  void poke();

  struct Stats {
    size_t instances = 0;
    size_t environments = 0;
    size_t ready_environments = 0;
  };
  Stats stats() const;

 private:
  enum class InstanceState { kPending, kRunning, kDraining, kTerminated };
  struct Instance {
    std::string id;
    std::string capacity_provider;
    std::string zone;
    InstanceType type;
    InstanceState state = InstanceState::kPending;
    std::string host;
    uint16_t port = 0;
    std::chrono::steady_clock::time_point launched_at;
    std::chrono::steady_clock::time_point last_heartbeat;
    std::chrono::steady_clock::time_point empty_since;
  };
  enum class EnvState { kAssigned, kStarting, kReady, kFailed, kGone };
  struct Environment {
    std::string id;
    std::string instance_id;
    std::string function;
    std::string version;
    std::string capacity_provider;
    int vcpus = 1;
    int64_t memory_mib = 2048;
    int max_concurrency = 1;
    EnvState state = EnvState::kAssigned;
    std::string error_type;
    std::string error_message;
    std::string spec_json;  // body of the PUT to the agent
    std::chrono::steady_clock::time_point sent_at;
    std::chrono::steady_clock::time_point created_at;
    int init_timeout_seconds = 130;
  };
  struct DesiredVersion;

  void loop();
  void reconcile();
  Result<std::vector<DesiredVersion>> readDesired(
      const std::vector<FunctionRegistry::ManagedVersion>& versions);
  void placeMissing(const DesiredVersion& desired, int missing);
  void sendEnvironment(Environment& env, const Instance& instance);
  void stopEnvironment(const Environment& env);
  void publishRoutes(const std::vector<FunctionRegistry::ManagedVersion>& versions);
  HttpResponse handleRegister(const std::string& body);
  HttpResponse handleHeartbeat(const std::string& body);

  FleetOptions options_;
  Store* store_;
  CapacityProviderRegistry* providers_;
  FunctionRegistry* functions_;
  CodeStore* code_;
  LogStore* logs_;
  InstanceCatalog catalog_;
  Router* router_;
  AsyncHttpClient* client_;
  const Clock* clock_;
  std::string token_;
  InstanceProvider* provider_ = nullptr;
  WatchHandlePtr watch_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool routes_dirty_ = true;
  bool store_dirty_ = true;
  std::thread thread_;
  std::unordered_map<std::string, Instance> instances_;
  std::map<std::string, Environment> environments_;
  uint64_t next_id_ = 1;
};

}  // namespace hearth
