#pragma once

#include <memory>

#include "sandbox/sandbox_launcher.h"

namespace hearth {

class Isolation;  // sandbox/isolation.h

struct ProcessLauncherOptions {
  // Watch for exits with pidfds in the launcher's epoll set. When false, or when pidfd_open is not
  // available, the launcher polls waitid() every 25 ms instead.
  bool use_pidfd = true;
  // When set, every child is prepared by it and entered into its sandbox before execve (the
  // sandboxing launcher); otherwise children are plain processes.
  std::shared_ptr<Isolation> isolation;
};

// A SandboxLauncher that runs each environment as a plain child process, without isolation:
// memory_limit_bytes and vcpus are not enforced.
//
// Each sandbox is forked and exec'd with exactly spec.env as its environment, spec.working_dir as
// its cwd (an empty working_dir keeps the agent's cwd), stdin from /dev/null, stdout and stderr on
// two pipes, all other descriptors closed on exec, default signal dispositions, an empty signal
// mask, a process group of its own and PR_SET_PDEATHSIG = SIGKILL. A bare argv[0] (no '/') is
// looked up on spec.env's PATH, or on /usr/local/bin:/usr/bin:/bin when the spec has no PATH; a
// relative argv[0] with a '/' is relative to working_dir.
//
// launch() returns only after execve() succeeded in the child. An invalid spec, an executable that
// cannot be found or run, or an unusable working_dir yields kInvalidParameter; a failure to create
// descriptors or to fork yields kInternal. After an error no callback is ever called.
//
// The sandbox is its main process: when it exits, whatever is left of its process group is
// killed with SIGKILL. on_exit runs once the main process is reaped and both pipes reached EOF
// (processes that left the group and still hold the pipes delay it). Killed group members have
// closed their descriptors by then but may still be finishing their exit in the kernel.
// terminate() and the kill at exit reach only the process group; a process that moved to another
// group or session escapes.
//
// Threading: one launcher thread per launcher does everything asynchronous for all its sandboxes:
// it waits in one epoll set on every output pipe, on a pidfd per sandbox, on an eventfd (wake-ups)
// and on a timerfd (SIGKILL deadlines of terminate()). It also performs the fork() of every
// launch(), because PR_SET_PDEATHSIG fires when the forking thread exits and the launcher thread
// lives as long as the launcher. All callbacks run on that thread, one at a time; they must not
// block, throw or destroy the launcher. launch() may be called from any thread, including from a
// callback (it then forks inline and blocks the launcher thread until the exec completes).
// Sandbox methods are thread-safe, may be called from callbacks and never wait for the launcher
// thread. terminate() with a grace of zero or less sends SIGKILL at once; a repeated terminate()
// sends no second SIGTERM but may move the SIGKILL earlier.
//
// Resources: each running sandbox holds three descriptors (two pipes and a pidfd) and no thread;
// an idle sandbox buffers no output. With many environments the agent must raise RLIMIT_NOFILE.
//
// Preconditions: the agent must not reap these children itself (no SIGCHLD = SIG_IGN, no
// waitpid(-1)); if it does, on_exit reports -1.
//
// Destruction SIGKILLs the process group of every remaining sandbox, reaps them (waiting at most
// about two seconds), and joins the launcher thread. Callbacks that have not run by then are
// never called. Sandbox handles may outlive the launcher; their methods then do nothing and
// residentBytes() returns 0.
class ProcessLauncher final : public SandboxLauncher {
 public:
  static SandboxLauncherPtr makeProcessLauncher(ProcessLauncherOptions options = {});

  ~ProcessLauncher() override;
  ProcessLauncher(const ProcessLauncher&) = delete;
  ProcessLauncher& operator=(const ProcessLauncher&) = delete;

  Result<SandboxPtr> launch(const LaunchSpec& spec, OutputCallback on_output,
                            ExitCallback on_exit) override;

  struct Impl;  // defined in process_launcher.cc

 private:
  explicit ProcessLauncher(ProcessLauncherOptions options);

  std::shared_ptr<Impl> impl_;
};

}  // namespace hearth
