#include "fleet/fleet_executor.h"

#include <spdlog/spdlog.h>

#include "net/async_http_client.h"

namespace hearth {

void HttpAgentChannel::startEnvironment(const std::string& host, uint16_t port,
                                        const std::string& environment_id,
                                        const protocol::EnvironmentSpec& spec,
                                        std::function<void(StartResult)> done) {
  HttpRequest request;
  request.method = "PUT";
  request.target = "/agent/v1/environments/" + environment_id;
  request.headers.emplace_back(std::string(protocol::kTokenHeader), token_);
  request.headers.emplace_back("Content-Type", "application/json");
  request.body = protocol::encode(spec);
  client_->send(
      host, port, std::move(request), std::chrono::seconds(10),
      [done = std::move(done)](Result<HttpResponse> response) {
        if (!response.isOk()) {
          done(StartResult::kUnreachable);
        } else {
          done(response->status / 100 == 2 ? StartResult::kAccepted : StartResult::kRefused);
        }
      });
}

void HttpAgentChannel::stopEnvironment(const std::string& host, uint16_t port,
                                       const std::string& environment_id,
                                       std::chrono::milliseconds drain) {
  HttpRequest request;
  request.method = "DELETE";
  request.target = protocol::stopTarget(environment_id, drain.count());
  request.headers.emplace_back(std::string(protocol::kTokenHeader), token_);
  client_->send(host, port, std::move(request), std::chrono::seconds(10),
                [](Result<HttpResponse>) {});
}

namespace {
std::string_view versionStateName(VersionState state) {
  switch (state) {
    case VersionState::kPending:
      return "Pending";
    case VersionState::kActive:
      return "Active";
    case VersionState::kFailed:
      return "Failed";
    case VersionState::kInactive:
      return "Inactive";
    case VersionState::kDeactivating:
      return "Deactivating";
    case VersionState::kDeactivated:
      return "Deactivated";
  }
  return "Pending";
}
}  // namespace

void FleetExecutor::execute(const FleetPlan& plan) {
  for (const auto& action : plan.actions) {
    if (const auto* launch = std::get_if<LaunchInstance>(&action)) {
      const ObservedInstance& i = launch->instance;
      Status launched = provider_ != nullptr
                            ? provider_->launch({i.id, i.capacity_provider, i.zone, i.type})
                            : Status(StatusCode::kUnavailable, "no instance provider");
      if (!launched.isOk()) {
        spdlog::error("fleet: cannot launch instance {}: {}", i.id, launched.toString());
        state_->onLaunchFailed(i.id, launched.message());
      } else {
        spdlog::info("fleet: launched instance {} ({}, zone {}) for {}", i.id, i.type.name, i.zone,
                     i.capacity_provider);
      }
    } else if (const auto* terminate = std::get_if<TerminateInstance>(&action)) {
      if (terminate->lost) {
        spdlog::warn("fleet: instance {} lost", terminate->instance_id);
      }
      if (provider_ != nullptr) {
        provider_->terminate(terminate->instance_id);
      }
    } else if (const auto* start = std::get_if<StartEnvironment>(&action)) {
      FleetState* state = state_;
      std::string id = start->environment_id;
      agents_->startEnvironment(
          start->host, start->port, id, start->spec, [state, id](AgentChannel::StartResult result) {
            if (result != AgentChannel::StartResult::kAccepted) {
              state->onStartFailed(id, result == AgentChannel::StartResult::kRefused);
            }
          });
    } else if (const auto* drain = std::get_if<DrainEnvironment>(&action)) {
      if (!drain->host.empty() && drain->port != 0) {
        agents_->stopEnvironment(drain->host, drain->port, drain->environment_id, drain->drain);
      }
    } else if (const auto* change = std::get_if<SetVersionState>(&action)) {
      Status status = versions_->setVersionState(*change);
      if (!status.isOk()) {
        spdlog::warn("fleet: cannot set {}:{} {}: {}", change->key.function, change->key.version,
                     versionStateName(change->state), status.toString());
      } else {
        spdlog::info("fleet: {}:{} is {}{}", change->key.function, change->key.version,
                     versionStateName(change->state),
                     change->reason_code.empty() ? "" : " (" + change->reason_code + ")");
      }
    }
  }
}

}  // namespace hearth
