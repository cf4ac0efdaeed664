#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "common/status.h"
#include "fleet/fleet_state.h"
#include "fleet/instance_provider.h"
#include "fleet/planner.h"

namespace hearth {

class AsyncHttpClient;

// Sends EE starts and stops to agents. Thread-safe; callbacks may run on any thread, or inline.
class AgentChannel {
 public:
  virtual ~AgentChannel() = default;
  enum class StartResult { kAccepted, kRefused, kUnreachable };
  // `done` once the agent accepted the spec, refused it (an answer other than 2xx) or could not
  // be reached.
  virtual void startEnvironment(const std::string& host, uint16_t port,
                                const std::string& environment_id,
                                const protocol::EnvironmentSpec& spec,
                                std::function<void(StartResult)> done) = 0;
  // Fire and forget: a lost stop is repeated by the heartbeat (the agent reports an EE the
  // server no longer knows, and is told to stop it).
  virtual void stopEnvironment(const std::string& host, uint16_t port,
                               const std::string& environment_id,
                               std::chrono::milliseconds drain) = 0;
};

// The agent protocol's EE routes over the pooled async HTTP client.
class HttpAgentChannel final : public AgentChannel {
 public:
  HttpAgentChannel(AsyncHttpClient* client, std::string token)
      : client_(client), token_(std::move(token)) {}
  void startEnvironment(const std::string& host, uint16_t port, const std::string& environment_id,
                        const protocol::EnvironmentSpec& spec,
                        std::function<void(StartResult)> done) override;
  void stopEnvironment(const std::string& host, uint16_t port, const std::string& environment_id,
                       std::chrono::milliseconds drain) override;

 private:
  AsyncHttpClient* client_;
  std::string token_;
};

// Where version states go (the control plane).
class VersionStateSink {
 public:
  virtual ~VersionStateSink() = default;
  virtual Status setVersionState(const SetVersionState& change) = 0;
};

// Carries out a plan's effects, in order: launches and terminations through the instance
// provider, EE starts and drains through the agent channel, version states through the sink.
// Holds no lock while it does, and reports failures back into the FleetState. Runs on the
// reconcile thread. Pointers must outlive it.
class FleetExecutor {
 public:
  FleetExecutor(InstanceProvider* provider, AgentChannel* agents, VersionStateSink* versions,
                FleetState* state)
      : provider_(provider), agents_(agents), versions_(versions), state_(state) {}

  void execute(const FleetPlan& plan);

 private:
  InstanceProvider* provider_;
  AgentChannel* agents_;
  VersionStateSink* versions_;
  FleetState* state_;
};

}  // namespace hearth
