#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/thread_annotations.h"

namespace hearth {

// Samples the CPU use and resident memory of every EE on its own thread, once per interval (from
// each sandboxed EE's cgroup; for plain processes from /proc), and publishes the result as a
// snapshot. Readers (heartbeats) take the latest snapshot and never wait on /proc; nothing on the
// invoke path touches it. Thread-safe.
class ResourceMonitor {
 public:
  // What one read of an EE gives.
  struct Sample {
    int64_t resident_bytes = 0;
    int64_t cpu_nanos = -1;      // CPU time so far from its cgroup; -1: walk /proc for its group
    bool out_of_memory = false;  // the kernel killed one of its processes for memory
  };
  struct Target {
    std::string id;
    int pid = 0;  // leader of the EE's process group
    int vcpus = 1;
    std::function<Sample()> sample;  // keeps what it reads alive while sampling
  };
  struct Usage {
    int64_t resident_bytes = 0;
    bool out_of_memory = false;
    double cpu_utilization = 0;  // of the EE's vCPUs over the last interval
  };
  using Snapshot = std::map<std::string, Usage>;

  // `targets` lists what to sample and `on_sample` receives each snapshot; both run on the
  // monitor's thread, never under its lock.
  ResourceMonitor(std::chrono::milliseconds interval, std::function<std::vector<Target>()> targets,
                  std::function<void(const Snapshot&)> on_sample);
  ~ResourceMonitor();  // stop()

  void start();
  void stop();  // idempotent
  Snapshot latest() const;

 private:
  void run();
  // Adds up utime + stime per process group from /proc; returns (group → CPU seconds).
  static std::unordered_map<int, double> cpuSecondsByGroup();

  const std::chrono::milliseconds interval_;
  std::function<std::vector<Target>()> targets_;
  std::function<void(const Snapshot&)> on_sample_;
  std::thread thread_;
  mutable Mutex mu_;
  CondVar wake_;
  bool stopping_ GUARDED_BY(mu_) = false;
  Snapshot latest_ GUARDED_BY(mu_);
};

}  // namespace hearth
