#include "agent/environment_supervisor.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <set>
#include <utility>

#include "agent/code_cache.h"
#include "agent/log_buffer.h"
#include "net/fake_event_loop.h"

namespace hearth {
namespace {

using namespace std::chrono_literals;
using protocol::EnvironmentPhase;

class FakeCode final : public CodeSource {
 public:
  Result<std::string> ensure(const std::string& hex) override {
    if (missing.contains(hex)) {
      return Status(StatusCode::kUnavailable, "no package " + hex);
    }
    return "/code/" + hex;
  }
  std::set<std::string> missing;
};

class FakeFiles final : public FileProbe {
 public:
  bool isExecutable(const std::string& path) const override { return executable.contains(path); }
  bool isReadable(const std::string& path) const override { return executable.contains(path); }
  std::string findOnPath(const std::string& program) const override {
    return executable.contains(program) ? program : "";
  }
  std::set<std::string> executable;
};

class FakeListeners final : public RuntimeApiListeners {
 public:
  Result<uint16_t> add(uint64_t tag) override {
    open.insert(tag);
    return static_cast<uint16_t>(9000 + tag);
  }
  Result<uint16_t> adopt(uint64_t tag, int fd) override {
    ::close(fd);
    open.insert(tag);
    return kSandboxRuntimeApiPort;
  }
  void remove(uint64_t tag) override { open.erase(tag); }
  std::set<uint64_t> open;
};

struct FakeSandbox final : Sandbox {
  FakeSandbox(std::optional<std::chrono::milliseconds>* terminated, const bool* out_of_memory,
              int listener)
      : terminated(terminated), out_of_memory(out_of_memory), listener(listener) {}
  ~FakeSandbox() override {
    if (listener >= 0) {
      ::close(listener);
    }
  }
  int pid() const override { return 4242; }
  void terminate(std::chrono::milliseconds grace) override { *terminated = grace; }
  int64_t residentBytes() const override { return 0; }
  bool outOfMemory() const override { return *out_of_memory; }
  int takeRuntimeApiListener() override { return std::exchange(listener, -1); }
  std::optional<std::chrono::milliseconds>* terminated;
  const bool* out_of_memory;
  int listener;
};

class FakeLauncher final : public SandboxLauncher {
 public:
  struct Launched {
    LaunchSpec spec;
    ExitCallback on_exit;
    std::optional<std::chrono::milliseconds> terminated;
    bool out_of_memory = false;
  };
  // A sandboxing launcher hands back a listener made inside the sandbox (here: any descriptor).
  Result<SandboxPtr> launch(const LaunchSpec& spec, OutputCallback, ExitCallback on_exit) override {
    auto& launched = by_id[spec.id];
    launched.spec = spec;
    launched.on_exit = std::move(on_exit);
    int listener = spec.runtime_api_port != 0 ? ::open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
    return SandboxPtr(
        std::make_unique<FakeSandbox>(&launched.terminated, &launched.out_of_memory, listener));
  }
  std::map<std::string, Launched> by_id;
};

class EnvironmentSupervisorTest : public ::testing::Test {
 protected:
  EnvironmentSupervisorTest() { makeSupervisor(false); }

  void makeSupervisor(bool sandboxed) {
    files_.executable.insert("/code/abc/bootstrap");
    EnvironmentSupervisor::Deps deps;
    deps.launch_context.sandboxed = sandboxed;
    deps.launcher = &launcher_;
    deps.loop = &loop_;
    deps.submit_launch = [this](std::function<void()> task) {
      if (queue_full_) {
        return false;
      }
      queued_.push_back(std::move(task));
      return true;
    };
    deps.logs = &logs_;
    deps.code = &code_;
    deps.files = &files_;
    deps.listeners = &listeners_;
    deps.clock = &clock_;
    deps.instance_id = "i-1";
    deps.changed = [this] { ++changes_; };
    supervisor_ = std::make_unique<EnvironmentSupervisor>(std::move(deps));
  }

  static protocol::EnvironmentSpec spec(std::string code = "abc") {
    protocol::EnvironmentSpec s;
    s.function_name = "fn";
    s.version = "1";
    s.runtime = "provided.al2023";
    s.handler = "h";
    s.code_sha256_hex = std::move(code);
    s.memory_mb = 1024;
    s.max_concurrency = 4;
    s.timeout_seconds = 30;
    return s;
  }

  void runLaunches() {
    auto tasks = std::move(queued_);
    queued_.clear();
    for (auto& task : tasks) {
      task();
    }
  }

  std::optional<protocol::EnvironmentStatus> statusOf(const std::string& id) {
    for (auto& e : supervisor_->status({}).environments) {
      if (e.id == id) {
        return e;
      }
    }
    return std::nullopt;
  }

  static InvokeRequest request(std::string id) {
    InvokeRequest r;
    r.request_id = std::move(id);
    return r;
  }

  // Makes the EE ready (its runtime polls /next) and leaves one invocation outstanding.
  std::shared_ptr<std::optional<InvokeResult>> startBusy(const std::string& id) {
    EXPECT_EQ(supervisor_->start(id, spec()), EnvironmentSupervisor::StartOutcome::kAccepted);
    runLaunches();
    auto ee = supervisor_->environment(id);
    HttpRequest poll{"GET", "/2018-06-01/runtime/invocation/next", {}, "", "", 0};
    ee->handleRuntimeRequest(poll, [](HttpResponse) {});
    auto result = std::make_shared<std::optional<InvokeResult>>();
    InvokeRequest request;
    request.request_id = "req-1";
    request.deadline_epoch_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_.wallNow().time_since_epoch())
            .count() +
        30000;
    ee->invoke(request, [result](InvokeResult r) { *result = std::move(r); });
    EXPECT_EQ(ee->outstanding(), 1);
    return result;
  }

  FakeLauncher launcher_;
  FakeEventLoop loop_;
  FakeClock clock_;
  LogBuffer logs_{100};
  FakeCode code_;
  FakeFiles files_;
  FakeListeners listeners_;
  std::vector<std::function<void()>> queued_;
  bool queue_full_ = false;
  int changes_ = 0;
  std::unique_ptr<EnvironmentSupervisor> supervisor_;
};

TEST_F(EnvironmentSupervisorTest, StartLaunchesOffThreadWithItsOwnRuntimeApi) {
  EXPECT_EQ(supervisor_->start("ee-1", spec()), EnvironmentSupervisor::StartOutcome::kAccepted);
  EXPECT_TRUE(launcher_.by_id.empty());  // nothing runs on the caller's thread
  EXPECT_EQ(supervisor_->start("ee-1", spec()), EnvironmentSupervisor::StartOutcome::kAlreadyKnown);

  runLaunches();
  ASSERT_TRUE(launcher_.by_id.contains("ee-1"));
  const LaunchSpec& launched = launcher_.by_id["ee-1"].spec;
  EXPECT_EQ(launched.argv, std::vector<std::string>{"/code/abc/bootstrap"});
  ASSERT_EQ(listeners_.open.size(), 1u);
  uint64_t tag = *listeners_.open.begin();
  EXPECT_EQ(launched.env.at("AWS_LAMBDA_RUNTIME_API"), "127.0.0.1:" + std::to_string(9000 + tag));
  EXPECT_EQ(supervisor_->runtimeApiOf(tag), supervisor_->environment("ee-1"));

  auto status = statusOf("ee-1");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->phase, EnvironmentPhase::kStarting);
  EXPECT_EQ(status->identity->code_sha256_hex, "abc");
  EXPECT_EQ(supervisor_->monitorTargets().size(), 1u);
}

TEST_F(EnvironmentSupervisorTest, AStopThatOvertakesItsStartKeepsTheEnvironmentStopped) {
  supervisor_->stop("ee-1");
  EXPECT_EQ(supervisor_->start("ee-1", spec()),
            EnvironmentSupervisor::StartOutcome::kAlreadyStopped);
  EXPECT_TRUE(queued_.empty());
}

TEST_F(EnvironmentSupervisorTest, AStopDuringTheLaunchTerminatesTheSandboxAndItsListener) {
  supervisor_->start("ee-1", spec());
  supervisor_->stop("ee-1");
  EXPECT_EQ(supervisor_->environment("ee-1"), nullptr);
  runLaunches();
  ASSERT_TRUE(launcher_.by_id.contains("ee-1"));
  EXPECT_TRUE(launcher_.by_id["ee-1"].terminated);
  EXPECT_TRUE(listeners_.open.empty());
  EXPECT_FALSE(statusOf("ee-1"));
}

TEST_F(EnvironmentSupervisorTest, DrainOfAnIdleEnvironmentStopsItAtOnce) {
  supervisor_->start("ee-1", spec());
  runLaunches();
  supervisor_->drain("ee-1", 60s);
  EXPECT_TRUE(launcher_.by_id["ee-1"].terminated);
  EXPECT_TRUE(listeners_.open.empty());
  EXPECT_FALSE(statusOf("ee-1"));
}

TEST_F(EnvironmentSupervisorTest, DrainRefusesNewWorkAndStopsOnceOutstandingWorkIsAnswered) {
  auto result = startBusy("ee-1");
  auto ee = supervisor_->environment("ee-1");
  supervisor_->drain("ee-1", 60s);

  EXPECT_EQ(statusOf("ee-1")->phase, EnvironmentPhase::kDraining);
  EXPECT_FALSE(listeners_.open.empty());  // the runtime can still answer
  std::optional<InvokeResult> refused;
  ee->invoke(request("req-2"), [&](InvokeResult r) { refused = r; });
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->outcome, InvokeOutcome::kRefused);

  loop_.fireRound(1s);  // still busy: checks again later
  EXPECT_TRUE(statusOf("ee-1"));
  EXPECT_FALSE(launcher_.by_id["ee-1"].terminated);

  std::optional<HttpResponse> ack;
  HttpRequest answer{"POST", "/2018-06-01/runtime/invocation/req-1/response", {}, "{}", "", 0};
  ee->handleRuntimeRequest(answer, [&](HttpResponse r) { ack = r; });
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->status, 202);
  loop_.runPosted();
  loop_.fireRound(1s);
  ASSERT_TRUE(*result);
  EXPECT_EQ((*result)->outcome, InvokeOutcome::kSuccess);
  EXPECT_TRUE(launcher_.by_id["ee-1"].terminated);
  EXPECT_TRUE(listeners_.open.empty());
  EXPECT_FALSE(statusOf("ee-1"));
}

TEST_F(EnvironmentSupervisorTest, DrainStopsABusyEnvironmentAtItsDeadline) {
  startBusy("ee-1");
  supervisor_->drain("ee-1", 10s);
  supervisor_->drain("ee-1", 60s);  // a later request cannot push the deadline out
  clock_.advance(9s);
  loop_.fireRound(1s);
  EXPECT_FALSE(launcher_.by_id["ee-1"].terminated);
  clock_.advance(1s);
  loop_.fireRound(1s);
  EXPECT_TRUE(launcher_.by_id["ee-1"].terminated);
  EXPECT_FALSE(statusOf("ee-1"));
}

TEST_F(EnvironmentSupervisorTest, ADrainWithoutGraceStopsABusyEnvironmentAtOnce) {
  startBusy("ee-1");
  supervisor_->drain("ee-1", 0ms);
  EXPECT_TRUE(launcher_.by_id["ee-1"].terminated);
  EXPECT_FALSE(statusOf("ee-1"));
}

TEST_F(EnvironmentSupervisorTest, LaunchFailuresAreReportedWithTheirErrorType) {
  code_.missing.insert("gone");
  supervisor_->start("no-code", spec("gone"));
  supervisor_->start("no-bootstrap", spec("other"));
  runLaunches();
  queue_full_ = true;
  supervisor_->start("no-room", spec());

  auto no_code = statusOf("no-code");
  ASSERT_TRUE(no_code);
  EXPECT_EQ(no_code->error_type, "Runtime.CodeUnavailable");
  EXPECT_EQ(statusOf("no-bootstrap")->error_type, "Runtime.InvalidEntrypoint");
  EXPECT_EQ(statusOf("no-room")->error_type, "Runtime.Unavailable");
  EXPECT_TRUE(launcher_.by_id.empty());
  EXPECT_TRUE(listeners_.open.empty());
  EXPECT_GE(changes_, 3);
}

TEST_F(EnvironmentSupervisorTest, ARuntimeExitClosesItsRuntimeApi) {
  supervisor_->start("ee-1", spec());
  runLaunches();
  int before = changes_;
  launcher_.by_id["ee-1"].on_exit(137);
  EXPECT_TRUE(listeners_.open.empty());
  EXPECT_EQ(statusOf("ee-1")->phase, EnvironmentPhase::kInitFailed);  // it never polled /next
  EXPECT_GT(changes_, before);
}

TEST_F(EnvironmentSupervisorTest, MemoryPressureMakesTheEnvironmentRefuseWork) {
  startBusy("ee-1");
  auto ee = supervisor_->environment("ee-1");
  supervisor_->applyUsage({{"ee-1", {.resident_bytes = 1024LL * 1024 * 1024}}});
  std::optional<InvokeResult> refused;
  ee->invoke(request("req-2"), [&](InvokeResult r) { refused = r; });
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->refusal, "memory");
  EXPECT_EQ(supervisor_->status({{"ee-1", {.resident_bytes = 7}}}).environments[0].resident_bytes,
            7);
}

TEST_F(EnvironmentSupervisorTest, ShutdownStopsEverythingAndRefusesNewStarts) {
  supervisor_->start("ee-1", spec());
  runLaunches();
  supervisor_->start("queued", spec());
  supervisor_->shutdown();
  supervisor_->shutdown();
  EXPECT_TRUE(launcher_.by_id["ee-1"].terminated);
  runLaunches();
  EXPECT_FALSE(launcher_.by_id.contains("queued"));  // queued launches are dropped
  EXPECT_EQ(supervisor_->start("ee-2", spec()), EnvironmentSupervisor::StartOutcome::kShuttingDown);
}

// A sandboxed EE's Runtime API is the listener its sandbox made inside, served under the EE's
// tag; the EE is told 127.0.0.1:9001 and the code at /var/task.
TEST_F(EnvironmentSupervisorTest, SandboxedEnvironmentServesTheListenerMadeInsideIt) {
  makeSupervisor(true);
  EXPECT_EQ(supervisor_->start("ee-1", spec()), EnvironmentSupervisor::StartOutcome::kAccepted);
  runLaunches();
  ASSERT_TRUE(launcher_.by_id.contains("ee-1"));
  const LaunchSpec& launched = launcher_.by_id["ee-1"].spec;
  EXPECT_EQ(launched.runtime_api_port, kSandboxRuntimeApiPort);
  EXPECT_EQ(launched.env.at("AWS_LAMBDA_RUNTIME_API"), "127.0.0.1:9001");
  EXPECT_EQ(launched.argv, (std::vector<std::string>{"/var/task/bootstrap"}));
  ASSERT_EQ(listeners_.open.size(), 1u);
  uint64_t tag = *listeners_.open.begin();
  EXPECT_EQ(supervisor_->runtimeApiOf(tag), supervisor_->environment("ee-1"));
  launcher_.by_id["ee-1"].on_exit(0);
  EXPECT_TRUE(listeners_.open.empty());
  EXPECT_EQ(supervisor_->runtimeApiOf(tag), nullptr);
}

// An out-of-memory kill fails the invocations it took down with Runtime.OutOfMemory.
TEST_F(EnvironmentSupervisorTest, AnOutOfMemoryExitFailsInvocationsWithRuntimeOutOfMemory) {
  auto result = startBusy("ee-1");
  launcher_.by_id["ee-1"].out_of_memory = true;
  launcher_.by_id["ee-1"].on_exit(128 + 9);
  ASSERT_TRUE(result->has_value());
  EXPECT_EQ((*result)->error_type, "Runtime.OutOfMemory");
  EXPECT_NE((*result)->body.find("signal: killed"), std::string::npos) << (*result)->body;
}

// A sampled out-of-memory kill stops the whole EE at once.
TEST_F(EnvironmentSupervisorTest, ASampledOutOfMemoryKillStopsTheEnvironment) {
  auto result = startBusy("ee-1");
  ResourceMonitor::Usage usage;
  usage.out_of_memory = true;
  supervisor_->applyUsage({{"ee-1", usage}});
  EXPECT_EQ(launcher_.by_id["ee-1"].terminated, std::chrono::milliseconds(0));
}

TEST(RecycleGrace, IsOffUnlessTheVariableHoldsSecondsInRange) {
  protocol::EnvironmentSpec spec;
  EXPECT_FALSE(recycleGrace(spec));
  spec.environment[kRecycleAfterTimeoutVariable] = "30";
  EXPECT_EQ(recycleGrace(spec), std::chrono::seconds(30));
  spec.environment[kRecycleAfterTimeoutVariable] = "0";
  EXPECT_EQ(recycleGrace(spec), std::chrono::seconds(0));
  for (const char* bad : {"", "-1", "3601", "10s", "ten"}) {
    spec.environment[kRecycleAfterTimeoutVariable] = bad;
    EXPECT_FALSE(recycleGrace(spec)) << bad;
  }
}

}  // namespace
}  // namespace hearth
