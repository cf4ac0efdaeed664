#pragma once

// Each sandboxed EE's link to its instance: a veth pair whose host end carries the instance's
// address, 169.254.1.1 (the same on every link, as each EE has a network namespace of its
// own), and whose EE end, eth0, carries an address of the EE's own in 100.64.0.0/10 with a
// default route via 169.254.1.1. So an EE reaches servers of its instance (host sockets bound to
// 0.0.0.0 or 169.254.1.1), and beyond it where the host forwards and masquerades for
// 100.64.0.0/10; loopback-bound host services (the agent, the API) stay out of reach, and no
// EE can reach another unless the host forwards between them. The pair disappears with the
// EE's network namespace.

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/result.h"

namespace hearth {

inline constexpr const char* kInstanceAddress = "169.254.1.1";

struct EeLink {
  std::string host_interface;
  uint32_t ee_address = 0;  // host byte order
};

// Creates and configures the link of the EE whose network namespace is that of `pid`.
Result<EeLink> attachEeLink(pid_t pid, uint64_t serial);

// "a.b.c.d" of a host-order address.
std::string ipv4Text(uint32_t address);

}  // namespace hearth
