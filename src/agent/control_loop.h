#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "agent/log_buffer.h"
#include "common/thread_annotations.h"
#include "protocol/agent_protocol.h"

namespace hearth {

class HttpClient;

struct ControlLoopOptions {
  std::string server_host;
  uint16_t server_port = 0;
  std::string server_url;  // for messages
  std::string token;
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds orphan_timeout{60000};
};

// The agent's side of the agent protocol, on a thread of its own: registers, then sends a
// heartbeat every interval and at once when an EE changes phase (poke()), stops the EEs the
// server does not know, and ships the log buffer. Re-registers when the server forgot it; marks
// itself orphaned when the server has not accepted a registration or heartbeat for
// orphan_timeout (a server that does not know it, or has another token, counts as gone).
class ControlLoop {
 public:
  struct Hooks {
    std::function<protocol::Registration()> registration;
    std::function<protocol::Heartbeat()> status;
    std::function<void(const std::string& environment_id)> stop_environment;
  };
  // *logs must outlive the loop.
  ControlLoop(ControlLoopOptions options, Hooks hooks, LogBuffer* logs);
  ~ControlLoop();  // stop()

  void start();
  void stop();  // idempotent
  // Something changed: send the next heartbeat now rather than at the interval.
  void poke();
  bool orphaned() const { return orphaned_.load(); }

 private:
  void run();
  bool post(HttpClient& client, const std::string& target, std::string body, int* status = nullptr,
            std::string* reply = nullptr);
  void shipLogs(HttpClient& client);
  // Sleeps until `until`, stop(), or (when asked) poke().
  void waitUntil(std::chrono::steady_clock::time_point until, bool wake_on_poke);

  const ControlLoopOptions options_;
  const Hooks hooks_;
  LogBuffer* logs_;
  std::thread thread_;
  Mutex mu_;
  CondVar wake_;
  bool stopping_ GUARDED_BY(mu_) = false;
  bool poked_ GUARDED_BY(mu_) = false;
  std::atomic<bool> orphaned_{false};
};

}  // namespace hearth
