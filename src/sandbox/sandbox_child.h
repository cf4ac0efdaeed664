#pragma once

// Carries out a SandboxPlan in the child of a clone() with new pid, mount, ipc, uts and net
// namespaces. Only system calls, no allocation: the parent is a threaded process.

#include "sandbox/sandbox_plan.h"

namespace hearth {

// Why entering failed: the step that failed (an index into plan.steps, or one of the negative
// stages below) and errno.
struct SandboxFailure {
  int step = 0;
  int err = 0;
};
constexpr int kStageCgroup = -1;
constexpr int kStageNetwork = -2;
constexpr int kStageRuntimeApi = -3;
constexpr int kStagePivot = -4;
constexpr int kStageHostname = -5;
constexpr int kStageFork = -6;
constexpr int kStageIdentity = -7;
constexpr int kStageSeccomp = -8;

// Builds the sandbox in the calling child (pid 1 of its namespaces): joins the cgroup, brings up
// loopback, makes the Runtime API listener and sends it over `control_fd` (SCM_RIGHTS, with one
// zero ChildReport-sized message), assembles and enters the root, sets the host name, waits
// (when the plan says so) for the one byte 1 on `control_fd` that says its network is ready,
// then forks
// the process that will run the function. That process drops to the plan's identity (no
// capabilities, no_new_privs) and returns true. The calling process stays as the namespace's
// init: it reaps every orphan and exits with the function process's status, which ends the
// namespace; it never returns. On failure returns false with `failure` set.
bool enterSandbox(const SandboxPlan& plan, int control_fd, SandboxFailure* failure) noexcept;

// Installs the plan's seccomp filter; the last step before execve. False with errno on failure.
bool lockDownSandbox(const SandboxPlan& plan) noexcept;

// The step name for a failure report ("mount /proc", "join cgroup", ...).
const char* sandboxStageName(int step);

}  // namespace hearth
