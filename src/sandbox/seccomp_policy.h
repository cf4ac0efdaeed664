#pragma once

// The system-call filter of an execution environment: everything is allowed except what a
// function never needs and a hostile one would use against its instance (mounts, tracing,
// kernel modules, kexec, BPF, keyrings, new namespaces, clock and host-name changes, reboot).
// Denied calls fail with EPERM, so runtimes that probe for them keep working.

#include <linux/filter.h>

#include <string>
#include <vector>

#include "common/result.h"

namespace hearth {

// The names of the denied system calls (for documentation and tests).
const std::vector<std::string>& deniedSyscalls();

// The filter as classic BPF for prctl(PR_SET_SECCOMP). Built once, before any fork, because
// libseccomp allocates memory and a forked child of a threaded process must not.
Result<std::vector<sock_filter>> buildSeccompFilter();

}  // namespace hearth
