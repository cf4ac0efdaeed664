#pragma once

// The plan of one execution environment's sandbox: its root file system step by step, its
// cgroup, identity, host name and Runtime API listener. Built before the fork by a pure
// function of the launch spec and the host's layout; carried out in the child by
// sandbox_child.h with system calls only.

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sandbox/sandbox_launcher.h"

namespace hearth {

// One step of building the root, with `target` already under the staging root.
struct RootStep {
  enum class Kind {
    kDir,             // mkdir target
    kFile,            // create target holding `source` as its content
    kSymlink,         // target -> source
    kBindReadOnly,    // bind source on target (a directory or file made first), read-only
    kBindDevice,      // bind the device file source on target (a file made first)
    kTmpfs,           // tmpfs on target with `options` (size=..., mode=...)
    kProc,            // a proc of the EE's pid namespace on target
    kRemountReadOnly  // make the mount at target read-only
  };
  Kind kind;
  std::string target;
  std::string source;
  std::string options;
};

// What the host, or a root file system directory, offers to sandbox roots: its top-level
// system directories (the ones that are symlinks, as on merged-/usr systems, are recreated as
// symlinks) and the /etc entries a runtime needs (name resolution, TLS roots, time zone, linker
// cache, alternatives).
struct HostLayout {
  struct Entry {
    std::string path;            // absolute path inside the sandbox
    bool is_directory = false;   // else a file
    std::string symlink_target;  // set when the entry is a symlink
    std::string source;          // the host path shown there; empty: `path` itself
  };
  std::vector<Entry> system_dirs;  // /usr, /bin, /lib, ...
  std::vector<Entry> etc_entries;  // /etc/resolv.conf, /etc/ssl, ...
};

// Reads the running host's layout, or with `root_filesystem` set the layout of that directory
// (an unpacked base image): its system directories, also /opt and /var/lang, and its /etc
// entries, except resolv.conf, which stays the host's.
HostLayout probeHostLayout(const std::string& root_filesystem = "");

// Whether a sandbox shows the host file `path` at the same path: it lies in one of the host's
// system directories (/usr, /bin, /sbin, /lib, /lib32, /lib64, /libx32) the root binds.
bool sandboxShowsHostPath(const std::string& path);
// Whether a sandbox with a root file system shows its file `path` (a path inside it): the
// system directories, /opt and /var/lang.
bool sandboxShowsRootFilesystemPath(const std::string& path);

struct SandboxIdentity {
  uid_t uid = 993;  // AWS Lambda runs functions as sbx_user1051 (993:990)
  gid_t gid = 990;
  std::string user_name = "sbx_user1051";
  std::string host_name = "sandbox";
};

struct SandboxPlan {
  std::string staging_root;  // where the root is assembled, in the EE's own mount namespace
  std::vector<RootStep> steps;
  std::vector<std::string> cgroup_procs;  // files the EE's init writes "0" to, to join
  SandboxIdentity identity;
  uint16_t runtime_api_port = 0;  // 0: no Runtime API listener inside
  // The init waits, before it starts the function, for the agent to attach the EE's link to
  // its instance (sandbox_network.h) and say so over the control socket.
  bool wait_for_network = false;
  std::vector<sock_filter> seccomp;
};

// The steps that build the root for `spec` at `staging_root`: a read-only tmpfs root holding
// the host's system directories read-only, a generated /etc (passwd, group, hosts, hostname)
// with the host entries of `layout` read-only, spec.mounts read-only (the code at /var/task,
// the runtime at /var/runtime), a private /tmp of spec.tmp_bytes, a /proc of the EE's own, and
// a /dev with null, zero, full, random, urandom, tty and a /dev/shm. Pure.
std::vector<RootStep> planRoot(const LaunchSpec& spec, const HostLayout& layout,
                               const std::string& staging_root, const SandboxIdentity& identity);

}  // namespace hearth
