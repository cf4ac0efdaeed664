#include "sandbox/process_launcher.h"

#include <sys/socket.h>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>

#include "sandbox/isolation.h"
#include "sandbox/sandbox_child.h"

namespace hearth {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

constexpr size_t kMaxLineBytes = 16 * 1024;
constexpr size_t kReadChunkBytes = 64 * 1024;
constexpr int kMaxEpollEvents = 64;
constexpr int kExitPollIntervalMs = 25;
constexpr std::chrono::milliseconds kShutdownReapTimeout(2000);
constexpr std::chrono::hours kMaxGrace(24 * 365);
constexpr size_t kMaxTreeProcesses = 4096;
constexpr std::string_view kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

// epoll tokens: the wake eventfd and the timerfd use two fixed values; a sandbox's descriptors
// use (serial << 2 | kind) with serial >= 1.
constexpr uint64_t kWakeToken = 0;
constexpr uint64_t kTimerToken = 1;
enum FdKind : uint64_t { kStdoutFd = 0, kStderrFd = 1, kPidFd = 2 };

uint64_t epollToken(uint64_t serial, FdKind kind) {
  return serial << 2 | kind;
}

std::string errnoText(int err) {
  char buf[256];
  return strerror_r(err, buf, sizeof buf);
}

void closeFd(int& fd) {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

int pidfdOpen(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  errno = ENOSYS;
  return -1;
#endif
}

// Reads until `size` bytes or EOF. Returns the byte count, or -1 on a read error.
ssize_t readFull(int fd, void* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, static_cast<char*>(data) + done, size - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return -1;
    }
    if (n == 0) {
      break;
    }
    done += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

pid_t waitpidRetry(pid_t pid, int* status, int options) {
  for (;;) {
    pid_t r = ::waitpid(pid, status, options);
    if (r >= 0 || errno != EINTR) {
      return r;
    }
  }
}

int decodeWaitStatus(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return -1;
}

// What the child writes to its report pipe when it fails before or in execve().
enum class ChildStage : int { kSetup = 1, kChdir = 2, kExec = 3, kSandbox = 4 };
struct ChildReport {
  int stage = 0;
  int err = 0;
  int detail = 0;  // kSandbox: the SandboxFailure step
};
static_assert(sizeof(ChildReport) == 3 * sizeof(int));

// One fork request, owned by the launching thread until `done`.
struct ForkJob {
  const char* path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* cwd = nullptr;                 // null: keep the agent's cwd
  const IsolatedLaunch* isolated = nullptr;  // null: a plain child process

  bool done = false;  // guarded by Impl::mu_ while queued
  Status status;
  pid_t pid = -1;
  int out_fd = -1;
  int err_fd = -1;
  int report_fd = -1;
  int pid_fd = -1;
};

// Runs in the forked child: only async-signal-safe calls from here to execve().
[[noreturn]] void runChild(const ForkJob& job, int out_w, int err_w, int report_w, int dev_null,
                           pid_t parent) {
  auto fail = [&report_w](ChildStage stage, int detail = 0) {
    ChildReport report{static_cast<int>(stage), errno, detail};
    ssize_t ignored = ::write(report_w, &report, sizeof report);
    (void)ignored;
    ::_exit(127);
  };

  // All signals are blocked (by the forking thread); restore default dispositions before
  // unblocking, so no agent handler runs here and no SIG_IGN leaks into the sandbox.
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    ::sigaction(sig, &dfl, nullptr);  // fails harmlessly for SIGKILL, SIGSTOP, reserved signals
  }

  if (::setpgid(0, 0) != 0) {
    fail(ChildStage::kSetup);
  }
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    fail(ChildStage::kSetup);
  }
  // (In a new pid namespace the parent is outside it and getppid() is 0.)
  if (job.isolated == nullptr && ::getppid() != parent) {
    ::_exit(127);  // the agent died before PR_SET_PDEATHSIG took effect
  }

  // Move every descriptor above 2 first, so the dup2() calls cannot overwrite one another even
  // when the agent runs with some of 0..2 closed.
  const int report_fd = ::fcntl(report_w, F_DUPFD_CLOEXEC, 3);
  if (report_fd < 0) {
    fail(ChildStage::kSetup);
  }
  report_w = report_fd;
  int in_fd = ::fcntl(dev_null, F_DUPFD_CLOEXEC, 3);
  int out_fd = ::fcntl(out_w, F_DUPFD_CLOEXEC, 3);
  int err_fd = ::fcntl(err_w, F_DUPFD_CLOEXEC, 3);
  if (in_fd < 0 || out_fd < 0 || err_fd < 0) {
    fail(ChildStage::kSetup);
  }
  if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) {
    fail(ChildStage::kSetup);
  }

  if (job.isolated != nullptr) {
    SandboxFailure failure;
    if (!enterSandbox(job.isolated->plan(), report_w, &failure)) {
      errno = failure.err;
      fail(ChildStage::kSandbox, failure.step);
    }
  }

  if (job.cwd != nullptr && ::chdir(job.cwd) != 0) {
    fail(ChildStage::kChdir);
  }

  // Everything above 2 closes on exec, including descriptors other agent threads opened without
  // O_CLOEXEC.
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    struct rlimit limit;
    rlim_t max_fd = 65536;
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
      max_fd = std::min<rlim_t>(limit.rlim_cur, 1 << 20);
    }
    for (rlim_t fd = 3; fd < max_fd; ++fd) {
      ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
    }
  }

  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (job.isolated != nullptr && !lockDownSandbox(job.isolated->plan())) {
    fail(ChildStage::kSandbox, kStageSeccomp);
  }
  ::execve(job.path, job.argv, job.envp);
  fail(ChildStage::kExec);
  ::_exit(127);  // unreachable: fail() exits
}

std::string readSmallFile(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return out;
  }
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0 || out.size() > (1 << 20)) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

int64_t vmRssBytes(pid_t pid) {
  std::string status = readSmallFile("/proc/" + std::to_string(pid) + "/status");
  size_t at = status.find("\nVmRSS:");
  if (at == std::string::npos) {
    return 0;
  }
  const char* p = status.data() + at + 7;
  const char* end = status.data() + status.size();
  while (p < end && (*p == ' ' || *p == '\t')) {
    ++p;
  }
  int64_t kib = 0;
  std::from_chars(p, end, kib);
  return kib * 1024;
}

// Appends the children of every thread of `pid` to `out`.
void appendChildren(pid_t pid, std::vector<pid_t>& out) {
  std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = ::opendir(task_dir.c_str());
  if (dir == nullptr) {
    return;
  }
  while (struct dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') {
      continue;
    }
    std::string children = readSmallFile(task_dir + "/" + entry->d_name + "/children");
    const char* p = children.data();
    const char* end = p + children.size();
    while (p < end) {
      pid_t child = 0;
      auto [next, ec] = std::from_chars(p, end, child);
      if (ec == std::errc() && child > 0) {
        out.push_back(child);
      }
      p = next == p ? p + 1 : next;
    }
  }
  ::closedir(dir);
}

// Best effort: the RSS of `root` and its descendants, read from /proc.
int64_t treeResidentBytes(pid_t root) {
  std::vector<pid_t> pending{root};
  int64_t total = 0;
  for (size_t visited = 0; !pending.empty() && visited < kMaxTreeProcesses; ++visited) {
    pid_t pid = pending.back();
    pending.pop_back();
    total += vmRssBytes(pid);
    appendChildren(pid, pending);
  }
  return total;
}

bool hasNul(const std::string& s) {
  return s.find('\0') != std::string::npos;
}

Status validateSpec(const LaunchSpec& spec) {
  const std::string who = "sandbox " + spec.id + ": ";
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return invalidParameter(who + "argv[0] is empty");
  }
  for (const auto& arg : spec.argv) {
    if (hasNul(arg)) {
      return invalidParameter(who + "argv contains a NUL byte");
    }
  }
  for (const auto& [key, value] : spec.env) {
    if (key.empty() || key.find('=') != std::string::npos || hasNul(key) || hasNul(value)) {
      return invalidParameter(who + "invalid environment variable name '" + key + "'");
    }
  }
  if (hasNul(spec.working_dir)) {
    return invalidParameter(who + "working_dir contains a NUL byte");
  }
  if (!spec.working_dir.empty() && spec.working_dir[0] != '/') {
    return invalidParameter(who + "working_dir '" + spec.working_dir + "' is not absolute");
  }
  return Status::ok();
}

// The path to pass to execve(): argv[0] itself when it has a '/', else the first executable
// regular file named argv[0] on the spec's PATH (relative entries are relative to working_dir).
Result<std::string> resolveExecutable(const LaunchSpec& spec) {
  const std::string& name = spec.argv[0];
  if (name.find('/') != std::string::npos) {
    return name;
  }
  auto it = spec.env.find("PATH");
  std::string_view path_var = it != spec.env.end() ? std::string_view(it->second) : kDefaultPath;
  size_t start = 0;
  for (;;) {
    size_t colon = path_var.find(':', start);
    std::string dir(
        path_var.substr(start, colon == std::string_view::npos ? colon : colon - start));
    if (dir.empty()) {
      dir = ".";
    }
    if (dir[0] != '/' && !spec.working_dir.empty()) {
      dir = spec.working_dir + "/" + dir;
    }
    std::string candidate = dir + "/" + name;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string_view::npos) {
      break;
    }
    start = colon + 1;
  }
  return invalidParameter("sandbox " + spec.id + ": executable '" + name + "' not found on PATH '" +
                          std::string(path_var) + "'");
}

Status childFailure(const LaunchSpec& spec, const std::string& path, const ChildReport& report) {
  const std::string who = "sandbox " + spec.id + ": ";
  std::string binary = "'" + spec.argv[0] + "'";
  if (path != spec.argv[0]) {
    binary += " (" + path + ")";
  }
  switch (static_cast<ChildStage>(report.stage)) {
    case ChildStage::kChdir:
      return invalidParameter(who + "cannot enter working_dir '" + spec.working_dir +
                              "': " + errnoText(report.err));
    case ChildStage::kExec:
      if (report.err == ENOMEM || report.err == EAGAIN || report.err == EMFILE ||
          report.err == ENFILE) {
        return internalError(who + "cannot execute " + binary + ": " + errnoText(report.err));
      }
      return invalidParameter(who + "cannot execute " + binary + ": " + errnoText(report.err));
    case ChildStage::kSandbox:
      return internalError(
          who + "sandbox setup failed " + sandboxStageName(report.detail) +
          (report.detail >= 0 ? " (step " + std::to_string(report.detail) + ")" : std::string()) +
          ": " + errnoText(report.err));
    case ChildStage::kSetup:
      break;
  }
  return internalError(who + "child setup failed: " + errnoText(report.err));
}

// Per-sandbox state, shared by the launcher and the Sandbox handle.
struct SandboxState {
  SandboxState(uint64_t serial_in, pid_t pid_in, OutputCallback output, ExitCallback exit)
      : serial(serial_in), pid(pid_in), on_output(std::move(output)), on_exit(std::move(exit)) {}

  const uint64_t serial;
  const pid_t pid;

  // Launcher thread only (set before registration).
  OutputCallback on_output;
  ExitCallback on_exit;
  std::array<int, 2> pipe_fds = {-1, -1};  // indexed by FdKind; -1 after EOF
  int pid_fd = -1;
  std::array<std::string, 2> partial;  // the unterminated tail of each stream
  int exit_code = -1;
  bool finished = false;

  // Guarded by Impl::mu_.
  bool term_sent = false;
  std::optional<SteadyTime> kill_deadline;

  // Written under Impl::mu_ (together with the reap), read anywhere. Once true the process group
  // id may be reused and must not be signalled.
  std::atomic<bool> reaped{false};

  // Isolated sandboxes only. The launch is set before registration and never replaced.
  std::unique_ptr<IsolatedLaunch> isolated;
  std::atomic<int> runtime_api_fd{-1};
  std::atomic<bool> out_of_memory{false};
  ~SandboxState() {
    int fd = runtime_api_fd.exchange(-1);
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

// Reads the child's reports over an isolated launch's control socket: a zero report carrying
// the Runtime API listener, then either a failure report or the end of the stream (the exec
// succeeded). Returns what a pipe's readFull would: 0 on success, sizeof(ChildReport) with
// `report` set on failure, -1 on error.
ssize_t readIsolatedReports(int fd, ChildReport* report, int* passed_fd) {
  for (;;) {
    ChildReport message;
    iovec data{&message, sizeof message};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr header{};
    header.msg_iov = &data;
    header.msg_iovlen = 1;
    header.msg_control = control;
    header.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(fd, &header, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return n;
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        int received = -1;
        std::memcpy(&received, CMSG_DATA(c), sizeof received);
        if (*passed_fd >= 0) {
          ::close(*passed_fd);
        }
        *passed_fd = received;
      }
    }
    if (n != static_cast<ssize_t>(sizeof message)) {
      errno = EIO;
      return -1;
    }
    if (message.stage != 0) {
      *report = message;
      return n;
    }
  }
}

}  // namespace

struct ProcessLauncher::Impl {
  explicit Impl(ProcessLauncherOptions options)
      : use_pidfd_(options.use_pidfd), isolation_(std::move(options.isolation)) {}
  ~Impl();

  // Creates the descriptors and the launcher thread; on failure every launch() returns the error.
  void start() { init_status_ = startImpl(); }
  void stop();

  Result<SandboxPtr> launch(const std::shared_ptr<Impl>& self, const LaunchSpec& spec,
                            OutputCallback on_output, ExitCallback on_exit);
  void terminate(SandboxState& s, std::chrono::milliseconds grace);
  int64_t residentBytes(const SandboxState& s);

 private:
  Status startImpl();
  void wake();
  void spawn(ForkJob& job);
  void discardChild(ForkJob& job);
  void armTimerLocked();

  // Launcher thread.
  void run();
  void runForkJobs();
  void onTimer();
  void onPipeReadable(const std::shared_ptr<SandboxState>& s, FdKind kind);
  void onPidfdReadable(const std::shared_ptr<SandboxState>& s);
  void pollExits();
  bool tryReap(SandboxState& s);
  void feed(SandboxState& s, FdKind kind, const char* data, size_t size);
  void emit(SandboxState& s, FdKind kind, std::string& line);
  void closePipe(SandboxState& s, FdKind kind);
  void maybeFinish(SandboxState& s);
  // After the reap: records an out-of-memory kill, kills what is left of the cgroup, removes it.
  static void releaseIsolation(SandboxState& s);
  std::shared_ptr<SandboxState> find(uint64_t serial);
  void shutdown();

  bool use_pidfd_;  // launcher thread only after start()
  const std::shared_ptr<Isolation> isolation_;
  std::atomic<uint64_t> launch_serial_{1};
  Status init_status_ = internalError("process launcher not started");
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int timer_fd_ = -1;
  int dev_null_fd_ = -1;
  std::unique_ptr<char[]> read_buf_;  // launcher thread only
  std::thread thread_;
  std::thread::id loop_id_;

  std::mutex mu_;
  std::condition_variable fork_cv_;
  std::deque<ForkJob*> fork_jobs_;
  bool stopping_ = false;
  uint64_t next_serial_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<SandboxState>> sandboxes_;
  std::vector<std::shared_ptr<SandboxState>> polled_;  // sandboxes without a pidfd
  std::multimap<SteadyTime, uint64_t> kill_deadlines_;
  std::optional<SteadyTime> armed_;
};

namespace {

class ProcessSandbox final : public Sandbox {
 public:
  ProcessSandbox(std::shared_ptr<ProcessLauncher::Impl> impl, std::shared_ptr<SandboxState> state)
      : impl_(std::move(impl)), state_(std::move(state)) {}

  int pid() const override { return state_->pid; }
  void terminate(std::chrono::milliseconds grace) override { impl_->terminate(*state_, grace); }
  int64_t residentBytes() const override { return impl_->residentBytes(*state_); }
  int64_t cpuNanos() const override {
    return state_->isolated && !state_->reaped ? state_->isolated->cgroup()->usage().cpu_nanos : -1;
  }
  bool outOfMemory() const override {
    if (state_->out_of_memory) {
      return true;
    }
    return state_->isolated && !state_->reaped && state_->isolated->cgroup()->usage().oom_kills > 0;
  }
  SandboxUsage usage() const override {
    if (!state_->isolated || state_->reaped) {
      return {residentBytes(), -1, state_->out_of_memory};
    }
    CgroupUsage group = state_->isolated->cgroup()->usage();
    return {group.memory_bytes, group.cpu_nanos, state_->out_of_memory || group.oom_kills > 0};
  }
  int takeRuntimeApiListener() override { return state_->runtime_api_fd.exchange(-1); }

 private:
  std::shared_ptr<ProcessLauncher::Impl> impl_;
  std::shared_ptr<SandboxState> state_;
};

}  // namespace

ProcessLauncher::Impl::~Impl() {
  closeFd(epoll_fd_);
  closeFd(wake_fd_);
  closeFd(timer_fd_);
  closeFd(dev_null_fd_);
}

Status ProcessLauncher::Impl::startImpl() {
  dev_null_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (dev_null_fd_ < 0) {
    return internalError("process launcher: cannot open /dev/null: " + errnoText(errno));
  }
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0 || timer_fd_ < 0) {
    return internalError("process launcher: cannot create epoll, eventfd or timerfd: " +
                         errnoText(errno));
  }
  for (auto [fd, token] : {std::pair{wake_fd_, kWakeToken}, std::pair{timer_fd_, kTimerToken}}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = token;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      return internalError("process launcher: epoll_ctl: " + errnoText(errno));
    }
  }
  read_buf_ = std::make_unique<char[]>(kReadChunkBytes);
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::system_error& e) {
    return internalError(std::string("process launcher: cannot start thread: ") + e.what());
  }
  loop_id_ = thread_.get_id();
  return Status::ok();
}

void ProcessLauncher::Impl::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) {
    wake();
    thread_.join();
  }
}

void ProcessLauncher::Impl::wake() {
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_fd_, &one, sizeof one);
  (void)ignored;  // EAGAIN means a wake-up is already pending
}

Result<SandboxPtr> ProcessLauncher::Impl::launch(const std::shared_ptr<Impl>& self,
                                                 const LaunchSpec& spec, OutputCallback on_output,
                                                 ExitCallback on_exit) {
  HEARTH_RETURN_IF_ERROR(init_status_);
  HEARTH_RETURN_IF_ERROR(validateSpec(spec));
  std::unique_ptr<IsolatedLaunch> isolated;
  std::string path;
  if (isolation_) {
    // The executable is found inside the sandbox's root, not on the host.
    if (spec.argv[0][0] != '/') {
      return invalidParameter("sandbox " + spec.id + ": argv[0] must be an absolute path");
    }
    path = spec.argv[0];
    HEARTH_ASSIGN_OR_RETURN(isolated, isolation_->prepare(spec));
  } else {
    HEARTH_ASSIGN_OR_RETURN(path, resolveExecutable(spec));
  }
  // Kills and removes what prepare() made when the launch fails from here on.
  struct IsolationCleanup {
    std::unique_ptr<IsolatedLaunch>* isolated;
    ~IsolationCleanup() {
      if (*isolated) {
        (*isolated)->cgroup()->killAll();
        (void)(*isolated)->cgroup()->remove();
      }
    }
  } cleanup{&isolated};

  // Everything the child needs is built here, before fork().
  std::vector<std::string> env_strings;
  env_strings.reserve(spec.env.size());
  for (const auto& [key, value] : spec.env) {
    env_strings.push_back(key + "=" + value);
  }
  std::vector<char*> argv;
  argv.reserve(spec.argv.size() + 1);
  for (const auto& arg : spec.argv) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(env_strings.size() + 1);
  for (auto& entry : env_strings) {
    envp.push_back(entry.data());
  }
  envp.push_back(nullptr);

  ForkJob job;
  job.path = path.c_str();
  job.argv = argv.data();
  job.envp = envp.data();
  job.cwd = spec.working_dir.empty() ? nullptr : spec.working_dir.c_str();
  job.isolated = isolated.get();

  if (std::this_thread::get_id() == loop_id_) {
    spawn(job);
  } else {
    std::unique_lock lock(mu_);
    if (stopping_) {
      return Status(StatusCode::kUnavailable, "process launcher is shutting down");
    }
    fork_jobs_.push_back(&job);
    wake();
    fork_cv_.wait(lock, [&job] { return job.done; });
  }
  HEARTH_RETURN_IF_ERROR(job.status);

  // The report pipe closes on a successful execve(); otherwise it carries a ChildReport.
  if (isolated) {
    Status attached = isolation_->attach(job.pid, launch_serial_++);
    if (attached.isOk() && isolated->plan().wait_for_network) {
      const char ready = 1;
      if (::send(job.report_fd, &ready, 1, MSG_NOSIGNAL) != 1) {
        attached =
            internalError("cannot tell the sandbox its network is ready: " + errnoText(errno));
      }
    }
    if (!attached.isOk()) {
      discardChild(job);
      return internalError("sandbox " + spec.id + ": " + attached.message());
    }
  }

  ChildReport report;
  int runtime_api_fd = -1;
  ssize_t n = isolated ? readIsolatedReports(job.report_fd, &report, &runtime_api_fd)
                       : readFull(job.report_fd, &report, sizeof report);
  int read_errno = errno;
  closeFd(job.report_fd);
  if (n != 0 || (spec.runtime_api_port != 0 && isolated && runtime_api_fd < 0)) {
    closeFd(runtime_api_fd);
  }
  if (n == 0 && isolated && spec.runtime_api_port != 0 && runtime_api_fd < 0) {
    discardChild(job);
    return internalError("sandbox " + spec.id + ": no Runtime API listener came back");
  }
  if (n != 0) {
    discardChild(job);
    if (n == static_cast<ssize_t>(sizeof report)) {
      return childFailure(spec, path, report);
    }
    return internalError("sandbox " + spec.id +
                         ": cannot read the exec report: " + errnoText(n < 0 ? read_errno : EIO));
  }

  std::unique_lock lock(mu_);
  if (stopping_) {
    lock.unlock();
    discardChild(job);
    return Status(StatusCode::kUnavailable, "process launcher is shutting down");
  }
  auto state = std::make_shared<SandboxState>(next_serial_++, job.pid, std::move(on_output),
                                              std::move(on_exit));
  state->pipe_fds = {job.out_fd, job.err_fd};
  state->pid_fd = job.pid_fd;
  state->isolated = std::move(isolated);
  state->runtime_api_fd = runtime_api_fd;
  const std::array<std::pair<int, FdKind>, 3> watches = {
      {{job.out_fd, kStdoutFd}, {job.err_fd, kStderrFd}, {job.pid_fd, kPidFd}}};
  for (auto [fd, kind] : watches) {
    if (fd < 0) {
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = epollToken(state->serial, kind);
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      int err = errno;
      for (auto [added, unused] : watches) {
        if (added >= 0) {
          ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, added, nullptr);
        }
      }
      lock.unlock();
      discardChild(job);
      isolated = std::move(state->isolated);  // killed and removed by `cleanup`
      return internalError("sandbox " + spec.id + ": epoll_ctl: " + errnoText(err));
    }
  }
  sandboxes_.emplace(state->serial, state);
  if (state->pid_fd < 0) {
    polled_.push_back(state);
  }
  lock.unlock();
  return SandboxPtr(std::make_unique<ProcessSandbox>(self, std::move(state)));
}

void ProcessLauncher::Impl::spawn(ForkJob& job) {
  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  int report[2] = {-1, -1};
  // An isolated child also passes a descriptor back, so its report channel is a socket.
  const bool report_ok = job.isolated != nullptr
                             ? ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, report) == 0
                             : ::pipe2(report, O_CLOEXEC) == 0;
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 || !report_ok) {
    int e = errno;
    for (int* fd : {&out[0], &out[1], &err[0], &err[1], &report[0], &report[1]}) {
      closeFd(*fd);
    }
    job.status = internalError("cannot create sandbox pipes: " + errnoText(e));
    return;
  }
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  ::fcntl(err[0], F_SETFL, O_NONBLOCK);

  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t parent = ::getpid();
  // Namespaces for an isolated child; the cgroup namespace comes once it has joined its group.
  constexpr unsigned long kNamespaces =
      CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET;
  const pid_t pid = job.isolated != nullptr
                        ? static_cast<pid_t>(::syscall(SYS_clone, SIGCHLD | kNamespaces, nullptr,
                                                       nullptr, nullptr, nullptr))
                        : ::fork();
  if (pid == 0) {
    runChild(job, out[1], err[1], report[1], dev_null_fd_, parent);
  }
  const int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  closeFd(out[1]);
  closeFd(err[1]);
  closeFd(report[1]);
  if (pid < 0) {
    closeFd(out[0]);
    closeFd(err[0]);
    closeFd(report[0]);
    job.status = internalError("cannot fork a sandbox: " + errnoText(fork_errno));
    return;
  }
  job.pid = pid;
  job.out_fd = out[0];
  job.err_fd = err[0];
  job.report_fd = report[0];
  if (use_pidfd_) {
    job.pid_fd = pidfdOpen(pid);
    if (job.pid_fd < 0 && errno == ENOSYS) {
      use_pidfd_ = false;
    }
  }
}

// Kills and reaps a child that never became a registered sandbox, and closes its descriptors.
void ProcessLauncher::Impl::discardChild(ForkJob& job) {
  ::kill(job.pid, SIGKILL);
  waitpidRetry(job.pid, nullptr, 0);
  closeFd(job.out_fd);
  closeFd(job.err_fd);
  closeFd(job.report_fd);
  closeFd(job.pid_fd);
}

void ProcessLauncher::Impl::terminate(SandboxState& s, std::chrono::milliseconds grace) {
  std::lock_guard lock(mu_);
  if (stopping_ || s.reaped) {
    return;
  }
  if (grace <= std::chrono::milliseconds::zero()) {
    ::kill(-s.pid, SIGKILL);
    return;
  }
  if (!s.term_sent) {
    s.term_sent = true;
    ::kill(-s.pid, SIGTERM);
  }
  SteadyTime deadline =
      std::chrono::steady_clock::now() + std::min<std::chrono::milliseconds>(grace, kMaxGrace);
  if (s.kill_deadline && *s.kill_deadline <= deadline) {
    return;
  }
  s.kill_deadline = deadline;
  kill_deadlines_.emplace(deadline, s.serial);
  armTimerLocked();
}

int64_t ProcessLauncher::Impl::residentBytes(const SandboxState& s) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || s.reaped) {
      return 0;
    }
  }
  if (s.isolated) {
    return s.isolated->cgroup()->usage().memory_bytes;
  }
  int64_t total = treeResidentBytes(s.pid);
  // Until the reap the pid cannot be reused, so a value read before it is the sandbox's.
  return s.reaped ? 0 : total;
}

void ProcessLauncher::Impl::armTimerLocked() {
  itimerspec spec{};
  if (kill_deadlines_.empty()) {
    if (armed_) {
      ::timerfd_settime(timer_fd_, 0, &spec, nullptr);
      armed_.reset();
    }
    return;
  }
  SteadyTime next = kill_deadlines_.begin()->first;
  if (armed_ && *armed_ == next) {
    return;
  }
  auto since_epoch = std::chrono::duration_cast<std::chrono::nanoseconds>(next.time_since_epoch());
  spec.it_value.tv_sec = static_cast<time_t>(since_epoch.count() / 1000000000);
  spec.it_value.tv_nsec = static_cast<long>(since_epoch.count() % 1000000000);
  if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) {
    spec.it_value.tv_nsec = 1;  // zero would disarm
  }
  ::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
  armed_ = next;
}

void ProcessLauncher::Impl::run() {
  std::array<epoll_event, kMaxEpollEvents> events;
  for (;;) {
    bool polling;
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        break;
      }
      polling = !polled_.empty();
    }
    int n =
        ::epoll_wait(epoll_fd_, events.data(), kMaxEpollEvents, polling ? kExitPollIntervalMs : -1);
    if (n < 0 && errno != EINTR) {
      break;
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t token = events[i].data.u64;
      if (token == kWakeToken) {
        uint64_t count;
        ssize_t ignored = ::read(wake_fd_, &count, sizeof count);
        (void)ignored;
        continue;
      }
      if (token == kTimerToken) {
        onTimer();
        continue;
      }
      std::shared_ptr<SandboxState> s = find(token >> 2);
      if (!s) {
        continue;  // finished earlier in this batch
      }
      const auto kind = static_cast<FdKind>(token & 3);
      if (kind == kPidFd) {
        onPidfdReadable(s);
      } else {
        onPipeReadable(s, kind);
      }
    }
    runForkJobs();
    if (polling) {
      pollExits();
    }
  }
  shutdown();
}

void ProcessLauncher::Impl::runForkJobs() {
  std::deque<ForkJob*> jobs;
  {
    std::lock_guard lock(mu_);
    jobs.swap(fork_jobs_);
  }
  if (jobs.empty()) {
    return;
  }
  for (ForkJob* job : jobs) {
    spawn(*job);
  }
  {
    std::lock_guard lock(mu_);
    for (ForkJob* job : jobs) {
      job->done = true;  // the owner may destroy *job once the lock is released
    }
  }
  fork_cv_.notify_all();
}

void ProcessLauncher::Impl::onTimer() {
  uint64_t expirations;
  ssize_t ignored = ::read(timer_fd_, &expirations, sizeof expirations);
  (void)ignored;
  std::lock_guard lock(mu_);
  armed_.reset();
  const SteadyTime now = std::chrono::steady_clock::now();
  while (!kill_deadlines_.empty() && kill_deadlines_.begin()->first <= now) {
    const uint64_t serial = kill_deadlines_.begin()->second;
    kill_deadlines_.erase(kill_deadlines_.begin());
    auto it = sandboxes_.find(serial);
    if (it != sandboxes_.end() && !it->second->reaped) {
      ::kill(-it->second->pid, SIGKILL);
    }
  }
  armTimerLocked();
}

std::shared_ptr<SandboxState> ProcessLauncher::Impl::find(uint64_t serial) {
  std::lock_guard lock(mu_);
  auto it = sandboxes_.find(serial);
  return it == sandboxes_.end() ? nullptr : it->second;
}

void ProcessLauncher::Impl::onPipeReadable(const std::shared_ptr<SandboxState>& s, FdKind kind) {
  const int fd = s->pipe_fds[kind];
  if (fd < 0) {
    return;
  }
  // One bounded read per wake-up keeps a chatty sandbox from starving the others.
  ssize_t n = ::read(fd, read_buf_.get(), kReadChunkBytes);
  if (n > 0) {
    feed(*s, kind, read_buf_.get(), static_cast<size_t>(n));
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
    return;
  }
  closePipe(*s, kind);
  maybeFinish(*s);
}

void ProcessLauncher::Impl::feed(SandboxState& s, FdKind kind, const char* data, size_t size) {
  std::string& part = s.partial[kind];
  while (size > 0) {
    const char* newline = static_cast<const char*>(std::memchr(data, '\n', size));
    size_t segment = newline != nullptr ? static_cast<size_t>(newline - data) : size;
    while (segment > 0) {
      if (part.size() == kMaxLineBytes) {
        emit(s, kind, part);  // the line continues: split it here
      }
      size_t take = std::min(segment, kMaxLineBytes - part.size());
      part.append(data, take);
      data += take;
      size -= take;
      segment -= take;
    }
    if (newline != nullptr) {
      emit(s, kind, part);
      ++data;
      --size;
    }
  }
}

void ProcessLauncher::Impl::emit(SandboxState& s, FdKind kind, std::string& line) {
  std::string out = std::move(line);
  line.clear();
  if (s.on_output) {
    s.on_output(kind == kStdoutFd ? OutputStream::kStdout : OutputStream::kStderr, std::move(out));
  }
}

void ProcessLauncher::Impl::closePipe(SandboxState& s, FdKind kind) {
  int& fd = s.pipe_fds[kind];
  if (fd < 0) {
    return;
  }
  if (!s.partial[kind].empty()) {
    emit(s, kind, s.partial[kind]);
  }
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  closeFd(fd);
}

void ProcessLauncher::Impl::onPidfdReadable(const std::shared_ptr<SandboxState>& s) {
  if (!tryReap(*s)) {
    return;
  }
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s->pid_fd, nullptr);
  closeFd(s->pid_fd);
  maybeFinish(*s);
}

void ProcessLauncher::Impl::pollExits() {
  std::vector<std::shared_ptr<SandboxState>> polled;
  {
    std::lock_guard lock(mu_);
    polled = polled_;
  }
  for (const auto& s : polled) {
    if (!tryReap(*s)) {
      continue;
    }
    {
      std::lock_guard lock(mu_);
      polled_.erase(std::find(polled_.begin(), polled_.end(), s));
    }
    maybeFinish(*s);
  }
}

// Reaps the main process if it has exited. Before the reap, while the zombie still holds the
// process group id, kills whatever is left of the group.
bool ProcessLauncher::Impl::tryReap(SandboxState& s) {
  std::lock_guard lock(mu_);
  if (s.reaped) {
    return true;
  }
  siginfo_t info;
  std::memset(&info, 0, sizeof info);
  if (::waitid(P_PID, static_cast<id_t>(s.pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno != ECHILD) {
      return false;  // EINTR: try again on the next event
    }
    s.exit_code = -1;  // reaped by someone else
  } else {
    if (info.si_pid == 0) {
      return false;  // still running
    }
    ::kill(-s.pid, SIGKILL);
    if (s.isolated) {
      s.isolated->cgroup()->killAll();
    }
    int status = 0;
    s.exit_code = waitpidRetry(s.pid, &status, 0) == s.pid ? decodeWaitStatus(status) : -1;
  }
  s.reaped = true;
  return true;
}

void ProcessLauncher::Impl::maybeFinish(SandboxState& s) {
  if (s.finished || s.pipe_fds[kStdoutFd] >= 0 || s.pipe_fds[kStderrFd] >= 0 || !s.reaped) {
    return;
  }
  s.finished = true;
  {
    std::lock_guard lock(mu_);
    sandboxes_.erase(s.serial);
  }
  releaseIsolation(s);
  ExitCallback on_exit = std::move(s.on_exit);
  s.on_exit = nullptr;
  s.on_output = nullptr;
  if (on_exit) {
    on_exit(s.exit_code);
  }
}

void ProcessLauncher::Impl::releaseIsolation(SandboxState& s) {
  if (!s.isolated) {
    return;
  }
  Cgroup* cgroup = s.isolated->cgroup();
  s.out_of_memory = cgroup->usage().oom_kills > 0;
  cgroup->killAll();
  (void)cgroup->remove();  // empty: the pid namespace ended with its init
}

void ProcessLauncher::Impl::shutdown() {
  std::vector<std::shared_ptr<SandboxState>> live;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (ForkJob* job : fork_jobs_) {
      job->status = Status(StatusCode::kUnavailable, "process launcher is shutting down");
      job->done = true;
    }
    fork_jobs_.clear();
    for (auto& [serial, s] : sandboxes_) {
      if (!s->reaped) {
        ::kill(-s->pid, SIGKILL);
      }
      live.push_back(s);
    }
    sandboxes_.clear();
    polled_.clear();
    kill_deadlines_.clear();
  }
  fork_cv_.notify_all();

  for (auto& s : live) {
    s->on_output = nullptr;
    s->on_exit = nullptr;
    for (int& fd : s->pipe_fds) {
      if (fd >= 0) {
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
        closeFd(fd);
      }
    }
  }

  // Reap, waiting a bounded time for processes stuck in uninterruptible sleep.
  const SteadyTime deadline = std::chrono::steady_clock::now() + kShutdownReapTimeout;
  for (;;) {
    std::vector<pollfd> waits;
    size_t left = 0;
    for (auto& s : live) {
      if (s->reaped || tryReap(*s)) {
        continue;
      }
      ++left;
      if (s->pid_fd >= 0) {
        waits.push_back(pollfd{s->pid_fd, POLLIN, 0});
      }
    }
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left == 0 || remaining.count() <= 0) {
      break;
    }
    int timeout = static_cast<int>(remaining.count());
    if (waits.size() < left) {
      timeout = std::min(timeout, kExitPollIntervalMs);
    }
    ::poll(waits.data(), waits.size(), timeout);
  }
  for (auto& s : live) {
    if (s->pid_fd >= 0) {
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s->pid_fd, nullptr);
      closeFd(s->pid_fd);
    }
    releaseIsolation(*s);
  }
}

ProcessLauncher::ProcessLauncher(ProcessLauncherOptions options)
    : impl_(std::make_shared<Impl>(options)) {
  impl_->start();
}

ProcessLauncher::~ProcessLauncher() {
  impl_->stop();
}

SandboxLauncherPtr ProcessLauncher::makeProcessLauncher(ProcessLauncherOptions options) {
  return SandboxLauncherPtr(new ProcessLauncher(options));
}

Result<SandboxPtr> ProcessLauncher::launch(const LaunchSpec& spec, OutputCallback on_output,
                                           ExitCallback on_exit) {
  return impl_->launch(impl_, spec, std::move(on_output), std::move(on_exit));
}

}  // namespace hearth
