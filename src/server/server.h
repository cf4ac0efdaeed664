#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "auth/sigv4.h"
#include "common/result.h"
#include "controlplane/names.h"

namespace hearth {

struct ServerOptions {
  std::string listen = "127.0.0.1:9001";
  std::string data_dir = "./hearth-data";
  AccountContext account;
  std::vector<Credentials> access_keys;  // required when listening beyond loopback
  int io_threads = 0;  // HTTP I/O threads; 0: one per two cores of this machine, at least one
  int control_threads = 2;
  size_t control_queue = 256;
  size_t max_connections = 4096;
  size_t max_connections_per_client = 1024;  // per IPv4 address or IPv6 /64
  bool demo = false;          // create the demo capacity provider and function when absent
  std::string hearth_binary;  // for local instances; default: this executable
  std::string runtimes_dir;   // Hearth's bootstraps; default: <exe dir>/../runtimes
  std::map<std::string, std::string> interpreters;      // runtime (prefix) → interpreter
  std::map<std::string, std::string> root_filesystems;  // runtime → root file system dir
  bool insecure_no_sandbox = false;  // local agents run EEs unisolated (development only)
  std::string instance_catalog;      // JSON file replacing the embedded instance-type catalogue
  std::chrono::milliseconds router_queue_wait{50};
  // An instance older than this is rotated: replaced, drained, released.
  std::chrono::seconds instance_max_lifetime{14 * 24 * 3600};
  std::chrono::milliseconds drain_grace{10000};
  // Local agents outlive the server; they stop themselves when it has been gone this long.
  std::chrono::milliseconds agent_orphan_timeout{60000};
};

// `hearth up`: owns the state store, the code store, the control plane, the API and the HTTP
// server, and wires them together. One instance per process; nothing global.
class Server {
 public:
  virtual ~Server() = default;

  // Validates options (beyond-loopback listening needs access keys), opens state under data_dir,
  // binds, and starts serving. Errors are returned, never thrown.
  static Result<std::unique_ptr<Server>> start(ServerOptions options);

  virtual uint16_t port() const = 0;
  virtual std::string endpoint() const = 0;
  // Instances and execution environments the fleet currently manages.
  virtual size_t instanceCount() const = 0;
  // Stops accepting, finishes in-flight requests, and stops background work. Idempotent.
  virtual void drain() = 0;
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool isLoopbackHost(const std::string& host);

// The directory holding this executable.
std::string executableDir();

}  // namespace hearth
