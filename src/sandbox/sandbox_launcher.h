#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace hearth {

// A host directory a sandbox shows read-only at `sandbox_path`.
struct SandboxMount {
  std::string host_path;
  std::string sandbox_path;
};

// What to run for one execution environment. Paths in argv, env and working_dir are as the
// process sees them: host paths for the plain launcher, sandbox paths for the sandboxing one.
struct LaunchSpec {
  std::string id;                          // EE id, for logs
  std::vector<std::string> argv;           // argv[0] is an absolute path or found on PATH
  std::map<std::string, std::string> env;  // the complete environment (nothing inherited)
  std::string working_dir;                 // cwd of the process (the code directory)
  int64_t memory_limit_bytes = 0;          // 0 = none (enforced by the isolating launcher)
  int vcpus = 1;                           // CPU budget (enforced by the isolating launcher)
  // Used by the sandboxing launcher only:
  std::vector<SandboxMount> mounts;  // the code at /var/task, the runtime at /var/runtime
  // A host directory (an unpacked base image) whose system directories the sandbox shows
  // instead of the host's; empty: the host's.
  std::string root_filesystem;
  int64_t tmp_bytes = 0;   // size of the private /tmp; 0 = 512 MiB
  int64_t pids_limit = 0;  // processes and threads; 0 = the launcher's default
  // When set, the launcher creates the Runtime API's listening socket at 127.0.0.1:port inside
  // the EE's network namespace and hands it over with Sandbox::takeRuntimeApiListener().
  uint16_t runtime_api_port = 0;
};

// One output line of a sandboxed process, without the trailing newline.
enum class OutputStream { kStdout, kStderr };
using OutputCallback = std::function<void(OutputStream stream, std::string line)>;
// Called once when the process (the whole sandbox) has exited. `exit_code` is the exit status,
// or 128 + signal number when it was killed by a signal.
using ExitCallback = std::function<void(int exit_code)>;

// One reading of a sandbox's resources.
struct SandboxUsage {
  int64_t resident_bytes = 0;
  int64_t cpu_nanos = -1;
  bool out_of_memory = false;
};

// A running sandbox. Destroying the handle does not stop the process: call terminate().
class Sandbox {
 public:
  virtual ~Sandbox() = default;
  virtual int pid() const = 0;
  // Sends SIGTERM to the sandbox's process group, then SIGKILL after `grace`. Returns at once.
  virtual void terminate(std::chrono::milliseconds grace) = 0;
  // Resident memory of the sandbox's processes in bytes (0 if unknown); the cgroup's usage
  // for sandboxes with one.
  virtual int64_t residentBytes() const = 0;
  // CPU time of the sandbox's processes from its cgroup; -1 when it has none.
  virtual int64_t cpuNanos() const { return -1; }
  // Whether the kernel has killed a process of the sandbox for its memory limit (so far while it
  // runs; final once the exit callback runs).
  virtual bool outOfMemory() const { return false; }
  // residentBytes(), cpuNanos() and outOfMemory() in one reading (one read of the cgroup).
  virtual SandboxUsage usage() const { return {residentBytes(), cpuNanos(), outOfMemory()}; }
  // The Runtime API listener the launcher made inside the sandbox (LaunchSpec::runtime_api_port),
  // once; the caller owns it. -1 when there is none.
  virtual int takeRuntimeApiListener() { return -1; }
};
using SandboxPtr = std::unique_ptr<Sandbox>;

// Starts execution environments. Thread-safe. Callbacks run on launcher-owned threads; they
// must not block and must not call back into the launcher synchronously.
class SandboxLauncher {
 public:
  virtual ~SandboxLauncher() = default;
  // Starts `spec`. Output lines are delivered to `on_output` (long lines are split at 16 KiB);
  // `on_exit` is called exactly once, after the last output line.
  virtual Result<SandboxPtr> launch(const LaunchSpec& spec, OutputCallback on_output,
                                    ExitCallback on_exit) = 0;
};
using SandboxLauncherPtr = std::unique_ptr<SandboxLauncher>;

}  // namespace hearth
