#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fleet/instance_provider.h"

extern char** environ;

namespace hearth {
namespace fs = std::filesystem;

namespace {

constexpr std::chrono::milliseconds kMonitorInterval{100};
constexpr std::chrono::milliseconds kTerminateGrace{3000};
constexpr std::string_view kRecordName = "instance";
constexpr std::string_view kAddressName = "address";

// The record of a launched instance: key=value lines.
std::string recordText(const InstanceLaunch& launch, int pid) {
  return fmt::format(
      "pid={}\ncapacity_provider={}\nzone={}\ntype={}\nfamily={}\narchitecture={}\nvcpus={}\n"
      "memory_mib={}\nprice_per_hour={}\n",
      pid, launch.capacity_provider, launch.zone, launch.type.name, launch.type.family,
      launch.type.architecture, launch.type.vcpus, launch.type.memory_mib,
      launch.type.price_per_hour);
}

std::map<std::string, std::string> readKeyValues(const fs::path& path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq != std::string::npos) {
      out[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
  return out;
}

template <typename T>
bool parseNumber(const std::string& text, T* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool isAlive(int pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) {
    return false;
  }
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
}

// Whether `pid` is the agent of `instance_id` (its command line says so).
bool isAgentOf(int pid, const std::string& instance_id) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return cmdline.find(std::string("--instance-id") + '\0' + instance_id + '\0') !=
         std::string::npos;
}

}  // namespace

LocalInstanceProvider::LocalInstanceProvider(LocalInstanceOptions options,
                                             InstanceExitCallback on_exit)
    : options_(std::move(options)), on_exit_(std::move(on_exit)) {
  monitor_ = std::thread([this] { monitor(); });
}

LocalInstanceProvider::~LocalInstanceProvider() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  monitor_.join();
}

Status LocalInstanceProvider::launch(const InstanceLaunch& launch) {
  fs::path work_dir = fs::path(options_.work_root) / launch.instance_id;
  std::error_code ec;
  fs::create_directories(work_dir, ec);
  if (ec) {
    return Status(StatusCode::kUnavailable,
                  "cannot create " + work_dir.string() + ": " + ec.message());
  }
  std::vector<std::string> args = {options_.hearth_binary,
                                   "agent",
                                   "--server",
                                   options_.server_url,
                                   "--instance-id",
                                   launch.instance_id,
                                   "--zone",
                                   launch.zone,
                                   "--instance-type",
                                   launch.type.name,
                                   "--vcpus",
                                   std::to_string(launch.type.vcpus),
                                   "--memory-mib",
                                   std::to_string(launch.type.memory_mib),
                                   "--work-dir",
                                   work_dir.string(),
                                   "--runtimes-dir",
                                   options_.runtimes_dir,
                                   "--region",
                                   options_.region,
                                   "--orphan-timeout-ms",
                                   std::to_string(options_.orphan_timeout.count())};
  if (options_.insecure_no_sandbox) {
    args.push_back("--insecure-no-sandbox");
  }
  for (const auto& [prefix, interpreter] : options_.interpreters) {
    args.push_back("--interpreter");
    args.push_back(prefix + "=" + interpreter);
  }
  for (const auto& [runtime, dir] : options_.root_filesystems) {
    args.push_back("--runtime-root");
    args.push_back(runtime + "=" + dir);
  }
  const char* path_env = std::getenv("PATH");
  std::vector<std::string> env = {
      "HEARTH_AGENT_TOKEN=" + options_.token,
      std::string("PATH=") + (path_env ? path_env : "/usr/local/bin:/usr/bin:/bin"),
      "HOME=" + work_dir.string()};
  if (const char* level = std::getenv("HEARTH_LOG_LEVEL")) {
    env.push_back(std::string("HEARTH_LOG_LEVEL=") + level);
  }
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
  std::string log_path = (work_dir / "agent.log").string();
  std::string dir = work_dir.string();
  struct rlimit files {};
  int max_fd = ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY
                   ? static_cast<int>(std::min<rlim_t>(files.rlim_cur, 1 << 20))
                   : 1 << 16;

  int pid = ::fork();
  if (pid < 0) {
    return Status(StatusCode::kUnavailable, fmt::format("fork: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    ::setsid();  // its own session: no signal aimed at the server's group reaches it
    int null_fd = ::open("/dev/null", O_RDONLY);
    int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (null_fd < 0 || log_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(log_fd, 1) < 0 ||
        ::dup2(log_fd, 2) < 0 || ::chdir(dir.c_str()) != 0) {
      ::_exit(127);
    }
    if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
      for (int fd = 3; fd < max_fd; ++fd) {  // kernels before 5.9
        ::close(fd);
      }
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  {
    // Written whole or not at all: a restarted server reads it to find the agent again.
    fs::path temp = work_dir / (std::string(kRecordName) + ".tmp");
    std::ofstream(temp) << recordText(launch, pid);
    std::error_code renamed;
    fs::rename(temp, work_dir / kRecordName, renamed);
  }
  MutexLock lock(&mu_);
  agents_[launch.instance_id] = Agent{pid, /*child=*/true};
  return Status::ok();
}

void LocalInstanceProvider::terminate(const std::string& instance_id) {
  MutexLock lock(&mu_);
  auto it = agents_.find(instance_id);
  if (it == agents_.end() || it->second.terminating) {
    return;
  }
  if (!it->second.child && !isAgentOf(it->second.pid, instance_id)) {
    return;  // exited, and the pid may already belong to another process
  }
  ::kill(it->second.pid, SIGTERM);
  it->second.terminating = true;
  it->second.kill_at = std::chrono::steady_clock::now() + kTerminateGrace;
}

std::vector<RecoveredInstance> LocalInstanceProvider::recover() {
  std::vector<RecoveredInstance> out;
  std::error_code ec;
  if (!fs::is_directory(options_.work_root, ec)) {
    return out;
  }
  std::vector<fs::path> stale;
  for (const auto& entry : fs::directory_iterator(options_.work_root, ec)) {
    if (!entry.is_directory(ec)) {
      continue;
    }
    std::string id = entry.path().filename().string();
    auto record = readKeyValues(entry.path() / kRecordName);
    int pid = 0;
    RecoveredInstance r;
    r.launch.instance_id = id;
    r.launch.capacity_provider = record["capacity_provider"];
    r.launch.zone = record["zone"];
    r.launch.type.name = record["type"];
    r.launch.type.family = record["family"];
    r.launch.type.architecture = record["architecture"];
    std::string address;
    std::getline(std::ifstream(entry.path() / kAddressName), address);
    size_t colon = address.rfind(':');
    bool ok = parseNumber(record["pid"], &pid) &&
              parseNumber(record["vcpus"], &r.launch.type.vcpus) &&
              parseNumber(record["memory_mib"], &r.launch.type.memory_mib) &&
              colon != std::string::npos && colon > 0 &&
              parseNumber(address.substr(colon + 1), &r.port) && isAlive(pid) && isAgentOf(pid, id);
    if (!ok) {
      if (pid > 0 && isAlive(pid) && isAgentOf(pid, id)) {
        ::kill(pid, SIGKILL);  // an agent we cannot reach again
      }
      stale.push_back(entry.path());
      continue;
    }
    r.host = address.substr(0, colon);
    spdlog::info("fleet: recovered instance {} (pid {}, {}:{})", id, pid, r.host, r.port);
    {
      MutexLock lock(&mu_);
      agents_[id] = Agent{pid, /*child=*/false};
    }
    out.push_back(std::move(r));
  }
  for (const auto& path : stale) {
    fs::remove_all(path, ec);
  }
  return out;
}

void LocalInstanceProvider::monitor() {
  for (;;) {
    std::vector<std::pair<std::string, int>> exited;
    {
      MutexLock lock(&mu_);
      if (stopping_) {
        return;
      }
      auto now = std::chrono::steady_clock::now();
      for (auto it = agents_.begin(); it != agents_.end();) {
        Agent& agent = it->second;
        int code = -1;
        bool gone = false;
        if (agent.child) {
          int status = 0;
          if (::waitpid(agent.pid, &status, WNOHANG) == agent.pid) {
            gone = true;
            code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          }
        } else {
          // Not our child: gone when the pid is, or when it names another process now.
          gone = !isAlive(agent.pid) || !isAgentOf(agent.pid, it->first);
        }
        if (gone) {
          exited.emplace_back(it->first, code);
          it = agents_.erase(it);
          continue;
        }
        if (agent.terminating && now >= agent.kill_at) {
          ::kill(agent.pid, SIGKILL);
          agent.kill_at = now + kTerminateGrace;
        }
        ++it;
      }
    }
    for (const auto& [id, code] : exited) {
      std::error_code ec;
      fs::remove_all(fs::path(options_.work_root) / id, ec);
      if (on_exit_) {
        on_exit_(id, code);
      }
    }
    std::this_thread::sleep_for(kMonitorInterval);
  }
}

}  // namespace hearth
