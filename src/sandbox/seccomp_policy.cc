#include "sandbox/seccomp_policy.h"

#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hearth {

const std::vector<std::string>& deniedSyscalls() {
  static const std::vector<std::string> names = {
      // file systems and mounts
      "mount", "umount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount",
      "fspick", "move_mount", "open_tree", "mount_setattr", "swapon", "swapoff", "quotactl",
      "quotactl_fd", "open_by_handle_at", "name_to_handle_at",
      // tracing and other processes' memory
      "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "perf_event_open",
      // kernel and machine
      "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
      "acct", "syslog", "iopl", "ioperm", "lookup_dcookie", "nfsservctl", "vhangup",
      // BPF, keyrings, userfaultfd
      "bpf", "keyctl", "add_key", "request_key", "userfaultfd",
      // namespaces, host name, clocks
      "unshare", "setns", "sethostname", "setdomainname", "settimeofday", "clock_settime",
      "clock_adjtime", "adjtimex"};
  return names;
}

Result<std::vector<sock_filter>> buildSeccompFilter() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) {
    return internalError("seccomp: cannot initialise a filter");
  }
  struct Releaser {
    scmp_filter_ctx ctx;
    ~Releaser() { seccomp_release(ctx); }
  } releaser{ctx};
  for (const std::string& name : deniedSyscalls()) {
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) {
      continue;  // not a system call on this architecture
    }
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
    if (rc != 0) {
      return internalError("seccomp: cannot deny " + name + ": " + std::strerror(-rc));
    }
  }
  // clone() may make threads and processes but no namespaces; clone3() hides its flags in
  // memory a filter cannot read, so it reports ENOSYS and libc falls back to clone().
  int rc = 0;
  for (scmp_datum_t flag :
       {scmp_datum_t{CLONE_NEWNS}, scmp_datum_t{CLONE_NEWCGROUP}, scmp_datum_t{CLONE_NEWUTS},
        scmp_datum_t{CLONE_NEWIPC}, scmp_datum_t{CLONE_NEWUSER}, scmp_datum_t{CLONE_NEWPID},
        scmp_datum_t{CLONE_NEWNET}}) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                          SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
    if (rc != 0) {
      return internalError(std::string("seccomp: cannot restrict clone: ") + std::strerror(-rc));
    }
  }
  rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  if (rc != 0) {
    return internalError(std::string("seccomp: cannot deny clone3: ") + std::strerror(-rc));
  }
  int fd = ::memfd_create("hearth-seccomp", MFD_CLOEXEC);
  if (fd < 0) {
    return internalError(std::string("seccomp: memfd_create: ") + std::strerror(errno));
  }
  rc = seccomp_export_bpf(ctx, fd);
  off_t size = ::lseek(fd, 0, SEEK_END);
  if (rc != 0 || size <= 0 || size % sizeof(sock_filter) != 0) {
    ::close(fd);
    return internalError("seccomp: cannot export the filter");
  }
  std::vector<sock_filter> program(static_cast<size_t>(size) / sizeof(sock_filter));
  ssize_t n = ::pread(fd, program.data(), static_cast<size_t>(size), 0);
  ::close(fd);
  if (n != size) {
    return internalError("seccomp: cannot read the exported filter");
  }
  return program;
}

}  // namespace hearth
