// FunctionRegistry: PublishVersion, ListVersionsByFunction, function scaling config, version state.
#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <set>

#include "artifact/code_store.h"
#include "artifact/encoding.h"
#include "common/ids.h"
#include "controlplane/function_config.h"
#include "controlplane/functions.h"
#include "controlplane/functions_internal.h"
#include "controlplane/json_fields.h"
#include "store/scan.h"

namespace hearth {
namespace json = boost::json;
using namespace functions_internal;  // NOLINT(google-build-using-namespace)

Result<json::object> FunctionRegistry::publishLocked(FunctionRecord& fn,
                                                     const std::string& description,
                                                     bool to_latest_published, Txn& txn) {
  std::string cp = fn.latest.capacityProvider();
  FunctionConfiguration config = fn.latest;
  std::optional<ScalingConfig> scaling;
  std::string version;
  bool adds_a_version = true;
  if (to_latest_published) {
    version = std::string(kLatestPublished);
    HEARTH_ASSIGN_OR_RETURN(auto previous, loadVersion(fn.name, version));
    if (previous) {
      adds_a_version = false;       // replaces the one $LATEST.PUBLISHED
      scaling = previous->scaling;  // set on $LATEST.PUBLISHED, kept across republishes
      txn.expect(keys::functionVersion(fn.name, version), previous->version);
    } else {
      txn.expect(keys::functionVersion(fn.name, version), 0);
    }
  } else {
    // AWS returns the newest version unchanged when $LATEST has not changed since it was
    // published (every change of $LATEST gives it a new RevisionId).
    if (fn.next_version > 1 && fn.published_revision == fn.latest.revision_id) {
      HEARTH_ASSIGN_OR_RETURN(auto last, loadVersion(fn.name, std::to_string(fn.next_version - 1)));
      if (last) {
        return last->config.toJson();
      }
    }
    version = std::to_string(fn.next_version);
    ++fn.next_version;
    fn.published_revision = fn.latest.revision_id;
    txn.expect(keys::functionVersion(fn.name, version), 0);
  }
  if (!cp.empty() && adds_a_version) {
    HEARTH_ASSIGN_OR_RETURN(int64_t published,
                            providers_->countPublishedVersions(cp, kMaxVersionsPerProvider));
    if (published >= kMaxVersionsPerProvider) {
      return Status(StatusCode::kLimitExceeded,
                    fmt::format("A capacity provider can run at most {} function versions.",
                                kMaxVersionsPerProvider));
    }
  }
  config.version = version;
  config.function_arn = account_.qualifiedFunctionArn(fn.name, version);
  if (!description.empty()) {
    config.description = description;
  }
  config.last_modified = formatAwsTimestamp(clock_->wallNow());
  config.revision_id = newUuid();
  if (cp.empty()) {
    config.setState(FunctionState::kActive);
  } else {
    // The data plane moves the version to Active once its minimum execution environments
    // have passed init.
    config.setState(FunctionState::kPending, "Lambda is provisioning execution environments.",
                    "Creating");
    txn.put(keys::capacityProviderUse(cp, fn.name, version), "Pending");
  }
  FunctionVersionRecord record;
  record.config = config;
  record.code_hex = fn.code_hex;
  record.scaling = scaling;
  txn.put(keys::functionVersion(fn.name, version), versionRecordJson(record));
  return config.toJson();
}

Result<json::object> FunctionRegistry::publishVersion(std::string_view function,
                                                      const json::object& request) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRef ref, parseFunctionRef(function, account_));
  HEARTH_ASSIGN_OR_RETURN(auto sha, readString(request, "CodeSha256"));
  HEARTH_ASSIGN_OR_RETURN(auto description, readString(request, "Description"));
  HEARTH_ASSIGN_OR_RETURN(auto revision, readString(request, "RevisionId"));
  HEARTH_ASSIGN_OR_RETURN(auto publish_to, readString(request, "PublishTo"));
  HEARTH_RETURN_IF_ERROR(checkPublishTo(publish_to, nullptr));
  if (description && description->size() > 256) {
    return lengthError(*description, "description", 0, 256);
  }
  return casUpdate(ref.name, [&](FunctionRecord& fn, Txn& txn) -> Result<CasStep> {
    if (revision && *revision != fn.latest.revision_id) {
      return revisionMismatch();
    }
    const std::string& current_sha = fn.latest.code_sha256;
    if (sha && *sha != current_sha) {
      return invalidParameter(fmt::format(
          "CodeSHA256 ({}) is different from current CodeSHA256 in $LATEST ({}). Please try "
          "again",
          *sha, current_sha));
    }
    HEARTH_RETURN_IF_ERROR(checkPublishTo(publish_to, &fn.latest));
    HEARTH_ASSIGN_OR_RETURN(json::object published, publishLocked(fn, description.value_or(""),
                                                                  publish_to.has_value(), txn));
    // Nothing to write when $LATEST is unchanged since the newest version.
    bool changed = !txn.puts.empty();
    return CasStep{std::move(published), changed};
  });
}

Result<json::object> FunctionRegistry::listVersions(std::string_view function,
                                                    const std::optional<std::string>& marker,
                                                    std::optional<int64_t> max_items) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRef ref, parseFunctionRef(function, account_));
  HEARTH_ASSIGN_OR_RETURN(auto max, validateMaxItems(max_items, kMaxListFunctions));
  int64_t limit = max.value_or(kDefaultListItems);
  HEARTH_ASSIGN_OR_RETURN(FunctionRecord fn, loadFunction(ref.name));
  // $LATEST first, then the versions in key (numeric) order: one page read from the marker on,
  // one more than the page to tell whether another follows.
  std::vector<FunctionConfiguration> all;
  std::string start_after;
  if (!marker) {
    all.push_back(fn.latest);
    all.back().function_arn = account_.qualifiedFunctionArn(ref.name, kLatest);
  } else if (*marker != kLatest) {
    start_after = keys::functionVersion(ref.name, *marker);
  }
  HEARTH_ASSIGN_OR_RETURN(auto versions, store_->list(keys::functionVersionPrefix(ref.name),
                                                      start_after, static_cast<size_t>(limit) + 1));
  for (const auto& stored : versions) {
    HEARTH_ASSIGN_OR_RETURN(auto record, parseVersionRecord(stored));
    all.push_back(std::move(record.config));
  }
  size_t start = 0;
  json::array out_versions;
  std::optional<std::string> next;
  std::string last_version;
  for (size_t i = start; i < all.size(); ++i) {
    if (static_cast<int64_t>(out_versions.size()) == limit) {
      next = last_version;
      break;
    }
    last_version = all[i].version;
    out_versions.push_back(all[i].toJson());
  }
  json::object out{{"Versions", std::move(out_versions)}};
  if (next) {
    out["NextMarker"] = *next;
  }
  return out;
}

Result<json::object> FunctionRegistry::putScalingConfig(std::string_view function,
                                                        const std::optional<std::string>& qualifier,
                                                        const json::object& request) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRef ref, parseFunctionRef(function, account_));
  std::optional<std::string> q = qualifier ? qualifier : ref.qualifier;
  if (!q || (*q != kLatestPublished && !isNumericVersion(*q))) {
    return invalidParameter(
        "The function scaling config can only be set on $LATEST.PUBLISHED or a published "
        "version number.");
  }
  HEARTH_ASSIGN_OR_RETURN(const json::object* config_in,
                          readObject(request, "FunctionScalingConfig"));
  json::object empty;
  const json::object& in = config_in != nullptr ? *config_in : empty;
  HEARTH_ASSIGN_OR_RETURN(auto min_in,
                          readIntInRange(in, "MinExecutionEnvironments",
                                         "functionScalingConfig.minExecutionEnvironments", 0,
                                         kMaxExecutionEnvironments));
  HEARTH_ASSIGN_OR_RETURN(auto max_in,
                          readIntInRange(in, "MaxExecutionEnvironments",
                                         "functionScalingConfig.maxExecutionEnvironments", 0,
                                         kMaxExecutionEnvironments));
  int64_t min = min_in.value_or(3);
  if (max_in && min > *max_in) {
    if (!min_in) {
      min = *max_in;  // an omitted minimum reverts to its default, capped by the maximum
    } else {
      return invalidParameter(fmt::format(
          "MinExecutionEnvironments ({}) must be less than or equal to MaxExecutionEnvironments "
          "({}).",
          min, *max_in));
    }
  }
  if (min == 0 && (!max_in || *max_in != 0)) {
    return invalidParameter(
        "MinExecutionEnvironments can be 0 only when MaxExecutionEnvironments is also 0.");
  }
  ScalingConfig scaling{min, max_in};
  return casUpdate(ref.name, [&](FunctionRecord& fn, Txn& txn) -> Result<CasStep> {
    if (!fn.latest.runsOnCapacityProvider()) {
      return invalidParameter(
          "Function scaling config is only supported for functions that use a capacity "
          "provider.");
    }
    HEARTH_ASSIGN_OR_RETURN(auto version, loadVersion(ref.name, *q));
    if (!version) {
      return functionNotFound(account_, ref.name, *q);
    }
    version->scaling = scaling;
    FunctionState was = version->config.state;
    bool deactivated = was == FunctionState::kDeactivating || was == FunctionState::kDeactivated;
    if (scaling.deactivates()) {
      // Its EEs drain; the fleet records Deactivated once none remains.
      if (!deactivated && was != FunctionState::kFailed) {
        version->config.setState(FunctionState::kDeactivating,
                                 "The function version is being deactivated by its scaling "
                                 "config.");
      }
    } else if (deactivated) {
      version->config.setState(FunctionState::kPending,
                               "The function version is being reactivated by its scaling config.");
    }
    std::string state(functionStateName(version->config.state));
    txn.expect(keys::functionVersion(ref.name, *q), version->version)
        .put(keys::functionVersion(ref.name, *q), versionRecordJson(*version));
    return CasStep{json::object{{"FunctionState", state}}};
  });
}

Result<json::object> FunctionRegistry::getScalingConfig(
    std::string_view function, const std::optional<std::string>& qualifier) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRef ref, parseFunctionRef(function, account_));
  std::optional<std::string> q = qualifier ? qualifier : ref.qualifier;
  if (!q || (*q != kLatestPublished && !isNumericVersion(*q))) {
    return invalidParameter(
        "The function scaling config can only be read for $LATEST.PUBLISHED or a published "
        "version number.");
  }
  HEARTH_ASSIGN_OR_RETURN(FunctionRecord fn, loadFunction(ref.name));
  HEARTH_ASSIGN_OR_RETURN(auto version, loadVersion(ref.name, *q));
  if (!version) {
    return functionNotFound(account_, ref.name, *q);
  }
  ScalingConfig applied = version->scaling.value_or(ScalingConfig{});
  json::object out{{"FunctionArn", account_.qualifiedFunctionArn(ref.name, *q)},
                   {"AppliedFunctionScalingConfig", applied.toJson()}};
  if (version->scaling) {
    out["RequestedFunctionScalingConfig"] = version->scaling->toJson();
  }
  return out;
}

Status FunctionRegistry::setVersionState(const std::string& function, const std::string& version,
                                         FunctionState new_state, const std::string& reason,
                                         const std::string& reason_code) {
  std::string_view state = functionStateName(new_state);
  // A compare-and-swap on the version record alone: the data plane's state never races the
  // function's own updates.
  return retryLostRaces([&]() -> Result<std::optional<json::object>> {
           HEARTH_ASSIGN_OR_RETURN(auto record, loadVersion(function, version));
           if (!record || (record->config.state == new_state &&
                           record->config.state_reason_code == reason_code)) {
             return std::optional<json::object>(json::object());  // gone, or already so
           }
           // Deactivation is the user's: the fleet may only complete it. A decision made on an
           // older read (Pending → Active) does not undo it.
           FunctionState current = record->config.state;
           if ((current == FunctionState::kDeactivating &&
                new_state != FunctionState::kDeactivated) ||
               current == FunctionState::kDeactivated) {
             return std::optional<json::object>(json::object());
           }
           record->config.setState(new_state, reason, reason_code);
           Txn txn;
           txn.expect(keys::functionVersion(function, version), record->version)
               .put(keys::functionVersion(function, version), versionRecordJson(*record));
           std::string cp = record->config.capacityProvider();
           if (!cp.empty()) {
             txn.put(keys::capacityProviderUse(cp, function, version), std::string(state));
           }
           return commitUnlessRaced(txn, json::object());
         })
      .status();
}

}  // namespace hearth
