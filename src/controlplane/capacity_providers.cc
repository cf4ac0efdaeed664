#include "controlplane/capacity_providers.h"

#include "store/scan.h"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <set>

#include "controlplane/json_fields.h"

namespace hearth {
namespace json = boost::json;

namespace keys {
std::string capacityProvider(std::string_view name) {
  return fmt::format("cp/{}", name);
}
std::string capacityProviderUse(std::string_view cp, std::string_view function,
                                std::string_view version) {
  return fmt::format("cpuse/{}/{}/{}", cp, function, version);
}
std::string capacityProviderUsePrefix(std::string_view cp) {
  return fmt::format("cpuse/{}/", cp);
}
}  // namespace keys

namespace {

constexpr int64_t kMinVCpuCount = 2;
constexpr int64_t kMaxVCpuCount = 15000;
constexpr int64_t kMaxListItems = 50;
// How often a compare-and-swap write of a provider record is tried before it is a conflict.
constexpr int kProviderCasAttempts = 5;

// The function and version of a `cpuse/<provider>/<function>/<version>` key.
std::pair<std::string_view, std::string_view> splitUseKey(std::string_view key,
                                                          size_t prefix_size) {
  std::string_view rest = key.substr(prefix_size);
  size_t slash = rest.find('/');
  return {rest.substr(0, slash), rest.substr(slash + 1)};
}

Status notFoundError(std::string_view name) {
  return Status(StatusCode::kNotFound,
                fmt::format("Capacity provider not found: {}", std::string(name)));
}

bool isValidInstanceType(std::string_view type, bool allow_wildcards) {
  if (type.empty() || type.size() > 30) {
    return false;
  }
  for (char c : type) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || (allow_wildcards && c == '*');
    if (!ok) {
      return false;
    }
  }
  return true;
}

Result<CapacityProviderScaling> parseScalingConfig(const json::object& in) {
  CapacityProviderScaling out;
  HEARTH_ASSIGN_OR_RETURN(
      auto max_vcpu,
      readIntInRange(in, "MaxVCpuCount", "capacityProviderScalingConfig.maxVCpuCount",
                     kMinVCpuCount, kMaxVCpuCount));
  int64_t max = max_vcpu.value_or(kDefaultMaxVCpuCount);
  HEARTH_ASSIGN_OR_RETURN(auto mode, readString(in, "ScalingMode"));
  std::string scaling_mode = mode.value_or("Auto");
  if (scaling_mode != "Auto" && scaling_mode != "Manual") {
    return validationError(scaling_mode, "capacityProviderScalingConfig.scalingMode",
                           "Member must satisfy enum value set: [Auto, Manual]");
  }
  out.max_vcpu_count = max;
  out.scaling_mode = scaling_mode;
  const json::value* policies = in.if_contains("ScalingPolicies");
  if (policies != nullptr && !policies->is_null()) {
    if (!policies->is_array()) {
      return Status(StatusCode::kInvalidRequestContent,
                    "Could not parse request body into json: ScalingPolicies must be a list");
    }
    const auto& list = policies->get_array();
    if (list.empty() || list.size() > 10) {
      return validationError(std::to_string(list.size()),
                             "capacityProviderScalingConfig.scalingPolicies",
                             "Member must have length between 1 and 10");
    }
    for (const auto& item : list) {
      if (!item.is_object()) {
        return Status(StatusCode::kInvalidRequestContent,
                      "Could not parse request body into json: a scaling policy must be an object");
      }
      HEARTH_ASSIGN_OR_RETURN(auto metric, readString(item.get_object(), "PredefinedMetricType"));
      HEARTH_ASSIGN_OR_RETURN(auto target, readDouble(item.get_object(), "TargetValue"));
      if (!metric || *metric != "LambdaCapacityProviderAverageCPUUtilization") {
        return validationError(metric.value_or("null"),
                               "capacityProviderScalingConfig.scalingPolicies.predefinedMetricType",
                               "Member must satisfy enum value set: "
                               "[LambdaCapacityProviderAverageCPUUtilization]");
      }
      if (!target || *target < 0.0 || *target > 100.0) {
        return validationError(target ? fmt::format("{}", *target) : "null",
                               "capacityProviderScalingConfig.scalingPolicies.targetValue",
                               "Member must have value between 0.0 and 100.0");
      }
      out.policies.push_back({*metric, *target});
    }
  }
  if (scaling_mode == "Manual" && out.policies.empty()) {
    return invalidParameter("ScalingPolicies must be specified when ScalingMode is Manual.");
  }
  if (scaling_mode == "Auto" && !out.policies.empty()) {
    return invalidParameter("ScalingPolicies can only be specified when ScalingMode is Manual.");
  }
  return out;
}

Result<CapacityProvider::Telemetry> parseTelemetry(const json::object& in) {
  CapacityProvider::Telemetry out;
  HEARTH_ASSIGN_OR_RETURN(const json::object* logging, readObject(in, "LoggingConfig"));
  if (logging != nullptr) {
    CapacityProvider::Logging lc;
    HEARTH_ASSIGN_OR_RETURN(auto level, readString(*logging, "SystemLogLevel"));
    HEARTH_ASSIGN_OR_RETURN(auto group, readString(*logging, "LogGroup"));
    if (level) {
      if (*level != "DEBUG" && *level != "INFO" && *level != "WARN") {
        return validationError(*level, "telemetryConfig.loggingConfig.systemLogLevel",
                               "Member must satisfy enum value set: [DEBUG, INFO, WARN]");
      }
      lc.system_log_level = *level;
    }
    lc.log_group = group;
    out.logging = std::move(lc);
  }
  return out;
}

Result<CapacityProvider::PropagateTags> parsePropagateTags(const json::object& in) {
  CapacityProvider::PropagateTags out;
  HEARTH_ASSIGN_OR_RETURN(auto mode, readString(in, "Mode"));
  std::string m = mode.value_or("None");
  if (m != "None" && m != "Explicit") {
    return validationError(m, "propagateTags.mode",
                           "Member must satisfy enum value set: [None, Explicit]");
  }
  out.mode = m;
  HEARTH_ASSIGN_OR_RETURN(out.explicit_tags, readStringMap(in, "ExplicitTags"));
  return out;
}

}  // namespace

std::string serializeRecord(const CapacityProviderRecord& record) {
  json::object tags;
  for (const auto& [k, v] : record.tags) {
    tags[k] = v;
  }
  return json::serialize(
      json::object{{"provider", record.provider.toJson()}, {"tags", std::move(tags)}});
}

Result<CapacityProviderRecord> parseCapacityProviderRecord(const Record& stored) {
  boost::system::error_code ec;
  json::value value = json::parse(stored.value, ec);
  if (ec || !value.is_object() || !value.get_object().contains("provider") ||
      !value.get_object()["provider"].is_object()) {
    return internalError("corrupt capacity provider record " + stored.key);
  }
  CapacityProviderRecord record;
  record.provider = CapacityProvider::fromJson(value.get_object()["provider"].get_object());
  if (const auto* tags = value.get_object().if_contains("tags"); tags && tags->is_object()) {
    for (const auto& [k, v] : tags->get_object()) {
      if (v.is_string()) {
        record.tags.emplace(std::string(k), std::string(v.get_string()));
      }
    }
  }
  record.version = stored.version;
  return record;
}

CapacityProviderRegistry::CapacityProviderRegistry(Store* store, const Clock* clock,
                                                   AccountContext account)
    : store_(store), clock_(clock), account_(std::move(account)) {}

Result<CapacityProviderRecord> CapacityProviderRegistry::load(std::string_view name) {
  HEARTH_ASSIGN_OR_RETURN(auto stored, store_->get(keys::capacityProvider(name)));
  if (!stored) {
    return notFoundError(name);
  }
  return parseCapacityProviderRecord(*stored);
}

Result<json::object> CapacityProviderRegistry::create(const json::object& request) {
  HEARTH_ASSIGN_OR_RETURN(auto name, readString(request, "CapacityProviderName"));
  if (!name) {
    return validationError("null", "capacityProviderName", "Member must not be null");
  }
  if (name->empty() || name->size() > 140) {
    return lengthError(*name, "capacityProviderName", 1, 140);
  }
  if (!isValidCapacityProviderName(*name)) {
    return validationError(*name, "capacityProviderName",
                           "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+");
  }

  HEARTH_ASSIGN_OR_RETURN(const json::object* vpc, readObject(request, "VpcConfig"));
  if (vpc == nullptr) {
    return validationError("null", "vpcConfig", "Member must not be null");
  }
  HEARTH_ASSIGN_OR_RETURN(auto subnets, readStringList(*vpc, "SubnetIds"));
  if (!subnets) {
    return validationError("null", "vpcConfig.subnetIds", "Member must not be null");
  }
  if (subnets->empty() || subnets->size() > 16) {
    return validationError(std::to_string(subnets->size()), "vpcConfig.subnetIds",
                           "Member must have length between 1 and 16");
  }
  std::set<std::string> unique_subnets(subnets->begin(), subnets->end());
  if (unique_subnets.size() != subnets->size()) {
    return invalidParameter("VpcConfig.SubnetIds must not contain duplicates.");
  }
  HEARTH_ASSIGN_OR_RETURN(auto groups, readStringList(*vpc, "SecurityGroupIds"));
  std::vector<std::string> security_groups = groups.value_or(std::vector<std::string>{});
  if (security_groups.size() > 5) {
    return validationError(std::to_string(security_groups.size()), "vpcConfig.securityGroupIds",
                           "Member must have length less than or equal to 5");
  }

  HEARTH_ASSIGN_OR_RETURN(const json::object* permissions,
                          readObject(request, "PermissionsConfig"));
  if (permissions == nullptr) {
    return validationError("null", "permissionsConfig", "Member must not be null");
  }
  HEARTH_ASSIGN_OR_RETURN(auto role, readString(*permissions, "CapacityProviderOperatorRoleArn"));
  if (!role) {
    return validationError("null", "permissionsConfig.capacityProviderOperatorRoleArn",
                           "Member must not be null");
  }
  if (!isValidRoleArn(*role)) {
    return validationError(*role, "permissionsConfig.capacityProviderOperatorRoleArn",
                           "Member must satisfy regular expression pattern: "
                           "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+");
  }

  CapacityProvider provider;
  provider.arn = account_.capacityProviderArn(*name);
  provider.state = CapacityProviderState::kPending;
  provider.subnet_ids = *subnets;
  provider.security_group_ids = security_groups;
  provider.operator_role_arn = *role;

  HEARTH_ASSIGN_OR_RETURN(const json::object* req_in, readObject(request, "InstanceRequirements"));
  if (req_in != nullptr) {
    HEARTH_ASSIGN_OR_RETURN(auto archs, readStringList(*req_in, "Architectures"));
    if (archs) {
      if (archs->size() != 1) {
        return validationError(std::to_string(archs->size()), "instanceRequirements.architectures",
                               "Member must have length equal to 1");
      }
      if ((*archs)[0] != "x86_64" && (*archs)[0] != "arm64") {
        return validationError((*archs)[0], "instanceRequirements.architectures",
                               "Member must satisfy enum value set: [x86_64, arm64]");
      }
      provider.architecture = (*archs)[0];
    }
    HEARTH_ASSIGN_OR_RETURN(auto allowed, readStringList(*req_in, "AllowedInstanceTypes"));
    HEARTH_ASSIGN_OR_RETURN(auto excluded, readStringList(*req_in, "ExcludedInstanceTypes"));
    if (allowed && excluded && !allowed->empty() && !excluded->empty()) {
      return invalidParameter(
          "Only one of AllowedInstanceTypes and ExcludedInstanceTypes can be specified.");
    }
    for (const auto* list : {&allowed, &excluded}) {
      if (!*list) {
        continue;
      }
      bool is_excluded = list == &excluded;
      if ((*list)->size() > 400) {
        return validationError(std::to_string((*list)->size()),
                               is_excluded ? "instanceRequirements.excludedInstanceTypes"
                                           : "instanceRequirements.allowedInstanceTypes",
                               "Member must have length less than or equal to 400");
      }
      for (const auto& t : **list) {
        if (!isValidInstanceType(t, is_excluded)) {
          return validationError(t,
                                 is_excluded ? "instanceRequirements.excludedInstanceTypes"
                                             : "instanceRequirements.allowedInstanceTypes",
                                 "Member must satisfy regular expression pattern: "
                                 "[a-zA-Z0-9\\.\\-]+");
        }
      }
    }
    provider.allowed_instance_types = allowed;
    provider.excluded_instance_types = excluded;
  }

  HEARTH_ASSIGN_OR_RETURN(const json::object* scaling_in,
                          readObject(request, "CapacityProviderScalingConfig"));
  HEARTH_ASSIGN_OR_RETURN(provider.scaling,
                          parseScalingConfig(scaling_in ? *scaling_in : json::object()));
  HEARTH_ASSIGN_OR_RETURN(provider.kms_key_arn, readString(request, "KmsKeyArn"));
  HEARTH_ASSIGN_OR_RETURN(const json::object* propagate, readObject(request, "PropagateTags"));
  if (propagate != nullptr) {
    HEARTH_ASSIGN_OR_RETURN(provider.propagate_tags, parsePropagateTags(*propagate));
  }
  HEARTH_ASSIGN_OR_RETURN(const json::object* telemetry, readObject(request, "TelemetryConfig"));
  if (telemetry != nullptr) {
    HEARTH_ASSIGN_OR_RETURN(provider.telemetry, parseTelemetry(*telemetry));
  }
  provider.last_modified = formatAwsTimestamp(clock_->wallNow());

  HEARTH_ASSIGN_OR_RETURN(auto tags, readStringMap(request, "Tags"));
  CapacityProviderRecord record;
  record.provider = provider;
  record.tags = tags.value_or(std::map<std::string, std::string>{});

  Txn txn;
  txn.expect(keys::capacityProvider(*name), 0)
      .put(keys::capacityProvider(*name), serializeRecord(record));
  auto committed = store_->commit(txn);
  if (!committed.isOk()) {
    if (committed.status().code() == StatusCode::kConflict) {
      return Status(StatusCode::kConflict,
                    fmt::format("Capacity provider already exists: {}", *name));
    }
    return committed.status();
  }
  return json::object{{"CapacityProvider", record.provider.toJson()}};
}

Result<json::object> CapacityProviderRegistry::get(std::string_view name_or_arn) {
  HEARTH_ASSIGN_OR_RETURN(std::string name, parseCapacityProviderRef(name_or_arn, account_));
  HEARTH_ASSIGN_OR_RETURN(CapacityProviderRecord record, load(name));
  return json::object{{"CapacityProvider", record.provider.toJson()}};
}

Result<json::object> CapacityProviderRegistry::list(const std::optional<std::string>& state_filter,
                                                    const std::optional<std::string>& marker,
                                                    std::optional<int64_t> max_items) {
  int64_t limit = max_items.value_or(kMaxListItems);
  if (limit < 1 || limit > kMaxListItems) {
    return rangeError(limit, "maxItems", 1, kMaxListItems);
  }
  std::optional<CapacityProviderState> wanted;
  if (state_filter) {
    wanted = parseCapacityProviderState(*state_filter);
  }
  if (state_filter && !wanted) {
    return validationError(*state_filter, "state",
                           "Member must satisfy enum value set: [Pending, Active, Failed, "
                           "Deleting]");
  }
  std::string start_after = marker ? keys::capacityProvider(*marker) : "";
  json::array providers;
  std::optional<std::string> next;
  std::string last_name;
  for (;;) {
    HEARTH_ASSIGN_OR_RETURN(auto page,
                            store_->list(keys::kCapacityProviderPrefix, start_after, 100));
    for (const auto& stored : page) {
      start_after = stored.key;
      HEARTH_ASSIGN_OR_RETURN(auto record, parseCapacityProviderRecord(stored));
      if (wanted && record.provider.state != *wanted) {
        continue;
      }
      if (static_cast<int64_t>(providers.size()) == limit) {
        next = last_name;  // resume after the last provider returned
        break;
      }
      last_name = record.provider.name();
      providers.push_back(record.provider.toJson());
    }
    if (next || page.size() < 100) {
      break;
    }
  }
  json::object out{{"CapacityProviders", std::move(providers)}};
  if (next) {
    out["NextMarker"] = *next;
  }
  return out;
}

Result<json::object> CapacityProviderRegistry::update(std::string_view name_or_arn,
                                                      const json::object& request) {
  HEARTH_ASSIGN_OR_RETURN(std::string name, parseCapacityProviderRef(name_or_arn, account_));
  for (int attempt = 0; attempt < kProviderCasAttempts; ++attempt) {
    HEARTH_ASSIGN_OR_RETURN(CapacityProviderRecord record, load(name));
    if (record.provider.state == CapacityProviderState::kDeleting) {
      return conflict("The capacity provider is being deleted.");
    }
    HEARTH_ASSIGN_OR_RETURN(const json::object* scaling_in,
                            readObject(request, "CapacityProviderScalingConfig"));
    if (scaling_in != nullptr) {
      HEARTH_ASSIGN_OR_RETURN(record.provider.scaling, parseScalingConfig(*scaling_in));
    }
    HEARTH_ASSIGN_OR_RETURN(const json::object* propagate, readObject(request, "PropagateTags"));
    if (propagate != nullptr) {
      HEARTH_ASSIGN_OR_RETURN(record.provider.propagate_tags, parsePropagateTags(*propagate));
    }
    HEARTH_ASSIGN_OR_RETURN(const json::object* telemetry, readObject(request, "TelemetryConfig"));
    if (telemetry != nullptr) {
      HEARTH_ASSIGN_OR_RETURN(record.provider.telemetry, parseTelemetry(*telemetry));
    }
    record.provider.last_modified = formatAwsTimestamp(clock_->wallNow());
    Txn txn;
    txn.expect(keys::capacityProvider(name), record.version)
        .put(keys::capacityProvider(name), serializeRecord(record));
    auto committed = store_->commit(txn);
    if (committed.isOk()) {
      return json::object{{"CapacityProvider", record.provider.toJson()}};
    }
    if (committed.status().code() != StatusCode::kConflict) {
      return committed.status();
    }
  }
  return conflict("The capacity provider was modified concurrently; retry the request.");
}

Result<json::object> CapacityProviderRegistry::remove(std::string_view name_or_arn) {
  HEARTH_ASSIGN_OR_RETURN(std::string name, parseCapacityProviderRef(name_or_arn, account_));
  HEARTH_ASSIGN_OR_RETURN(CapacityProviderRecord record, load(name));
  HEARTH_ASSIGN_OR_RETURN(auto users, store_->list(keys::capacityProviderUsePrefix(name), "", 1));
  if (!users.empty()) {
    return conflict(fmt::format(
        "Capacity provider {} is in use by one or more function versions. Delete them first.",
        name));
  }
  // The use index is written in the same transaction as any function that references this
  // provider, so expecting both the record and the absence of uses keeps the check race-free.
  Txn txn;
  txn.expect(keys::capacityProvider(name), record.version).del(keys::capacityProvider(name));
  auto committed = store_->commit(txn);
  if (!committed.isOk()) {
    if (committed.status().code() == StatusCode::kConflict) {
      return conflict("The capacity provider was modified concurrently; retry the request.");
    }
    return committed.status();
  }
  record.provider.state = CapacityProviderState::kDeleting;
  return json::object{{"CapacityProvider", record.provider.toJson()}};
}

Result<json::object> CapacityProviderRegistry::listFunctionVersions(
    std::string_view name_or_arn, const std::optional<std::string>& marker,
    std::optional<int64_t> max_items) {
  HEARTH_ASSIGN_OR_RETURN(std::string name, parseCapacityProviderRef(name_or_arn, account_));
  HEARTH_ASSIGN_OR_RETURN(CapacityProviderRecord record, load(name));
  int64_t limit = max_items.value_or(kMaxListItems);
  if (limit < 1 || limit > kMaxListItems) {
    return rangeError(limit, "maxItems", 1, kMaxListItems);
  }
  std::string prefix = keys::capacityProviderUsePrefix(name);
  std::string start_after = marker ? prefix + *marker : "";
  json::array versions;
  std::optional<std::string> next;
  std::string last_included;
  for (;;) {
    HEARTH_ASSIGN_OR_RETURN(auto page, store_->list(prefix, start_after, 100));
    for (const auto& stored : page) {
      auto [function, version] = splitUseKey(stored.key, prefix.size());
      start_after = stored.key;
      if (version == "$LATEST") {
        continue;  // only published versions run on a capacity provider
      }
      if (static_cast<int64_t>(versions.size()) == limit) {
        next = last_included.substr(prefix.size());  // resume after the last one returned
        break;
      }
      last_included = stored.key;
      versions.push_back(
          json::object{{"FunctionArn", account_.qualifiedFunctionArn(function, version)},
                       {"State", stored.value.empty() ? "Pending" : stored.value}});
    }
    if (next || page.size() < 100) {
      break;
    }
  }
  json::object out{{"CapacityProviderArn", record.provider.arn},
                   {"FunctionVersions", std::move(versions)}};
  if (next) {
    out["NextMarker"] = *next;
  }
  return out;
}

Result<int64_t> CapacityProviderRegistry::countPublishedVersions(std::string_view name,
                                                                 int64_t stop_at) {
  std::string prefix = keys::capacityProviderUsePrefix(name);
  int64_t count = 0;
  HEARTH_RETURN_IF_ERROR(scanPrefix(*store_, prefix, "", [&](const Record& stored) {
    if (splitUseKey(stored.key, prefix.size()).second != "$LATEST") {
      ++count;
    }
    return count < stop_at;
  }));
  return count;
}

Result<CapacityProviderRecord> CapacityProviderRegistry::loadUsable(std::string_view name,
                                                                    std::string_view arn) {
  auto provider = load(name);
  if (!provider.isOk()) {
    if (provider.status().code() == StatusCode::kNotFound) {
      return invalidParameter(fmt::format("Capacity provider {} does not exist.", arn));
    }
    return provider.status();
  }
  const CapacityProviderState state = provider->provider.state;
  if (state == CapacityProviderState::kDeleting || state == CapacityProviderState::kFailed) {
    return invalidParameter(
        fmt::format("Capacity provider {} is in state {}.", arn, capacityProviderStateName(state)));
  }
  return provider;
}

Status CapacityProviderRegistry::activatePending() {
  std::vector<Record> all;
  HEARTH_RETURN_IF_ERROR(
      scanPrefix(*store_, keys::kCapacityProviderPrefix, "", [&](const Record& r) {
        all.push_back(r);
        return true;
      }));
  for (const auto& stored : all) {
    HEARTH_ASSIGN_OR_RETURN(auto record, parseCapacityProviderRecord(stored));
    if (record.provider.state != CapacityProviderState::kPending) {
      continue;
    }
    record.provider.state = CapacityProviderState::kActive;
    Txn txn;
    txn.expect(stored.key, stored.version).put(stored.key, serializeRecord(record));
    auto committed = store_->commit(txn);
    if (!committed.isOk() && committed.status().code() != StatusCode::kConflict) {
      return committed.status();
    }
  }
  return Status::ok();
}

Status CapacityProviderRegistry::editTags(
    std::string_view name, const std::function<void(std::map<std::string, std::string>&)>& edit) {
  for (int attempt = 0; attempt < kProviderCasAttempts; ++attempt) {
    HEARTH_ASSIGN_OR_RETURN(CapacityProviderRecord record, load(name));
    edit(record.tags);
    if (record.tags.size() > 50) {
      return invalidParameter("A resource can have at most 50 tags.");
    }
    Txn txn;
    txn.expect(keys::capacityProvider(name), record.version)
        .put(keys::capacityProvider(name), serializeRecord(record));
    auto committed = store_->commit(txn);
    if (committed.isOk()) {
      return Status::ok();
    }
    if (committed.status().code() != StatusCode::kConflict) {
      return committed.status();
    }
  }
  return conflict("The capacity provider was modified concurrently; retry the request.");
}

}  // namespace hearth
