#include "sandbox/sandbox_child.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hearth {
namespace {

bool writeAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool runStep(const RootStep& step) {
  constexpr unsigned long kReadOnlyFlags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV;
  switch (step.kind) {
    case RootStep::Kind::kDir:
      return ::mkdir(step.target.c_str(), 0755) == 0 || errno == EEXIST;
    case RootStep::Kind::kFile: {
      int fd = ::open(step.target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) {
        return false;
      }
      bool ok = writeAll(fd, step.source.data(), step.source.size());
      ::close(fd);
      return ok;
    }
    case RootStep::Kind::kSymlink:
      return ::symlink(step.source.c_str(), step.target.c_str()) == 0;
    case RootStep::Kind::kBindReadOnly:
      return ::mount(step.source.c_str(), step.target.c_str(), nullptr, MS_BIND | MS_REC,
                     nullptr) == 0 &&
             ::mount(nullptr, step.target.c_str(), nullptr, kReadOnlyFlags, nullptr) == 0;
    case RootStep::Kind::kBindDevice:
      return ::mount(step.source.c_str(), step.target.c_str(), nullptr, MS_BIND, nullptr) == 0 &&
             ::mount(nullptr, step.target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_NOSUID,
                     nullptr) == 0;
    case RootStep::Kind::kTmpfs:
      return ::mount("tmpfs", step.target.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                     step.options.c_str()) == 0;
    case RootStep::Kind::kProc:
      return ::mount("proc", step.target.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                     nullptr) == 0;
    case RootStep::Kind::kRemountReadOnly:
      return ::mount(nullptr, step.target.c_str(), nullptr,
                     MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) == 0;
  }
  errno = EINVAL;
  return false;
}

bool joinCgroup(const SandboxPlan& plan) {
  for (const auto& file : plan.cgroup_procs) {
    int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      return false;
    }
    bool ok = writeAll(fd, "0", 1);
    int err = errno;
    ::close(fd);
    if (!ok) {
      errno = err;
      return false;
    }
  }
  return true;
}

bool bringUpLoopback() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  struct ifreq request;
  std::memset(&request, 0, sizeof request);
  std::memcpy(request.ifr_name, "lo", 3);
  bool ok = ::ioctl(fd, SIOCGIFFLAGS, &request) == 0;
  if (ok) {
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP | IFF_RUNNING);
    ok = ::ioctl(fd, SIOCSIFFLAGS, &request) == 0;
  }
  int err = errno;
  ::close(fd);
  errno = err;
  return ok;
}

// Makes the Runtime API's listener on 127.0.0.1:port and sends it to the agent.
bool sendRuntimeApiListener(uint16_t port, int control_fd) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address;
  std::memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
            ::listen(fd, 1024) == 0;
  if (ok) {
    int zero[3] = {0, 0, 0};  // a ChildReport of stage 0: "a descriptor follows"
    iovec data{zero, sizeof zero};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    std::memset(control, 0, sizeof control);
    msghdr message;
    std::memset(&message, 0, sizeof message);
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(header), &fd, sizeof(int));
    ok = ::sendmsg(control_fd, &message, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof zero);
  }
  int err = errno;
  ::close(fd);
  errno = err;
  return ok;
}

bool enterRoot(const std::string& root) {
  return ::chdir(root.c_str()) == 0 && ::syscall(SYS_pivot_root, ".", ".") == 0 &&
         ::umount2(".", MNT_DETACH) == 0 && ::chdir("/") == 0;
}

bool dropIdentity(const SandboxIdentity& identity) {
  for (int cap = 0; cap <= 63; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      return false;
    }
  }
  if (::setgroups(0, nullptr) != 0 || ::setresgid(identity.gid, identity.gid, identity.gid) != 0 ||
      ::setresuid(identity.uid, identity.uid, identity.uid) != 0) {
    return false;
  }
  // A change of uid away from 0 clears the permitted and effective sets; ambient ones go too.
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0;
}

[[noreturn]] void runInit(pid_t function_pid) {
  ::close_range(0, ~0U, 0);
  ::prctl(PR_SET_NAME, "hearth-init", 0, 0, 0);
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid == function_pid) {
      if (WIFEXITED(status)) {
        ::_exit(WEXITSTATUS(status));
      }
      ::_exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 127);
    }
    if (pid < 0 && errno == ECHILD) {
      ::_exit(127);
    }
  }
}

}  // namespace

bool enterSandbox(const SandboxPlan& plan, int control_fd, SandboxFailure* failure) noexcept {
  auto fail = [failure](int step) {
    failure->step = step;
    failure->err = errno;
    return false;
  };
  // Nothing mounted from here on may reach the host's mount table.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return fail(kStagePivot);
  }
  if (!joinCgroup(plan)) {
    return fail(kStageCgroup);
  }
  if (::unshare(CLONE_NEWCGROUP) != 0) {
    return fail(kStageCgroup);
  }
  if (!bringUpLoopback()) {
    return fail(kStageNetwork);
  }
  if (plan.runtime_api_port != 0 && !sendRuntimeApiListener(plan.runtime_api_port, control_fd)) {
    return fail(kStageRuntimeApi);
  }
  if (::mount("tmpfs", plan.staging_root.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
              "size=1048576,mode=0755") != 0) {
    return fail(kStagePivot);
  }
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    if (!runStep(plan.steps[i])) {
      return fail(static_cast<int>(i));
    }
  }
  if (!enterRoot(plan.staging_root)) {
    return fail(kStagePivot);
  }
  const std::string& host_name = plan.identity.host_name;
  if (::sethostname(host_name.data(), host_name.size()) != 0) {
    return fail(kStageHostname);
  }
  if (plan.wait_for_network) {
    char ready = 0;
    ssize_t n;
    do {
      n = ::read(control_fd, &ready, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1 || ready != 1) {
      if (n >= 0) {
        errno = ENETUNREACH;
      }
      return fail(kStageNetwork);
    }
  }
  // The raw system call, not fork(): this process is a clone of a multithreaded agent, and
  // glibc's fork() first takes the allocator's locks, which another agent thread may have held
  // at the clone; that fork would wait for them forever.
  pid_t function_pid =
      static_cast<pid_t>(::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, nullptr));
  if (function_pid < 0) {
    return fail(kStageFork);
  }
  if (function_pid > 0) {
    runInit(function_pid);
  }
  if (!dropIdentity(plan.identity)) {
    return fail(kStageIdentity);
  }
  return true;
}

bool lockDownSandbox(const SandboxPlan& plan) noexcept {
  if (plan.seccomp.empty()) {
    return true;
  }
  sock_fprog program;
  program.len = static_cast<unsigned short>(plan.seccomp.size());
  program.filter = const_cast<sock_filter*>(plan.seccomp.data());
  return ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) == 0;
}

const char* sandboxStageName(int step) {
  switch (step) {
    case kStageCgroup:
      return "joining its cgroup";
    case kStageNetwork:
      return "bringing up loopback";
    case kStageRuntimeApi:
      return "opening the Runtime API listener";
    case kStagePivot:
      return "entering its root";
    case kStageHostname:
      return "setting its host name";
    case kStageFork:
      return "forking the function process";
    case kStageIdentity:
      return "dropping privileges";
    case kStageSeccomp:
      return "installing the seccomp filter";
    default:
      return step >= 0 ? "building its root" : "setting up";
  }
}

}  // namespace hearth
