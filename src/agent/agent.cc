#include "agent/agent.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "agent/execution_environment.h"
#include "artifact/encoding.h"
#include "artifact/zip_reader.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/work_queue.h"
#include "net/event_loop.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "protocol/agent_protocol.h"
#include "sandbox/sandbox_launcher.h"

namespace hearth {
namespace json = boost::json;
namespace fs = std::filesystem;

std::string interpreterFor(const std::map<std::string, std::string>& interpreters,
                           const std::string& runtime) {
  std::string best;
  size_t best_len = 0;
  for (const auto& [prefix, interpreter] : interpreters) {
    if (runtime.rfind(prefix, 0) == 0 && prefix.size() >= best_len) {
      best = interpreter;
      best_len = prefix.size();
    }
  }
  return best;
}

namespace {

constexpr size_t kMaxBufferedLogLines = 20000;
constexpr int64_t kMaxDrainMs = 16 * 60 * 1000;  // the longest Timeout (15 min) plus grace
constexpr std::chrono::milliseconds kDrainPoll{50};
constexpr size_t kMaxLogLinesPerShipment = 2000;
constexpr int kMaxLogBatchesPerPass = 4;

HttpResponse jsonReply(int status, const json::object& body) {
  HttpResponse response;
  response.status = status;
  response.set("Content-Type", "application/json");
  response.body = json::serialize(body);
  return response;
}

// Finds `program` on PATH; returns "" when absent. Absolute paths are checked as they are.
std::string findExecutable(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    return ::access(program.c_str(), X_OK) == 0 ? program : "";
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t colon = dirs.find(':', start);
    std::string dir =
        dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + program;
      if (::access(candidate.c_str(), X_OK) == 0) {
        return candidate;
      }
    }
    if (colon == std::string::npos) {
      break;
    }
    start = colon + 1;
  }
  return "";
}

// The spec of one EE as the server sends it (PUT /agent/v1/environments/{id}).
struct EnvironmentSpec {
  std::string id;
  std::string function_name;
  std::string version;
  std::string function_arn;
  std::string runtime;
  std::string handler;
  std::string code_sha;  // hex
  std::string revision_id;
  int64_t memory_mb = 2048;
  int timeout_s = 3;
  int max_concurrency = 1;
  int vcpus = 1;
  std::string log_group;
  std::map<std::string, std::string> environment;
};

Result<EnvironmentSpec> parseSpec(const std::string& id, const std::string& body) {
  HEARTH_ASSIGN_OR_RETURN(protocol::EnvironmentSpec wire, protocol::decodeEnvironmentSpec(body));
  EnvironmentSpec spec;
  spec.id = id;
  spec.function_name = std::move(wire.function_name);
  spec.version = std::move(wire.version);
  spec.function_arn = std::move(wire.function_arn);
  spec.runtime = std::move(wire.runtime);
  spec.handler = std::move(wire.handler);
  spec.code_sha = std::move(wire.code_sha256_hex);
  spec.revision_id = std::move(wire.revision_id);
  spec.memory_mb = wire.memory_mb;
  spec.timeout_s = wire.timeout_seconds;
  spec.max_concurrency = wire.max_concurrency;
  spec.vcpus = wire.vcpus;
  spec.log_group = std::move(wire.log_group);
  spec.environment = std::move(wire.environment);
  return spec;
}

// Above these an EE refuses new invocations (the router retries another EE), as LMI's agent does.
constexpr double kMemoryPressure = 0.95;  // of the function's MemorySize
constexpr double kCpuPressure = 0.97;     // of the EE's vCPU budget, over the last heartbeat

// CPU time of process groups, sampled from /proc once per heartbeat: one pass over /proc for
// every EE, since a runtime's work may run in child processes (Python workers).
class CpuSampler {
 public:
  void sample() {
    auto now = std::chrono::steady_clock::now();
    std::unordered_map<int, uint64_t> ticks;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || name[0] < '0' || name[0] > '9') {
        continue;
      }
      std::ifstream in(entry.path() / "stat");
      std::string line;
      if (!std::getline(in, line)) {
        continue;
      }
      size_t close = line.rfind(')');
      if (close == std::string::npos) {
        continue;
      }
      // Fields after the command: state ppid pgrp session tty tpgid flags minflt cminflt majflt
      // cmajflt utime stime ...
      std::istringstream fields(line.substr(close + 2));
      std::string state;
      long ppid = 0, pgrp = 0, session = 0, tty = 0, tpgid = 0;
      unsigned long flags = 0, minflt = 0, cminflt = 0, majflt = 0, cmajflt = 0, utime = 0,
                    stime = 0;
      fields >> state >> ppid >> pgrp >> session >> tty >> tpgid >> flags >> minflt >> cminflt >>
          majflt >> cmajflt >> utime >> stime;
      ticks[static_cast<int>(pgrp)] += utime + stime;
    }
    double seconds = std::chrono::duration<double>(now - last_at_).count();
    utilisation_.clear();
    if (seconds > 0 && last_at_.time_since_epoch().count() != 0) {
      double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
      for (const auto& [group, total] : ticks) {
        auto previous = last_.find(group);
        if (previous != last_.end() && total >= previous->second) {
          utilisation_[group] = static_cast<double>(total - previous->second) / hz / seconds;
        }
      }
    }
    last_ = std::move(ticks);
    last_at_ = now;
  }
  // Fraction of `vcpus` the process group led by `pid` used over the last interval.
  double utilisation(int pid, int vcpus) const {
    auto it = utilisation_.find(pid);
    return it == utilisation_.end() ? 0.0 : it->second / std::max(1, vcpus);
  }

 private:
  std::unordered_map<int, uint64_t> last_;
  std::unordered_map<int, double> utilisation_;
  std::chrono::steady_clock::time_point last_at_{};
};

class AgentImpl;

// One EE as the agent tracks it: spec, platform state machine, sandbox, Runtime API listener.
struct ManagedEnvironment {
  EnvironmentSpec spec;
  ExecutionEnvironmentPtr ee;
  uint64_t listener_tag = 0;
  SandboxPtr sandbox;
  std::string launch_error_type;  // set when launching failed before the runtime ran
  std::string launch_error;
  bool exited = false;
  bool draining = false;  // refusing new invocations; stopped once idle or at drain_deadline
  std::chrono::steady_clock::time_point drain_deadline{};
};

class AgentImpl final : public Agent {
 public:
  AgentImpl(AgentOptions options, SandboxLauncher* launcher)
      : options_(std::move(options)),
        launcher_(launcher),
        loop_(EventLoop::create(1)),
        launches_(2, 4096) {}

  ~AgentImpl() override { drain(); }

  Status init() {
    std::string rest = options_.server;
    if (rest.rfind("http://", 0) == 0) {
      rest = rest.substr(7);
    }
    while (!rest.empty() && rest.back() == '/') {
      rest.pop_back();
    }
    if (!splitHostPort(rest, &server_host_, &server_port_)) {
      return invalidParameter("--server must be http://HOST:PORT");
    }
    std::error_code ec;
    fs::create_directories(fs::path(options_.work_dir) / "code", ec);
    if (ec) {
      return invalidParameter("cannot create work dir " + options_.work_dir);
    }
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
    control_ = std::thread([this] { controlLoop(); });
    return Status::ok();
  }

  uint16_t port() const override { return server_ ? server_->port() : 0; }
  bool orphaned() const override { return orphaned_.load(); }

  void drain() override {
    if (drained_.exchange(true)) {
      return;
    }
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      for (auto& [id, env] : environments_) {
        env->ee->stop();
        if (env->sandbox) {
          env->sandbox->terminate(std::chrono::milliseconds(2000));
        }
      }
    }
    wake_.notify_all();
    if (control_.joinable()) {
      control_.join();
    }
    launches_.drain();
    if (server_) {
      server_->drain(std::chrono::milliseconds(1000));
    }
    loop_->stop();
  }

 private:
  // --- HTTP entry point: the control API on the main listener, Runtime APIs on the others ---
  void handle(HttpRequest request, Responder respond) {
    if (request.listener != 0) {
      ExecutionEnvironmentPtr ee;
      {
        std::lock_guard lock(mu_);
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
      response.body = protocol::encode(status(/*with_usage=*/false));
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
      std::lock_guard lock(mu_);
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
    auto spec = parseSpec(id, body);
    if (!spec.isOk()) {
      return jsonReply(400, json::object{{"message", spec.status().message()}});
    }
    std::shared_ptr<ManagedEnvironment> env;
    {
      std::lock_guard lock(mu_);
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
      env->spec = std::move(spec).value();
      EnvironmentIdentity identity{id,
                                   env->spec.function_name,
                                   env->spec.version,
                                   env->spec.max_concurrency,
                                   env->spec.timeout_s,
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
      std::lock_guard lock(mu_);
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
      wake_.notify_all();  // the next heartbeat reports it Draining
    }
  }

  void checkDrain(std::string id) {
    loop_->runAfter(kDrainPoll, [this, id] {
      std::shared_ptr<ManagedEnvironment> env;
      std::chrono::steady_clock::time_point deadline;
      {
        std::lock_guard lock(mu_);
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
      std::lock_guard lock(mu_);
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
    wake_.notify_all();
  }

  // REQUIRES: mu_ held. Remembers the latest stopped ids (bounded).
  void rememberStopped(const std::string& id) {
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
    spdlog::warn("environment {} failed to launch: {}: {}", env->spec.id, type, message);
    {
      std::lock_guard lock(mu_);
      env->launch_error_type = std::move(type);
      env->launch_error = std::move(message);
      env->exited = true;
    }
    env->ee->onExit(1);
    wake_.notify_all();
  }

  // Makes sure the code of `hex` is unpacked under work_dir/code/<hex>; returns that path.
  Result<std::string> ensureCode(const std::string& hex) {
    fs::path dir = fs::path(options_.work_dir) / "code" / hex;
    std::lock_guard lock(code_mu_);
    std::error_code ec;
    if (fs::is_directory(dir, ec)) {
      return dir.string();
    }
    auto client = HttpClient::create(server_host_, server_port_);
    HttpRequest request;
    request.method = "GET";
    request.target = "/_hearth/agent/v1/code/" + hex;
    request.headers.emplace_back(std::string(protocol::kTokenHeader), options_.token);
    HEARTH_ASSIGN_OR_RETURN(HttpResponse response, client->send(request, std::chrono::seconds(60)));
    if (response.status != 200) {
      return Status(
          StatusCode::kUnavailable,
          fmt::format("code {} not available from the server (HTTP {})", hex, response.status));
    }
    fs::path staging = fs::path(options_.work_dir) / "code" / (".tmp-" + hex + "-" + newUuid());
    fs::create_directories(staging, ec);
    Status extracted = extractZip(response.body, staging.string(), ZipLimits{});
    if (!extracted.isOk()) {
      fs::remove_all(staging, ec);
      return extracted;
    }
    fs::rename(staging, dir, ec);
    if (ec) {
      fs::remove_all(staging, ec);
      return Status(StatusCode::kInternal, "cannot install code: " + ec.message());
    }
    return dir.string();
  }

  void launch(std::shared_ptr<ManagedEnvironment> env) {
    const EnvironmentSpec& spec = env->spec;
    auto code_dir = ensureCode(spec.code_sha);
    if (!code_dir.isOk()) {
      failLaunch(env, "Runtime.CodeUnavailable", code_dir.status().message());
      return;
    }
    std::vector<std::string> argv;
    if (spec.runtime.rfind("provided", 0) == 0) {
      argv = {*code_dir + "/bootstrap"};
      if (::access(argv[0].c_str(), X_OK) != 0) {
        failLaunch(env, "Runtime.InvalidEntrypoint",
                   "custom runtimes need an executable file named bootstrap at the root of the "
                   "deployment package");
        return;
      }
    } else {
      std::string interpreter = interpreterFor(options_.interpreters, spec.runtime);
      std::string resolved = interpreter.empty() ? "" : findExecutable(interpreter);
      if (resolved.empty()) {
        failLaunch(env, "Runtime.InvalidRuntime",
                   fmt::format("runtime {} maps to interpreter '{}', which is not installed on "
                               "this instance; configure it with --interpreter",
                               spec.runtime, interpreter));
        return;
      }
      std::string bootstrap =
          spec.runtime.rfind("python", 0) == 0   ? options_.runtimes_dir + "/python/bootstrap.py"
          : spec.runtime.rfind("nodejs", 0) == 0 ? options_.runtimes_dir + "/node/bootstrap.mjs"
                                                 : "";
      if (bootstrap.empty() || ::access(bootstrap.c_str(), R_OK) != 0) {
        failLaunch(env, "Runtime.InvalidRuntime",
                   fmt::format("Hearth has no bootstrap for runtime {}", spec.runtime));
        return;
      }
      argv = {resolved, bootstrap};
    }
    uint64_t tag = next_listener_tag_++;
    auto port = server_->addListener("127.0.0.1", 0, tag);
    if (!port.isOk()) {
      failLaunch(env, "Runtime.Unavailable", port.status().message());
      return;
    }
    {
      std::lock_guard lock(mu_);
      env->listener_tag = tag;
      by_listener_[tag] = env->ee;
    }
    LaunchSpec launch_spec;
    launch_spec.id = spec.id;
    launch_spec.argv = argv;
    launch_spec.working_dir = *code_dir;
    launch_spec.memory_limit_bytes = spec.memory_mb * 1024 * 1024;
    launch_spec.vcpus = spec.vcpus;
    auto& e = launch_spec.env;
    for (const auto& [k, v] : spec.environment) {
      e[k] = v;
    }
    e["PATH"] = "/usr/local/bin:/usr/bin:/bin";
    e["LANG"] = "en_US.UTF-8";
    e["TZ"] = ":UTC";
    for (const auto& [k, v] : spec.environment) {
      if (k == "PATH" || k == "LANG" || k == "TZ") {
        e[k] = v;
      }
    }
    e["AWS_LAMBDA_RUNTIME_API"] = fmt::format("127.0.0.1:{}", *port);
    e["_HANDLER"] = spec.handler;
    e["LAMBDA_TASK_ROOT"] = *code_dir;
    e["LAMBDA_RUNTIME_DIR"] = options_.runtimes_dir;
    e["AWS_LAMBDA_MAX_CONCURRENCY"] = std::to_string(spec.max_concurrency);
    e["AWS_LAMBDA_INITIALIZATION_TYPE"] = "lambda-managed-instances";
    e["AWS_LAMBDA_FUNCTION_NAME"] = spec.function_name;
    e["AWS_LAMBDA_FUNCTION_VERSION"] = spec.version;
    e["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = std::to_string(spec.memory_mb);
    e["AWS_LAMBDA_LOG_GROUP_NAME"] =
        spec.log_group.empty() ? "/aws/lambda/" + spec.function_name : spec.log_group;
    e["AWS_LAMBDA_LOG_STREAM_NAME"] =
        fmt::format("{}/[{}]{}", options_.instance_id, spec.version, spec.id);
    e["AWS_LAMBDA_LOG_FORMAT"] = "JSON";
    e["AWS_REGION"] = options_.region;
    e["AWS_DEFAULT_REGION"] = options_.region;
    e["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + spec.runtime;
    e["HOME"] = "/tmp";
    if (spec.runtime.rfind("nodejs", 0) == 0 && !e.contains("AWS_LAMBDA_NODEJS_WORKER_COUNT")) {
      e["AWS_LAMBDA_NODEJS_WORKER_COUNT"] =
          std::to_string(std::max(1, std::min(spec.vcpus, spec.max_concurrency)));
    }
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
    std::lock_guard lock(mu_);
    env->sandbox = std::move(sandbox).value();
    if (stopping_ || !environments_.contains(spec.id)) {
      env->sandbox->terminate(std::chrono::milliseconds(500));
    }
  }

  void onEnvironmentExit(const std::shared_ptr<ManagedEnvironment>& env, int exit_code) {
    env->ee->onExit(exit_code);
    {
      std::lock_guard lock(mu_);
      env->exited = true;
      by_listener_.erase(env->listener_tag);
    }
    if (env->listener_tag != 0) {
      server_->removeListener(env->listener_tag);
    }
    wake_.notify_all();
  }

  void bufferLog(const EnvironmentIdentity& who, const std::string& line) {
    std::lock_guard lock(log_mu_);
    if (logs_.size() >= kMaxBufferedLogLines) {
      logs_.pop_front();
      ++first_log_seq_;
      ++dropped_logs_;
    }
    logs_.push_back(protocol::LogLine{who.function_name, who.version, who.id, line});
  }

  // Each EE's state; with_usage also samples CPU and resident memory (reads /proc) and updates
  // the pressure marks. The /proc reads run outside mu_, so invocations never wait on them.
  // REQUIRES: with_usage only from the control thread (it owns cpu_).
  protocol::Heartbeat status(bool with_usage) {
    std::vector<std::pair<std::string, std::shared_ptr<ManagedEnvironment>>> envs;
    std::vector<Sandbox*> sandboxes;
    std::vector<bool> draining;
    {
      std::lock_guard lock(mu_);
      envs.reserve(environments_.size());
      for (const auto& [id, env] : environments_) {
        envs.emplace_back(id, env);
        sandboxes.push_back(env->sandbox.get());
        draining.push_back(env->draining);
      }
    }
    if (with_usage) {
      cpu_.sample();
    }
    protocol::Heartbeat heartbeat;
    heartbeat.instance_id = options_.instance_id;
    heartbeat.environments.reserve(envs.size());
    for (size_t i = 0; i < envs.size(); ++i) {
      const auto& [id, env] = envs[i];
      protocol::EnvironmentStatus e;
      e.id = id;
      e.phase = phaseOf(env->ee->state(), draining[i]);
      e.outstanding = env->ee->outstanding();
      e.max_concurrency = env->spec.max_concurrency;
      e.init_ms = env->ee->initDurationMs();
      e.identity = protocol::EnvironmentIdentity{env->spec.function_name,   env->spec.version,
                                                 env->spec.code_sha,        env->spec.revision_id,
                                                 env->spec.vcpus,           env->spec.memory_mb,
                                                 env->spec.max_concurrency, env->spec.timeout_s};
      {
        std::lock_guard lock(mu_);
        e.error_type = env->launch_error_type;
        e.error_message = env->launch_error;
      }
      if (e.error_type.empty()) {
        e.error_type = env->ee->initErrorType();
        e.error_message = env->ee->initErrorMessage();
      }
      if (sandboxes[i] != nullptr && with_usage) {
        int64_t rss = sandboxes[i]->residentBytes();
        env->ee->recordMemory(rss);
        double cpu = cpu_.utilisation(sandboxes[i]->pid(), env->spec.vcpus);
        e.resident_bytes = rss;
        e.cpu_utilization = cpu;
        std::string pressure;
        if (rss > env->spec.memory_mb * 1024 * 1024 * kMemoryPressure) {
          pressure = "memory";
        } else if (cpu > kCpuPressure) {
          pressure = "cpu";
        }
        env->ee->setPressure(pressure);
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

  // Registers, then heartbeats and ships logs until drained. Wakes early on EE state changes so
  // the server learns of Ready/Failed quickly.
  void controlLoop() {
    auto client = HttpClient::create(server_host_, server_port_);
    bool registered = false;
    std::string last_states;
    auto next_heartbeat = std::chrono::steady_clock::now();
    auto last_contact = std::chrono::steady_clock::now();
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      if (std::chrono::steady_clock::now() - last_contact > options_.orphan_timeout &&
          !orphaned_.exchange(true)) {
        spdlog::warn("agent {}: no answer from {} for {} ms; stopping", options_.instance_id,
                     options_.server, options_.orphan_timeout.count());
      }
      if (!registered) {
        HttpResponse answer;
        answer.status = 0;  // stays 0 when nothing was answered
        registered =
            post(*client, "/_hearth/agent/v1/register", protocol::encode(registration()), &answer);
        if (answer.status != 0) {
          last_contact = std::chrono::steady_clock::now();
        }
        if (!registered) {
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
      } else {
        bool due = std::chrono::steady_clock::now() >= next_heartbeat;
        protocol::Heartbeat heartbeat = status(/*with_usage=*/due);
        std::string states;
        for (const auto& e : heartbeat.environments) {
          states += e.id + '=' + std::string(protocol::phaseName(e.phase)) + ';';
        }
        if (states != last_states || due) {
          HttpResponse response;
          response.status = 0;  // stays 0 when nothing was answered
          bool delivered =
              post(*client, "/_hearth/agent/v1/heartbeat", protocol::encode(heartbeat), &response);
          if (response.status != 0) {
            last_contact = std::chrono::steady_clock::now();
          }
          if (delivered) {
            last_states = states;
            next_heartbeat = std::chrono::steady_clock::now() + options_.heartbeat_interval;
            // The server lists environments it does not know (it restarted, or a start
            // overtook a stop): stop them.
            auto reply = protocol::decodeHeartbeatReply(response.body);
            if (reply.isOk()) {
              for (const auto& id : reply->stop) {
                stopEnvironment(id);
              }
            }
          } else if (response.status == 404) {
            registered = false;  // the server restarted and forgot us
          }
        }
        shipLogs(*client);
      }
      lock.lock();
      wake_.wait_for(lock, std::chrono::milliseconds(100));
    }
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

  bool post(HttpClient& client, const std::string& target, std::string body,
            HttpResponse* out = nullptr) {
    HttpRequest request;
    request.method = "POST";
    request.target = target;
    request.headers.emplace_back(std::string(protocol::kTokenHeader), options_.token);
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = std::move(body);
    auto response = client.send(request, std::chrono::seconds(5));
    if (!response.isOk()) {
      return false;
    }
    if (out != nullptr) {
      *out = *response;
    }
    return response->status / 100 == 2;
  }

  // Ships buffered lines, at most kMaxLogBatchesPerPass batches a pass so heartbeats keep their
  // pace. A line leaves the buffer only once the server has stored it, so lines survive a server
  // that is down or restarting (up to the buffer bound). A batch the server refuses as malformed
  // (4xx) is dropped and counted, never retried.
  void shipLogs(HttpClient& client) {
    for (int pass = 0; pass < kMaxLogBatchesPerPass; ++pass) {
      protocol::LogBatch batch;
      batch.instance_id = options_.instance_id;
      uint64_t first = 0;
      {
        std::lock_guard lock(log_mu_);
        first = first_log_seq_;
        size_t n = std::min(logs_.size(), kMaxLogLinesPerShipment);
        batch.lines.assign(logs_.begin(), logs_.begin() + static_cast<std::ptrdiff_t>(n));
        batch.dropped = dropped_logs_;
      }
      if (batch.lines.empty()) {
        return;
      }
      size_t count = batch.lines.size();
      HttpResponse response;
      response.status = 0;
      bool stored = post(client, "/_hearth/agent/v1/logs", protocol::encode(batch), &response);
      bool refused = !stored && response.status >= 400 && response.status < 500;
      if (!stored && !refused) {
        return;  // kept; sent again on the next pass
      }
      {
        std::lock_guard lock(log_mu_);
        uint64_t shipped_end = first + count;
        // Lines evicted for room while the batch was in flight were in it: they were delivered
        // (or, when refused, are counted below with the rest of the batch).
        uint64_t evicted = std::min(first_log_seq_, shipped_end) - first;
        dropped_logs_ -= std::min<int64_t>(dropped_logs_, static_cast<int64_t>(evicted));
        dropped_logs_ -= std::min(dropped_logs_, batch.dropped);
        while (!logs_.empty() && first_log_seq_ < shipped_end) {
          logs_.pop_front();
          ++first_log_seq_;
        }
        if (refused) {
          dropped_logs_ += static_cast<int64_t>(count);
          spdlog::warn("agent: the server refused {} log lines (HTTP {})", count, response.status);
        }
      }
      if (count < kMaxLogLinesPerShipment) {
        return;
      }
    }
  }

  AgentOptions options_;
  SandboxLauncher* launcher_;
  RealClock clock_;
  EventLoopPtr loop_;
  WorkQueue launches_;
  HttpServerPtr server_;
  std::string server_host_;
  uint16_t server_port_ = 0;
  std::thread control_;
  std::atomic<bool> drained_{false};
  std::atomic<bool> orphaned_{false};
  std::atomic<uint64_t> next_listener_tag_{1};

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::unordered_map<std::string, std::shared_ptr<ManagedEnvironment>> environments_;
  std::unordered_map<uint64_t, ExecutionEnvironmentPtr> by_listener_;
  static constexpr size_t kMaxRememberedStops = 4096;
  std::unordered_set<std::string> stopped_ids_;
  std::deque<std::string> stopped_order_;

  CpuSampler cpu_;  // guarded by mu_
  std::mutex code_mu_;
  std::mutex log_mu_;
  std::deque<protocol::LogLine> logs_;  // guarded by log_mu_
  uint64_t first_log_seq_ = 0;          // sequence number of logs_.front()
  int64_t dropped_logs_ = 0;
};

}  // namespace

Result<std::unique_ptr<Agent>> Agent::start(AgentOptions options, SandboxLauncher* launcher) {
  auto agent = std::make_unique<AgentImpl>(std::move(options), launcher);
  HEARTH_RETURN_IF_ERROR(agent->init());
  return std::unique_ptr<Agent>(std::move(agent));
}

}  // namespace hearth
