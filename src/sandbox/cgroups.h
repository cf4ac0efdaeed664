#pragma once

// Control groups for execution environments: one group per EE with its memory, CPU and pids
// limits, read back for usage and out-of-memory kills, killed as a whole and removed at the end.
// Two drivers behind one interface: cgroup v1 (a directory per controller, with the v2
// hierarchy, when mounted beside it, for cgroup.kill) and cgroup v2 (one directory).

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace hearth {

struct CgroupLimits {
  int64_t memory_bytes = 0;  // 0 = no limit
  int vcpus = 0;             // CPU quota in whole vCPUs; 0 = no quota
  int64_t pids_max = 0;      // 0 = no limit
};

struct CgroupUsage {
  int64_t memory_bytes = 0;  // current usage, page cache included
  int64_t cpu_nanos = 0;     // CPU time consumed so far
  int64_t oom_kills = 0;     // processes the kernel killed for the memory limit
};

// One EE's group. Not thread-safe for concurrent remove(); the read methods may be called from
// any thread.
class Cgroup {
 public:
  virtual ~Cgroup() = default;
  // The files a process writes "0" to in order to join the group (one per hierarchy).
  virtual std::vector<std::string> procsFiles() const = 0;
  virtual CgroupUsage usage() const = 0;
  // SIGKILLs every process in the group (cgroup.kill where the kernel has it).
  virtual void killAll() = 0;
  // Removes the group's directories; fails while processes remain.
  [[nodiscard]] virtual Status remove() = 0;
};
using CgroupPtr = std::unique_ptr<Cgroup>;

class CgroupDriver {
 public:
  virtual ~CgroupDriver() = default;
  virtual std::string name() const = 0;  // "v1" or "v2"
  // Creates `parent/leaf` (the parent as needed) with `limits`.
  virtual Result<CgroupPtr> create(const std::string& leaf, const CgroupLimits& limits) = 0;
  // Removes the groups under `parent` whose `owner_leaf` child has no process any more (their
  // owner died), with their empty children. Groups that are still in use stay.
  virtual void removeAbandoned(const std::string& owner_leaf) = 0;
};
using CgroupDriverPtr = std::unique_ptr<CgroupDriver>;

// A v2 driver on the hierarchy mounted at `root`, groups under `root/parent`. Enables the cpu,
// memory and pids controllers on every ancestor from `root` down.
CgroupDriverPtr makeCgroupV2Driver(std::string root, std::string parent);
// The directories groups are made in for the memory, cpu, cpuacct and pids v1 controllers.
using V1Roots = std::array<std::string, 4>;
// A v1 driver making its groups under `parent` below each of `roots`; `unified_root` (may be
// empty) is a v2 hierarchy used for cgroup.kill.
CgroupDriverPtr makeCgroupV1Driver(V1Roots roots, std::string unified_root, std::string parent);
// This process's /proc/self/cgroup.
std::string readOwnCgroups();
// Moves the process `pid` (all its threads) into `group`, in every hierarchy.
[[nodiscard]] Status moveIntoCgroup(const Cgroup& group, pid_t pid);
// Chooses the driver for the host mounted at `root` (normally /sys/fs/cgroup): v2 when it is a
// v2 hierarchy with the memory, cpu and pids controllers available (groups under
// `root/parent`); v1 when those controllers are mounted as v1 (groups under `parent` below this
// process's own group in each hierarchy, per `membership`, the text of /proc/self/cgroup).
// Otherwise an error that says what is missing.
Result<CgroupDriverPtr> detectCgroupDriver(const std::string& root, const std::string& parent,
                                           const std::string& membership = "");

}  // namespace hearth
