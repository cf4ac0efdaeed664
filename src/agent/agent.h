#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "common/result.h"

namespace hearth {

class SandboxLauncher;

struct AgentOptions {
  std::string server;  // http://host:port of the Hearth server
  std::string token;   // shared secret for the agent protocol
  std::string instance_id;
  std::string zone;
  std::string instance_type;
  int vcpus = 2;
  int64_t memory_mib = 4096;
  std::string listen_host = "127.0.0.1";  // where routers and runtimes reach this agent
  std::string work_dir;                   // code cache and scratch space
  std::string runtimes_dir;               // Hearth's bootstraps (runtimes/python, runtimes/node)
  // The operator's runtime mappings (runtime_roots.h): runtime identifier or prefix →
  // interpreter, and runtime identifier → root file system. Without one, a runtime takes an
  // installed interpreter of its own version, or has none.
  std::map<std::string, std::string> interpreters;
  std::map<std::string, std::string> root_filesystems;
  std::string region = "us-east-1";
  std::chrono::milliseconds heartbeat_interval{1000};
  // The agent outlives a server restart; with no answer from its server for this long it drains
  // and stops itself.
  std::chrono::milliseconds orphan_timeout{60000};
  // HTTP I/O threads; 0: one per 16 vCPUs of the instance, 1 to 8. With one, an invocation
  // reaches its runtime and its answer comes back without changing threads.
  int io_threads = 0;
  // EEs run in sandboxes (the launcher must be a sandboxing one): sandbox paths, the Runtime
  // API inside each EE.
  bool sandboxed = true;
};

// `hearth agent`: one per instance. Registers with the server, heartbeats, starts and stops
// execution environments on request, serves each EE's Runtime API on its own loopback port, and
// accepts invocations from routers. It never reads the Store: everything arrives over the agent
// protocol, so it runs the same on another machine. It writes `<work-dir>/address` (HOST:PORT)
// once it listens, so a restarted local server can find it again.
class Agent {
 public:
  virtual ~Agent() = default;

  // `launcher` must outlive the agent.
  static Result<std::unique_ptr<Agent>> start(AgentOptions options, SandboxLauncher* launcher);

  virtual uint16_t port() const = 0;
  // True once the server has not answered for orphan_timeout: the process should drain and exit.
  virtual bool orphaned() const = 0;
  // Stops every EE (SIGTERM, then SIGKILL after a grace period) and the server. Idempotent.
  virtual void drain() = 0;
};

}  // namespace hearth
