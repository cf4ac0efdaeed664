#include "sandbox/cgroups.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

namespace hearth {
namespace {

std::string errnoText(int err) {
  return std::strerror(err);
}

// Writes `value` to a control file, opened as a shell's `echo value > file` opens it (so that a
// plain directory tree can stand in for cgroupfs in tests; cgroupfs refuses to create files).
Status writeControl(const std::string& path, std::string_view value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return internalError("cgroup: cannot open " + path + ": " + errnoText(errno));
  }
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size())) {
    return internalError("cgroup: cannot write '" + std::string(value) + "' to " + path + ": " +
                         errnoText(n < 0 ? err : EIO));
  }
  return Status::ok();
}

using ControlWrites = std::vector<std::pair<std::string, std::string>>;  // file, value

// Writes each control file in order; the first failure is returned.
Status writeControls(const ControlWrites& writes) {
  for (const auto& [file, value] : writes) {
    HEARTH_RETURN_IF_ERROR(writeControl(file, value));
  }
  return Status::ok();
}

std::string readControl(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return "";
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0 || out.size() > 1 << 16) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

int64_t parseInt(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// The value of `key` in a flat-keyed file ("key value" lines), or 0.
int64_t keyedValue(const std::string& content, std::string_view key) {
  size_t at = 0;
  while (at < content.size()) {
    size_t end = content.find('\n', at);
    std::string_view line(content.data() + at,
                          (end == std::string::npos ? content.size() : end) - at);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ' ') {
      return parseInt(line.substr(key.size() + 1));
    }
    if (end == std::string::npos) {
      break;
    }
    at = end + 1;
  }
  return 0;
}

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// Creates every missing directory of `path` below `root` (which must exist).
Status makeDirs(const std::string& root, const std::string& relative) {
  std::string path = root;
  size_t at = 0;
  while (at < relative.size()) {
    size_t slash = relative.find('/', at);
    std::string part =
        relative.substr(at, slash == std::string::npos ? std::string::npos : slash - at);
    at = slash == std::string::npos ? relative.size() : slash + 1;
    if (part.empty()) {
      continue;
    }
    path += "/" + part;
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      return internalError("cgroup: cannot create " + path + ": " + errnoText(errno));
    }
  }
  return Status::ok();
}

// SIGKILLs the processes listed in `procs_file` until it is empty (bounded rounds).
void killListed(const std::string& procs_file) {
  for (int round = 0; round < 100; ++round) {
    std::string pids = readControl(procs_file);
    if (pids.empty()) {
      return;
    }
    size_t at = 0;
    while (at < pids.size()) {
      size_t end = pids.find('\n', at);
      int64_t pid = parseInt(
          std::string_view(pids).substr(at, (end == std::string::npos ? pids.size() : end) - at));
      if (pid > 0) {
        ::kill(static_cast<pid_t>(pid), SIGKILL);
      }
      at = end == std::string::npos ? pids.size() : end + 1;
    }
    ::usleep(1000);
  }
}

// Removes a group, waiting briefly (at most ~50 ms) for exiting processes to leave it.
Status removeDir(const std::string& path) {
  for (int attempt = 0; attempt < 50 && ::rmdir(path.c_str()) != 0 && errno == EBUSY; ++attempt) {
    ::usleep(1000);
  }
  if (::access(path.c_str(), F_OK) == 0 && ::rmdir(path.c_str()) != 0 && errno != ENOENT) {
    return internalError("cgroup: cannot remove " + path + ": " + errnoText(errno));
  }
  return Status::ok();
}

// A group left behind by an earlier process: removed and made again when it is empty.
bool replaceStale(const std::string& path) {
  if (::rmdir(path.c_str()) != 0 || ::mkdir(path.c_str(), 0755) != 0) {
    errno = EEXIST;
    return false;
  }
  return true;
}

// Under each of `parents`: removes every child group whose `owner_leaf` has an empty
// cgroup.procs, after its own (empty) children.
void removeAbandonedUnder(const std::vector<std::string>& parents, const std::string& owner_leaf) {
  for (const auto& parent : parents) {
    DIR* dir = ::opendir(parent.c_str());
    if (dir == nullptr) {
      continue;
    }
    std::vector<std::string> groups;
    while (struct dirent* entry = ::readdir(dir)) {
      std::string name = entry->d_name;
      if (entry->d_type == DT_DIR && name != "." && name != "..") {
        groups.push_back(parent + "/" + name);
      }
    }
    ::closedir(dir);
    for (const auto& group : groups) {
      std::string owner = group + "/" + owner_leaf;
      if (!exists(owner + "/cgroup.procs") || !readControl(owner + "/cgroup.procs").empty()) {
        continue;
      }
      if (DIR* children = ::opendir(group.c_str())) {
        std::vector<std::string> leaves;
        while (struct dirent* entry = ::readdir(children)) {
          std::string name = entry->d_name;
          if (entry->d_type == DT_DIR && name != "." && name != "..") {
            leaves.push_back(group + "/" + name);
          }
        }
        ::closedir(children);
        for (const auto& leaf : leaves) {
          ::rmdir(leaf.c_str());
        }
      }
      ::rmdir(group.c_str());
    }
  }
}

// --- v2 ------------------------------------------------------------------------------------

class CgroupV2 final : public Cgroup {
 public:
  explicit CgroupV2(std::string dir) : dir_(std::move(dir)) {}
  std::vector<std::string> procsFiles() const override { return {dir_ + "/cgroup.procs"}; }
  CgroupUsage usage() const override {
    CgroupUsage usage;
    usage.memory_bytes = parseInt(readControl(dir_ + "/memory.current"));
    usage.cpu_nanos = keyedValue(readControl(dir_ + "/cpu.stat"), "usage_usec") * 1000;
    usage.oom_kills = keyedValue(readControl(dir_ + "/memory.events"), "oom_kill");
    return usage;
  }
  void killAll() override {
    if (!exists(dir_ + "/cgroup.kill") || !writeControl(dir_ + "/cgroup.kill", "1").isOk()) {
      killListed(dir_ + "/cgroup.procs");
    }
  }
  Status remove() override { return removeDir(dir_); }

 private:
  std::string dir_;
};

class CgroupV2Driver final : public CgroupDriver {
 public:
  CgroupV2Driver(std::string root, std::string parent)
      : root_(std::move(root)), parent_(std::move(parent)) {}
  std::string name() const override { return "v2"; }
  void removeAbandoned(const std::string& owner_leaf) override {
    removeAbandonedUnder({root_ + "/" + parent_}, owner_leaf);
  }

  Result<CgroupPtr> create(const std::string& leaf, const CgroupLimits& limits) override {
    HEARTH_RETURN_IF_ERROR(makeDirs(root_, parent_));
    // Controllers must be enabled in the subtree of every ancestor of the leaf.
    std::string dir = root_;
    std::string relative = parent_ + "/";
    for (size_t at = 0; at <= relative.size();) {
      HEARTH_RETURN_IF_ERROR(writeControl(dir + "/cgroup.subtree_control", "+cpu +memory +pids"));
      size_t slash = relative.find('/', at);
      if (slash == std::string::npos) {
        break;
      }
      std::string part = relative.substr(at, slash - at);
      at = slash + 1;
      if (!part.empty()) {
        dir += "/" + part;
      }
    }
    std::string path = dir + "/" + leaf;
    if (::mkdir(path.c_str(), 0755) != 0 && !(errno == EEXIST && replaceStale(path))) {
      return internalError("cgroup: cannot create " + path + ": " + errnoText(errno));
    }
    auto group = std::make_unique<CgroupV2>(path);
    auto fail = [&](Status status) -> Result<CgroupPtr> {
      (void)group->remove();
      return status;
    };
    ControlWrites writes;
    if (limits.memory_bytes > 0) {
      writes.emplace_back(path + "/memory.max", std::to_string(limits.memory_bytes));
    }
    if (limits.vcpus > 0) {
      writes.emplace_back(path + "/cpu.max", std::to_string(limits.vcpus * 100000) + " 100000");
    }
    if (limits.pids_max > 0) {
      writes.emplace_back(path + "/pids.max", std::to_string(limits.pids_max));
    }
    if (Status status = writeControls(writes); !status.isOk()) {
      return fail(status);
    }
    if (limits.memory_bytes > 0 && exists(path + "/memory.swap.max")) {
      (void)writeControl(path + "/memory.swap.max", "0");
    }
    return CgroupPtr(std::move(group));
  }

 private:
  std::string root_;
  std::string parent_;
};

// --- v1 ------------------------------------------------------------------------------------

class CgroupV1 final : public Cgroup {
 public:
  CgroupV1(std::string memory, std::string cpu, std::string cpuacct, std::string pids,
           std::string unified)
      : memory_(std::move(memory)),
        cpu_(std::move(cpu)),
        cpuacct_(std::move(cpuacct)),
        pids_(std::move(pids)),
        unified_(std::move(unified)) {}

  std::vector<std::string> procsFiles() const override {
    std::vector<std::string> files;
    for (const std::string* dir : {&memory_, &cpu_, &cpuacct_, &pids_, &unified_}) {
      if (!dir->empty()) {
        files.push_back(*dir + "/cgroup.procs");
      }
    }
    return files;
  }
  CgroupUsage usage() const override {
    CgroupUsage usage;
    usage.memory_bytes = parseInt(readControl(memory_ + "/memory.usage_in_bytes"));
    usage.cpu_nanos = parseInt(readControl(cpuacct_ + "/cpuacct.usage"));
    usage.oom_kills = keyedValue(readControl(memory_ + "/memory.oom_control"), "oom_kill");
    return usage;
  }
  void killAll() override {
    if (!unified_.empty() && exists(unified_ + "/cgroup.kill") &&
        writeControl(unified_ + "/cgroup.kill", "1").isOk()) {
      return;
    }
    killListed(pids_ + "/cgroup.procs");
  }
  Status remove() override {
    Status first = Status::ok();
    for (const std::string* dir : {&memory_, &cpu_, &cpuacct_, &pids_, &unified_}) {
      if (dir->empty()) {
        continue;
      }
      Status status = removeDir(*dir);
      if (!status.isOk() && first.isOk()) {
        first = status;
      }
    }
    return first;
  }

 private:
  std::string memory_, cpu_, cpuacct_, pids_, unified_;
};

class CgroupV1Driver final : public CgroupDriver {
 public:
  CgroupV1Driver(V1Roots roots, std::string unified_root, std::string parent)
      : roots_(std::move(roots)),
        unified_root_(std::move(unified_root)),
        parent_(std::move(parent)) {}
  std::string name() const override { return "v1"; }
  void removeAbandoned(const std::string& owner_leaf) override {
    std::vector<std::string> parents;
    for (const std::string& root : roots_) {
      parents.push_back(root + "/" + parent_);
    }
    if (!unified_root_.empty()) {
      parents.push_back(unified_root_ + "/" + parent_);
    }
    removeAbandonedUnder(parents, owner_leaf);
  }

  Result<CgroupPtr> create(const std::string& leaf, const CgroupLimits& limits) override {
    std::vector<std::string> created;
    auto rollback = [&created](Status status) -> Result<CgroupPtr> {
      for (auto it = created.rbegin(); it != created.rend(); ++it) {
        ::rmdir(it->c_str());
      }
      return status;
    };
    auto make = [&](const std::string& controller_root) -> Result<std::string> {
      HEARTH_RETURN_IF_ERROR(makeDirs(controller_root, parent_));
      std::string path = controller_root + "/" + parent_ + "/" + leaf;
      if (::mkdir(path.c_str(), 0755) != 0 && !(errno == EEXIST && replaceStale(path))) {
        return internalError("cgroup: cannot create " + path + ": " + errnoText(errno));
      }
      created.push_back(path);
      return path;
    };
    std::string dirs[4];
    for (int i = 0; i < 4; ++i) {
      auto dir = make(roots_[static_cast<size_t>(i)]);
      if (!dir.isOk()) {
        return rollback(dir.status());
      }
      dirs[i] = *dir;
    }
    std::string unified;
    if (!unified_root_.empty()) {
      auto dir = make(unified_root_);
      if (!dir.isOk()) {
        return rollback(dir.status());
      }
      unified = *dir;
    }
    ControlWrites writes;
    if (limits.memory_bytes > 0) {
      writes.emplace_back(dirs[0] + "/memory.limit_in_bytes", std::to_string(limits.memory_bytes));
    }
    if (limits.vcpus > 0) {
      writes.emplace_back(dirs[1] + "/cpu.cfs_period_us", "100000");
      writes.emplace_back(dirs[1] + "/cpu.cfs_quota_us", std::to_string(limits.vcpus * 100000));
    }
    if (limits.pids_max > 0) {
      writes.emplace_back(dirs[3] + "/pids.max", std::to_string(limits.pids_max));
    }
    if (Status status = writeControls(writes); !status.isOk()) {
      return rollback(status);
    }
    // With swap accounting, swap counts against the same limit.
    if (limits.memory_bytes > 0 && exists(dirs[0] + "/memory.memsw.limit_in_bytes")) {
      (void)writeControl(dirs[0] + "/memory.memsw.limit_in_bytes",
                         std::to_string(limits.memory_bytes));
    }
    return CgroupPtr(std::make_unique<CgroupV1>(dirs[0], dirs[1], dirs[2], dirs[3], unified));
  }

 private:
  V1Roots roots_;
  std::string unified_root_;
  std::string parent_;
};

// This process's group in the hierarchy of `controller` ("" for the v2 one) per the
// membership text of /proc/self/cgroup ("4:memory:/a/b", "0::/"); "" at the root or unknown.
std::string ownGroup(const std::string& membership, const std::string& controller) {
  size_t at = 0;
  while (at < membership.size()) {
    size_t end = membership.find('\n', at);
    std::string line =
        membership.substr(at, end == std::string::npos ? std::string::npos : end - at);
    at = end == std::string::npos ? membership.size() : end + 1;
    size_t first = line.find(':');
    size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) {
      continue;
    }
    std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    bool match = controller.empty() ? controllers.empty() : false;
    for (size_t c = 0; !controller.empty() && c <= controllers.size();) {
      size_t comma = controllers.find(',', c);
      if (controllers.substr(c, comma == std::string::npos ? std::string::npos : comma - c) ==
          controller) {
        match = true;
      }
      c = comma == std::string::npos ? controllers.size() + 1 : comma + 1;
    }
    if (match) {
      return path == "/" ? "" : path;
    }
  }
  return "";
}

}  // namespace

CgroupDriverPtr makeCgroupV2Driver(std::string root, std::string parent) {
  return std::make_unique<CgroupV2Driver>(std::move(root), std::move(parent));
}

CgroupDriverPtr makeCgroupV1Driver(V1Roots roots, std::string unified_root, std::string parent) {
  return std::make_unique<CgroupV1Driver>(std::move(roots), std::move(unified_root),
                                          std::move(parent));
}

std::string readOwnCgroups() {
  return readControl("/proc/self/cgroup");
}

Status moveIntoCgroup(const Cgroup& group, pid_t pid) {
  std::string text = std::to_string(pid);
  for (const auto& file : group.procsFiles()) {
    HEARTH_RETURN_IF_ERROR(writeControl(file, text));
  }
  return Status::ok();
}

Result<CgroupDriverPtr> detectCgroupDriver(const std::string& root, const std::string& parent,
                                           const std::string& membership) {
  std::string controllers = readControl(root + "/cgroup.controllers");
  if (exists(root + "/cgroup.controllers")) {
    for (const char* needed : {"cpu", "memory", "pids"}) {
      bool found = false;
      size_t at = 0;
      while (at < controllers.size()) {
        size_t end = controllers.find_first_of(" \n", at);
        if (controllers.substr(at, end - at) == needed) {
          found = true;
        }
        at = end == std::string::npos ? controllers.size() : end + 1;
      }
      if (!found) {
        return Status(StatusCode::kUnavailable,
                      std::string("cgroup v2 at ") + root + " lacks the " + needed + " controller");
      }
    }
    return makeCgroupV2Driver(root, parent);
  }
  for (const char* controller : {"memory", "cpu", "cpuacct", "pids"}) {
    if (!exists(root + "/" + controller + "/cgroup.procs")) {
      return Status(StatusCode::kUnavailable, std::string("no cgroup v2 hierarchy at ") + root +
                                                  " and no cgroup v1 " + controller +
                                                  " controller at " + root + "/" + controller);
    }
  }
  // Groups nest under this process's own group in each hierarchy, so that whatever limits the
  // host placed on Hearth hold for its instances and EEs too.
  V1Roots roots;
  const char* v1_controllers[4] = {"memory", "cpu", "cpuacct", "pids"};
  for (size_t i = 0; i < roots.size(); ++i) {
    roots[i] = root + "/" + v1_controllers[i] + ownGroup(membership, v1_controllers[i]);
  }
  std::string unified =
      exists(root + "/unified/cgroup.procs") ? root + "/unified" + ownGroup(membership, "") : "";
  return makeCgroupV1Driver(std::move(roots), unified, parent);
}

}  // namespace hearth
