#include "fleet/fleet_manager.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/ids.h"
#include "fleet/fleet_sampler.h"

namespace hearth {

std::string RandomIdSource::newInstanceId() {
  std::string hex;
  for (char c : newUuid()) {
    if (c != '-' && hex.size() < 17) {
      hex += c;
    }
  }
  return "i-" + hex;
}

std::string RandomIdSource::newEnvironmentId() {
  return "ee-" + newUuid().substr(0, 13);
}

FleetManager::FleetManager(FleetOptions options, InstanceCatalog catalog, FleetDeps deps)
    : options_(options),
      catalog_(std::move(catalog)),
      deps_(std::move(deps)),
      own_ids_(deps_.ids == nullptr ? std::make_unique<RandomIdSource>() : nullptr),
      state_([this] { poke(); }),
      registry_(&state_, deps_.logs, deps_.code, deps_.clock, deps_.agent_token),
      executor_(deps_.instances, deps_.agents, deps_.versions, &state_),
      publisher_(deps_.routes) {
  if (own_ids_) {
    deps_.ids = own_ids_.get();
  }
}

FleetManager::~FleetManager() {
  stop();
}

void FleetManager::start() {
  thread_ = std::thread([this] { loop(); });
}

void FleetManager::stop() {
  {
    MutexLock lock(&mu_);
    if (stopping_) {
      return;
    }
    stopping_ = true;
  }
  wake_.notifyAll();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void FleetManager::recover() {
  if (deps_.instances == nullptr) {
    return;
  }
  std::vector<ObservedInstance> adopted;
  for (const auto& r : deps_.instances->recover()) {
    ObservedInstance instance;
    instance.id = r.launch.instance_id;
    instance.capacity_provider = r.launch.capacity_provider;
    instance.zone = r.launch.zone;
    instance.type = r.launch.type;
    instance.host = r.host;
    instance.port = r.port;
    adopted.push_back(std::move(instance));
  }
  state_.adopt(adopted, deps_.clock->steadyNow());
}

void FleetManager::poke() {
  {
    MutexLock lock(&mu_);
    poked_ = true;
  }
  wake_.notifyAll();
}

void FleetManager::onInstanceExit(const std::string& instance_id, int exit_code) {
  spdlog::warn("fleet: instance {} exited with code {}", instance_id, exit_code);
  state_.onInstanceExit(instance_id);
}

bool FleetManager::reconcileOnce(SteadyTime now) {
  MutexLock pass(&reconcile_mu_);
  auto desired = deps_.desired->read();
  if (!desired.isOk()) {
    spdlog::warn("fleet: cannot read the desired fleet: {}", desired.status().toString());
    return false;
  }
  ObservedFleet observed = state_.snapshot();
  if (deps_.metrics != nullptr &&
      (last_sample_ == SteadyTime{} || now - last_sample_ >= options_.sample_interval)) {
    sample(*desired, observed, now);
    // The load only changes with a sample: the passes in between reuse it.
    signals_ = signalsFrom(deps_.metrics->history().since(
        now - options_.signal_window,
        static_cast<size_t>(options_.signal_window / options_.sample_interval) + 2));
  }
  PlanInput input;
  input.desired = &*desired;
  input.observed = &observed;
  input.catalog = &catalog_;
  input.policy = deps_.policy;
  input.signals = &signals_;
  input.ids = deps_.ids;
  input.options = options_.planner;
  input.now = now;
  FleetPlan plan = hearth::plan(input);
  state_.apply(plan, now);
  if (deps_.metrics != nullptr) {
    for (auto& entry :
         activityOf(plan, last_scaling_, last_limited_, observed, deps_.clock->wallNow())) {
      spdlog::info("fleet: {} {}{}{} {}{} {}", entry.kind, entry.function,
                   entry.version.empty() ? "" : ":", entry.version, entry.subject,
                   entry.to != entry.from ? fmt::format(" {} → {}", entry.from, entry.to) : "",
                   entry.reason);
      deps_.metrics->activity().record(std::move(entry));
    }
  }
  last_scaling_ = plan.scaling;
  last_limited_ = plan.capacity_limited;
  publisher_.publishIfChanged(*desired, state_.snapshot());
  executor_.execute(plan);
  passes_.fetch_add(1);
  return true;
}

void FleetManager::sample(const DesiredFleet& desired, const ObservedFleet& observed,
                          SteadyTime now) {
  std::vector<RequestTotals> totals;
  std::map<std::string, int> in_flight;
  if (deps_.requests != nullptr) {
    totals = deps_.requests->requestTotals();
    in_flight = deps_.requests->inFlightByEnvironment();
  }
  SampleInput input;
  input.desired = &desired;
  input.observed = &observed;
  input.totals = &totals;
  input.previous = &last_totals_;
  input.in_flight = &in_flight;
  input.decisions = &last_scaling_;
  input.now = now;
  input.wall = deps_.clock->wallNow();
  input.interval_seconds = last_sample_ == SteadyTime{}
                               ? std::chrono::duration<double>(options_.sample_interval).count()
                               : std::chrono::duration<double>(now - last_sample_).count();
  FleetSample sample = sampleFleet(input);
  last_sample_ = now;
  last_totals_ = totals;
  deps_.metrics->record(std::move(sample), std::move(totals));
}

void FleetManager::loop() {
  for (;;) {
    {
      MutexLock lock(&mu_);
      if (stopping_) {
        return;
      }
      poked_ = false;
    }
    reconcileOnce(deps_.clock->steadyNow());
    MutexLock lock(&mu_);
    auto until = std::chrono::steady_clock::now() + options_.reconcile_interval;
    while (!stopping_ && !poked_ && std::chrono::steady_clock::now() < until) {
      wake_.waitFor(&mu_, until - std::chrono::steady_clock::now());
    }
  }
}

}  // namespace hearth
