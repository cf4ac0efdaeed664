#pragma once

// The launcher that runs every execution environment in a sandbox of its own: new pid, mount,
// ipc, uts, net and cgroup namespaces; a read-only root built from the host's system
// directories with the code at /var/task and the runtime at /var/runtime; a private /tmp; an
// unprivileged uid without capabilities, with no_new_privs and a seccomp filter; a cgroup with
// the EE's memory, CPU and pids limits; the Runtime API listener inside the EE's own network
// namespace. Process supervision is ProcessLauncher's.

#include <string>

#include "common/result.h"
#include "sandbox/cgroups.h"
#include "sandbox/sandbox_launcher.h"
#include "sandbox/sandbox_plan.h"

namespace hearth {

struct SandboxingLauncherOptions {
  // An empty directory on which each EE's root is assembled, inside the EE's mount namespace
  // (the host never sees those mounts).
  std::string staging_root;
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string cgroup_parent = "hearth";  // EE groups are cgroup_parent/<instance>/<EE id>
  // The instance's group, which holds all its EEs within the instance type's budget.
  std::string instance_name = "local";
  CgroupLimits instance_limits;
  // Moves the calling process into `<instance>/agent`, so that the agent counts against its
  // instance's budget and an instance group whose agent has died can be recognised (and is
  // removed by the next launcher). Tests and benchmarks leave it off.
  bool join_instance_group = true;
  // Each EE gets a link to its instance (sandbox_network.h); without it, loopback only.
  bool egress = true;
  SandboxIdentity identity;
  int64_t default_pids_limit = 1024;
};

// Why this host cannot run sandboxes (not root, a namespace type or seccomp missing, no usable
// cgroup controllers), or ok.
Status checkSandboxSupport(const std::string& cgroup_root);

// A sandboxing launcher. It first runs /bin/true in a sandbox, so an error says which step this
// host cannot do.
Result<SandboxLauncherPtr> makeSandboxingLauncher(SandboxingLauncherOptions options);

}  // namespace hearth
