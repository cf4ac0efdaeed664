#include "sandbox/sandbox_network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace hearth {
namespace {

std::string errnoText(int err) {
  return std::strerror(err);
}

// One rtnetlink request, built attribute by attribute.
class NetlinkMessage {
 public:
  NetlinkMessage(uint16_t type, uint16_t flags) : buffer_(NLMSG_HDRLEN, 0) {
    header()->nlmsg_type = type;
    header()->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
  }
  template <class T>
  void put(const T& body) {
    append(&body, sizeof body);
  }
  void attribute(uint16_t type, const void* data, size_t size) {
    rtattr attr{};
    attr.rta_type = type;
    attr.rta_len = static_cast<unsigned short>(RTA_LENGTH(size));
    append(&attr, sizeof attr);
    append(data, size);
  }
  void attribute(uint16_t type, const std::string& text) {
    attribute(type, text.c_str(), text.size() + 1);
  }
  void attribute32(uint16_t type, uint32_t value) { attribute(type, &value, sizeof value); }
  // Opens a nested attribute; close it with end(offset).
  size_t begin(uint16_t type) {
    size_t offset = buffer_.size();
    attribute(type, nullptr, 0);
    return offset;
  }
  void end(size_t offset) {
    auto* attr = reinterpret_cast<rtattr*>(buffer_.data() + offset);
    attr->rta_len = static_cast<unsigned short>(buffer_.size() - offset);
  }
  nlmsghdr* finish(uint32_t sequence) {
    header()->nlmsg_len = static_cast<uint32_t>(buffer_.size());
    header()->nlmsg_seq = sequence;
    return header();
  }

 private:
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buffer_.data()); }
  void append(const void* data, size_t size) {
    size_t at = buffer_.size();
    buffer_.resize(at + NLMSG_ALIGN(size), 0);
    if (size > 0) {
      std::memcpy(buffer_.data() + at, data, size);
    }
  }
  std::vector<char> buffer_;
};

class Netlink {
 public:
  Netlink() : fd_(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) {}
  ~Netlink() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  Netlink(const Netlink&) = delete;
  Netlink& operator=(const Netlink&) = delete;
  bool ok() const { return fd_ >= 0; }

  // Sends `message` and waits for its acknowledgement; the kernel's errno on failure.
  Status request(NetlinkMessage& message, const char* what) {
    nlmsghdr* header = message.finish(++sequence_);
    if (::send(fd_, header, header->nlmsg_len, 0) < 0) {
      return internalError(std::string("netlink ") + what + ": " + errnoText(errno));
    }
    char reply[4096];
    for (;;) {
      ssize_t n = ::recv(fd_, reply, sizeof reply, 0);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        return internalError(std::string("netlink ") + what + ": " + errnoText(errno));
      }
      for (auto* h = reinterpret_cast<nlmsghdr*>(reply); NLMSG_OK(h, static_cast<unsigned>(n));
           h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_seq != sequence_ || h->nlmsg_type != NLMSG_ERROR) {
          continue;
        }
        int error = reinterpret_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
        if (error == 0) {
          return Status::ok();
        }
        return internalError(std::string("netlink ") + what + ": " + errnoText(-error));
      }
    }
  }

  Status setUp(int index, const char* what) {
    NetlinkMessage message(RTM_NEWLINK, 0);
    ifinfomsg info{};
    info.ifi_family = AF_UNSPEC;
    info.ifi_index = index;
    info.ifi_flags = IFF_UP;
    info.ifi_change = IFF_UP;
    message.put(info);
    return request(message, what);
  }

  Status addAddress(int index, uint32_t address, const char* what) {
    NetlinkMessage message(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    ifaddrmsg info{};
    info.ifa_family = AF_INET;
    info.ifa_prefixlen = 32;
    info.ifa_scope = RT_SCOPE_UNIVERSE;
    info.ifa_index = static_cast<unsigned>(index);
    message.put(info);
    uint32_t network = htonl(address);
    message.attribute(IFA_LOCAL, &network, sizeof network);
    message.attribute(IFA_ADDRESS, &network, sizeof network);
    return request(message, what);
  }

  // A route to `destination`/`prefix` out of `index`, through `gateway` when it is not 0.
  Status addRoute(int index, uint32_t destination, int prefix, uint32_t gateway, const char* what) {
    NetlinkMessage message(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    rtmsg route{};
    route.rtm_family = AF_INET;
    route.rtm_dst_len = static_cast<unsigned char>(prefix);
    route.rtm_table = RT_TABLE_MAIN;
    route.rtm_protocol = RTPROT_STATIC;
    route.rtm_scope = gateway == 0 ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    route.rtm_type = RTN_UNICAST;
    route.rtm_flags = gateway == 0 ? 0 : RTNH_F_ONLINK;
    message.put(route);
    if (prefix > 0) {
      uint32_t network = htonl(destination);
      message.attribute(RTA_DST, &network, sizeof network);
    }
    if (gateway != 0) {
      uint32_t network = htonl(gateway);
      message.attribute(RTA_GATEWAY, &network, sizeof network);
    }
    message.attribute32(RTA_OIF, static_cast<uint32_t>(index));
    return request(message, what);
  }

  Status createVeth(const std::string& host_name, const std::string& peer_name, pid_t peer_pid) {
    NetlinkMessage message(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    ifinfomsg info{};
    info.ifi_family = AF_UNSPEC;
    message.put(info);
    message.attribute(IFLA_IFNAME, host_name);
    size_t link_info = message.begin(IFLA_LINKINFO);
    message.attribute(IFLA_INFO_KIND, std::string("veth"));
    size_t data = message.begin(IFLA_INFO_DATA);
    size_t peer = message.begin(VETH_INFO_PEER);
    ifinfomsg peer_info{};
    peer_info.ifi_family = AF_UNSPEC;
    message.put(peer_info);
    message.attribute(IFLA_IFNAME, peer_name);
    message.attribute32(IFLA_NET_NS_PID, static_cast<uint32_t>(peer_pid));
    message.end(peer);
    message.end(data);
    message.end(link_info);
    return request(message, "create veth");
  }

  int fd() const { return fd_; }

 private:
  int fd_;
  uint32_t sequence_ = 0;
};

// A netlink socket in the network namespace of `pid`: made on this thread after a setns(),
// which then returns the thread to its own namespace.
Result<std::unique_ptr<Netlink>> netlinkIn(pid_t pid) {
  int own = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = ::open(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC);
  if (own < 0 || target < 0) {
    int err = errno;
    if (own >= 0)
      ::close(own);
    if (target >= 0)
      ::close(target);
    return internalError("cannot open network namespaces: " + errnoText(err));
  }
  std::unique_ptr<Netlink> netlink;
  int err = 0;
  if (::setns(target, CLONE_NEWNET) == 0) {
    netlink = std::make_unique<Netlink>();
    err = errno;
    if (::setns(own, CLONE_NEWNET) != 0) {
      // The thread would stay in the EE's namespace: nothing else may run on it.
      ::abort();
    }
  } else {
    err = errno;
  }
  ::close(own);
  ::close(target);
  if (!netlink || !netlink->ok()) {
    return internalError("cannot open netlink in the EE's network namespace: " + errnoText(err));
  }
  return netlink;
}

uint32_t parseIpv4(const char* text) {
  in_addr address{};
  ::inet_pton(AF_INET, text, &address);
  return ntohl(address.s_addr);
}

}  // namespace

std::string ipv4Text(uint32_t address) {
  in_addr network{htonl(address)};
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &network, text, sizeof text);
  return text;
}

Result<EeLink> attachEeLink(pid_t pid, uint64_t serial) {
  Netlink host;
  if (!host.ok()) {
    return internalError("cannot open netlink: " + errnoText(errno));
  }
  EeLink link;
  // Interface names are at most 15 bytes; the serial keeps them unique within this process and
  // the pid across processes.
  link.host_interface = "hv" + std::to_string(pid % 100000) + "-" + std::to_string(serial % 100000);
  HEARTH_RETURN_IF_ERROR(host.createVeth(link.host_interface, "eth0", pid));
  int host_index = static_cast<int>(::if_nametoindex(link.host_interface.c_str()));
  if (host_index == 0) {
    return internalError("the EE's link " + link.host_interface + " vanished");
  }
  // An interface index is unique on the host while the interface exists: the EE's address.
  link.ee_address = parseIpv4("100.64.0.0") | (static_cast<uint32_t>(host_index) & 0x3fffff);
  const uint32_t instance = parseIpv4(kInstanceAddress);
  HEARTH_RETURN_IF_ERROR(host.addAddress(host_index, instance, "host address"));
  HEARTH_RETURN_IF_ERROR(host.setUp(host_index, "host link up"));
  HEARTH_RETURN_IF_ERROR(host.addRoute(host_index, link.ee_address, 32, 0, "route to the EE"));

  HEARTH_ASSIGN_OR_RETURN(auto inside, netlinkIn(pid));
  // eth0's index inside the EE's namespace: the only non-loopback link there.
  int ee_index = 0;
  {
    NetlinkMessage query(RTM_GETLINK, 0);
    ifinfomsg info{};
    info.ifi_family = AF_UNSPEC;
    query.put(info);
    query.attribute(IFLA_IFNAME, std::string("eth0"));
    nlmsghdr* header = query.finish(1000);
    header->nlmsg_flags = NLM_F_REQUEST;
    if (::send(inside->fd(), header, header->nlmsg_len, 0) < 0) {
      return internalError("netlink get eth0: " + errnoText(errno));
    }
    char reply[8192];
    ssize_t n = ::recv(inside->fd(), reply, sizeof reply, 0);
    auto* h = reinterpret_cast<nlmsghdr*>(reply);
    if (n > 0 && NLMSG_OK(h, static_cast<unsigned>(n)) && h->nlmsg_type == RTM_NEWLINK) {
      ee_index = reinterpret_cast<ifinfomsg*>(NLMSG_DATA(h))->ifi_index;
    }
  }
  if (ee_index == 0) {
    return internalError("the EE has no eth0");
  }
  HEARTH_RETURN_IF_ERROR(inside->addAddress(ee_index, link.ee_address, "EE address"));
  HEARTH_RETURN_IF_ERROR(inside->setUp(ee_index, "EE link up"));
  HEARTH_RETURN_IF_ERROR(inside->addRoute(ee_index, instance, 32, 0, "route to the instance"));
  HEARTH_RETURN_IF_ERROR(inside->addRoute(ee_index, 0, 0, instance, "default route"));
  return link;
}

}  // namespace hearth
