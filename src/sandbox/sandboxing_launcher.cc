#include "sandbox/sandboxing_launcher.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string_view>

#include "sandbox/cgroups.h"
#include "sandbox/isolation.h"
#include "sandbox/process_launcher.h"
#include "sandbox/sandbox_network.h"
#include "sandbox/seccomp_policy.h"

namespace hearth {
namespace {

// An exclusive flock(2) on the cgroup root directory, held for its lifetime; a no-op where the
// directory cannot be opened.
class CgroupTreeLock {
 public:
  explicit CgroupTreeLock(const std::string& cgroup_root)
      : fd_(::open(cgroup_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_ >= 0) {
      while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
      }
    }
  }
  ~CgroupTreeLock() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  CgroupTreeLock(const CgroupTreeLock&) = delete;
  CgroupTreeLock& operator=(const CgroupTreeLock&) = delete;

 private:
  int fd_;
};

constexpr const char* kAgentLeaf = "agent";

std::string cgroupLeafName(const std::string& id, uint64_t serial) {
  std::string leaf = "ee-";
  leaf.reserve(3 + 64 + 21);
  for (char c : std::string_view(id).substr(0, 64)) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.';
    leaf.push_back(plain ? c : '_');
  }
  leaf.push_back('-');
  leaf.append(std::to_string(serial));
  return leaf;
}

class SandboxIsolation final : public Isolation {
 public:
  SandboxIsolation(SandboxingLauncherOptions options, CgroupDriverPtr cgroups,
                   std::vector<sock_filter> seccomp, CgroupPtr instance)
      : options_(std::move(options)),
        cgroups_(std::move(cgroups)),
        seccomp_(std::move(seccomp)),
        layout_(probeHostLayout()),
        instance_(std::move(instance)) {}
  Status attach(pid_t pid, uint64_t serial) override {
    if (!options_.egress) {
      return Status::ok();
    }
    return attachEeLink(pid, serial).status();
  }

  // The launcher has reaped every EE by now: the instance's group is empty.
  ~SandboxIsolation() override { (void)instance_->remove(); }

  Result<std::unique_ptr<IsolatedLaunch>> prepare(const LaunchSpec& spec) override {
    CgroupLimits limits;
    limits.memory_bytes = spec.memory_limit_bytes;
    limits.vcpus = spec.vcpus;
    limits.pids_max = spec.pids_limit > 0 ? spec.pids_limit : options_.default_pids_limit;
    HEARTH_ASSIGN_OR_RETURN(CgroupPtr cgroup,
                            cgroups_->create(cgroupLeafName(spec.id, next_serial_++), limits));
    SandboxPlan plan;
    plan.staging_root = options_.staging_root;
    // A root file system's layout is read per launch: its entries are few, and it may change.
    plan.steps = planRoot(
        spec, spec.root_filesystem.empty() ? layout_ : probeHostLayout(spec.root_filesystem),
        options_.staging_root, options_.identity);
    plan.cgroup_procs = cgroup->procsFiles();
    plan.identity = options_.identity;
    plan.runtime_api_port = spec.runtime_api_port;
    plan.wait_for_network = options_.egress;
    plan.seccomp = seccomp_;
    return std::make_unique<IsolatedLaunch>(std::move(plan), std::move(cgroup));
  }

 private:
  const SandboxingLauncherOptions options_;
  const CgroupDriverPtr cgroups_;
  const std::vector<sock_filter> seccomp_;
  const HostLayout layout_;
  const CgroupPtr instance_;
  std::atomic<uint64_t> next_serial_{1};
};

// Runs /bin/true in a sandbox and waits for it: the proof that this host can sandbox.
Status trialLaunch(SandboxLauncher& launcher) {
  LaunchSpec spec;
  spec.id = "hearth-sandbox-check";
  spec.argv = {"/bin/true"};
  spec.env = {{"PATH", "/usr/bin:/bin"}};
  spec.working_dir = std::string(1, '/');  // (GCC 12 -Wrestrict misfires on = "/")
  spec.memory_limit_bytes = 64 << 20;
  spec.tmp_bytes = 1 << 20;
  spec.runtime_api_port = 9001;
  std::mutex mu;
  std::condition_variable cv;
  bool exited = false;
  int code = -1;
  auto sandbox = launcher.launch(
      spec, [](OutputStream, std::string) {},
      [&](int exit_code) {
        std::lock_guard lock(mu);
        exited = true;
        code = exit_code;
        cv.notify_all();
      });
  if (!sandbox.isOk()) {
    return sandbox.status();
  }
  int listener = (*sandbox)->takeRuntimeApiListener();
  if (listener >= 0) {
    ::close(listener);
  }
  std::unique_lock lock(mu);
  if (!cv.wait_for(lock, std::chrono::seconds(10), [&] { return exited; })) {
    (*sandbox)->terminate(std::chrono::milliseconds(0));
    return internalError("a trial sandbox running /bin/true did not exit within 10 s");
  }
  if (code != 0) {
    return internalError("a trial sandbox running /bin/true exited with status " +
                         std::to_string(code));
  }
  if (listener < 0) {
    return internalError("a trial sandbox did not hand back its Runtime API listener");
  }
  return Status::ok();
}

}  // namespace

Status checkSandboxSupport(const std::string& cgroup_root) {
  if (::geteuid() != 0) {
    return Status(StatusCode::kUnavailable,
                  "sandboxes need root (to create namespaces, mounts and cgroups); Hearth runs "
                  "as uid " +
                      std::to_string(::geteuid()));
  }
  for (const char* ns : {"pid", "mnt", "net", "ipc", "uts", "cgroup"}) {
    if (::access((std::string("/proc/self/ns/") + ns).c_str(), F_OK) != 0) {
      return Status(StatusCode::kUnavailable, std::string("the kernel has no ") + ns +
                                                  " namespaces (/proc/self/ns/" + ns +
                                                  " is missing)");
    }
  }
  if (::prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) {
    return Status(StatusCode::kUnavailable, "the kernel has no seccomp");
  }
  auto driver = detectCgroupDriver(cgroup_root, "hearth");
  return driver.isOk() ? Status::ok() : driver.status();
}

Result<SandboxLauncherPtr> makeSandboxingLauncher(SandboxingLauncherOptions options) {
  HEARTH_RETURN_IF_ERROR(checkSandboxSupport(options.cgroup_root));
  if (options.staging_root.empty() || options.staging_root[0] != '/') {
    return invalidParameter("the sandbox staging root must be an absolute path");
  }
  if (::mkdir(options.staging_root.c_str(), 0755) != 0 && errno != EEXIST) {
    return internalError("cannot create the sandbox staging root " + options.staging_root);
  }
  const std::string membership = readOwnCgroups();
  HEARTH_ASSIGN_OR_RETURN(
      CgroupDriverPtr instances,
      detectCgroupDriver(options.cgroup_root, options.cgroup_parent, membership));
  CgroupPtr instance;
  CgroupDriverPtr driver;
  {
    // Agents starting at the same time take turns, so that none sweeps the groups of another
    // between their creation and its join (an agent leaf is empty only then, or once its agent
    // has gone).
    CgroupTreeLock lock(options.cgroup_root);
    instances->removeAbandoned(kAgentLeaf);
    HEARTH_ASSIGN_OR_RETURN(instance,
                            instances->create(options.instance_name, options.instance_limits));
    HEARTH_ASSIGN_OR_RETURN(
        driver,
        detectCgroupDriver(options.cgroup_root, options.cgroup_parent + "/" + options.instance_name,
                           membership));
    if (options.join_instance_group) {
      HEARTH_ASSIGN_OR_RETURN(CgroupPtr agent, driver->create(kAgentLeaf, {}));
      HEARTH_RETURN_IF_ERROR(moveIntoCgroup(*agent, ::getpid()));
    }
  }
  HEARTH_ASSIGN_OR_RETURN(std::vector<sock_filter> filter, buildSeccompFilter());
  ProcessLauncherOptions process;
  process.isolation = std::make_shared<SandboxIsolation>(std::move(options), std::move(driver),
                                                         std::move(filter), std::move(instance));
  SandboxLauncherPtr launcher = ProcessLauncher::makeProcessLauncher(std::move(process));
  Status trial = trialLaunch(*launcher);
  if (!trial.isOk()) {
    return Status(StatusCode::kUnavailable, "this host cannot run sandboxes: " + trial.message());
  }
  return launcher;
}

}  // namespace hearth
