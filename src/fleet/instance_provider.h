#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "common/thread_annotations.h"
#include "fleet/instance_types.h"

namespace hearth {

struct InstanceLaunch {
  std::string instance_id;
  std::string capacity_provider;
  std::string zone;
  InstanceType type;
};

// An instance that outlived the server that launched it, found again by a new one.
struct RecoveredInstance {
  InstanceLaunch launch;
  std::string host;  // where its agent listens
  uint16_t port = 0;
};

// Called when an instance's agent process is known to have stopped (exit code or 128+signal).
using InstanceExitCallback = std::function<void(const std::string& instance_id, int exit_code)>;

// Starts and stops instances, each running one `hearth agent` that registers with the server.
// Implementations: local agent processes (below); remote hosts and cloud APIs later.
// Thread-safe.
class InstanceProvider {
 public:
  virtual ~InstanceProvider() = default;
  virtual Status launch(const InstanceLaunch& launch) = 0;
  // Stops the instance (SIGTERM, then SIGKILL). Unknown ids are ignored.
  virtual void terminate(const std::string& instance_id) = 0;
  // Instances still running from an earlier server, to adopt. Called once, before launches.
  virtual std::vector<RecoveredInstance> recover() { return {}; }
};

struct LocalInstanceOptions {
  std::string hearth_binary;  // path of the `hearth` executable
  std::string server_url;     // http://host:port the agents register with
  std::string token;          // agent protocol secret, passed in the environment
  std::string work_root;      // per-instance work dirs are created below it
  std::string runtimes_dir;
  std::map<std::string, std::string> interpreters;      // passed to agents as --interpreter
  std::map<std::string, std::string> root_filesystems;  // passed to agents as --runtime-root
  std::string region;
  std::chrono::milliseconds orphan_timeout{60000};  // passed to agents
  bool insecure_no_sandbox = false;                 // agents run EEs as plain processes
};

// Runs each instance as a local `hearth agent` process in a session of its own, so it outlives
// the server: a restarted server recovers it from `<work_root>/<id>/instance` (written at launch)
// and `<work_root>/<id>/address` (written by the agent). On one machine the instance's vCPU and
// memory are a budget the fleet accounts for. A monitor thread notices exits (of children and of
// recovered agents alike), escalates terminations to SIGKILL, and removes the work dirs of
// instances that are gone.
class LocalInstanceProvider final : public InstanceProvider {
 public:
  // on_exit runs on the monitor thread, without any lock held.
  LocalInstanceProvider(LocalInstanceOptions options, InstanceExitCallback on_exit);
  // Stops watching. Running agents are left running (they outlive the server).
  ~LocalInstanceProvider() override;

  // Replaces the options (the server knows its own URL only once it listens). REQUIRES: before
  // recover() and the first launch.
  void configure(LocalInstanceOptions options) { options_ = std::move(options); }

  Status launch(const InstanceLaunch& launch) override;
  void terminate(const std::string& instance_id) override;
  std::vector<RecoveredInstance> recover() override;

 private:
  struct Agent {
    int pid = 0;
    bool child = false;  // launched by this process (reaped with waitpid), else recovered
    std::chrono::steady_clock::time_point kill_at{};  // SIGKILL then, after a SIGTERM
    bool terminating = false;
  };
  void monitor();

  LocalInstanceOptions options_;
  InstanceExitCallback on_exit_;
  Mutex mu_;
  std::map<std::string, Agent> agents_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread monitor_;
};

}  // namespace hearth
