#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/clock.h"
#include "controlplane/model.h"

namespace hearth {

// CapacityProviderConfig.LambdaManagedInstancesCapacityProviderConfig of a function.
struct ManagedInstancesConfig {
  std::string capacity_provider_arn;
  std::optional<int64_t> per_environment_max_concurrency;  // absent: the runtime's default
  double memory_gib_per_vcpu = 2.0;                        // 2, 4 or 8

  // The provider's name: the last segment of its ARN.
  std::string capacityProviderName() const;
  bool operator==(const ManagedInstancesConfig&) const = default;
};

// A function's LoggingConfig.
struct FunctionLoggingConfig {
  std::string log_format;                            // JSON or Text
  std::optional<std::string> application_log_level;  // JSON format only
  std::optional<std::string> system_log_level;       // JSON format only
  std::string log_group;

  bool operator==(const FunctionLoggingConfig&) const = default;
};

// The configuration of $LATEST or of a published version (the FunctionConfiguration shape). The
// control plane works on this struct; JSON is only its form in API answers and in the Store.
struct FunctionConfiguration {
  std::string function_name;
  std::string function_arn;  // qualified with the version for a published version
  std::string runtime;
  std::string role;
  std::optional<std::string> handler;  // absent for an OS-only runtime created without one
  std::string description;
  int64_t timeout_seconds = 3;
  int64_t memory_size_mb = 128;
  // Environment.Variables; nullopt when the function never had an Environment.
  std::optional<std::map<std::string, std::string>> environment;
  std::string tracing_mode = "PassThrough";
  std::string architecture = "x86_64";
  int64_t ephemeral_storage_mb = 512;
  std::optional<FunctionLoggingConfig> logging;
  std::optional<ManagedInstancesConfig> managed_instances;  // CapacityProviderConfig

  std::string code_sha256;  // base64 of the zip's SHA-256
  int64_t code_size = 0;
  std::string version;  // "$LATEST" or the version number

  FunctionState state = FunctionState::kPending;
  std::string state_reason;       // empty: absent
  std::string state_reason_code;  // empty: absent
  std::string last_update_status = "Successful";
  std::string last_modified;  // AWS timestamp
  std::string revision_id;

  // The capacity provider's name, or "" for a function without one.
  std::string capacityProvider() const;
  bool runsOnCapacityProvider() const { return managed_instances.has_value(); }

  // Sets State; an empty reason clears StateReason and StateReasonCode.
  void setState(FunctionState new_state, std::string reason = "", std::string reason_code = "");
  // Records a successful update now: LastModified, a new RevisionId, LastUpdateStatus.
  void markUpdated(const Clock& clock);

  // The FunctionConfiguration shape, for the API and the Store.
  boost::json::object toJson() const;
  // From the Store. Members that are absent or of another type keep their defaults.
  static FunctionConfiguration fromJson(const boost::json::object& o);

  bool operator==(const FunctionConfiguration&) const = default;
};

}  // namespace hearth
