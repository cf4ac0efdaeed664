#include "agent/resource_monitor.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace hearth {
namespace fs = std::filesystem;

ResourceMonitor::ResourceMonitor(std::chrono::milliseconds interval,
                                 std::function<std::vector<Target>()> targets,
                                 std::function<void(const Snapshot&)> on_sample)
    : interval_(interval), targets_(std::move(targets)), on_sample_(std::move(on_sample)) {}

ResourceMonitor::~ResourceMonitor() {
  stop();
}

void ResourceMonitor::start() {
  thread_ = std::thread([this] { run(); });
}

void ResourceMonitor::stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  wake_.notifyAll();
  if (thread_.joinable()) {
    thread_.join();
  }
}

ResourceMonitor::Snapshot ResourceMonitor::latest() const {
  MutexLock lock(&mu_);
  return latest_;
}

std::unordered_map<int, double> ResourceMonitor::cpuSecondsByGroup() {
  std::unordered_map<int, double> seconds;
  double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] < '0' || name[0] > '9') {
      continue;
    }
    std::ifstream in(entry.path() / "stat");
    std::string line;
    if (!std::getline(in, line)) {
      continue;
    }
    size_t close = line.rfind(')');
    if (close == std::string::npos || close + 2 >= line.size()) {
      continue;
    }
    // After the command: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    // utime stime ...
    std::istringstream fields(line.substr(close + 2));
    std::string state;
    long ppid = 0, pgrp = 0, session = 0, tty = 0, tpgid = 0;
    unsigned long flags = 0, minflt = 0, cminflt = 0, majflt = 0, cmajflt = 0, utime = 0, stime = 0;
    fields >> state >> ppid >> pgrp >> session >> tty >> tpgid >> flags >> minflt >> cminflt >>
        majflt >> cmajflt >> utime >> stime;
    seconds[static_cast<int>(pgrp)] += static_cast<double>(utime + stime) / hz;
  }
  return seconds;
}

void ResourceMonitor::run() {
  std::unordered_map<int, double> last;
  std::unordered_map<std::string, double> last_cgroup;
  auto last_at = std::chrono::steady_clock::now();
  for (;;) {
    {
      MutexLock lock(&mu_);
      auto until = std::chrono::steady_clock::now() + interval_;
      while (!stopping_ && std::chrono::steady_clock::now() < until) {
        wake_.waitFor(&mu_, until - std::chrono::steady_clock::now());
      }
      if (stopping_) {
        return;
      }
    }
    std::vector<Target> targets = targets_();
    auto now = std::chrono::steady_clock::now();
    std::vector<Sample> samples;
    samples.reserve(targets.size());
    std::unordered_map<std::string, double> cgroup_cpu;
    for (const auto& target : targets) {
      samples.push_back(target.sample ? target.sample() : Sample{});
      if (samples.back().cpu_nanos >= 0) {
        cgroup_cpu[target.id] = static_cast<double>(samples.back().cpu_nanos) / 1e9;
      }
    }
    std::unordered_map<int, double> cpu;
    if (cgroup_cpu.size() < targets.size()) {
      cpu = cpuSecondsByGroup();
    }
    double elapsed = std::chrono::duration<double>(now - last_at).count();
    Snapshot snapshot;
    for (size_t i = 0; i < targets.size(); ++i) {
      const Target& target = targets[i];
      Usage usage;
      usage.resident_bytes = samples[i].resident_bytes;
      usage.out_of_memory = samples[i].out_of_memory;
      std::optional<double> current_seconds;
      std::optional<double> previous_seconds;
      if (auto it = cgroup_cpu.find(target.id); it != cgroup_cpu.end()) {
        current_seconds = it->second;
        if (auto before = last_cgroup.find(target.id); before != last_cgroup.end()) {
          previous_seconds = before->second;
        }
      } else {
        if (auto it2 = cpu.find(target.pid); it2 != cpu.end()) {
          current_seconds = it2->second;
        }
        if (auto before = last.find(target.pid); before != last.end()) {
          previous_seconds = before->second;
        }
      }
      if (elapsed > 0 && current_seconds && previous_seconds &&
          *current_seconds >= *previous_seconds) {
        usage.cpu_utilization =
            (*current_seconds - *previous_seconds) / elapsed / std::max(1, target.vcpus);
      }
      snapshot[target.id] = usage;
    }
    last_cgroup = std::move(cgroup_cpu);
    last = std::move(cpu);
    last_at = now;
    {
      MutexLock lock(&mu_);
      latest_ = snapshot;
    }
    if (on_sample_) {
      on_sample_(snapshot);
    }
  }
}

}  // namespace hearth
