#include "agent/agent.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <filesystem>
#include <fstream>

#include "agent/code_cache.h"
#include "agent/control_loop.h"
#include "agent/environment_supervisor.h"
#include "agent/execution_environment.h"
#include "agent/log_buffer.h"
#include "agent/resource_monitor.h"
#include "agent/runtime_roots.h"
#include "artifact/encoding.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/work_queue.h"
#include "net/event_loop.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "protocol/agent_protocol.h"
#include "protocol/invoke_protocol.h"
#include "sandbox/sandbox_launcher.h"

namespace hearth {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxBufferedLogLines = 20000;
constexpr int64_t kMaxDrainMs = 16 * 60 * 1000;  // the longest Timeout (15 min) plus grace

HttpResponse jsonReply(int status, const json::object& body) {
  HttpResponse response;
  response.status = status;
  response.set("Content-Type", "application/json");
  response.body = json::serialize(body);
  return response;
}

// The HTTP handler of the control API and of every EE's Runtime API, and the wiring of the
// agent's parts: the EE supervisor, code cache, resource monitor, log buffer and control loop.
class AgentImpl final : public Agent, private RuntimeApiListeners {
 public:
  AgentImpl(AgentOptions options, SandboxLauncher* launcher)
      : options_(std::move(options)),
        launcher_(launcher),
        loop_(EventLoop::create(1)),
        launches_(2, 4096),
        logs_(kMaxBufferedLogLines) {}

  ~AgentImpl() override { drain(); }

  Status init() {
    std::string rest = options_.server;
    if (rest.rfind("http://", 0) == 0) {
      rest = rest.substr(7);
    }
    while (!rest.empty() && rest.back() == '/') {
      rest.pop_back();
    }
    std::string server_host;
    uint16_t server_port = 0;
    if (!splitHostPort(rest, &server_host, &server_port)) {
      return invalidParameter("--server must be http://HOST:PORT");
    }
    std::error_code ec;
    fs::create_directories(fs::path(options_.work_dir) / "code", ec);
    if (ec) {
      return invalidParameter("cannot create work dir " + options_.work_dir);
    }
    code_ =
        std::make_unique<CodeCache>(options_.work_dir, server_host, server_port, options_.token);
    HttpServerOptions http;
    http.host = options_.listen_host;
    http.port = 0;
    http.io_threads = options_.io_threads > 0 ? options_.io_threads
                                              : std::clamp((options_.vcpus + 15) / 16, 1, 8);
    http.max_body_bytes = 7 * 1024 * 1024;
    // Runtimes keep connections open while idle, and HTTP clients' pools may open one before
    // they have a request to send on it.
    http.idle_timeout = std::chrono::hours(24);
    http.first_byte_timeout = std::chrono::hours(24);
    http.handler_timeout = std::chrono::hours(24);
    http.body_timeout = std::chrono::minutes(16);
    http.write_timeout = std::chrono::minutes(16);
    // The server's connection pool and every runtime process connect from a few addresses.
    http.max_connections_per_client = http.max_connections;
    HEARTH_ASSIGN_OR_RETURN(
        server_, HttpServer::create(http, [this](HttpRequest request, Responder respond) {
          handle(std::move(request), std::move(respond));
        }));
    EnvironmentSupervisor::Deps deps;
    deps.launcher = launcher_;
    deps.loop = loop_.get();
    deps.submit_launch = [this](std::function<void()> task) {
      return launches_.trySubmit(std::move(task));
    };
    deps.logs = &logs_;
    deps.code = code_.get();
    deps.files = &files_;
    deps.listeners = this;
    deps.clock = &clock_;
    deps.launch_context = LaunchContext{options_.runtimes_dir, resolveRuntimes(), options_.region,
                                        options_.instance_id, options_.sandboxed};
    deps.instance_id = options_.instance_id;
    deps.changed = [this] { pokeControl(); };
    environments_ = std::make_unique<EnvironmentSupervisor>(std::move(deps));
    server_->start();
    {
      std::string address = fmt::format("{}:{}", options_.listen_host, server_->port());
      fs::path final_path = fs::path(options_.work_dir) / "address";
      fs::path temp_path = fs::path(options_.work_dir) / "address.tmp";
      std::ofstream(temp_path) << address << "\n";
      fs::rename(temp_path, final_path, ec);
      if (ec) {
        return Status(StatusCode::kUnavailable, "cannot write " + final_path.string());
      }
    }
    monitor_ = std::make_unique<ResourceMonitor>(
        options_.heartbeat_interval, [this] { return environments_->monitorTargets(); },
        [this](const ResourceMonitor::Snapshot& snapshot) { environments_->applyUsage(snapshot); });
    monitor_->start();
    ControlLoopOptions control;
    control.server_host = server_host;
    control.server_port = server_port;
    control.server_url = options_.server;
    control.token = options_.token;
    control.heartbeat_interval = options_.heartbeat_interval;
    control.orphan_timeout = options_.orphan_timeout;
    control_ = std::make_unique<ControlLoop>(
        control,
        ControlLoop::Hooks{[this] { return registration(); }, [this] { return status(); },
                           [this](const std::string& id) { environments_->stop(id); }},
        &logs_);
    control_->start();
    return Status::ok();
  }

  uint16_t port() const override { return server_ ? server_->port() : 0; }
  bool orphaned() const override { return control_ && control_->orphaned(); }

  void drain() override {
    if (drained_.exchange(true)) {
      return;
    }
    if (environments_) {
      environments_->shutdown();
    }
    if (control_) {
      control_->stop();
    }
    if (monitor_) {
      monitor_->stop();
    }
    launches_.drain();
    if (server_) {
      server_->drain(std::chrono::milliseconds(1000));
    }
    loop_->stop();
  }

 private:
  std::map<std::string, RuntimeRoot> resolveRuntimes() const {
    return resolveAndLogRuntimeRoots(
        RuntimeSources{options_.interpreters, options_.root_filesystems, options_.sandboxed},
        "agent " + options_.instance_id);
  }

  void pokeControl() {
    if (control_) {
      control_->poke();
    }
  }

  // --- HTTP entry point: the control API on the main listener, Runtime APIs on the others ---
  void handle(HttpRequest request, Responder respond) {
    if (request.listener != 0) {
      ExecutionEnvironmentPtr ee = environments_->runtimeApiOf(request.listener);
      if (!ee) {
        respond(jsonReply(410, json::object{{"errorType", "Runtime.Exited"},
                                            {"errorMessage", "unknown environment"}}));
        return;
      }
      ee->handleRuntimeRequest(request, std::move(respond));
      return;
    }
    const std::string* token = request.header(protocol::kTokenHeader);
    if (token == nullptr || *token != options_.token) {
      respond(jsonReply(403, json::object{{"message", "bad agent token"}}));
      return;
    }
    constexpr std::string_view kEnvironments = "/agent/v1/environments/";
    std::string_view target = request.target;
    if (target == "/agent/v1/status" && request.method == "GET") {
      HttpResponse response;
      response.set("Content-Type", "application/json");
      response.body = protocol::encode(status());
      respond(std::move(response));
      return;
    }
    if (target.substr(0, kEnvironments.size()) != kEnvironments) {
      respond(jsonReply(404, json::object{{"message", "unknown agent route"}}));
      return;
    }
    std::string_view rest = target.substr(kEnvironments.size());
    std::string_view query;
    if (size_t q = rest.find('?'); q != std::string_view::npos) {
      query = rest.substr(q + 1);
      rest = rest.substr(0, q);
    }
    size_t slash = rest.find('/');
    std::string id(rest.substr(0, slash));
    std::string_view verb = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
    if (verb == "invoke" && request.method == "POST") {
      invoke(id, std::move(request), std::move(respond));
      return;
    }
    if (verb.empty() && request.method == "PUT") {
      respond(startEnvironment(id, request.body));
      return;
    }
    if (verb.empty() && request.method == "DELETE") {
      int64_t drain_ms = 0;
      constexpr std::string_view kDrain = "drainMs=";
      if (query.substr(0, kDrain.size()) == kDrain) {
        std::string_view n = query.substr(kDrain.size());
        auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), drain_ms);
        if (ec != std::errc() || end != n.data() + n.size() || drain_ms < 0 ||
            drain_ms > kMaxDrainMs) {
          respond(jsonReply(
              400, json::object{{"message", "drainMs must be 0.." + std::to_string(kMaxDrainMs)}}));
          return;
        }
      }
      environments_->drain(id, std::chrono::milliseconds(drain_ms));
      respond(jsonReply(202, json::object{{"id", id}}));
      return;
    }
    respond(jsonReply(404, json::object{{"message", "unknown agent route"}}));
  }

  void invoke(const std::string& id, HttpRequest request, Responder respond) {
    ExecutionEnvironmentPtr ee = environments_->environment(id);
    if (!ee) {
      protocol::InvokeAnswer gone;
      gone.outcome = InvokeOutcome::kRefused;
      gone.refusal = "gone";
      respond(protocol::encodeAnswer(gone, ""));
      return;
    }
    auto headers = protocol::decodeInvoke(request.headers);
    if (!headers.isOk()) {
      respond(jsonReply(400, json::object{{"message", headers.status().message()}}));
      return;
    }
    InvokeRequest invoke;
    invoke.request_id = headers->request_id.empty() ? newUuid() : std::move(headers->request_id);
    invoke.invoked_function_arn = std::move(headers->invoked_function_arn);
    invoke.client_context = std::move(headers->client_context);
    invoke.tenant_id = std::move(headers->tenant_id);
    invoke.tail_logs = headers->tail_logs;
    invoke.deadline_epoch_ms = headers->deadline_epoch_ms;
    invoke.content_type = std::move(headers->content_type);
    invoke.payload = std::move(request.body);
    ee->invoke(std::move(invoke), [respond = std::move(respond)](InvokeResult result) {
      protocol::InvokeAnswer answer;
      answer.outcome = result.outcome;
      answer.refusal = std::move(result.refusal);
      answer.error_type = std::move(result.error_type);
      answer.content_type = std::move(result.content_type);
      if (!result.log_tail.empty()) {
        answer.log_result = base64Encode(result.log_tail);
      }
      respond(protocol::encodeAnswer(answer, std::move(result.body)));
    });
  }

  HttpResponse startEnvironment(const std::string& id, const std::string& body) {
    auto spec = protocol::decodeEnvironmentSpec(body);
    if (!spec.isOk()) {
      return jsonReply(400, json::object{{"message", spec.status().message()}});
    }
    switch (environments_->start(id, std::move(spec).value())) {
      case EnvironmentSupervisor::StartOutcome::kShuttingDown:
        return jsonReply(503, json::object{{"message", "agent is draining"}});
      case EnvironmentSupervisor::StartOutcome::kAlreadyKnown:
        return jsonReply(200, json::object{{"id", id}});  // idempotent
      case EnvironmentSupervisor::StartOutcome::kAlreadyStopped:
        return jsonReply(410, json::object{{"message", "environment " + id + " was stopped"}});
      case EnvironmentSupervisor::StartOutcome::kAccepted:
        break;
    }
    return jsonReply(202, json::object{{"id", id}});
  }

  protocol::Heartbeat status() {
    return environments_->status(monitor_ ? monitor_->latest() : ResourceMonitor::Snapshot{});
  }

  // RuntimeApiListeners: each EE's Runtime API on a loopback port of this server.
  Result<uint16_t> add(uint64_t tag) override { return server_->addListener("127.0.0.1", 0, tag); }
  Result<uint16_t> adopt(uint64_t tag, int fd) override { return server_->adoptListener(fd, tag); }
  void remove(uint64_t tag) override { server_->removeListener(tag); }

  protocol::Registration registration() const {
    return protocol::Registration{options_.instance_id,
                                  options_.listen_host,
                                  port(),
                                  options_.zone,
                                  options_.instance_type,
                                  options_.vcpus,
                                  options_.memory_mib,
                                  static_cast<int64_t>(::getpid())};
  }

  AgentOptions options_;
  SandboxLauncher* launcher_;
  RealClock clock_;
  EventLoopPtr loop_;
  WorkQueue launches_;
  LogBuffer logs_;
  std::unique_ptr<CodeCache> code_;
  SystemFileProbe files_;
  HttpServerPtr server_;
  std::unique_ptr<EnvironmentSupervisor> environments_;
  std::unique_ptr<ResourceMonitor> monitor_;
  std::unique_ptr<ControlLoop> control_;
  std::atomic<bool> drained_{false};
};

}  // namespace

Result<std::unique_ptr<Agent>> Agent::start(AgentOptions options, SandboxLauncher* launcher) {
  auto agent = std::make_unique<AgentImpl>(std::move(options), launcher);
  HEARTH_RETURN_IF_ERROR(agent->init());
  return std::unique_ptr<Agent>(std::move(agent));
}

}  // namespace hearth
