#include "controlplane/function_configuration.h"

#include <boost/json/array.hpp>

#include "common/ids.h"
#include "controlplane/stored_fields.h"

namespace hearth {
namespace json = boost::json;

using stored::doubleAt;
using stored::intAt;
using stored::objectAt;
using stored::readString;
using stored::stringAt;

std::string ManagedInstancesConfig::capacityProviderName() const {
  return capacity_provider_arn.substr(capacity_provider_arn.rfind(':') + 1);
}

std::string FunctionConfiguration::capacityProvider() const {
  return managed_instances ? managed_instances->capacityProviderName() : "";
}

void FunctionConfiguration::setState(FunctionState new_state, std::string reason,
                                     std::string reason_code) {
  state = new_state;
  if (reason.empty()) {
    state_reason.clear();
    state_reason_code.clear();
  } else {
    state_reason = std::move(reason);
    state_reason_code = std::move(reason_code);
  }
}

void FunctionConfiguration::markUpdated(const Clock& clock) {
  last_modified = formatAwsTimestamp(clock.wallNow());
  revision_id = newUuid();
  last_update_status = "Successful";
}

json::object FunctionConfiguration::toJson() const {
  json::object o;
  o["FunctionName"] = function_name;
  o["FunctionArn"] = function_arn;
  if (managed_instances) {
    json::object lmi{{"CapacityProviderArn", managed_instances->capacity_provider_arn}};
    if (managed_instances->per_environment_max_concurrency) {
      lmi["PerExecutionEnvironmentMaxConcurrency"] =
          *managed_instances->per_environment_max_concurrency;
    }
    lmi["ExecutionEnvironmentMemoryGiBPerVCpu"] = managed_instances->memory_gib_per_vcpu;
    o["CapacityProviderConfig"] =
        json::object{{"LambdaManagedInstancesCapacityProviderConfig", std::move(lmi)}};
  }
  o["Runtime"] = runtime;
  if (handler) {
    o["Handler"] = *handler;
  }
  o["Role"] = role;
  o["Description"] = description;
  o["Timeout"] = timeout_seconds;
  o["MemorySize"] = memory_size_mb;
  if (environment) {
    o["Environment"] = json::object{{"Variables", stored::toJsonObject(*environment)}};
  }
  o["TracingConfig"] = json::object{{"Mode", tracing_mode}};
  o["Architectures"] = json::array{json::value(architecture)};
  o["EphemeralStorage"] = json::object{{"Size", ephemeral_storage_mb}};
  if (logging) {
    json::object lc{{"LogFormat", logging->log_format}};
    if (logging->application_log_level) {
      lc["ApplicationLogLevel"] = *logging->application_log_level;
    }
    if (logging->system_log_level) {
      lc["SystemLogLevel"] = *logging->system_log_level;
    }
    lc["LogGroup"] = logging->log_group;
    o["LoggingConfig"] = std::move(lc);
  }
  o["CodeSize"] = code_size;
  o["CodeSha256"] = code_sha256;
  o["Version"] = version;
  o["PackageType"] = "Zip";
  o["SnapStart"] = json::object{{"ApplyOn", "None"}, {"OptimizationStatus", "Off"}};
  o["State"] = functionStateName(state);
  if (!state_reason.empty()) {
    o["StateReason"] = state_reason;
  }
  if (!state_reason_code.empty()) {
    o["StateReasonCode"] = state_reason_code;
  }
  o["LastModified"] = last_modified;
  o["RevisionId"] = revision_id;
  o["LastUpdateStatus"] = last_update_status;
  return o;
}

FunctionConfiguration FunctionConfiguration::fromJson(const json::object& o) {
  FunctionConfiguration c;
  readString(o, "FunctionName", &c.function_name);
  readString(o, "FunctionArn", &c.function_arn);
  if (const auto* cp = objectAt(o, "CapacityProviderConfig")) {
    if (const auto* lmi = objectAt(*cp, "LambdaManagedInstancesCapacityProviderConfig")) {
      ManagedInstancesConfig m;
      readString(*lmi, "CapacityProviderArn", &m.capacity_provider_arn);
      m.per_environment_max_concurrency = intAt(*lmi, "PerExecutionEnvironmentMaxConcurrency");
      m.memory_gib_per_vcpu = doubleAt(*lmi, "ExecutionEnvironmentMemoryGiBPerVCpu").value_or(2.0);
      c.managed_instances = std::move(m);
    }
  }
  readString(o, "Runtime", &c.runtime);
  c.handler = stringAt(o, "Handler");
  readString(o, "Role", &c.role);
  readString(o, "Description", &c.description);
  c.timeout_seconds = intAt(o, "Timeout").value_or(c.timeout_seconds);
  c.memory_size_mb = intAt(o, "MemorySize").value_or(c.memory_size_mb);
  if (const auto* env = objectAt(o, "Environment")) {
    c.environment =
        stored::stringMapAt(*env, "Variables").value_or(std::map<std::string, std::string>{});
  }
  if (const auto* tracing = objectAt(o, "TracingConfig")) {
    readString(*tracing, "Mode", &c.tracing_mode);
  }
  if (const json::value* archs = o.if_contains("Architectures");
      archs != nullptr && archs->is_array() && !archs->get_array().empty() &&
      archs->get_array()[0].is_string()) {
    c.architecture = std::string(archs->get_array()[0].get_string());
  }
  if (const auto* storage = objectAt(o, "EphemeralStorage")) {
    c.ephemeral_storage_mb = intAt(*storage, "Size").value_or(c.ephemeral_storage_mb);
  }
  if (const auto* lc = objectAt(o, "LoggingConfig")) {
    FunctionLoggingConfig logging;
    readString(*lc, "LogFormat", &logging.log_format);
    logging.application_log_level = stringAt(*lc, "ApplicationLogLevel");
    logging.system_log_level = stringAt(*lc, "SystemLogLevel");
    readString(*lc, "LogGroup", &logging.log_group);
    c.logging = std::move(logging);
  }
  readString(o, "CodeSha256", &c.code_sha256);
  c.code_size = intAt(o, "CodeSize").value_or(0);
  readString(o, "Version", &c.version);
  if (auto state = stringAt(o, "State")) {
    c.state = parseFunctionState(*state).value_or(FunctionState::kPending);
  }
  readString(o, "StateReason", &c.state_reason);
  readString(o, "StateReasonCode", &c.state_reason_code);
  readString(o, "LastUpdateStatus", &c.last_update_status);
  readString(o, "LastModified", &c.last_modified);
  readString(o, "RevisionId", &c.revision_id);
  return c;
}

}  // namespace hearth
