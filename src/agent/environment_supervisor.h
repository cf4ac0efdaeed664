#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "agent/execution_environment.h"
#include "agent/launch_spec.h"
#include "agent/resource_monitor.h"
#include "common/result.h"
#include "common/thread_annotations.h"
#include "protocol/agent_protocol.h"

namespace hearth {

class CodeSource;
class EventLoop;
class LogBuffer;
class SandboxLauncher;

// The function environment variable that turns on recycling after a timeout: an EE whose
// invocation is still running this many seconds (0-3600) after it was answered Sandbox.Timedout
// is stopped, and the fleet replaces it. Off by default, as in LMI.
inline constexpr const char* kRecycleAfterTimeoutVariable = "HEARTH_RECYCLE_AFTER_TIMEOUT_SECONDS";
// The grace period `spec` asks for with kRecycleAfterTimeoutVariable, if it is valid.
std::optional<std::chrono::milliseconds> recycleGrace(const protocol::EnvironmentSpec& spec);

// Where each EE's Runtime API listens: the agent's HTTP server, which routes a request on
// listener `tag` back to the EE the supervisor registered for it.
class RuntimeApiListeners {
 public:
  virtual ~RuntimeApiListeners() = default;
  // A new loopback listener for `tag`; its port.
  virtual Result<uint16_t> add(uint64_t tag) = 0;
  // Serves `tag` on a listening socket made elsewhere (inside a sandbox); takes `fd`.
  virtual Result<uint16_t> adopt(uint64_t tag, int fd) = 0;
  virtual void remove(uint64_t tag) = 0;
};

// The EEs of one agent and their lifecycle: start (code, launch command, sandbox, Runtime API
// listener) on the launch queue, drain (refuse new invocations, stop once idle or at a
// deadline), stop, exit, pressure from usage samples, and the heartbeat's view of them.
// Thread-safe; it never holds its lock while it calls another component.
class EnvironmentSupervisor {
 public:
  struct Deps {
    SandboxLauncher* launcher = nullptr;
    EventLoop* loop = nullptr;  // EE timers and drain checks
    // Queues a launch to run off the HTTP threads; false when the queue is full.
    std::function<bool(std::function<void()>)> submit_launch;
    LogBuffer* logs = nullptr;
    CodeSource* code = nullptr;
    const FileProbe* files = nullptr;  // what launch commands are checked against
    RuntimeApiListeners* listeners = nullptr;
    const Clock* clock = nullptr;
    LaunchContext launch_context;
    std::string instance_id;
    std::function<void()> changed;  // an EE changed phase: heartbeat soon
  };
  // Every pointer in `deps` must outlive the supervisor.
  explicit EnvironmentSupervisor(Deps deps);

  enum class StartOutcome {
    kAccepted,        // launching
    kAlreadyKnown,    // idempotent repeat
    kAlreadyStopped,  // a stop overtook this start (they travel on different connections)
    kShuttingDown,
  };
  StartOutcome start(const std::string& id, protocol::EnvironmentSpec spec);
  // Refuses new invocations of the EE at once; stops it when nothing is outstanding any more,
  // or when `drain` has passed, whichever comes first. Until then its Runtime API keeps
  // serving, so outstanding invocations complete normally. A later request can only bring the
  // stop forward.
  void drain(const std::string& id, std::chrono::milliseconds drain);
  // Stops the EE now; an id not known yet is remembered, so a start that arrives late stays
  // stopped.
  void stop(const std::string& id);
  // Stops every EE and drops queued launches. Idempotent.
  void shutdown();

  // The EE invocations for `id` go to, or nullptr.
  ExecutionEnvironmentPtr environment(const std::string& id);
  // The EE whose Runtime API listens on `tag`, or nullptr.
  ExecutionEnvironmentPtr runtimeApiOf(uint64_t tag);

  // What the resource monitor samples: each launched EE's process group and resident memory.
  std::vector<ResourceMonitor::Target> monitorTargets();
  // A new usage sample: memory peaks, and pressure on EEs over a threshold (they refuse work).
  void applyUsage(const ResourceMonitor::Snapshot& snapshot);
  // Each EE's phase, counts and identity, with `usage` (the monitor's latest sample).
  protocol::Heartbeat status(const ResourceMonitor::Snapshot& usage);

 private:
  struct Managed;
  void launch(std::shared_ptr<Managed> env);
  void failLaunch(const std::shared_ptr<Managed>& env, std::string type, std::string message);
  void onExit(const std::shared_ptr<Managed>& env, int exit_code);
  void recycle(const std::shared_ptr<Managed>& env, std::chrono::milliseconds grace);
  void checkDrain(std::string id);
  void rememberStopped(const std::string& id) REQUIRES(mu_);
  void notifyChanged() {
    if (deps_.changed) {
      deps_.changed();
    }
  }

  Deps deps_;
  std::atomic<uint64_t> next_listener_tag_{1};

  // Guards the maps below and the mutable fields of every Managed.
  Mutex mu_;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::unordered_map<std::string, std::shared_ptr<Managed>> environments_ GUARDED_BY(mu_);
  std::unordered_map<uint64_t, ExecutionEnvironmentPtr> by_listener_ GUARDED_BY(mu_);
  static constexpr size_t kMaxRememberedStops = 4096;
  std::unordered_set<std::string> stopped_ids_ GUARDED_BY(mu_);
  std::deque<std::string> stopped_order_ GUARDED_BY(mu_);
};

}  // namespace hearth
