#include "controlplane/function_config.h"

#include <fmt/format.h>

#include <array>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <set>

#include "controlplane/json_fields.h"

namespace hearth {
namespace json = boost::json;

namespace {

constexpr std::array kRuntimes = {
    "nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x",   "python3.9",      "python3.10",
    "python3.11", "python3.12", "python3.13", "python3.14",   "java8.al2",      "java11",
    "java17",     "java21",     "java25",     "dotnet8",      "dotnet10",       "ruby3.2",
    "ruby3.3",    "ruby3.4",    "provided",   "provided.al2", "provided.al2023"};
constexpr std::array kManagedInstancesRuntimes = {
    "nodejs22.x", "nodejs24.x", "python3.13", "python3.14",   "java21",         "java25",
    "dotnet8",    "dotnet10",   "provided",   "provided.al2", "provided.al2023"};

constexpr std::array kReservedEnvironmentKeys = {"AWS_REGION",
                                                 "AWS_DEFAULT_REGION",
                                                 "AWS_ACCESS_KEY",
                                                 "AWS_ACCESS_KEY_ID",
                                                 "AWS_SECRET_ACCESS_KEY",
                                                 "AWS_SESSION_TOKEN",
                                                 "AWS_EXECUTION_ENV",
                                                 "AWS_LAMBDA_FUNCTION_NAME",
                                                 "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                                                 "AWS_LAMBDA_FUNCTION_VERSION",
                                                 "AWS_LAMBDA_INITIALIZATION_TYPE",
                                                 "AWS_LAMBDA_LOG_GROUP_NAME",
                                                 "AWS_LAMBDA_LOG_STREAM_NAME",
                                                 "AWS_LAMBDA_RUNTIME_API",
                                                 "AWS_LAMBDA_MAX_CONCURRENCY",
                                                 "LAMBDA_RUNTIME_DIR",
                                                 "LAMBDA_TASK_ROOT",
                                                 "_HANDLER",
                                                 "_X_AMZN_TRACE_ID",
                                                 "_AWS_XRAY_DAEMON_ADDRESS",
                                                 "_AWS_XRAY_DAEMON_PORT",
                                                 "AWS_XRAY_DAEMON_ADDRESS",
                                                 "AWS_XRAY_CONTEXT_MISSING"};

constexpr int64_t kMinMemory = 128;
constexpr int64_t kMaxMemory = 10240;
constexpr int64_t kMinManagedMemory = 2048;
constexpr int64_t kMaxManagedMemory = 32768;
constexpr size_t kMaxEnvironmentBytes = 4096;

template <size_t N>
bool contains(const std::array<const char*, N>& list, std::string_view value) {
  for (const char* item : list) {
    if (value == item) {
      return true;
    }
  }
  return false;
}

bool isValidEnvKey(std::string_view key) {
  if (key.size() < 2) {
    return false;
  }
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(key[0])) {
    return false;
  }
  for (char c : key.substr(1)) {
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '_') {
      return false;
    }
  }
  return true;
}

std::string runtimeEnumMessage() {
  std::string out = "Member must satisfy enum value set: [";
  for (size_t i = 0; i < kRuntimes.size(); ++i) {
    out += (i ? ", " : "");
    out += kRuntimes[i];
  }
  return out + "]";
}

Status applyEnvironment(const json::object& request, FunctionConfiguration* config) {
  HEARTH_ASSIGN_OR_RETURN(const json::object* environment, readObject(request, "Environment"));
  if (environment == nullptr) {
    return Status::ok();
  }
  HEARTH_ASSIGN_OR_RETURN(auto variables, readStringMap(*environment, "Variables"));
  std::map<std::string, std::string> vars;
  size_t bytes = 0;
  std::vector<std::string> reserved;
  for (const auto& [key, value] : variables.value_or(std::map<std::string, std::string>{})) {
    if (!isValidEnvKey(key)) {
      return validationError(key, "environment.variables",
                             "Map keys must satisfy constraint: [Member must satisfy regular "
                             "expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]");
    }
    if (contains(kReservedEnvironmentKeys, key)) {
      reserved.push_back(key);
    }
    bytes += key.size() + value.size();
    vars[key] = value;
  }
  if (!reserved.empty()) {
    std::string list;
    for (const auto& k : reserved) {
      list += (list.empty() ? "" : ", ") + k;
    }
    return invalidParameter(
        "Lambda was unable to configure your environment variables because the environment "
        "variables you have provided contains reserved keys that are currently not supported for "
        "modification. Reserved keys used in this request: " +
        list);
  }
  if (bytes > kMaxEnvironmentBytes) {
    return invalidParameter(
        "Lambda was unable to configure your environment variables because the environment "
        "variables you have provided exceeded the 4KB limit. String measured: " +
        json::serialize(json::value_from(vars)));
  }
  config->environment = std::move(vars);
  return Status::ok();
}

Status applyCapacityProvider(const json::object& request, bool is_create,
                             const AccountContext& account, CapacityProviderRegistry* providers,
                             FunctionConfiguration* config) {
  HEARTH_ASSIGN_OR_RETURN(const json::object* cp_config,
                          readObject(request, "CapacityProviderConfig"));
  if (cp_config == nullptr) {
    return Status::ok();
  }
  bool had_provider = config->runsOnCapacityProvider();
  if (!is_create && !had_provider) {
    return invalidParameter(
        "CapacityProviderConfig can only be set when the function is created; the compute type "
        "of a function cannot be changed.");
  }
  HEARTH_ASSIGN_OR_RETURN(const json::object* lmi,
                          readObject(*cp_config, "LambdaManagedInstancesCapacityProviderConfig"));
  if (lmi == nullptr) {
    return validationError("null",
                           "capacityProviderConfig.lambdaManagedInstancesCapacityProviderConfig",
                           "Member must not be null");
  }
  HEARTH_ASSIGN_OR_RETURN(auto arn, readString(*lmi, "CapacityProviderArn"));
  if (!arn) {
    return validationError("null",
                           "capacityProviderConfig.lambdaManagedInstancesCapacityProviderConfig."
                           "capacityProviderArn",
                           "Member must not be null");
  }
  auto name = parseCapacityProviderRef(*arn, account);
  if (!name.isOk() || arn->rfind("arn:", 0) != 0) {
    return invalidParameter(
        fmt::format("CapacityProviderArn '{}' is not a valid capacity "
                    "provider ARN.",
                    *arn));
  }
  HEARTH_ASSIGN_OR_RETURN(CapacityProviderRecord provider, providers->loadUsable(*name, *arn));
  if (!is_create && had_provider && config->capacityProvider() != *name) {
    return invalidParameter(
        "The capacity provider of a function cannot be changed after it is created.");
  }
  std::string function_arch = is_create ? "x86_64" : config->architecture;
  if (const auto* archs = request.if_contains("Architectures"); archs && archs->is_array() &&
                                                                !archs->get_array().empty() &&
                                                                archs->get_array()[0].is_string()) {
    function_arch = std::string(archs->get_array()[0].get_string());
  }
  const std::string& provider_arch = provider.provider.architecture;
  if (function_arch != provider_arch) {
    return invalidParameter(fmt::format(
        "The function's architecture ({}) does not match the architecture of capacity provider "
        "{} ({}).",
        function_arch, *arn, provider_arch));
  }
  ManagedInstancesConfig out;
  out.capacity_provider_arn = account.capacityProviderArn(*name);
  HEARTH_ASSIGN_OR_RETURN(auto concurrency,
                          readIntInRange(*lmi, "PerExecutionEnvironmentMaxConcurrency",
                                         "capacityProviderConfig."
                                         "lambdaManagedInstancesCapacityProviderConfig."
                                         "perExecutionEnvironmentMaxConcurrency",
                                         1, 1600));
  if (concurrency) {
    out.per_environment_max_concurrency = *concurrency;
  }
  HEARTH_ASSIGN_OR_RETURN(auto ratio, readDouble(*lmi, "ExecutionEnvironmentMemoryGiBPerVCpu"));
  double gib_per_vcpu = ratio.value_or(2.0);
  if (gib_per_vcpu < 2.0 || gib_per_vcpu > 8.0) {
    return validationError(fmt::format("{}", gib_per_vcpu),
                           "capacityProviderConfig.lambdaManagedInstancesCapacityProviderConfig."
                           "executionEnvironmentMemoryGiBPerVCpu",
                           "Member must have value between 2.0 and 8.0");
  }
  if (gib_per_vcpu != 2.0 && gib_per_vcpu != 4.0 && gib_per_vcpu != 8.0) {
    return invalidParameter(fmt::format(
        "ExecutionEnvironmentMemoryGiBPerVCpu must be 2, 4 or 8; got {}.", gib_per_vcpu));
  }
  out.memory_gib_per_vcpu = gib_per_vcpu;
  config->managed_instances = std::move(out);
  return Status::ok();
}

}  // namespace

bool isKnownRuntime(std::string_view runtime) {
  return contains(kRuntimes, runtime);
}
bool isManagedInstancesRuntime(std::string_view runtime) {
  return contains(kManagedInstancesRuntimes, runtime);
}

Status applyConfiguration(const json::object& request, bool is_create,
                          const AccountContext& account, CapacityProviderRegistry* providers,
                          FunctionConfiguration* config) {
  HEARTH_RETURN_IF_ERROR(applyCapacityProvider(request, is_create, account, providers, config));
  bool managed = config->runsOnCapacityProvider();

  HEARTH_ASSIGN_OR_RETURN(auto package_type, readString(request, "PackageType"));
  if (package_type && *package_type != "Zip") {
    if (*package_type == "Image") {
      return invalidParameter(
          "PackageType Image is not supported by Hearth; deploy a Zip package.");
    }
    return validationError(*package_type, "packageType",
                           "Member must satisfy enum value set: [Image, Zip]");
  }

  HEARTH_ASSIGN_OR_RETURN(auto runtime, readString(request, "Runtime"));
  if (runtime) {
    if (!isKnownRuntime(*runtime)) {
      return validationError(*runtime, "runtime", runtimeEnumMessage());
    }
    config->runtime = *runtime;
  } else if (is_create) {
    return invalidParameter(
        "Runtime and Handler are mandatory parameters for functions created with deployment "
        "packages.");
  }
  const std::string& effective_runtime = config->runtime;
  if (managed && !isManagedInstancesRuntime(effective_runtime)) {
    return invalidParameter(fmt::format(
        "The runtime {} is not supported for functions that use a capacity provider. Supported "
        "runtimes are nodejs22.x and later, python3.13 and later, java21 and later, dotnet8 and "
        "later, and provided.al2023.",
        effective_runtime));
  }

  HEARTH_ASSIGN_OR_RETURN(auto handler, readString(request, "Handler"));
  if (handler) {
    if (handler->empty() || handler->size() > 128 ||
        handler->find_first_of(" \t\r\n") != std::string::npos) {
      return validationError(*handler, "handler",
                             "Member must satisfy regular expression pattern: [^\\s]+");
    }
    config->handler = *handler;
  } else if (is_create && effective_runtime.rfind("provided", 0) != 0) {
    return invalidParameter(
        "Runtime and Handler are mandatory parameters for functions created with deployment "
        "packages.");
  }

  HEARTH_ASSIGN_OR_RETURN(auto role, readString(request, "Role"));
  if (role) {
    if (!isValidRoleArn(*role)) {
      return validationError(*role, "role",
                             "Member must satisfy regular expression pattern: "
                             "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+");
    }
    config->role = *role;
  } else if (is_create) {
    return validationError("null", "role", "Member must not be null");
  }

  HEARTH_ASSIGN_OR_RETURN(auto description, readString(request, "Description"));
  if (description) {
    if (description->size() > 256) {
      return lengthError(*description, "description", 0, 256);
    }
    config->description = *description;
  }

  HEARTH_ASSIGN_OR_RETURN(auto timeout, readIntInRange(request, "Timeout", "timeout", 1, 900));
  if (timeout) {
    config->timeout_seconds = *timeout;
  }

  int64_t max_memory = managed ? kMaxManagedMemory : kMaxMemory;
  HEARTH_ASSIGN_OR_RETURN(
      auto memory, readIntInRange(request, "MemorySize", "memorySize", kMinMemory, max_memory));
  if (memory) {
    config->memory_size_mb = *memory;
  } else if (is_create) {
    config->memory_size_mb = managed ? kMinManagedMemory : kMinMemory;
  }
  if (managed) {
    int64_t size = config->memory_size_mb;
    if (size < kMinManagedMemory) {
      return invalidParameter(fmt::format(
          "MemorySize {} is below the minimum of {} MB for functions that use a capacity "
          "provider (1 vCPU and 2 GB).",
          size, kMinManagedMemory));
    }
  }

  HEARTH_RETURN_IF_ERROR(applyEnvironment(request, config));

  HEARTH_ASSIGN_OR_RETURN(const json::object* tracing, readObject(request, "TracingConfig"));
  if (tracing != nullptr) {
    HEARTH_ASSIGN_OR_RETURN(auto mode, readString(*tracing, "Mode"));
    std::string m = mode.value_or("PassThrough");
    if (m != "Active" && m != "PassThrough") {
      return validationError(m, "tracingConfig.mode",
                             "Member must satisfy enum value set: [Active, PassThrough]");
    }
    config->tracing_mode = m;
  }

  HEARTH_ASSIGN_OR_RETURN(auto architectures, readStringList(request, "Architectures"));
  if (architectures) {
    if (architectures->size() != 1) {
      return validationError(std::to_string(architectures->size()), "architectures",
                             "Member must have length equal to 1");
    }
    if ((*architectures)[0] != "x86_64" && (*architectures)[0] != "arm64") {
      return validationError((*architectures)[0], "architectures",
                             "Member must satisfy enum value set: [x86_64, arm64]");
    }
    config->architecture = (*architectures)[0];
  }

  HEARTH_ASSIGN_OR_RETURN(const json::object* storage, readObject(request, "EphemeralStorage"));
  if (storage != nullptr) {
    HEARTH_ASSIGN_OR_RETURN(auto size,
                            readIntInRange(*storage, "Size", "ephemeralStorage.size", 512, 10240));
    if (!size) {
      return validationError("null", "ephemeralStorage.size", "Member must not be null");
    }
    config->ephemeral_storage_mb = *size;
  }

  HEARTH_ASSIGN_OR_RETURN(const json::object* logging, readObject(request, "LoggingConfig"));
  if (logging != nullptr || is_create) {
    FunctionLoggingConfig lc = config->logging.value_or(FunctionLoggingConfig{});
    json::object empty;
    const json::object& in = logging != nullptr ? *logging : empty;
    HEARTH_ASSIGN_OR_RETURN(auto format, readString(in, "LogFormat"));
    HEARTH_ASSIGN_OR_RETURN(auto app_level, readString(in, "ApplicationLogLevel"));
    HEARTH_ASSIGN_OR_RETURN(auto sys_level, readString(in, "SystemLogLevel"));
    HEARTH_ASSIGN_OR_RETURN(auto group, readString(in, "LogGroup"));
    if (format) {
      if (*format != "JSON" && *format != "Text") {
        return validationError(*format, "loggingConfig.logFormat",
                               "Member must satisfy enum value set: [JSON, Text]");
      }
      if (managed && *format == "Text") {
        return invalidParameter(
            "Functions that use a capacity provider always use the JSON log format.");
      }
      lc.log_format = *format;
    } else if (lc.log_format.empty()) {
      lc.log_format = managed ? "JSON" : "Text";
    }
    static constexpr std::array kAppLevels = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    static constexpr std::array kSysLevels = {"DEBUG", "INFO", "WARN"};
    if (app_level) {
      if (!contains(kAppLevels, *app_level)) {
        return validationError(*app_level, "loggingConfig.applicationLogLevel",
                               "Member must satisfy enum value set: [TRACE, DEBUG, INFO, WARN, "
                               "ERROR, FATAL]");
      }
      lc.application_log_level = *app_level;
    }
    if (sys_level) {
      if (!contains(kSysLevels, *sys_level)) {
        return validationError(*sys_level, "loggingConfig.systemLogLevel",
                               "Member must satisfy enum value set: [DEBUG, INFO, WARN]");
      }
      lc.system_log_level = *sys_level;
    }
    if (lc.log_format == "JSON") {
      if (!lc.application_log_level) {
        lc.application_log_level = "INFO";
      }
      if (!lc.system_log_level) {
        lc.system_log_level = "INFO";
      }
    } else if (app_level || sys_level) {
      return invalidParameter("Log levels can only be set when the log format is JSON.");
    }
    if (group) {
      lc.log_group = *group;
    } else if (lc.log_group.empty()) {
      lc.log_group = "/aws/lambda/" + config->function_name;
    }
    config->logging = std::move(lc);
  }
  return Status::ok();
}

}  // namespace hearth
