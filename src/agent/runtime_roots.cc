#include "agent/runtime_roots.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <utility>

#include "agent/launch_spec.h"
#include "sandbox/sandbox_plan.h"

namespace hearth {
namespace {

constexpr const char* kPythonRuntimes[] = {"python3.9",  "python3.10", "python3.11",
                                           "python3.12", "python3.13", "python3.14"};
constexpr const char* kNodeRuntimes[] = {"nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x"};

// Where interpreters are looked for: the host directories a sandbox shows, and inside a root
// file system also /var/lang/bin, where Lambda's base images keep theirs.
const std::vector<std::string>& hostDirs() {
  static const std::vector<std::string> dirs = {"/usr/local/bin", "/usr/bin", "/bin"};
  return dirs;
}
const std::vector<std::string>& rootFilesystemDirs() {
  static const std::vector<std::string> dirs = {"/var/lang/bin", "/usr/local/bin", "/usr/bin",
                                                "/bin"};
  return dirs;
}

std::string joinedNames(const std::vector<std::string>& names, const char* last_separator) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) {
      out += i + 1 == names.size() ? last_separator : ", ";
    }
    out += names[i];
  }
  return out;
}

// Whether an operator's mapping key (a runtime identifier or a prefix of one) covers `runtime`.
bool keyCovers(const std::string& key, const std::string& runtime) {
  return runtime.compare(0, key.size(), key) == 0;
}

// One runtime's resolution; asks each (program, root) version once across runtimes.
class Resolver {
 public:
  Resolver(const RuntimeSources& sources, const FileProbe& files, const VersionProbe& versions)
      : sources_(sources), files_(files), versions_(versions) {}

  RuntimeRoot resolve(const std::string& runtime, const RuntimeRequirement& need) {
    std::string root;
    if (auto it = sources_.root_filesystems.find(runtime); it != sources_.root_filesystems.end()) {
      root = it->second;
      if (!sources_.sandboxed) {
        return missing(fmt::format(
            "Runtime {} has the root file system {} (--runtime-root), which only a sandboxed "
            "instance can show; this one runs with --insecure-no-sandbox.",
            runtime, root));
      }
    }
    std::string mapped = mappedInterpreter(runtime);
    if (!mapped.empty()) {
      return resolveMapped(runtime, need, mapped, root);
    }
    // Without a mapping: the first program whose version matches; inside an operator's root
    // file system the first that runs at all.
    std::vector<std::string> seen;
    RuntimeRoot first_runnable;
    for (const auto& program : need.programs) {
      for (const auto& path : candidates(program, root)) {
        std::string version = versionOf(path, root);
        if (version.empty()) {
          seen.push_back(fmt::format("{}{} does not report a version", root, path));
          continue;
        }
        if (versionMatches(version, need.version)) {
          return RuntimeRoot{path, root, version, false, ""};
        }
        seen.push_back(fmt::format("{}{} is {} {}", root, path, need.language, version));
        if (!root.empty() && !first_runnable.available()) {
          first_runnable = RuntimeRoot{path, root, version, true, ""};
        }
      }
    }
    if (first_runnable.available()) {
      return first_runnable;
    }
    if (seen.empty()) {
      const auto& dirs = root.empty() ? hostDirs() : rootFilesystemDirs();
      seen.push_back(fmt::format(
          "{} has no {} in {}", root.empty() ? "this instance" : "the root file system " + root,
          joinedNames(need.programs, " or "),
          sources_.sandboxed || !root.empty() ? joinedNames(dirs, " or ") : "PATH"));
    }
    return missing(fmt::format(
        "Runtime {} needs {} {}, which this instance does not have ({}). Supply one with "
        "`hearth up --interpreter {}=PROGRAM`, or with `hearth up --runtime-root {}=DIR` for an "
        "unpacked base image.",
        runtime, need.language, need.version, joinedNames(seen, "; "), runtime, runtime));
  }

 private:
  static RuntimeRoot missing(std::string reason) {
    RuntimeRoot root;
    root.missing = std::move(reason);
    return root;
  }

  std::string mappedInterpreter(const std::string& runtime) const {
    std::string best_key, best;
    for (const auto& [key, program] : sources_.interpreters) {
      if (keyCovers(key, runtime) && key.size() > best_key.size()) {
        best_key = key;
        best = program;
      }
    }
    return best;
  }

  RuntimeRoot resolveMapped(const std::string& runtime, const RuntimeRequirement& need,
                            const std::string& program, const std::string& root) {
    std::vector<std::string> paths = candidates(program, root);
    if (paths.empty()) {
      std::string where = !root.empty() ? "inside the root file system " + root
                          : sources_.sandboxed
                              ? std::string(
                                    "where the sandbox shows the host (under /usr, /bin, "
                                    "/sbin or /lib)")
                              : std::string("on this instance");
      return missing(fmt::format(
          "Runtime {} maps to the interpreter '{}' (--interpreter), which is not installed {}.",
          runtime, program, where));
    }
    std::string version = versionOf(paths.front(), root);
    if (version.empty()) {
      return missing(fmt::format(
          "Runtime {} maps to the interpreter {}{} (--interpreter), which does not report a "
          "version with --version.",
          runtime, root, paths.front()));
    }
    return RuntimeRoot{paths.front(), root, version, !versionMatches(version, need.version), ""};
  }

  // The paths, as the EE sees them, where `program` is installed.
  std::vector<std::string> candidates(const std::string& program, const std::string& root) const {
    std::vector<std::string> out;
    if (program.find('/') != std::string::npos) {
      bool visible = root.empty() ? !sources_.sandboxed || sandboxShowsHostPath(program)
                                  : sandboxShowsRootFilesystemPath(program);
      if (visible && files_.isExecutable(root + program)) {
        out.push_back(program);
      }
      return out;
    }
    if (root.empty() && !sources_.sandboxed) {
      std::string found = files_.findOnPath(program);
      if (!found.empty()) {
        out.push_back(found);
      }
      return out;
    }
    for (const auto& dir : root.empty() ? hostDirs() : rootFilesystemDirs()) {
      std::string path = dir + "/" + program;
      if (files_.isExecutable(root + path)) {
        out.push_back(path);
        break;  // the first directory that has it is the one a shell would run
      }
    }
    return out;
  }

  std::string versionOf(const std::string& path, const std::string& root) {
    auto key = std::make_pair(path, root);
    auto it = asked_.find(key);
    if (it == asked_.end()) {
      it = asked_.emplace(key, versions_.versionOf(path, root)).first;
    }
    return it->second;
  }

  const RuntimeSources& sources_;
  const FileProbe& files_;
  const VersionProbe& versions_;
  std::map<std::pair<std::string, std::string>, std::string> asked_;
};

}  // namespace

std::optional<RuntimeRequirement> requirementOf(const std::string& runtime) {
  for (const char* known : kPythonRuntimes) {
    if (runtime == known) {
      std::string version = runtime.substr(6);  // "3.13"
      return RuntimeRequirement{
          "Python", version, {"python" + version, "python3"}, "/python/bootstrap.py"};
    }
  }
  for (const char* known : kNodeRuntimes) {
    if (runtime == known) {
      std::string version = runtime.substr(6, runtime.size() - 8);  // "22"
      return RuntimeRequirement{"Node.js", version, {"node", "nodejs"}, "/node/bootstrap.mjs"};
    }
  }
  return std::nullopt;
}

std::vector<std::string> interpretedRuntimes() {
  std::vector<std::string> out(std::begin(kPythonRuntimes), std::end(kPythonRuntimes));
  out.insert(out.end(), std::begin(kNodeRuntimes), std::end(kNodeRuntimes));
  return out;
}

bool versionMatches(const std::string& found, const std::string& wanted) {
  return !wanted.empty() && found.compare(0, wanted.size(), wanted) == 0 &&
         (found.size() == wanted.size() || found[wanted.size()] == '.');
}

std::string parseVersionOutput(const std::string& output) {
  size_t i = 0;
  while (i < output.size()) {
    size_t start = output.find_first_not_of(" \t\r\n", i);
    if (start == std::string::npos) {
      break;
    }
    size_t end = output.find_first_of(" \t\r\n", start);
    std::string word = output.substr(start, end == std::string::npos ? end : end - start);
    if (word.size() > 1 && word[0] == 'v') {
      word.erase(0, 1);
    }
    if (!word.empty() && std::isdigit(static_cast<unsigned char>(word[0])) &&
        word.find('.') != std::string::npos) {
      return word;
    }
    i = end == std::string::npos ? output.size() : end;
  }
  return "";
}

std::string SystemVersionProbe::versionOf(const std::string& program,
                                          const std::string& root) const {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return "";
  }
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const char* argv[] = {program.c_str(), "--version", nullptr};
  const char* envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", nullptr};
  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    if (!root.empty() && (::chroot(root.c_str()) != 0 || ::chdir("/") != 0)) {
      ::_exit(127);
    }
    if (null_fd >= 0) {
      ::dup2(null_fd, 0);
    }
    ::dup2(pipe_fds[1], 1);
    ::dup2(pipe_fds[1], 2);
    ::execve(program.c_str(), const_cast<char* const*>(argv), const_cast<char* const*>(envp));
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  if (null_fd >= 0) {
    ::close(null_fd);
  }
  if (pid < 0) {
    ::close(pipe_fds[0]);
    return "";
  }
  std::string output;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (output.size() < 4096) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      break;
    }
    struct pollfd p = {pipe_fds[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      break;
    }
    char buf[1024];
    ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
    if (n <= 0) {
      break;
    }
    output.append(buf, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  ::kill(pid, SIGKILL);  // a no-op for an interpreter that has exited
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return "";
  }
  return parseVersionOutput(output);
}

std::map<std::string, RuntimeRoot> resolveRuntimeRoots(const std::vector<std::string>& runtimes,
                                                       const RuntimeSources& sources,
                                                       const FileProbe& files,
                                                       const VersionProbe& versions) {
  Resolver resolver(sources, files, versions);
  std::map<std::string, RuntimeRoot> roots;
  for (const auto& runtime : runtimes) {
    if (auto need = requirementOf(runtime)) {
      roots[runtime] = resolver.resolve(runtime, *need);
    }
  }
  return roots;
}

std::map<std::string, RuntimeRoot> resolveAndLogRuntimeRoots(const RuntimeSources& sources,
                                                             const std::string& who) {
  std::vector<std::string> runtimes = interpretedRuntimes();
  SystemFileProbe files;
  SystemVersionProbe versions;
  auto roots = resolveRuntimeRoots(runtimes, sources, files, versions);
  std::string missing;
  for (const auto& [runtime, root] : roots) {
    if (root.substitution) {
      spdlog::warn("{}: runtime {}", who, describeRuntimeRoot(runtime, root));
    } else if (root.available()) {
      spdlog::info("{}: runtime {}", who, describeRuntimeRoot(runtime, root));
    } else {
      missing += (missing.empty() ? "" : ", ") + runtime;
    }
  }
  if (!missing.empty()) {
    spdlog::info("{}: no interpreter for {} (their versions fail to publish)", who, missing);
  }
  for (const auto& mapping : sources.interpreters) {
    const std::string& key = mapping.first;
    if (!std::any_of(runtimes.begin(), runtimes.end(),
                     [&key](const auto& r) { return keyCovers(key, r); })) {
      spdlog::warn("{}: --interpreter {}={} names no runtime Hearth runs", who, key,
                   mapping.second);
    }
  }
  for (const auto& [runtime, dir] : sources.root_filesystems) {
    if (!roots.contains(runtime)) {
      spdlog::warn("{}: --runtime-root {}={} names no runtime Hearth runs", who, runtime, dir);
    }
  }
  return roots;
}

std::string describeRuntimeRoot(const std::string& runtime, const RuntimeRoot& root) {
  if (!root.available()) {
    return root.missing;
  }
  auto need = requirementOf(runtime);
  std::string language = need ? need->language : "";
  std::string where = root.root_filesystem.empty()
                          ? root.interpreter
                          : fmt::format("{} in {}", root.interpreter, root.root_filesystem);
  return fmt::format("{}: {} ({} {}){}", runtime, where, language, root.version,
                     root.substitution ? ", an operator substitution for " + language + " " +
                                             (need ? need->version : "")
                                       : "");
}

}  // namespace hearth
