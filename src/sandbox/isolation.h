#pragma once

// What the process launcher asks of an isolation mechanism (internal to src/sandbox): the
// supervision (fork, pipes, pidfds, reaping, output lines) stays in ProcessLauncher; an
// Isolation prepares each launch before the fork and enters it in the child.

#include <memory>

#include "common/result.h"
#include "sandbox/cgroups.h"
#include "sandbox/sandbox_launcher.h"
#include "sandbox/sandbox_plan.h"

namespace hearth {

// One isolated launch: its plan and its cgroup.
class IsolatedLaunch {
 public:
  IsolatedLaunch(SandboxPlan plan, CgroupPtr cgroup)
      : plan_(std::move(plan)), cgroup_(std::move(cgroup)) {}
  const SandboxPlan& plan() const { return plan_; }
  Cgroup* cgroup() const { return cgroup_.get(); }

 private:
  SandboxPlan plan_;
  CgroupPtr cgroup_;
};

class Isolation {
 public:
  virtual ~Isolation() = default;
  // Before the fork, on the launching thread: the plan and the cgroup for `spec`.
  virtual Result<std::unique_ptr<IsolatedLaunch>> prepare(const LaunchSpec& spec) = 0;
  // After the clone, on the launching thread, while the child builds its root: what the parent
  // must do for the child whose pid (in the host's namespace) is `pid`. When the plan has
  // wait_for_network, the launcher then tells the child its network is ready.
  virtual Status attach(pid_t pid, uint64_t serial) = 0;
};

}  // namespace hearth
