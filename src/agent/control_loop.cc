#include "agent/control_loop.h"

#include <spdlog/spdlog.h>

#include "net/http_client.h"

namespace hearth {

namespace {
constexpr size_t kMaxLogLinesPerShipment = 2000;
constexpr int kMaxLogBatchesPerPass = 4;  // heartbeats keep their pace behind a log backlog
constexpr std::chrono::milliseconds kPassInterval{100};
constexpr std::chrono::milliseconds kRegisterRetry{200};
}  // namespace

ControlLoop::ControlLoop(ControlLoopOptions options, Hooks hooks, LogBuffer* logs)
    : options_(std::move(options)), hooks_(std::move(hooks)), logs_(logs) {}

ControlLoop::~ControlLoop() {
  stop();
}

void ControlLoop::start() {
  thread_ = std::thread([this] { run(); });
}

void ControlLoop::stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  wake_.notifyAll();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void ControlLoop::poke() {
  {
    MutexLock lock(&mu_);
    poked_ = true;
  }
  wake_.notifyAll();
}

bool ControlLoop::post(HttpClient& client, const std::string& target, std::string body, int* status,
                       std::string* reply) {
  HttpRequest request;
  request.method = "POST";
  request.target = target;
  request.headers.emplace_back(std::string(protocol::kTokenHeader), options_.token);
  request.headers.emplace_back("Content-Type", "application/json");
  request.body = std::move(body);
  auto response = client.send(request, std::chrono::seconds(5));
  if (!response.isOk()) {
    return false;  // *status stays 0: nothing answered
  }
  if (status != nullptr) {
    *status = response->status;
  }
  if (reply != nullptr) {
    *reply = std::move(response->body);
  }
  return response->status / 100 == 2;
}

void ControlLoop::run() {
  auto client = HttpClient::create(options_.server_host, options_.server_port);
  bool registered = false;
  std::string last_states;
  auto next_heartbeat = std::chrono::steady_clock::now();
  auto last_contact = std::chrono::steady_clock::now();
  for (;;) {
    {
      MutexLock lock(&mu_);
      if (stopping_) {
        return;
      }
    }
    if (std::chrono::steady_clock::now() - last_contact > options_.orphan_timeout &&
        !orphaned_.exchange(true)) {
      spdlog::warn("agent: no answer from {} for {} ms; stopping", options_.server_url,
                   options_.orphan_timeout.count());
    }
    if (!registered) {
      int status = 0;
      registered = post(*client, "/_hearth/agent/v1/register",
                        protocol::encode(hooks_.registration()), &status);
      if (registered) {
        last_contact = std::chrono::steady_clock::now();
      }
      if (!registered) {
        waitUntil(std::chrono::steady_clock::now() + kRegisterRetry, /*wake_on_poke=*/false);
        continue;
      }
    }
    bool due = std::chrono::steady_clock::now() >= next_heartbeat;
    protocol::Heartbeat heartbeat = hooks_.status();
    std::string states;
    for (const auto& e : heartbeat.environments) {
      states += e.id + '=' + std::string(protocol::phaseName(e.phase)) + ';';
    }
    if (states != last_states || due) {
      int status = 0;
      std::string body;
      bool delivered =
          post(*client, "/_hearth/agent/v1/heartbeat", protocol::encode(heartbeat), &status, &body);
      if (delivered) {
        last_contact = std::chrono::steady_clock::now();
        last_states = states;
        next_heartbeat = std::chrono::steady_clock::now() + options_.heartbeat_interval;
        // EEs the server does not know (a start overtaken by a stop, or a server that did not
        // adopt them): stop them.
        if (auto reply = protocol::decodeHeartbeatReply(body); reply.isOk()) {
          for (const auto& id : reply->stop) {
            hooks_.stop_environment(id);
          }
        }
      } else if (status == 404) {
        registered = false;  // the server restarted and forgot us
      }
    }
    shipLogs(*client);
    waitUntil(std::chrono::steady_clock::now() + kPassInterval, /*wake_on_poke=*/true);
  }
}

void ControlLoop::waitUntil(std::chrono::steady_clock::time_point until, bool wake_on_poke) {
  MutexLock lock(&mu_);
  while (!stopping_ && !(wake_on_poke && poked_) && std::chrono::steady_clock::now() < until) {
    wake_.waitFor(&mu_, until - std::chrono::steady_clock::now());
  }
  if (wake_on_poke) {
    poked_ = false;
  }
}

void ControlLoop::shipLogs(HttpClient& client) {
  for (int pass = 0; pass < kMaxLogBatchesPerPass; ++pass) {
    LogBuffer::Batch batch = logs_->peek(kMaxLogLinesPerShipment);
    if (batch.lines.empty()) {
      return;
    }
    protocol::LogBatch message;
    message.instance_id = hooks_.registration().instance_id;
    message.dropped = batch.dropped;
    message.lines = batch.lines;
    int status = 0;
    bool stored = post(client, "/_hearth/agent/v1/logs", protocol::encode(message), &status);
    bool refused = !stored && status >= 400 && status < 500;
    if (!stored && !refused) {
      return;  // kept; sent again on the next pass
    }
    if (refused) {
      spdlog::warn("agent: the server refused {} log lines (HTTP {})", batch.lines.size(), status);
    }
    logs_->ack(batch, stored);
    if (batch.lines.size() < kMaxLogLinesPerShipment) {
      return;
    }
  }
}

}  // namespace hearth
