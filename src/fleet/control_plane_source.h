#pragma once

#include "common/result.h"
#include "fleet/fleet_executor.h"
#include "fleet/fleet_model.h"

namespace hearth {

class CapacityProviderRegistry;
class FunctionRegistry;

// Reads what the control plane wants of the fleet. Thread-compatible: called from the reconcile
// thread.
class DesiredSource {
 public:
  virtual ~DesiredSource() = default;
  // One consistent read per pass. An error (the Store is down) must not read as "nothing is
  // wanted": the caller then skips the pass.
  virtual Result<DesiredFleet> read() = 0;
};

// The control plane as the fleet's DesiredSource and VersionStateSink: the JSON edge, where
// stored FunctionConfiguration and capacity-provider documents become typed DesiredVersions.
class ControlPlaneSource final : public DesiredSource, public VersionStateSink {
 public:
  // Pointers must outlive this object.
  ControlPlaneSource(FunctionRegistry* functions, CapacityProviderRegistry* providers,
                     int default_min_environments)
      : functions_(functions),
        providers_(providers),
        default_min_environments_(default_min_environments) {}

  Result<DesiredFleet> read() override;
  Status setVersionState(const SetVersionState& change) override;

 private:
  FunctionRegistry* functions_;
  CapacityProviderRegistry* providers_;
  int default_min_environments_;
};

// Per-vCPU default of PerExecutionEnvironmentMaxConcurrency for a runtime (Node 64, Java and
// .NET 32, Python 16, others 8).
int defaultConcurrencyPerVCpu(const std::string& runtime);

}  // namespace hearth
