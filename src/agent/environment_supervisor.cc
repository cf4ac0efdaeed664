#include "agent/environment_supervisor.h"

#include <spdlog/spdlog.h>

#include <charconv>

#include "agent/code_cache.h"
#include "agent/log_buffer.h"
#include "net/event_loop.h"
#include "sandbox/sandbox_launcher.h"

namespace hearth {

namespace {

constexpr std::chrono::milliseconds kDrainPoll{50};
constexpr std::chrono::milliseconds kStopGrace{2000};

// Above these an EE refuses new invocations (the router retries another EE), as LMI's agent does.
constexpr double kMemoryPressure = 0.95;  // of the function's MemorySize
constexpr double kCpuPressure = 0.97;     // of the EE's vCPU budget, over the last sample

protocol::EnvironmentPhase phaseOf(EnvironmentState state, bool draining) {
  switch (state) {
    case EnvironmentState::kStarting:
      return draining ? protocol::EnvironmentPhase::kDraining
                      : protocol::EnvironmentPhase::kStarting;
    case EnvironmentState::kReady:
      return draining ? protocol::EnvironmentPhase::kDraining : protocol::EnvironmentPhase::kReady;
    case EnvironmentState::kInitFailed:
      return protocol::EnvironmentPhase::kInitFailed;
    case EnvironmentState::kExited:
      return protocol::EnvironmentPhase::kExited;
  }
  return protocol::EnvironmentPhase::kExited;
}

}  // namespace

// One EE as the agent tracks it: spec, platform state machine, sandbox, Runtime API listener.
struct EnvironmentSupervisor::Managed {
  std::string id;
  protocol::EnvironmentSpec spec;
  ExecutionEnvironmentPtr ee;
  uint64_t listener_tag = 0;
  SandboxPtr sandbox;
  std::string launch_error_type;  // set when launching failed before the runtime ran
  std::string launch_error;
  bool exited = false;
  bool oom_stopped = false;  // stopped for an out-of-memory kill
  bool draining = false;     // refusing new invocations; stopped once idle or at drain_deadline
  std::chrono::steady_clock::time_point drain_deadline{};
};

EnvironmentSupervisor::EnvironmentSupervisor(Deps deps) : deps_(std::move(deps)) {}

std::optional<std::chrono::milliseconds> recycleGrace(const protocol::EnvironmentSpec& spec) {
  auto it = spec.environment.find(kRecycleAfterTimeoutVariable);
  if (it == spec.environment.end()) {
    return std::nullopt;
  }
  int seconds = -1;
  const std::string& text = it->second;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc() || end != text.data() + text.size() || seconds < 0 || seconds > 3600) {
    return std::nullopt;  // not a number of seconds: the option stays off
  }
  return std::chrono::seconds(seconds);
}

EnvironmentSupervisor::StartOutcome EnvironmentSupervisor::start(const std::string& id,
                                                                 protocol::EnvironmentSpec spec) {
  std::shared_ptr<Managed> env;
  {
    MutexLock lock(&mu_);
    if (stopping_) {
      return StartOutcome::kShuttingDown;
    }
    if (environments_.contains(id)) {
      return StartOutcome::kAlreadyKnown;
    }
    if (stopped_ids_.contains(id)) {
      return StartOutcome::kAlreadyStopped;
    }
    env = std::make_shared<Managed>();
    env->id = id;
    env->spec = std::move(spec);
    EnvironmentIdentity identity{id,
                                 env->spec.function_name,
                                 env->spec.version,
                                 env->spec.max_concurrency,
                                 env->spec.timeout_seconds,
                                 env->spec.memory_mb};
    LogBuffer* logs = deps_.logs;
    env->ee = std::make_shared<ExecutionEnvironment>(
        identity, deps_.loop, deps_.clock,
        [logs](const EnvironmentIdentity& who, std::string line) {
          logs->append(protocol::LogLine{who.function_name, who.version, who.id, std::move(line)});
        });
    environments_.emplace(id, env);
  }
  if (auto grace = recycleGrace(env->spec)) {
    std::weak_ptr<Managed> weak = env;
    env->ee->recycleAfterTimeout(*grace, [this, weak, grace = *grace] {
      if (auto self = weak.lock()) {
        recycle(self, grace);
      }
    });
  }
  if (!deps_.submit_launch([this, env] { launch(env); })) {
    failLaunch(env, "Runtime.Unavailable", "the agent's launch queue is full");
  }
  return StartOutcome::kAccepted;
}

void EnvironmentSupervisor::drain(const std::string& id, std::chrono::milliseconds drain) {
  std::shared_ptr<Managed> env;
  auto deadline = deps_.clock->steadyNow() + drain;
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
    if (first || deadline < env->drain_deadline) {
      env->drain_deadline = deadline;
    }
  }
  env->ee->stop();
  if (drain.count() == 0 || env->ee->outstanding() == 0) {
    stop(id);
    return;
  }
  if (first) {
    checkDrain(id);
    notifyChanged();  // the next heartbeat reports it Draining
  }
}

void EnvironmentSupervisor::checkDrain(std::string id) {
  deps_.loop->runAfter(kDrainPoll, [this, id] {
    std::shared_ptr<Managed> env;
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
    if (env->ee->outstanding() == 0 || deps_.clock->steadyNow() >= deadline) {
      stop(id);
    } else {
      checkDrain(id);
    }
  });
}

void EnvironmentSupervisor::stop(const std::string& id) {
  std::shared_ptr<Managed> env;
  Sandbox* sandbox = nullptr;  // owned by *env, which this call keeps alive
  uint64_t listener_tag = 0;
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
    sandbox = env->sandbox.get();  // none yet: the launch sees the EE gone and terminates it
    listener_tag = env->listener_tag;
  }
  env->ee->stop();
  if (sandbox) {
    sandbox->terminate(kStopGrace);
  }
  if (listener_tag != 0) {
    deps_.listeners->remove(listener_tag);
  }
  notifyChanged();
}

void EnvironmentSupervisor::recycle(const std::shared_ptr<Managed>& env,
                                    std::chrono::milliseconds grace) {
  Sandbox* sandbox = nullptr;  // owned by *env
  {
    MutexLock lock(&mu_);
    if (env->exited) {
      return;
    }
    sandbox = env->sandbox.get();
  }
  if (sandbox != nullptr) {
    spdlog::warn(
        "environment {}: an invocation ran {} ms past its timeout; recycling the "
        "environment ({})",
        env->id, grace.count(), kRecycleAfterTimeoutVariable);
    sandbox->terminate(kStopGrace);
  }
}

void EnvironmentSupervisor::shutdown() {
  std::vector<std::shared_ptr<Managed>> all;
  {
    MutexLock lock(&mu_);
    if (stopping_) {
      return;
    }
    stopping_ = true;
    for (auto& [id, env] : environments_) {
      all.push_back(env);
    }
  }
  for (const auto& env : all) {
    env->ee->stop();
    Sandbox* sandbox = nullptr;  // owned by *env
    {
      MutexLock lock(&mu_);
      sandbox = env->sandbox.get();
    }
    if (sandbox) {
      sandbox->terminate(kStopGrace);
    }
  }
}

void EnvironmentSupervisor::rememberStopped(const std::string& id) {
  if (stopped_ids_.insert(id).second) {
    stopped_order_.push_back(id);
    if (stopped_order_.size() > kMaxRememberedStops) {
      stopped_ids_.erase(stopped_order_.front());
      stopped_order_.pop_front();
    }
  }
}

void EnvironmentSupervisor::failLaunch(const std::shared_ptr<Managed>& env, std::string type,
                                       std::string message) {
  spdlog::warn("environment {} failed to launch: {}: {}", env->id, type, message);
  {
    MutexLock lock(&mu_);
    env->launch_error_type = std::move(type);
    env->launch_error = std::move(message);
    env->exited = true;
  }
  env->ee->onExit(1);
  notifyChanged();
}

void EnvironmentSupervisor::launch(std::shared_ptr<Managed> env) {
  {
    MutexLock lock(&mu_);
    if (stopping_) {
      return;  // the agent is draining: queued launches are dropped
    }
  }
  auto code_dir = deps_.code->ensure(env->spec.code_sha256_hex);
  if (!code_dir.isOk()) {
    failLaunch(env, "Runtime.CodeUnavailable", code_dir.status().message());
    return;
  }
  LaunchCommand command = launchCommand(env->spec, *code_dir, deps_.launch_context, *deps_.files);
  if (!command.refusal_type.empty()) {
    failLaunch(env, command.refusal_type, command.refusal_message);
    return;
  }
  // A plain EE's Runtime API gets a loopback port here; a sandboxed one listens inside its own
  // network namespace, on a socket the launcher makes there and hands back.
  const bool sandboxed = deps_.launch_context.sandboxed;
  uint64_t tag = next_listener_tag_++;
  uint16_t port = kSandboxRuntimeApiPort;
  if (!sandboxed) {
    auto added = deps_.listeners->add(tag);
    if (!added.isOk()) {
      failLaunch(env, "Runtime.Unavailable", added.status().message());
      return;
    }
    port = *added;
  }
  {
    MutexLock lock(&mu_);
    env->listener_tag = tag;
    by_listener_[tag] = env->ee;
  }
  LaunchSpec launch_spec = buildLaunchSpec(env->id, env->spec, *code_dir, std::move(command.argv),
                                           port, deps_.launch_context);
  std::weak_ptr<Managed> weak = env;
  auto sandbox = deps_.launcher->launch(
      launch_spec,
      [weak](OutputStream stream, std::string line) {
        if (auto self = weak.lock()) {
          self->ee->onOutputLine(stream == OutputStream::kStderr, std::move(line));
        }
      },
      [this, weak](int exit_code) {
        if (auto self = weak.lock()) {
          onExit(self, exit_code);
        }
      });
  if (!sandbox.isOk()) {
    {
      MutexLock lock(&mu_);
      by_listener_.erase(tag);
    }
    deps_.listeners->remove(tag);
    failLaunch(env, "Runtime.InvalidEntrypoint", sandbox.status().message());
    return;
  }
  Status adopted = Status::ok();
  if (sandboxed) {
    int listener = (*sandbox)->takeRuntimeApiListener();
    adopted = listener >= 0 ? deps_.listeners->adopt(tag, listener).status()
                            : internalError("the sandbox has no Runtime API listener");
  }
  Sandbox* orphan = nullptr;  // owned by *env
  bool exited_already = false;
  {
    MutexLock lock(&mu_);
    env->sandbox = std::move(sandbox).value();
    exited_already = env->exited;  // its exit removed the listener before it was adopted
    if (stopping_ || !environments_.contains(env->id) || !adopted.isOk()) {
      orphan = env->sandbox.get();  // stopped while it launched, or unreachable
      by_listener_.erase(tag);
    }
  }
  if (!adopted.isOk()) {
    spdlog::warn("environment {}: cannot serve its Runtime API: {}", env->id, adopted.message());
  }
  if (orphan) {
    orphan->terminate(std::chrono::milliseconds(adopted.isOk() ? 500 : 0));
  }
  if (orphan || exited_already) {
    deps_.listeners->remove(tag);
  }
}

void EnvironmentSupervisor::onExit(const std::shared_ptr<Managed>& env, int exit_code) {
  Sandbox* sandbox = nullptr;  // owned by *env, which outlives this call
  {
    MutexLock lock(&mu_);
    sandbox = env->sandbox.get();
  }
  env->ee->onExit(exit_code, sandbox != nullptr && sandbox->outOfMemory());
  uint64_t listener_tag = 0;
  {
    MutexLock lock(&mu_);
    env->exited = true;
    by_listener_.erase(env->listener_tag);
    listener_tag = env->listener_tag;
  }
  if (listener_tag != 0) {
    deps_.listeners->remove(listener_tag);
  }
  notifyChanged();
}

ExecutionEnvironmentPtr EnvironmentSupervisor::environment(const std::string& id) {
  MutexLock lock(&mu_);
  auto it = environments_.find(id);
  return it == environments_.end() ? nullptr : it->second->ee;
}

ExecutionEnvironmentPtr EnvironmentSupervisor::runtimeApiOf(uint64_t tag) {
  MutexLock lock(&mu_);
  auto it = by_listener_.find(tag);
  return it == by_listener_.end() ? nullptr : it->second;
}

std::vector<ResourceMonitor::Target> EnvironmentSupervisor::monitorTargets() {
  std::vector<ResourceMonitor::Target> targets;
  MutexLock lock(&mu_);
  targets.reserve(environments_.size());
  for (const auto& entry : environments_) {
    std::shared_ptr<Managed> env = entry.second;  // kept alive while sampled
    if (env->sandbox) {
      Sandbox* sandbox = env->sandbox.get();
      targets.push_back({entry.first, sandbox->pid(), env->spec.vcpus, [env, sandbox] {
                           SandboxUsage usage = sandbox->usage();
                           return ResourceMonitor::Sample{usage.resident_bytes, usage.cpu_nanos,
                                                          usage.out_of_memory};
                         }});
    }
  }
  return targets;
}

void EnvironmentSupervisor::applyUsage(const ResourceMonitor::Snapshot& snapshot) {
  std::vector<std::pair<std::shared_ptr<Managed>, ResourceMonitor::Usage>> sampled;
  {
    MutexLock lock(&mu_);
    for (const auto& [id, usage] : snapshot) {
      if (auto it = environments_.find(id); it != environments_.end()) {
        sampled.emplace_back(it->second, usage);
      }
    }
  }
  for (const auto& [env, usage] : sampled) {
    if (usage.out_of_memory) {
      // The kernel killed a process of the EE at its memory limit: whatever it was running is
      // lost, so the whole EE stops now, its invocations fail with Runtime.OutOfMemory, and the
      // fleet replaces it.
      Sandbox* sandbox = nullptr;
      {
        MutexLock lock(&mu_);
        if (!env->exited && !env->oom_stopped) {
          env->oom_stopped = true;
          sandbox = env->sandbox.get();
        }
      }
      if (sandbox != nullptr) {
        spdlog::warn("environment {} ran out of memory; stopping it", env->id);
        sandbox->terminate(std::chrono::milliseconds(0));
      }
      continue;
    }
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

protocol::Heartbeat EnvironmentSupervisor::status(const ResourceMonitor::Snapshot& usage) {
  struct Seen {
    std::shared_ptr<Managed> env;
    bool draining;
    std::string launch_error_type;
    std::string launch_error;
  };
  std::vector<Seen> seen;
  {
    MutexLock lock(&mu_);
    seen.reserve(environments_.size());
    for (const auto& [id, env] : environments_) {
      seen.push_back({env, env->draining, env->launch_error_type, env->launch_error});
    }
  }
  protocol::Heartbeat heartbeat;
  heartbeat.instance_id = deps_.instance_id;
  heartbeat.environments.reserve(seen.size());
  for (const auto& s : seen) {
    const Managed& env = *s.env;
    const protocol::EnvironmentSpec& spec = env.spec;
    protocol::EnvironmentStatus e;
    e.id = env.id;
    e.phase = phaseOf(env.ee->state(), s.draining);
    e.outstanding = env.ee->outstanding();
    e.max_concurrency = spec.max_concurrency;
    e.init_ms = env.ee->initDurationMs();
    e.identity = protocol::EnvironmentIdentity{
        spec.function_name, spec.version,   spec.code_sha256_hex, spec.revision_id,
        spec.vcpus,         spec.memory_mb, spec.max_concurrency, spec.timeout_seconds};
    e.error_type = s.launch_error_type;
    e.error_message = s.launch_error;
    if (e.error_type.empty()) {
      e.error_type = env.ee->initErrorType();
      e.error_message = env.ee->initErrorMessage();
    }
    if (auto u = usage.find(env.id); u != usage.end()) {
      e.resident_bytes = u->second.resident_bytes;
      e.cpu_utilization = u->second.cpu_utilization;
    }
    heartbeat.environments.push_back(std::move(e));
  }
  return heartbeat;
}

}  // namespace hearth
