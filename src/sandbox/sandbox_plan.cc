#include "sandbox/sandbox_plan.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string_view>

namespace hearth {
namespace {

constexpr const char* kSystemDirs[] = {"/usr",   "/bin",   "/sbin",  "/lib",
                                       "/lib32", "/lib64", "/libx32"};
// What a root file system (a Lambda base image) shows besides: layers and its language root.
constexpr const char* kRootFilesystemDirs[] = {"/opt", "/var/lang"};
constexpr const char* kEtcEntries[] = {"resolv.conf",
                                       "nsswitch.conf",
                                       "host.conf",
                                       "gai.conf",
                                       "ssl",
                                       "ca-certificates",
                                       "ca-certificates.conf",
                                       "alternatives",
                                       "ld.so.cache",
                                       "ld.so.conf",
                                       "ld.so.conf.d",
                                       "localtime",
                                       "timezone",
                                       "mime.types",
                                       "protocols",
                                       "services",
                                       "os-release",
                                       "debian_version"};

bool readEntry(const std::string& path, HostLayout::Entry* entry) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    return false;
  }
  entry->path = path;
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
    if (n <= 0) {
      return false;
    }
    entry->symlink_target.assign(target, static_cast<size_t>(n));
    return true;
  }
  if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
    return false;
  }
  entry->is_directory = S_ISDIR(st.st_mode);
  return true;
}

std::string parentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

bool isBelow(const std::string& path, std::string_view dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

}  // namespace

bool sandboxShowsHostPath(const std::string& path) {
  return std::any_of(std::begin(kSystemDirs), std::end(kSystemDirs),
                     [&](std::string_view dir) { return isBelow(path, dir); });
}

bool sandboxShowsRootFilesystemPath(const std::string& path) {
  return sandboxShowsHostPath(path) ||
         std::any_of(std::begin(kRootFilesystemDirs), std::end(kRootFilesystemDirs),
                     [&](std::string_view dir) { return isBelow(path, dir); });
}

HostLayout probeHostLayout(const std::string& root_filesystem) {
  HostLayout layout;
  // Reads `root_filesystem + inside` as the entry shown at `inside`.
  auto read = [&](const std::string& inside, const std::string& root, HostLayout::Entry* entry) {
    if (!readEntry(root + inside, entry)) {
      return false;
    }
    entry->path = inside;
    entry->source = root.empty() ? "" : root + inside;
    return true;
  };
  std::vector<std::string> dirs(std::begin(kSystemDirs), std::end(kSystemDirs));
  if (!root_filesystem.empty()) {
    dirs.insert(dirs.end(), std::begin(kRootFilesystemDirs), std::end(kRootFilesystemDirs));
  }
  for (const auto& dir : dirs) {
    HostLayout::Entry entry;
    if (read(dir, root_filesystem, &entry)) {
      layout.system_dirs.push_back(entry);
    }
  }
  std::vector<std::string> names(std::begin(kEtcEntries), std::end(kEtcEntries));
  if (DIR* etc = ::opendir((root_filesystem + "/etc").c_str())) {
    while (struct dirent* d = ::readdir(etc)) {
      std::string name = d->d_name;
      if (name.rfind("python", 0) == 0) {
        names.push_back(name);  // Debian's sitecustomize lives in /etc/python3.X
      }
    }
    ::closedir(etc);
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    HostLayout::Entry entry;
    // Name resolution is the host's network's, whatever the image brought.
    std::string root = name == "resolv.conf" ? std::string() : root_filesystem;
    if (read("/etc/" + name, root, &entry)) {
      layout.etc_entries.push_back(entry);
    }
  }
  return layout;
}

std::vector<RootStep> planRoot(const LaunchSpec& spec, const HostLayout& layout,
                               const std::string& staging_root, const SandboxIdentity& identity) {
  using Kind = RootStep::Kind;
  std::vector<RootStep> steps;
  std::set<std::string> made = {"/"};
  auto at = [&](const std::string& inside) { return staging_root + inside; };
  // mkdir -p of `inside` (an absolute path in the sandbox).
  auto makeDirs = [&](const std::string& inside) {
    std::vector<std::string> chain;
    for (std::string dir = inside; !made.contains(dir); dir = parentOf(dir)) {
      chain.push_back(dir);
    }
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      steps.push_back({Kind::kDir, at(*it), "", ""});
      made.insert(*it);
    }
  };
  auto bindReadOnly = [&](const std::string& host, const std::string& inside, bool directory) {
    if (directory) {
      makeDirs(inside);
    } else {
      makeDirs(parentOf(inside));
      steps.push_back({Kind::kFile, at(inside), "", ""});
    }
    steps.push_back({Kind::kBindReadOnly, at(inside), host, ""});
  };

  for (const auto& entry : layout.system_dirs) {
    if (!entry.symlink_target.empty()) {
      steps.push_back({Kind::kSymlink, at(entry.path), entry.symlink_target, ""});
    } else if (entry.is_directory) {
      bindReadOnly(entry.source.empty() ? entry.path : entry.source, entry.path, true);
    }
  }

  makeDirs("/etc");
  std::string passwd = "root:x:0:0:root:/root:/usr/sbin/nologin\n" + identity.user_name +
                       ":x:" + std::to_string(identity.uid) + ":" + std::to_string(identity.gid) +
                       "::/tmp:/usr/sbin/nologin\n";
  std::string group =
      "root:x:0:\n" + identity.user_name + ":x:" + std::to_string(identity.gid) + ":\n";
  steps.push_back({Kind::kFile, at("/etc/passwd"), passwd, ""});
  steps.push_back({Kind::kFile, at("/etc/group"), group, ""});
  steps.push_back({Kind::kFile, at("/etc/hosts"),
                   "127.0.0.1\tlocalhost " + identity.host_name + "\n::1\tlocalhost\n", ""});
  steps.push_back({Kind::kFile, at("/etc/hostname"), identity.host_name + "\n", ""});
  for (const auto& entry : layout.etc_entries) {
    if (!entry.symlink_target.empty()) {
      steps.push_back({Kind::kSymlink, at(entry.path), entry.symlink_target, ""});
    } else {
      bindReadOnly(entry.source.empty() ? entry.path : entry.source, entry.path,
                   entry.is_directory);
    }
  }

  for (const auto& mount : spec.mounts) {
    bindReadOnly(mount.host_path, mount.sandbox_path, true);
  }

  makeDirs("/tmp");
  int64_t tmp_bytes = spec.tmp_bytes > 0 ? spec.tmp_bytes : int64_t{512} * 1024 * 1024;
  steps.push_back(
      {Kind::kTmpfs, at("/tmp"), "", "size=" + std::to_string(tmp_bytes) + ",mode=1777"});

  makeDirs("/proc");
  steps.push_back({Kind::kProc, at("/proc"), "", ""});
  steps.push_back({Kind::kBindReadOnly, at("/proc/sys"), at("/proc/sys"), ""});

  makeDirs("/dev");
  steps.push_back({Kind::kTmpfs, at("/dev"), "", "size=65536,mode=0755"});
  for (const char* device : {"null", "zero", "full", "random", "urandom", "tty"}) {
    std::string name = std::string("/dev/") + device;
    steps.push_back({Kind::kFile, at(name), "", ""});
    steps.push_back({Kind::kBindDevice, at(name), name, ""});
  }
  steps.push_back({Kind::kSymlink, at("/dev/fd"), "/proc/self/fd", ""});
  steps.push_back({Kind::kSymlink, at("/dev/stdin"), "/proc/self/fd/0", ""});
  steps.push_back({Kind::kSymlink, at("/dev/stdout"), "/proc/self/fd/1", ""});
  steps.push_back({Kind::kSymlink, at("/dev/stderr"), "/proc/self/fd/2", ""});
  steps.push_back({Kind::kDir, at("/dev/shm"), "", ""});
  steps.push_back(
      {Kind::kTmpfs, at("/dev/shm"), "", "size=" + std::to_string(tmp_bytes) + ",mode=1777"});
  steps.push_back({Kind::kRemountReadOnly, at("/dev"), "", ""});

  steps.push_back({Kind::kRemountReadOnly, staging_root, "", ""});
  return steps;
}

}  // namespace hearth
