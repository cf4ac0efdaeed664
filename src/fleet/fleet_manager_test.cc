#include "fleet/fleet_manager.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace hearth {
namespace {

using namespace std::chrono_literals;

class FakeDesired final : public DesiredSource, public VersionStateSink {
 public:
  Result<DesiredFleet> read() override {
    std::lock_guard lock(mu);
    if (down) {
      return Status(StatusCode::kUnavailable, "store down");
    }
    return fleet;
  }
  Status setVersionState(const SetVersionState& change) override {
    std::lock_guard lock(mu);
    for (auto& d : fleet.versions) {
      if (d.key == change.key) {
        d.state = change.state;
      }
    }
    return Status::ok();
  }
  std::mutex mu;
  DesiredFleet fleet;
  bool down = false;
};

// Records launches; each launch may report an exit at once from another thread, as a crashing
// agent would, racing the manager.
class FakeInstances final : public InstanceProvider {
 public:
  Status launch(const InstanceLaunch& launch) override {
    std::lock_guard lock(mu);
    launched.push_back(launch.instance_id);
    if (fail) {
      return Status(StatusCode::kUnavailable, "no such binary");
    }
    if (exit_at_once && on_exit) {
      threads.emplace_back([cb = on_exit, id = launch.instance_id] { cb(id, 1); });
    }
    return Status::ok();
  }
  void terminate(const std::string& id) override {
    std::lock_guard lock(mu);
    terminated.push_back(id);
  }
  std::vector<RecoveredInstance> recover() override { return recovered; }
  std::vector<RecoveredInstance> recovered;
  void join() {
    std::vector<std::thread> all;
    {
      std::lock_guard lock(mu);
      all.swap(threads);
    }
    for (auto& t : all) {
      t.join();
    }
  }
  std::mutex mu;
  std::vector<std::string> launched;
  std::vector<std::string> terminated;
  std::vector<std::thread> threads;
  bool exit_at_once = false;
  bool fail = false;
  std::function<void(const std::string&, int)> on_exit;
};

struct Event {
  std::string what;  // "start", "stop", "publish"
  std::string id;
  int64_t drain_ms = 0;
  size_t routable = 0;
};

class Recorder final : public AgentChannel, public RouteSink {
 public:
  void startEnvironment(const std::string&, uint16_t, const std::string& id,
                        const protocol::EnvironmentSpec&,
                        std::function<void(StartResult)> done) override {
    StartResult result = StartResult::kAccepted;
    {
      std::lock_guard lock(mu);
      events.push_back({"start", id});
      result = start_result;
    }
    done(result);
  }
  StartResult start_result = StartResult::kAccepted;
  void stopEnvironment(const std::string&, uint16_t, const std::string& id,
                       std::chrono::milliseconds drain) override {
    std::lock_guard lock(mu);
    events.push_back({"stop", id, drain.count()});
  }
  void publish(RoutingTable table) override {
    size_t slots = 0;
    std::string ids;
    for (const auto& [fn, route] : table.functions) {
      for (const auto& [v, version] : route.versions) {
        slots += version.slots.size();
        for (const auto& s : version.slots) {
          ids += s->environment_id + ",";
        }
      }
    }
    std::lock_guard lock(mu);
    events.push_back({"publish", ids, 0, slots});
  }
  RouteSlotPtr slotFor(const std::string& id, const std::string& host, uint16_t port,
                       int max) override {
    auto slot = std::make_shared<RouteSlot>();
    slot->environment_id = id;
    slot->host = host;
    slot->port = port;
    slot->max_concurrency = max;
    return slot;
  }
  std::mutex mu;
  std::vector<Event> events;
};

class FleetManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Creates spdlog's registry on this thread before the manager's threads log (spdlog is not
    // built with TSan, so a first use racing on two threads reads as a race); quiets the output.
    spdlog::set_level(spdlog::level::warn);
    auto catalog = InstanceCatalog::parse(InstanceCatalog::embeddedJson());
    ASSERT_TRUE(catalog.isOk());
    catalog_ = std::move(catalog).value();
    DesiredVersion d;
    d.key = {"fn", "1"};
    d.capacity_provider = "pool";
    d.deployment = {"sha", "rev"};
    d.scaling.min_environments = 3;
    d.size = EnvironmentSize{1, 2048, 2.0};
    d.timeout_seconds = 10;
    d.spec.function_name = "fn";
    d.spec.runtime = "python3.13";
    d.spec.code_sha256_hex = "sha";
    d.zones = {"a", "b", "c"};
    desired_.fleet.versions.push_back(d);
  }

  std::unique_ptr<FleetManager> make(FakeInstances* instances = nullptr,
                                     FleetOptions options = {}) {
    FleetDeps deps;
    deps.desired = &desired_;
    deps.versions = &desired_;
    deps.instances = instances != nullptr ? instances : &instances_;
    deps.agents = &recorder_;
    deps.routes = &recorder_;
    deps.policy = &policy_;
    deps.clock = &clock_;
    deps.agent_token = "token";
    return std::make_unique<FleetManager>(options, catalog_, deps);
  }

  HttpResponse agent(FleetManager& fleet, std::string path, std::string body) {
    HttpRequest request;
    request.method = "POST";
    request.target = "/_hearth/agent/v1/" + path;
    request.headers.emplace_back("X-Hearth-Agent-Token", "token");
    request.body = std::move(body);
    return fleet.handleAgentRequest(request);
  }

  // Registers every launched instance and reports its EEs in `phase`.
  void reportAll(FleetManager& fleet, protocol::EnvironmentPhase phase) {
    ObservedFleet observed = fleet.observed();
    int port = 7000;
    for (const auto& [id, instance] : observed.instances) {
      if (instance.state == InstanceState::kPending) {
        protocol::Registration r{id,
                                 "127.0.0.1",
                                 static_cast<uint16_t>(++port),
                                 instance.zone,
                                 instance.type.name,
                                 2,
                                 4096,
                                 1};
        ASSERT_EQ(agent(fleet, "register", protocol::encode(r)).status, 200);
      }
      protocol::Heartbeat hb{id, {}};
      for (const auto& [eid, env] : observed.environments) {
        if (env.instance_id == id && env.state != PlacedState::kAssigned) {
          hb.environments.push_back(
              {eid, phase, 0, 16, 5, "", "", std::nullopt, std::nullopt, std::nullopt});
        }
      }
      ASSERT_EQ(agent(fleet, "heartbeat", protocol::encode(hb)).status, 200);
    }
  }

  InstanceCatalog catalog_;
  FakeDesired desired_;
  FakeInstances instances_;
  Recorder recorder_;
  MinimumEnvironmentsPolicy policy_;
  FakeClock clock_;
};

TEST_F(FleetManagerTest, ActivatesAVersionThroughTheAgentProtocol) {
  auto fleet = make();
  ASSERT_TRUE(fleet->reconcileOnce(clock_.steadyNow()));
  EXPECT_EQ(instances_.launched.size(), 3u);
  reportAll(*fleet, protocol::EnvironmentPhase::kStarting);
  ASSERT_TRUE(fleet->reconcileOnce(clock_.steadyNow()));
  clock_.advance(3s);  // past the start-report grace
  reportAll(*fleet, protocol::EnvironmentPhase::kReady);
  ASSERT_TRUE(fleet->reconcileOnce(clock_.steadyNow()));
  EXPECT_EQ(desired_.fleet.versions[0].state, VersionState::kActive);
  EXPECT_EQ(fleet->stats().ready_environments, 3u);
  std::lock_guard lock(recorder_.mu);
  ASSERT_FALSE(recorder_.events.empty());
  EXPECT_EQ(recorder_.events.back().what, "publish");
  EXPECT_EQ(recorder_.events.back().routable, 3u);
}

TEST_F(FleetManagerTest, ARemovedEnvironmentLeavesTheRoutesBeforeItsAgentIsAskedToDrain) {
  auto fleet = make();
  fleet->reconcileOnce(clock_.steadyNow());
  reportAll(*fleet, protocol::EnvironmentPhase::kStarting);
  fleet->reconcileOnce(clock_.steadyNow());
  clock_.advance(3s);
  reportAll(*fleet, protocol::EnvironmentPhase::kReady);
  fleet->reconcileOnce(clock_.steadyNow());
  {
    std::lock_guard lock(desired_.mu);
    desired_.fleet.versions[0].scaling.min_environments = 1;
  }
  size_t before = 0;
  {
    std::lock_guard lock(recorder_.mu);
    before = recorder_.events.size();
  }
  fleet->reconcileOnce(clock_.steadyNow());
  std::lock_guard lock(recorder_.mu);
  std::vector<Event> pass(recorder_.events.begin() + before, recorder_.events.end());
  ASSERT_EQ(pass.size(), 3u);
  EXPECT_EQ(pass[0].what, "publish");
  EXPECT_EQ(pass[0].routable, 1u);
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(pass[i].what, "stop");
    EXPECT_EQ(pass[i].drain_ms, 15000) << "Timeout 10 s + 5 s grace";
    EXPECT_EQ(pass[0].id.find(pass[i].id), std::string::npos) << "not routable any more";
  }
}

TEST_F(FleetManagerTest, AStoreOutageSkipsThePassAndKeepsTheFleet) {
  auto fleet = make();
  fleet->reconcileOnce(clock_.steadyNow());
  desired_.down = true;
  EXPECT_FALSE(fleet->reconcileOnce(clock_.steadyNow()));
  EXPECT_EQ(fleet->observed().environments.size(), 3u);
  EXPECT_TRUE(instances_.terminated.empty());
}

TEST_F(FleetManagerTest, BadAgentInputIsRefusedNotThrown) {
  auto fleet = make();
  EXPECT_EQ(agent(*fleet, "register", R"({"instanceId":"i-1","address":"h:99999999999"})").status,
            400);
  EXPECT_EQ(agent(*fleet, "register", "{").status, 400);
  EXPECT_EQ(agent(*fleet, "heartbeat", R"({"instanceId":"nobody"})").status, 404);
  HttpRequest no_token;
  no_token.method = "POST";
  no_token.target = "/_hearth/agent/v1/register";
  EXPECT_EQ(fleet->handleAgentRequest(no_token).status, 403);
}

TEST_F(FleetManagerTest, AFailedLaunchFailsAPendingVersionWithoutRetryingInATightLoop) {
  instances_.fail = true;
  auto fleet = make();
  fleet->reconcileOnce(clock_.steadyNow());
  EXPECT_EQ(instances_.launched.size(), 3u);
  fleet->reconcileOnce(clock_.steadyNow());
  EXPECT_EQ(desired_.fleet.versions[0].state, VersionState::kFailed);
  fleet->reconcileOnce(clock_.steadyNow());
  EXPECT_EQ(instances_.launched.size(), 3u) << "a Failed version launches nothing more";
}

TEST_F(FleetManagerTest, ARefusedStartFailsAPendingVersion) {
  recorder_.start_result = AgentChannel::StartResult::kRefused;
  auto fleet = make();
  fleet->reconcileOnce(clock_.steadyNow());
  reportAll(*fleet, protocol::EnvironmentPhase::kStarting);
  fleet->reconcileOnce(clock_.steadyNow());  // starts are sent and refused
  fleet->reconcileOnce(clock_.steadyNow());
  EXPECT_EQ(desired_.fleet.versions[0].state, VersionState::kFailed);
}

TEST_F(FleetManagerTest, ARestartedServerAdoptsTheEnvironmentsOfAgentsThatOutlivedIt) {
  InstanceType type{"c7i.xlarge", "c", "x86_64", 4, 8192, 0.2};
  for (const char* zone : {"a", "b", "c"}) {
    instances_.recovered.push_back(
        {{std::string("i-old-") + zone, "pool", zone, type}, "127.0.0.1", 7001});
  }
  desired_.fleet.versions[0].state = VersionState::kActive;
  auto fleet = make();
  fleet->recover();
  EXPECT_TRUE(fleet->recovering());
  ASSERT_TRUE(fleet->reconcileOnce(clock_.steadyNow()));
  EXPECT_TRUE(instances_.launched.empty()) << "nothing is placed before the agents report";
  int n = 0;
  for (const char* zone : {"a", "b", "c"}) {
    protocol::EnvironmentIdentity identity{"fn", "1", "sha", "rev", 1, 2048, 16, 10};
    protocol::Heartbeat hb{std::string("i-old-") + zone,
                           {{"ee-old-" + std::to_string(++n), protocol::EnvironmentPhase::kReady, 0,
                             16, 5, "", "", std::nullopt, std::nullopt, identity}}};
    auto reply = agent(*fleet, "heartbeat", protocol::encode(hb));
    ASSERT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, R"({"stop":[]})") << "adopted, not stopped";
  }
  EXPECT_FALSE(fleet->recovering());
  ASSERT_TRUE(fleet->reconcileOnce(clock_.steadyNow()));
  EXPECT_TRUE(instances_.launched.empty()) << "the adopted EEs are the fleet";
  EXPECT_EQ(fleet->stats().ready_environments, 3u);
  std::lock_guard lock(recorder_.mu);
  ASSERT_FALSE(recorder_.events.empty());
  EXPECT_EQ(recorder_.events.back().what, "publish");
  EXPECT_EQ(recorder_.events.back().routable, 3u);
  for (const auto& e : recorder_.events) {
    EXPECT_NE(e.what, "stop");
    EXPECT_NE(e.what, "start");
  }
}

TEST_F(FleetManagerTest, AnAdoptedAgentThatNeverReportsIsLostAndItsWorkPlacedAgain) {
  InstanceType type{"c7i.xlarge", "c", "x86_64", 4, 8192, 0.2};
  instances_.recovered.push_back({{"i-dead", "pool", "a", type}, "127.0.0.1", 7001});
  desired_.fleet.versions[0].state = VersionState::kActive;
  auto fleet = make();
  fleet->recover();
  fleet->reconcileOnce(clock_.steadyNow());
  EXPECT_TRUE(instances_.launched.empty());
  clock_.advance(4s);  // past the heartbeat timeout
  fleet->reconcileOnce(clock_.steadyNow());
  EXPECT_FALSE(fleet->recovering());
  EXPECT_EQ(instances_.launched.size(), 3u);
}

// Shutdown while agents exit and launches run: nothing may hang (the old manager held its lock
// across launches that waited on the thread delivering exits).
TEST_F(FleetManagerTest, ShutdownWhileAgentsExitAndLaunchesRunNeverHangs) {
  for (int round = 0; round < 200; ++round) {
    FakeInstances instances;
    instances.exit_at_once = true;
    FleetOptions options;
    options.reconcile_interval = 1ms;
    auto fleet = make(&instances, options);
    FleetManager* raw = fleet.get();
    instances.on_exit = [raw](const std::string& id, int code) { raw->onInstanceExit(id, code); };
    fleet->start();
    std::thread poker([raw] {
      for (int i = 0; i < 20; ++i) {
        raw->poke();
      }
    });
    poker.join();
    fleet->stop();
    instances.join();
  }
}

}  // namespace
}  // namespace hearth
