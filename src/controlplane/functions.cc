#include "controlplane/functions.h"

#include "controlplane/functions_internal.h"
#include "store/scan.h"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <set>

#include "artifact/code_store.h"
#include "artifact/encoding.h"
#include "common/ids.h"
#include "controlplane/function_config.h"
#include "controlplane/json_fields.h"
#include "controlplane/stored_fields.h"

namespace hearth {
namespace json = boost::json;
using namespace functions_internal;  // NOLINT(google-build-using-namespace)

namespace keys {
std::string function(std::string_view name) {
  return fmt::format("fn/{}", name);
}
std::string functionVersion(std::string_view name, std::string_view version) {
  // Numbered versions are zero-padded so that key order is numeric order.
  if (isNumericVersion(version)) {
    return fmt::format("fv/{}/{:0>10}", name, version);
  }
  return fmt::format("fv/{}/{}", name, version);
}
std::string functionVersionPrefix(std::string_view name) {
  return fmt::format("fv/{}/", name);
}
std::string alias(std::string_view name, std::string_view alias) {
  return fmt::format("fa/{}/{}", name, alias);
}
std::string aliasPrefix(std::string_view name) {
  return fmt::format("fa/{}/", name);
}
}  // namespace keys

FunctionRegistry::FunctionRegistry(Store* store, CodeStore* code,
                                   CapacityProviderRegistry* providers, const Clock* clock,
                                   AccountContext account)
    : store_(store),
      code_(code),
      providers_(providers),
      clock_(clock),
      account_(std::move(account)) {}

Result<FunctionRegistry::FunctionRecord> FunctionRegistry::loadFunction(std::string_view name) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRecord fn, loadFunctionRecord(name));
  if (fn.deleting) {
    return functionNotFound(account_, name);
  }
  return fn;
}

Result<FunctionRegistry::FunctionRecord> FunctionRegistry::loadFunctionRecord(
    std::string_view name) {
  HEARTH_ASSIGN_OR_RETURN(auto stored, store_->get(keys::function(name)));
  if (!stored) {
    return functionNotFound(account_, name);
  }
  boost::system::error_code ec;
  json::value value = json::parse(stored->value, ec);
  if (ec || !value.is_object()) {
    return internalError("corrupt function record " + stored->key);
  }
  auto& o = value.get_object();
  FunctionRecord fn;
  fn.name = std::string(name);
  if (const auto* c = o.if_contains("config"); c && c->is_object()) {
    fn.latest = FunctionConfiguration::fromJson(c->get_object());
  }
  fn.code_hex = stored::stringAt(o, "code").value_or("");
  fn.tags = tagsFromJson(o.if_contains("tags"));
  if (const auto* n = o.if_contains("next_version"); n && n->is_int64()) {
    fn.next_version = n->get_int64();
  }
  fn.published_revision = stored::stringAt(o, "published_revision").value_or("");
  if (const auto* d = o.if_contains("deleting"); d && d->is_bool()) {
    fn.deleting = d->get_bool();
  }
  fn.version = stored->version;
  return fn;
}

Result<std::optional<FunctionVersionRecord>> FunctionRegistry::loadVersion(
    std::string_view name, std::string_view version) {
  HEARTH_ASSIGN_OR_RETURN(auto stored, store_->get(keys::functionVersion(name, version)));
  if (!stored) {
    return std::optional<FunctionVersionRecord>();
  }
  HEARTH_ASSIGN_OR_RETURN(auto record, parseVersionRecord(*stored));
  return std::optional<FunctionVersionRecord>(std::move(record));
}

Result<json::object> FunctionRegistry::commitFunctionChange(FunctionRecord& fn, Txn& txn,
                                                            json::object response) {
  txn.expect(keys::function(fn.name), fn.version).put(keys::function(fn.name), fn.serialize());
  auto committed = store_->commit(txn);
  if (!committed.isOk()) {
    if (committed.status().code() == StatusCode::kConflict) {
      return concurrentModification();
    }
    return committed.status();
  }
  return response;
}

Result<std::optional<json::object>> FunctionRegistry::commitUnlessRaced(const Txn& txn,
                                                                        json::object response) {
  auto committed = store_->commit(txn);
  if (committed.isOk()) {
    return std::optional<json::object>(std::move(response));
  }
  if (committed.status().code() == StatusCode::kConflict) {
    return std::optional<json::object>();  // another writer won: try again
  }
  return committed.status();
}

Result<json::object> FunctionRegistry::retryLostRaces(
    const std::function<Result<std::optional<json::object>>()>& attempt) {
  for (int i = 0; i < kCasAttempts; ++i) {
    HEARTH_ASSIGN_OR_RETURN(std::optional<json::object> done, attempt());
    if (done) {
      return std::move(*done);
    }
  }
  return concurrentModification();
}

Result<json::object> FunctionRegistry::casUpdate(
    std::string_view name, const std::function<Result<CasStep>(FunctionRecord&, Txn&)>& change) {
  return retryLostRaces([&]() -> Result<std::optional<json::object>> {
    HEARTH_ASSIGN_OR_RETURN(FunctionRecord fn, loadFunction(name));
    Txn txn;
    HEARTH_ASSIGN_OR_RETURN(CasStep step, change(fn, txn));
    if (!step.commit) {
      return std::optional<json::object>(std::move(step.response));
    }
    txn.expect(keys::function(fn.name), fn.version).put(keys::function(fn.name), fn.serialize());
    return commitUnlessRaced(txn, std::move(step.response));
  });
}

Result<FunctionVersionRecord> FunctionRegistry::resolveVersion(
    std::string_view function, const std::optional<std::string>& qualifier) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRef ref, parseFunctionRef(function, account_));
  std::optional<std::string> q = qualifier ? qualifier : ref.qualifier;
  if (ref.qualifier && qualifier && *ref.qualifier != *qualifier) {
    return invalidParameter(
        "The derived qualifier from the function name does not match the "
        "specified qualifier.");
  }
  HEARTH_ASSIGN_OR_RETURN(FunctionRecord fn, loadFunction(ref.name));
  if (!q || *q == kLatest) {
    FunctionVersionRecord latest;
    latest.config = fn.latest;
    latest.code_hex = fn.code_hex;
    latest.version = fn.version;
    return latest;
  }
  std::string version = *q;
  if (!isNumericVersion(version) && version != kLatestPublished) {
    HEARTH_ASSIGN_OR_RETURN(auto alias, store_->get(keys::alias(ref.name, version)));
    if (!alias) {
      return functionNotFound(account_, ref.name, version);
    }
    boost::system::error_code ec;
    json::value a = json::parse(alias->value, ec);
    if (ec || !a.is_object()) {
      return internalError("corrupt alias record");
    }
    version = stored::stringAt(a.get_object(), "FunctionVersion").value_or("");
    if (version == kLatest) {
      FunctionVersionRecord latest;
      latest.config = fn.latest;
      latest.code_hex = fn.code_hex;
      latest.version = fn.version;
      return latest;
    }
  }
  HEARTH_ASSIGN_OR_RETURN(auto record, loadVersion(ref.name, version));
  if (!record) {
    return functionNotFound(account_, ref.name, *q);
  }
  return std::move(*record);
}

namespace {

// A read with an explicit qualifier reports the ARN qualified as asked (":$LATEST", ":alias").
void qualifyArn(const AccountContext& account, std::string_view function,
                const std::optional<std::string>& qualifier, FunctionConfiguration* config) {
  std::optional<std::string> q = qualifier;
  if (!q) {
    auto ref = parseFunctionRef(function, account);
    if (ref.isOk()) {
      q = ref->qualifier;
    }
  }
  if (q) {
    config->function_arn = account.qualifiedFunctionArn(config->function_name, *q);
  }
}

}  // namespace

Result<json::object> FunctionRegistry::getFunctionConfiguration(
    std::string_view function, const std::optional<std::string>& qualifier) {
  HEARTH_ASSIGN_OR_RETURN(FunctionVersionRecord record, resolveVersion(function, qualifier));
  qualifyArn(account_, function, qualifier, &record.config);
  return record.config.toJson();
}

Result<json::object> FunctionRegistry::getFunction(std::string_view function,
                                                   const std::optional<std::string>& qualifier) {
  HEARTH_ASSIGN_OR_RETURN(FunctionVersionRecord record, resolveVersion(function, qualifier));
  qualifyArn(account_, function, qualifier, &record.config);
  HEARTH_ASSIGN_OR_RETURN(FunctionRecord fn, loadFunction(record.config.function_name));
  json::object out{{"Configuration", record.config.toJson()},
                   {"Code", json::object{{"RepositoryType", "S3"},
                                         {"Location", code_location_base_ + "/_hearth/code/" +
                                                          record.code_hex + ".zip"}}}};
  if (!fn.tags.empty()) {
    out["Tags"] = tagsToJson(fn.tags);
  }
  return out;
}

Result<json::object> FunctionRegistry::listFunctions(
    const std::optional<std::string>& marker, std::optional<int64_t> max_items,
    const std::optional<std::string>& function_version) {
  HEARTH_ASSIGN_OR_RETURN(auto max, validateMaxItems(max_items, kMaxListFunctions));
  int64_t limit = max.value_or(kDefaultListItems);
  if (function_version && *function_version != "ALL") {
    return validationError(*function_version, "functionVersion",
                           "Member must satisfy enum value set: [ALL]");
  }
  bool all = function_version.has_value();
  // Marker: the store key of the last configuration returned.
  std::string prefix = all ? "f" : std::string(keys::kFunctionPrefix);
  std::string start_after;
  if (marker) {
    auto decoded = base64Decode(*marker);
    if (!decoded.isOk()) {
      return invalidParameter("Invalid Marker: " + *marker);
    }
    start_after = *decoded;
  }
  std::vector<FunctionConfiguration> functions;
  std::optional<std::string> next;
  std::string last_key;
  std::map<std::string, bool> deleting;  // function name → being deleted (or gone)
  for (;;) {
    HEARTH_ASSIGN_OR_RETURN(auto page, store_->list(prefix, start_after, 200));
    for (const auto& stored : page) {
      start_after = stored.key;
      bool is_function = stored.key.rfind(keys::kFunctionPrefix, 0) == 0;
      bool is_version = stored.key.rfind(keys::kFunctionVersionPrefix, 0) == 0;
      if (!is_function && !is_version) {
        continue;
      }
      if (static_cast<int64_t>(functions.size()) == limit) {
        next = base64Encode(last_key);
        break;
      }
      boost::system::error_code ec;
      json::value value = json::parse(stored.value, ec);
      if (ec || !value.is_object()) {
        return internalError("corrupt record " + stored.key);
      }
      const json::value* config = value.get_object().if_contains("config");
      if (config == nullptr || !config->is_object()) {
        continue;
      }
      // A function being deleted is gone, with its versions. A function record says so itself;
      // a version is looked up through its function (once per function).
      FunctionConfiguration listed = FunctionConfiguration::fromJson(config->get_object());
      const std::string& name = listed.function_name;
      auto known = deleting.find(name);
      if (known == deleting.end() && is_function) {
        const json::value* mark = value.get_object().if_contains("deleting");
        known =
            deleting.emplace(name, mark != nullptr && mark->is_bool() && mark->get_bool()).first;
      } else if (known == deleting.end()) {
        auto record = loadFunctionRecord(name);
        known = deleting.emplace(name, !record.isOk() || record->deleting).first;
      }
      if (known->second) {
        continue;
      }
      last_key = stored.key;
      functions.push_back(std::move(listed));
    }
    if (next || page.size() < 200) {
      break;
    }
  }
  if (all) {
    // Keys sort fn/... before fv/...; AWS lists each function's $LATEST next to its versions.
    std::stable_sort(functions.begin(), functions.end(),
                     [](const FunctionConfiguration& a, const FunctionConfiguration& b) {
                       return a.function_name < b.function_name;
                     });
  }
  json::array listed;
  for (const auto& f : functions) {
    listed.push_back(f.toJson());
  }
  json::object out{{"Functions", std::move(listed)}};
  if (next) {
    out["NextMarker"] = *next;
  }
  return out;
}

Result<json::object> FunctionRegistry::updateFunctionCode(std::string_view function,
                                                          const json::object& request) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRef ref, parseFunctionRef(function, account_));
  HEARTH_ASSIGN_OR_RETURN(auto zip, readString(request, "ZipFile"));
  HEARTH_ASSIGN_OR_RETURN(auto s3_bucket, readString(request, "S3Bucket"));
  HEARTH_ASSIGN_OR_RETURN(auto image, readString(request, "ImageUri"));
  HEARTH_ASSIGN_OR_RETURN(auto publish, readBool(request, "Publish"));
  HEARTH_ASSIGN_OR_RETURN(auto publish_to, readString(request, "PublishTo"));
  HEARTH_ASSIGN_OR_RETURN(auto dry_run, readBool(request, "DryRun"));
  HEARTH_ASSIGN_OR_RETURN(auto revision, readString(request, "RevisionId"));
  HEARTH_ASSIGN_OR_RETURN(auto architectures, readStringList(request, "Architectures"));
  HEARTH_RETURN_IF_ERROR(checkPublishTo(publish_to, nullptr));
  if (!zip) {
    if (s3_bucket || image) {
      return invalidParameter(
          "Hearth stores code itself: upload the deployment package as ZipFile. S3 locations and "
          "container images are not supported.");
    }
    return invalidParameter("Please provide a source for function code.");
  }
  HEARTH_ASSIGN_OR_RETURN(FunctionRecord check, loadFunction(ref.name));
  if (revision && *revision != check.latest.revision_id) {
    return revisionMismatch();
  }
  HEARTH_RETURN_IF_ERROR(checkPublishTo(publish_to, &check.latest));
  HEARTH_ASSIGN_OR_RETURN(StoredCode stored_code, storeZip(code_, *zip));
  if (dry_run.value_or(false)) {
    FunctionConfiguration preview = check.latest;
    preview.code_sha256 = stored_code.sha256_base64;
    preview.code_size = static_cast<int64_t>(stored_code.size);
    if (stored_code.created) {
      code_->remove(stored_code.sha256_hex).permitUnchecked();
    }
    return preview.toJson();
  }
  auto result = casUpdate(ref.name, [&](FunctionRecord& fn, Txn& txn) -> Result<CasStep> {
    if (revision && *revision != fn.latest.revision_id) {
      return revisionMismatch();
    }
    fn.latest.code_sha256 = stored_code.sha256_base64;
    fn.latest.code_size = static_cast<int64_t>(stored_code.size);
    if (architectures && architectures->size() == 1) {
      fn.latest.architecture = (*architectures)[0];
    }
    fn.latest.markUpdated(*clock_);
    fn.code_hex = stored_code.sha256_hex;
    CasStep step{fn.latest.toJson()};
    if (publish.value_or(false) || publish_to) {
      HEARTH_ASSIGN_OR_RETURN(step.response, publishLocked(fn, "", publish_to.has_value(), txn));
    }
    return step;
  });
  // The code this call stored is referenced now, or collected in the background (after the
  // grace period) if not.
  return result;
}

Result<json::object> FunctionRegistry::updateFunctionConfiguration(std::string_view function,
                                                                   const json::object& request) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRef ref, parseFunctionRef(function, account_));
  HEARTH_ASSIGN_OR_RETURN(auto revision, readString(request, "RevisionId"));
  return casUpdate(ref.name, [&](FunctionRecord& fn, Txn&) -> Result<CasStep> {
    if (revision && *revision != fn.latest.revision_id) {
      return revisionMismatch();
    }
    HEARTH_RETURN_IF_ERROR(applyConfiguration(request, false, account_, providers_, &fn.latest));
    fn.latest.markUpdated(*clock_);
    return CasStep{fn.latest.toJson()};
  });
}

}  // namespace hearth
