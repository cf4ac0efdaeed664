#include "agent/agent.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "agent/code_cache.h"
#include "agent/control_loop.h"
#include "agent/execution_environment.h"
#include "agent/launch_spec.h"
#include "agent/log_buffer.h"
#include "agent/resource_monitor.h"
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
constexpr std::chrono::milliseconds kDrainPoll{50};

// Above these an EE refuses new invocations (the router retries another EE), as LMI's agent does.
constexpr double kMemoryPressure = 0.95;  // of the function's MemorySize
constexpr double kCpuPressure = 0.97;     // of the EE's vCPU budget, over the last sample

HttpResponse jsonReply(int status, const json::object& body) {
  HttpResponse response;
  response.status = status;
  response.set("Content-Type", "application/json");
  response.body = json::serialize(body);
  return response;
}

// One EE as the agent tracks it: spec, platform state machine, sandbox, Runtime API listener.
struct ManagedEnvironment {
  std::string id;
  protocol::EnvironmentSpec spec;
  ExecutionEnvironmentPtr ee;
  uint64_t listener_tag = 0;
  SandboxPtr sandbox;
  std::string launch_error_type;  // set when launching failed before the runtime ran
  std::string launch_error;
  bool exited = false;
  bool draining = false;  // refusing new invocations; stopped once idle or at drain_deadline
  std::chrono::steady_clock::time_point drain_deadline{};
};

// The agent's parts: the HTTP handler (control API and every EE's Runtime API) and the EEs it
// manages, here; the code cache, launch specs, resource monitor, log buffer and control loop in
// files of their own.
class AgentImpl final : public Agent {
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
    launch_context_ = LaunchContext{options_.runtimes_dir, options_.interpreters, options_.region,
                                    options_.instance_id};
    HttpServerOptions http;
    http.host = options_.listen_host;
    http.port = 0;
    http.io_threads = options_.io_threads;
    http.max_body_bytes = 7 * 1024 * 1024;
    http.idle_timeout = std::chrono::hours(24);  // runtimes keep connections open while idle
    http.handler_timeout = std::chrono::hours(24);
    http.read_timeout = std::chrono::minutes(16);
    HEARTH_ASSIGN_OR_RETURN(
        server_, HttpServer::create(http, [this](HttpRequest request, Responder respond) {
          handle(std::move(request), std::move(respond));
        }));
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
        options_.heartbeat_interval, [this] { return monitorTargets(); },
        [this](const ResourceMonitor::Snapshot& snapshot) { applyUsage(snapshot); });
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
                           [this](const std::string& id) { stopEnvironment(id); }},
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
    {
      MutexLock lock(&mu_);
      stopping_ = true;
      for (auto& [id, env] : environments_) {
        env->ee->stop();
        if (env->sandbox) {
          env->sandbox->terminate(std::chrono::milliseconds(2000));
        }
      }
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
  void pokeControl() {
    if (control_) {
      control_->poke();
    }
  }

  // --- HTTP entry point: the control API on the main listener, Runtime APIs on the others ---
  void handle(HttpRequest request, Responder respond) {
    if (request.listener != 0) {
      ExecutionEnvironmentPtr ee;
      {
        MutexLock lock(&mu_);
        auto it = by_listener_.find(request.listener);
        if (it != by_listener_.end()) {
          ee = it->second;
        }
      }
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
      drainEnvironment(id, std::chrono::milliseconds(drain_ms));
      respond(jsonReply(202, json::object{{"id", id}}));
      return;
    }
    respond(jsonReply(404, json::object{{"message", "unknown agent route"}}));
  }

  void invoke(const std::string& id, HttpRequest request, Responder respond) {
    ExecutionEnvironmentPtr ee;
    {
      MutexLock lock(&mu_);
      auto it = environments_.find(id);
      if (it != environments_.end()) {
        ee = it->second->ee;
      }
    }
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
    std::shared_ptr<ManagedEnvironment> env;
    {
      MutexLock lock(&mu_);
      if (stopping_) {
        return jsonReply(503, json::object{{"message", "agent is draining"}});
      }
      if (environments_.contains(id)) {
        return jsonReply(200, json::object{{"id", id}});  // idempotent
      }
      if (stopped_ids_.contains(id)) {
        // A stop overtook this start (they travel on different connections): stay stopped.
        return jsonReply(410, json::object{{"message", "environment " + id + " was stopped"}});
      }
      env = std::make_shared<ManagedEnvironment>();
      env->id = id;
      env->spec = std::move(spec).value();
      EnvironmentIdentity identity{id,
                                   env->spec.function_name,
                                   env->spec.version,
                                   env->spec.max_concurrency,
                                   env->spec.timeout_seconds,
                                   env->spec.memory_mb};
      env->ee = std::make_shared<ExecutionEnvironment>(
          identity, loop_.get(), &clock_,
          [this](const EnvironmentIdentity& who, std::string line) { bufferLog(who, line); });
      environments_.emplace(id, env);
    }
    if (!launches_.trySubmit([this, env] { launch(env); })) {
      failLaunch(env, "Runtime.Unavailable", "the agent's launch queue is full");
    }
    return jsonReply(202, json::object{{"id", id}});
  }

  // Refuses new invocations of the EE at once; stops it when nothing is outstanding any more, or
  // when `drain` has passed, whichever comes first. Until then its Runtime API keeps serving, so
  // outstanding invocations complete normally.
  void drainEnvironment(const std::string& id, std::chrono::milliseconds drain) {
    std::shared_ptr<ManagedEnvironment> env;
    auto deadline = std::chrono::steady_clock::now() + drain;
    bool first = false;
    {
      MutexLock lock(&mu_);
      auto it = environments_.find(id);
      if (it == environments_.end()) {
        rememberStopped(id);
        return;
      }
      env = it->second;
      first = !env->draining;
      env->draining = true;
      // A later request can only bring the stop forward.
      if (first || deadline < env->drain_deadline) {
        env->drain_deadline = deadline;
      }
    }
    env->ee->stop();
    if (drain.count() == 0 || env->ee->outstanding() == 0) {
      stopEnvironment(id);
      return;
    }
    if (first) {
      checkDrain(id);
      pokeControl();  // the next heartbeat reports it Draining
    }
  }

  void checkDrain(std::string id) {
    loop_->runAfter(kDrainPoll, [this, id] {
      std::shared_ptr<ManagedEnvironment> env;
      std::chrono::steady_clock::time_point deadline;
      {
        MutexLock lock(&mu_);
        if (stopping_) {
          return;
        }
        auto it = environments_.find(id);
        if (it == environments_.end()) {
          return;
        }
        env = it->second;
        deadline = env->drain_deadline;
      }
      if (env->ee->outstanding() == 0 || std::chrono::steady_clock::now() >= deadline) {
        stopEnvironment(id);
      } else {
        checkDrain(id);
      }
    });
  }

  void stopEnvironment(const std::string& id) {
    std::shared_ptr<ManagedEnvironment> env;
    {
      MutexLock lock(&mu_);
      rememberStopped(id);
      auto it = environments_.find(id);
      if (it == environments_.end()) {
        return;
      }
      env = it->second;
      environments_.erase(it);
      by_listener_.erase(env->listener_tag);
    }
    env->ee->stop();
    if (env->sandbox) {
      env->sandbox->terminate(std::chrono::milliseconds(2000));
    }
    if (env->listener_tag != 0) {
      server_->removeListener(env->listener_tag);
    }
    pokeControl();
  }

  // Remembers the latest stopped ids (bounded).
  void rememberStopped(const std::string& id) REQUIRES(mu_) {
    if (stopped_ids_.insert(id).second) {
      stopped_order_.push_back(id);
      if (stopped_order_.size() > kMaxRememberedStops) {
        stopped_ids_.erase(stopped_order_.front());
        stopped_order_.pop_front();
      }
    }
  }

  void failLaunch(const std::shared_ptr<ManagedEnvironment>& env, std::string type,
                  std::string message) {
    spdlog::warn("environment {} failed to launch: {}: {}", env->id, type, message);
    {
      MutexLock lock(&mu_);
      env->launch_error_type = std::move(type);
      env->launch_error = std::move(message);
      env->exited = true;
    }
    env->ee->onExit(1);
    pokeControl();
  }

  void launch(std::shared_ptr<ManagedEnvironment> env) {
    {
      MutexLock lock(&mu_);
      if (stopping_) {
        return;  // the agent is draining: queued launches are dropped
      }
    }
    auto code_dir = code_->ensure(env->spec.code_sha256_hex);
    if (!code_dir.isOk()) {
      failLaunch(env, "Runtime.CodeUnavailable", code_dir.status().message());
      return;
    }
    SystemFileProbe probe;
    LaunchCommand command = launchCommand(env->spec, *code_dir, launch_context_, probe);
    if (!command.refusal_type.empty()) {
      failLaunch(env, command.refusal_type, command.refusal_message);
      return;
    }
    uint64_t tag = next_listener_tag_++;
    auto port = server_->addListener("127.0.0.1", 0, tag);
    if (!port.isOk()) {
      failLaunch(env, "Runtime.Unavailable", port.status().message());
      return;
    }
    {
      MutexLock lock(&mu_);
      env->listener_tag = tag;
      by_listener_[tag] = env->ee;
    }
    LaunchSpec launch_spec = buildLaunchSpec(env->id, env->spec, *code_dir, std::move(command.argv),
                                             *port, launch_context_);
    std::weak_ptr<ManagedEnvironment> weak = env;
    auto sandbox = launcher_->launch(
        launch_spec,
        [weak](OutputStream stream, std::string line) {
          if (auto self = weak.lock()) {
            self->ee->onOutputLine(stream == OutputStream::kStderr, std::move(line));
          }
        },
        [this, weak](int exit_code) {
          if (auto self = weak.lock()) {
            onEnvironmentExit(self, exit_code);
          }
        });
    if (!sandbox.isOk()) {
      failLaunch(env, "Runtime.InvalidEntrypoint", sandbox.status().message());
      return;
    }
    MutexLock lock(&mu_);
    env->sandbox = std::move(sandbox).value();
    if (stopping_ || !environments_.contains(env->id)) {
      env->sandbox->terminate(std::chrono::milliseconds(500));
    }
  }

  void onEnvironmentExit(const std::shared_ptr<ManagedEnvironment>& env, int exit_code) {
    env->ee->onExit(exit_code);
    {
      MutexLock lock(&mu_);
      env->exited = true;
      by_listener_.erase(env->listener_tag);
    }
    if (env->listener_tag != 0) {
      server_->removeListener(env->listener_tag);
    }
    pokeControl();
  }

  void bufferLog(const EnvironmentIdentity& who, const std::string& line) {
    logs_.append(protocol::LogLine{who.function_name, who.version, who.id, line});
  }

  // What the resource monitor samples: each launched EE's process group and resident memory.
  std::vector<ResourceMonitor::Target> monitorTargets() {
    std::vector<ResourceMonitor::Target> targets;
    MutexLock lock(&mu_);
    targets.reserve(environments_.size());
    for (const auto& entry : environments_) {
      std::shared_ptr<ManagedEnvironment> env = entry.second;  // kept alive while sampled
      if (env->sandbox) {
        Sandbox* sandbox = env->sandbox.get();
        targets.push_back({entry.first, sandbox->pid(), env->spec.vcpus,
                           [env, sandbox] { return sandbox->residentBytes(); }});
      }
    }
    return targets;
  }

  // A new usage sample: report memory peaks and mark EEs over a threshold (they refuse work).
  void applyUsage(const ResourceMonitor::Snapshot& snapshot) {
    std::vector<std::pair<std::shared_ptr<ManagedEnvironment>, ResourceMonitor::Usage>> sampled;
    {
      MutexLock lock(&mu_);
      for (const auto& [id, usage] : snapshot) {
        if (auto it = environments_.find(id); it != environments_.end()) {
          sampled.emplace_back(it->second, usage);
        }
      }
    }
    for (const auto& [env, usage] : sampled) {
      env->ee->recordMemory(usage.resident_bytes);
      std::string pressure;
      if (usage.resident_bytes > env->spec.memory_mb * 1024 * 1024 * kMemoryPressure) {
        pressure = "memory";
      } else if (usage.cpu_utilization > kCpuPressure) {
        pressure = "cpu";
      }
      env->ee->setPressure(pressure);
    }
  }

  // Each EE's phase, counts and identity, with the resource monitor's latest sample.
  protocol::Heartbeat status() {
    std::vector<std::shared_ptr<ManagedEnvironment>> envs;
    std::vector<bool> draining;
    std::vector<std::pair<std::string, std::string>> launch_errors;
    {
      MutexLock lock(&mu_);
      envs.reserve(environments_.size());
      for (const auto& [id, env] : environments_) {
        envs.push_back(env);
        draining.push_back(env->draining);
        launch_errors.emplace_back(env->launch_error_type, env->launch_error);
      }
    }
    ResourceMonitor::Snapshot usage = monitor_ ? monitor_->latest() : ResourceMonitor::Snapshot{};
    protocol::Heartbeat heartbeat;
    heartbeat.instance_id = options_.instance_id;
    heartbeat.environments.reserve(envs.size());
    for (size_t i = 0; i < envs.size(); ++i) {
      const auto& env = envs[i];
      const protocol::EnvironmentSpec& spec = env->spec;
      protocol::EnvironmentStatus e;
      e.id = env->id;
      e.phase = phaseOf(env->ee->state(), draining[i]);
      e.outstanding = env->ee->outstanding();
      e.max_concurrency = spec.max_concurrency;
      e.init_ms = env->ee->initDurationMs();
      e.identity = protocol::EnvironmentIdentity{
          spec.function_name, spec.version,   spec.code_sha256_hex, spec.revision_id,
          spec.vcpus,         spec.memory_mb, spec.max_concurrency, spec.timeout_seconds};
      e.error_type = launch_errors[i].first;
      e.error_message = launch_errors[i].second;
      if (e.error_type.empty()) {
        e.error_type = env->ee->initErrorType();
        e.error_message = env->ee->initErrorMessage();
      }
      if (auto u = usage.find(env->id); u != usage.end()) {
        e.resident_bytes = u->second.resident_bytes;
        e.cpu_utilization = u->second.cpu_utilization;
      }
      heartbeat.environments.push_back(std::move(e));
    }
    return heartbeat;
  }

  static protocol::EnvironmentPhase phaseOf(EnvironmentState state, bool draining) {
    switch (state) {
      case EnvironmentState::kStarting:
        return draining ? protocol::EnvironmentPhase::kDraining
                        : protocol::EnvironmentPhase::kStarting;
      case EnvironmentState::kReady:
        return draining ? protocol::EnvironmentPhase::kDraining
                        : protocol::EnvironmentPhase::kReady;
      case EnvironmentState::kInitFailed:
        return protocol::EnvironmentPhase::kInitFailed;
      case EnvironmentState::kExited:
        return protocol::EnvironmentPhase::kExited;
    }
    return protocol::EnvironmentPhase::kExited;
  }

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
  LaunchContext launch_context_;
  std::unique_ptr<CodeCache> code_;
  HttpServerPtr server_;
  std::unique_ptr<ResourceMonitor> monitor_;
  std::unique_ptr<ControlLoop> control_;
  std::atomic<bool> drained_{false};
  std::atomic<uint64_t> next_listener_tag_{1};

  // Guards the maps below and the mutable fields of every ManagedEnvironment.
  Mutex mu_;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::unordered_map<std::string, std::shared_ptr<ManagedEnvironment>> environments_
      GUARDED_BY(mu_);
  std::unordered_map<uint64_t, ExecutionEnvironmentPtr> by_listener_ GUARDED_BY(mu_);
  static constexpr size_t kMaxRememberedStops = 4096;
  std::unordered_set<std::string> stopped_ids_ GUARDED_BY(mu_);
  std::deque<std::string> stopped_order_ GUARDED_BY(mu_);
};

}  // namespace

Result<std::unique_ptr<Agent>> Agent::start(AgentOptions options, SandboxLauncher* launcher) {
  auto agent = std::make_unique<AgentImpl>(std::move(options), launcher);
  HEARTH_RETURN_IF_ERROR(agent->init());
  return std::unique_ptr<Agent>(std::move(agent));
}

}  // namespace hearth
