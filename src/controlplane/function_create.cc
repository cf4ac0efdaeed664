#include <boost/json/object.hpp>
#include <map>
#include <string>

#include "artifact/code_store.h"
#include "controlplane/function_config.h"
#include "controlplane/functions.h"
#include "controlplane/functions_internal.h"
#include "controlplane/json_fields.h"

// CreateFunction: request checks, then one transaction for the function, its use of a capacity
// provider and (when publishing) its first version.
namespace hearth {
namespace json = boost::json;
using namespace functions_internal;  // NOLINT(google-build-using-namespace)

Result<json::object> FunctionRegistry::createFunction(const json::object& request) {
  HEARTH_ASSIGN_OR_RETURN(auto name_in, readString(request, "FunctionName"));
  if (!name_in) {
    return validationError("null", "functionName", "Member must not be null");
  }
  HEARTH_ASSIGN_OR_RETURN(FunctionRef ref, parseFunctionRef(*name_in, account_));
  if (ref.qualifier) {
    return invalidParameter("FunctionName must not include a qualifier when creating a function.");
  }
  HEARTH_ASSIGN_OR_RETURN(const json::object* code, readObject(request, "Code"));
  if (code == nullptr) {
    return validationError("null", "code", "Member must not be null");
  }
  HEARTH_ASSIGN_OR_RETURN(auto zip, readString(*code, "ZipFile"));
  HEARTH_ASSIGN_OR_RETURN(auto s3_bucket, readString(*code, "S3Bucket"));
  HEARTH_ASSIGN_OR_RETURN(auto image, readString(*code, "ImageUri"));
  if (!zip) {
    if (s3_bucket || image) {
      return invalidParameter(
          "Hearth stores code itself: upload the deployment package as Code.ZipFile. S3 "
          "locations and container images are not supported.");
    }
    return invalidParameter("Please provide a source for function code.");
  }
  HEARTH_ASSIGN_OR_RETURN(auto publish, readBool(request, "Publish"));
  HEARTH_ASSIGN_OR_RETURN(auto publish_to, readString(request, "PublishTo"));
  HEARTH_RETURN_IF_ERROR(checkPublishTo(publish_to, nullptr));
  HEARTH_ASSIGN_OR_RETURN(auto tags, readStringMap(request, "Tags"));
  if (tags) {
    HEARTH_RETURN_IF_ERROR(validateTags(*tags));
  }

  FunctionConfiguration config;
  config.function_name = ref.name;
  config.function_arn = account_.functionArn(ref.name);
  HEARTH_RETURN_IF_ERROR(applyConfiguration(request, true, account_, providers_, &config));
  HEARTH_RETURN_IF_ERROR(checkPublishTo(publish_to, &config));
  bool managed = config.runsOnCapacityProvider();

  // Nothing is written before every check passed; the code file is removed again if the
  // record cannot be committed and this call created it.
  if (auto record = loadFunctionRecord(ref.name); record.isOk() && record->deleting) {
    HEARTH_RETURN_IF_ERROR(finishDelete(ref.name));  // the name is free once that delete is done
  }
  HEARTH_ASSIGN_OR_RETURN(auto exists, store_->get(keys::function(ref.name)));
  if (exists) {
    return conflict("Function already exist: " + ref.name);
  }
  HEARTH_ASSIGN_OR_RETURN(StoredCode stored_code, storeZip(code_, *zip));
  config.code_size = static_cast<int64_t>(stored_code.size);
  config.code_sha256 = stored_code.sha256_base64;
  config.version = std::string(kLatest);
  config.setState(managed ? FunctionState::kActiveNonInvocable : FunctionState::kActive);
  config.markUpdated(*clock_);

  FunctionRecord base;
  base.name = ref.name;
  base.latest = config;
  base.code_hex = stored_code.sha256_hex;
  base.tags = tags.value_or(std::map<std::string, std::string>{});
  base.version = 0;

  auto result = commitNewFunction(base, publish.value_or(false), publish_to.has_value());
  if (!result.isOk() && stored_code.created) {
    code_->remove(stored_code.sha256_hex).permitUnchecked();
  }
  return result;
}

Result<json::object> FunctionRegistry::commitNewFunction(const FunctionRecord& base, bool publish,
                                                         bool publish_to_latest_published) {
  // The transaction requires the name to be free and the capacity provider's record unchanged
  // since it was checked. A conflict on the provider alone (tagged, updated, or activated
  // meanwhile) is retried against the provider as it is now.
  const std::string cp = base.latest.capacityProvider();
  for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
    FunctionRecord fn = base;
    Txn txn;
    if (!cp.empty()) {
      HEARTH_RETURN_IF_ERROR(expectUsableProvider(cp, txn));
      txn.put(keys::capacityProviderUse(cp, fn.name, kLatest), "ActiveNonInvocable");
    }
    json::object response = fn.latest.toJson();
    if (publish || publish_to_latest_published) {
      HEARTH_ASSIGN_OR_RETURN(response, publishLocked(fn, "", publish_to_latest_published, txn));
      if (!publish_to_latest_published) {
        response["FunctionArn"] = account_.functionArn(fn.name);  // as AWS reports it here
      }
    }
    txn.expect(keys::function(fn.name), 0).put(keys::function(fn.name), fn.serialize());
    auto committed = store_->commit(txn);
    if (committed.isOk()) {
      return response;
    }
    if (committed.status().code() != StatusCode::kConflict) {
      return committed.status();
    }
    HEARTH_ASSIGN_OR_RETURN(auto exists, store_->get(keys::function(fn.name)));
    if (exists) {
      return conflict("Function already exist: " + fn.name);
    }
  }
  return concurrentModification();
}

Status FunctionRegistry::expectUsableProvider(const std::string& name, Txn& txn) {
  HEARTH_ASSIGN_OR_RETURN(CapacityProviderRecord provider,
                          providers_->loadUsable(name, account_.capacityProviderArn(name)));
  txn.expect(keys::capacityProvider(name), provider.version);
  return Status::ok();
}

}  // namespace hearth
