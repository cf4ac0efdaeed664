#include "controlplane/functions.h"

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

namespace hearth {
namespace json = boost::json;

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

namespace {

constexpr size_t kMaxZipBytes = 50u * 1024 * 1024;
constexpr int64_t kMaxListFunctions = 10000;
constexpr int64_t kDefaultListItems = 50;
constexpr int kCasAttempts = 5;
constexpr int64_t kMaxExecutionEnvironments = 15000;
constexpr size_t kMaxTags = 50;

Status functionNotFound(const AccountContext& account, std::string_view name,
                        std::optional<std::string_view> qualifier = std::nullopt) {
  std::string arn =
      qualifier ? account.qualifiedFunctionArn(name, *qualifier) : account.functionArn(name);
  return Status(StatusCode::kNotFound, "Function not found: " + arn);
}

Status revisionMismatch() {
  return Status(StatusCode::kPreconditionFailed,
                "The Revision Id provided does not match the latest Revision Id. Call the "
                "GetFunction/GetAlias API to retrieve the latest Revision Id");
}

// PublishTo is LATEST_PUBLISHED or absent, and only for a function on a capacity provider
// (`config`, when known).
Status checkPublishTo(const std::optional<std::string>& publish_to, const json::object* config) {
  if (!publish_to) {
    return Status::ok();
  }
  if (*publish_to != "LATEST_PUBLISHED") {
    return validationError(*publish_to, "publishTo",
                           "Member must satisfy enum value set: [LATEST_PUBLISHED]");
  }
  if (config != nullptr && capacityProviderOf(*config).empty()) {
    return invalidParameter(
        "PublishTo LATEST_PUBLISHED is only supported for functions that use a capacity "
        "provider.");
  }
  return Status::ok();
}

Status concurrentModification() {
  return conflict(
      "The operation cannot be performed at this time. An update is in progress for resource: "
      "the function was modified concurrently.");
}

json::object tagsToJson(const std::map<std::string, std::string>& tags) {
  json::object out;
  for (const auto& [k, v] : tags) {
    out[k] = v;
  }
  return out;
}

std::map<std::string, std::string> tagsFromJson(const json::value* v) {
  std::map<std::string, std::string> out;
  if (v != nullptr && v->is_object()) {
    for (const auto& [k, val] : v->get_object()) {
      if (val.is_string()) {
        out.emplace(std::string(k), std::string(val.get_string()));
      }
    }
  }
  return out;
}

Status validateTags(const std::map<std::string, std::string>& tags) {
  if (tags.size() > kMaxTags) {
    return invalidParameter(fmt::format("A resource can have at most {} tags.", kMaxTags));
  }
  for (const auto& [k, v] : tags) {
    if (k.empty() || k.size() > 128) {
      return lengthError(k, "tags.key", 1, 128);
    }
    if (v.size() > 256) {
      return lengthError(v, "tags.value", 0, 256);
    }
    if (k.rfind("aws:", 0) == 0) {
      return invalidParameter("Tag keys starting with 'aws:' are reserved for AWS use.");
    }
  }
  return Status::ok();
}

std::string versionRecordJson(const FunctionVersionRecord& v) {
  json::object out{{"config", v.config}, {"code", v.code_hex}};
  if (v.scaling) {
    out["scaling"] = *v.scaling;
  }
  return json::serialize(out);
}

Result<FunctionVersionRecord> parseVersionRecord(const Record& stored) {
  boost::system::error_code ec;
  json::value value = json::parse(stored.value, ec);
  if (ec || !value.is_object()) {
    return internalError("corrupt function version record " + stored.key);
  }
  auto& o = value.get_object();
  FunctionVersionRecord out;
  if (const auto* c = o.if_contains("config"); c && c->is_object()) {
    out.config = c->get_object();
  }
  out.code_hex = stringMember(o, "code");
  if (const auto* s = o.if_contains("scaling"); s && s->is_object()) {
    out.scaling = s->get_object();
  }
  out.version = stored.version;
  return out;
}

Result<std::optional<int64_t>> validateMaxItems(std::optional<int64_t> max_items, int64_t max) {
  if (max_items && (*max_items < 1 || *max_items > max)) {
    return rangeError(*max_items, "maxItems", 1, max);
  }
  return max_items;
}

void setState(json::object* config, std::string_view state, std::string_view reason,
              std::string_view reason_code) {
  (*config)["State"] = state;
  if (reason.empty()) {
    config->erase("StateReason");
    config->erase("StateReasonCode");
  } else {
    (*config)["StateReason"] = reason;
    (*config)["StateReasonCode"] = reason_code;
  }
}

void setUpdated(json::object* config, const Clock& clock) {
  (*config)["LastModified"] = formatAwsTimestamp(clock.wallNow());
  (*config)["RevisionId"] = newUuid();
  (*config)["LastUpdateStatus"] = "Successful";
  config->erase("LastUpdateStatusReason");
  config->erase("LastUpdateStatusReasonCode");
}

// Decodes and stores Code.ZipFile / ZipFile. Returns the stored code.
Result<StoredCode> storeZip(CodeStore* code, const std::string& base64) {
  if (base64.size() > (kMaxZipBytes / 3 + 1) * 4) {
    return Status(StatusCode::kPayloadTooLarge,
                  fmt::format("Unzipped size must be smaller than 262144000 bytes; zipped "
                              "deployment packages uploaded directly must be at most {} bytes.",
                              kMaxZipBytes));
  }
  auto bytes = base64Decode(base64);
  if (!bytes.isOk()) {
    return Status(StatusCode::kInvalidRequestContent,
                  "Could not parse request body into json: ZipFile is not valid base64.");
  }
  if (bytes->size() > kMaxZipBytes) {
    return Status(StatusCode::kPayloadTooLarge,
                  fmt::format("Zipped deployment packages uploaded directly must be at most {} "
                              "bytes.",
                              kMaxZipBytes));
  }
  return code->put(*bytes);
}

}  // namespace

// fn/<name>: the function's $LATEST configuration and its function-level data.
struct FunctionRegistry::FunctionRecord {
  std::string name;
  json::object latest;  // FunctionConfiguration of $LATEST
  std::string code_hex;
  std::map<std::string, std::string> tags;
  int64_t next_version = 1;
  // RevisionId of $LATEST when the newest numbered version was published from it.
  std::string published_revision;
  // Being deleted: to readers the function is gone; its records are being removed.
  bool deleting = false;
  int64_t version = 0;  // store version of fn/<name>

  std::string serialize() const {
    return json::serialize(json::object{{"config", latest},
                                        {"code", code_hex},
                                        {"tags", tagsToJson(tags)},
                                        {"next_version", next_version},
                                        {"published_revision", published_revision},
                                        {"deleting", deleting}});
  }
};

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
    fn.latest = c->get_object();
  }
  fn.code_hex = stringMember(o, "code");
  fn.tags = tagsFromJson(o.if_contains("tags"));
  if (const auto* n = o.if_contains("next_version"); n && n->is_int64()) {
    fn.next_version = n->get_int64();
  }
  fn.published_revision = stringMember(o, "published_revision");
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

  json::object config;
  config["FunctionName"] = ref.name;
  config["FunctionArn"] = account_.functionArn(ref.name);
  HEARTH_RETURN_IF_ERROR(applyConfiguration(request, true, account_, providers_, &config));
  HEARTH_RETURN_IF_ERROR(checkPublishTo(publish_to, &config));
  bool managed = !capacityProviderOf(config).empty();

  // Nothing is written before every check passed; the code file is removed again if the
  // record cannot be committed and this call created it.
  HEARTH_ASSIGN_OR_RETURN(auto exists, store_->get(keys::function(ref.name)));
  if (exists) {
    return conflict("Function already exist: " + ref.name);
  }
  HEARTH_ASSIGN_OR_RETURN(StoredCode stored_code, storeZip(code_, *zip));
  config["CodeSize"] = stored_code.size;
  config["CodeSha256"] = stored_code.sha256_base64;
  config["Version"] = std::string(kLatest);
  config["PackageType"] = "Zip";
  config["SnapStart"] = json::object{{"ApplyOn", "None"}, {"OptimizationStatus", "Off"}};
  if (managed) {
    setState(&config, "ActiveNonInvocable", "", "");
  } else {
    setState(&config, "Active", "", "");
  }
  setUpdated(&config, *clock_);

  FunctionRecord fn;
  fn.name = ref.name;
  fn.latest = config;
  fn.code_hex = stored_code.sha256_hex;
  fn.tags = tags.value_or(std::map<std::string, std::string>{});
  fn.version = 0;

  Txn txn;
  std::string cp = capacityProviderOf(config);
  if (!cp.empty()) {
    txn.put(keys::capacityProviderUse(cp, ref.name, kLatest), "ActiveNonInvocable");
    HEARTH_ASSIGN_OR_RETURN(auto provider, providers_->load(cp));
    txn.expect(keys::capacityProvider(cp), provider.version);
  }
  json::object response = config;
  if (publish.value_or(false) || publish_to) {
    auto published = publishLocked(fn, "", publish_to.has_value(), txn);
    if (!published.isOk()) {
      if (stored_code.created) {
        code_->remove(stored_code.sha256_hex).permitUnchecked();
      }
      return published.status();
    }
    response = std::move(published).value();
    if (!publish_to) {
      response["FunctionArn"] = account_.functionArn(ref.name);  // as AWS reports it here
    }
  }
  auto result = commitFunctionChange(fn, txn, response);
  if (!result.isOk() && stored_code.created) {
    code_->remove(stored_code.sha256_hex).permitUnchecked();
  }
  if (!result.isOk() && result.status().code() == StatusCode::kConflict) {
    return conflict("Function already exist: " + ref.name);
  }
  return result;
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
    version = stringMember(a.get_object(), "FunctionVersion");
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
                const std::optional<std::string>& qualifier, json::object* config) {
  std::optional<std::string> q = qualifier;
  if (!q) {
    auto ref = parseFunctionRef(function, account);
    if (ref.isOk()) {
      q = ref->qualifier;
    }
  }
  if (q) {
    (*config)["FunctionArn"] =
        account.qualifiedFunctionArn(stringMember(*config, "FunctionName"), *q);
  }
}

}  // namespace

Result<json::object> FunctionRegistry::getFunctionConfiguration(
    std::string_view function, const std::optional<std::string>& qualifier) {
  HEARTH_ASSIGN_OR_RETURN(FunctionVersionRecord record, resolveVersion(function, qualifier));
  qualifyArn(account_, function, qualifier, &record.config);
  return std::move(record.config);
}

Result<json::object> FunctionRegistry::getFunction(std::string_view function,
                                                   const std::optional<std::string>& qualifier) {
  HEARTH_ASSIGN_OR_RETURN(FunctionVersionRecord record, resolveVersion(function, qualifier));
  qualifyArn(account_, function, qualifier, &record.config);
  std::string name = stringMember(record.config, "FunctionName");
  HEARTH_ASSIGN_OR_RETURN(FunctionRecord fn, loadFunction(name));
  json::object out{{"Configuration", std::move(record.config)},
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
  json::array functions;
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
      // A function being deleted is gone, with its versions.
      std::string name = stringMember(config->get_object(), "FunctionName");
      auto known = deleting.find(name);
      if (known == deleting.end()) {
        auto record = loadFunctionRecord(name);
        known = deleting.emplace(name, !record.isOk() || record->deleting).first;
      }
      if (known->second) {
        continue;
      }
      last_key = stored.key;
      functions.push_back(*config);
    }
    if (next || page.size() < 200) {
      break;
    }
  }
  if (all) {
    // Keys sort fn/... before fv/...; AWS lists each function's $LATEST next to its versions.
    std::stable_sort(functions.begin(), functions.end(),
                     [](const json::value& a, const json::value& b) {
                       return stringMember(a.get_object(), "FunctionName") <
                              stringMember(b.get_object(), "FunctionName");
                     });
  }
  json::object out{{"Functions", std::move(functions)}};
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
  if (revision && *revision != stringMember(check.latest, "RevisionId")) {
    return revisionMismatch();
  }
  HEARTH_RETURN_IF_ERROR(checkPublishTo(publish_to, &check.latest));
  HEARTH_ASSIGN_OR_RETURN(StoredCode stored_code, storeZip(code_, *zip));
  if (dry_run.value_or(false)) {
    json::object preview = check.latest;
    preview["CodeSha256"] = stored_code.sha256_base64;
    preview["CodeSize"] = stored_code.size;
    if (stored_code.created) {
      code_->remove(stored_code.sha256_hex).permitUnchecked();
    }
    return preview;
  }
  auto result = casUpdate(ref.name, [&](FunctionRecord& fn, Txn& txn) -> Result<CasStep> {
    if (revision && *revision != stringMember(fn.latest, "RevisionId")) {
      return revisionMismatch();
    }
    fn.latest["CodeSha256"] = stored_code.sha256_base64;
    fn.latest["CodeSize"] = stored_code.size;
    if (architectures && architectures->size() == 1) {
      fn.latest["Architectures"] = json::array{json::value((*architectures)[0])};
    }
    setUpdated(&fn.latest, *clock_);
    fn.code_hex = stored_code.sha256_hex;
    CasStep step{fn.latest};
    if (publish.value_or(false) || publish_to) {
      HEARTH_ASSIGN_OR_RETURN(step.response, publishLocked(fn, "", publish_to.has_value(), txn));
    }
    return step;
  });
  // The code this call stored is referenced now, or collected (after the grace period) if not.
  collectGarbageCode().permitUnchecked();
  return result;
}

Result<json::object> FunctionRegistry::updateFunctionConfiguration(std::string_view function,
                                                                   const json::object& request) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRef ref, parseFunctionRef(function, account_));
  HEARTH_ASSIGN_OR_RETURN(auto revision, readString(request, "RevisionId"));
  return casUpdate(ref.name, [&](FunctionRecord& fn, Txn&) -> Result<CasStep> {
    if (revision && *revision != stringMember(fn.latest, "RevisionId")) {
      return revisionMismatch();
    }
    HEARTH_RETURN_IF_ERROR(applyConfiguration(request, false, account_, providers_, &fn.latest));
    setUpdated(&fn.latest, *clock_);
    return CasStep{fn.latest};
  });
}

Result<FunctionRegistry::DeleteOutcome> FunctionRegistry::deleteFunction(
    std::string_view function, const std::optional<std::string>& qualifier) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRef ref, parseFunctionRef(function, account_));
  std::optional<std::string> q = qualifier ? qualifier : ref.qualifier;
  if (q && *q == kLatest) {
    return invalidParameter("$LATEST version cannot be deleted without deleting the function.");
  }
  if (q && !isNumericVersion(*q) && *q != kLatestPublished) {
    return invalidParameter(
        "Deletion of aliases is not supported by DeleteFunction; use DeleteAlias.");
  }
  std::string cp;
  if (q) {
    auto deleted = casUpdate(ref.name, [&](FunctionRecord& fn, Txn& txn) -> Result<CasStep> {
      cp = capacityProviderOf(fn.latest);
      HEARTH_ASSIGN_OR_RETURN(auto version, loadVersion(ref.name, *q));
      if (!version) {
        return functionNotFound(account_, ref.name, *q);
      }
      std::vector<std::string> users;
      HEARTH_RETURN_IF_ERROR(
          scanPrefix(*store_, keys::aliasPrefix(ref.name), "", [&](const Record& stored) {
            boost::system::error_code ec;
            json::value a = json::parse(stored.value, ec);
            if (!ec && a.is_object()) {
              const auto& obj = a.get_object();
              bool uses = stringMember(obj, "FunctionVersion") == *q;
              if (const auto* rc = obj.if_contains("RoutingConfig"); rc && rc->is_object()) {
                if (const auto* w = rc->get_object().if_contains("AdditionalVersionWeights");
                    w && w->is_object() && w->get_object().contains(*q)) {
                  uses = true;
                }
              }
              if (uses) {
                users.push_back(stringMember(obj, "Name"));
              }
            }
            return true;
          }));
      if (!users.empty()) {
        std::string list;
        for (const auto& u : users) {
          list += (list.empty() ? "" : ", ") + u;
        }
        return conflict("Unable to delete version because the following aliases reference it: [" +
                        list + "]");
      }
      txn.expect(keys::functionVersion(ref.name, *q), version->version)
          .del(keys::functionVersion(ref.name, *q));
      if (!cp.empty()) {
        txn.del(keys::capacityProviderUse(cp, ref.name, *q));
      }
      return CasStep{};
    });
    HEARTH_RETURN_IF_ERROR(deleted.status());
  } else {
    // The function disappears for readers in one transaction (the mark); its versions, aliases
    // and index entries then go in transactions that each fit an etcd transaction.
    auto marked = casUpdate(ref.name, [&](FunctionRecord& fn, Txn&) -> Result<CasStep> {
      cp = capacityProviderOf(fn.latest);
      fn.deleting = true;
      return CasStep{};
    });
    HEARTH_RETURN_IF_ERROR(marked.status());
    HEARTH_RETURN_IF_ERROR(finishDelete(ref.name));
  }
  collectGarbageCode().permitUnchecked();
  return DeleteOutcome{.asynchronous = !cp.empty()};
}

Status FunctionRegistry::finishDelete(std::string_view name) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRecord fn, loadFunctionRecord(name));
  if (!fn.deleting) {
    return Status::ok();
  }
  std::vector<std::string> prefixes = {keys::aliasPrefix(name)};
  if (std::string cp = capacityProviderOf(fn.latest); !cp.empty()) {
    prefixes.push_back(keys::capacityProviderUsePrefix(cp) + std::string(name) + "/");
  }
  prefixes.push_back(keys::functionVersionPrefix(name));
  for (const auto& prefix : prefixes) {
    for (;;) {
      HEARTH_ASSIGN_OR_RETURN(auto batch, store_->list(prefix, "", kMaxTxnOps));
      if (batch.empty()) {
        break;
      }
      Txn txn;
      for (const auto& record : batch) {
        txn.del(record.key);
      }
      HEARTH_RETURN_IF_ERROR(store_->commit(txn).status());
    }
  }
  Txn last;
  last.expect(keys::function(name), fn.version).del(keys::function(name));
  return store_->commit(last).status();
}

Status FunctionRegistry::finishPendingDeletes() {
  std::vector<std::string> pending;
  HEARTH_RETURN_IF_ERROR(scanPrefix(*store_, keys::kFunctionPrefix, "", [&](const Record& r) {
    if (r.value.find("\"deleting\":true") != std::string::npos) {
      pending.push_back(r.key.substr(keys::kFunctionPrefix.size()));
    }
    return true;
  }));
  for (const auto& name : pending) {
    HEARTH_RETURN_IF_ERROR(finishDelete(name));
  }
  return Status::ok();
}

Result<json::object> FunctionRegistry::publishLocked(FunctionRecord& fn,
                                                     const std::string& description,
                                                     bool to_latest_published, Txn& txn) {
  std::string cp = capacityProviderOf(fn.latest);
  json::object config = fn.latest;
  std::optional<json::object> scaling;
  std::string version;
  if (to_latest_published) {
    version = std::string(kLatestPublished);
    HEARTH_ASSIGN_OR_RETURN(auto previous, loadVersion(fn.name, version));
    if (previous) {
      scaling = previous->scaling;  // set on $LATEST.PUBLISHED, kept across republishes
      txn.expect(keys::functionVersion(fn.name, version), previous->version);
    } else {
      txn.expect(keys::functionVersion(fn.name, version), 0);
    }
  } else {
    // AWS returns the newest version unchanged when $LATEST has not changed since it was
    // published (every change of $LATEST gives it a new RevisionId).
    if (fn.next_version > 1 && fn.published_revision == stringMember(fn.latest, "RevisionId")) {
      HEARTH_ASSIGN_OR_RETURN(auto last, loadVersion(fn.name, std::to_string(fn.next_version - 1)));
      if (last) {
        return last->config;
      }
    }
    version = std::to_string(fn.next_version);
    ++fn.next_version;
    fn.published_revision = stringMember(fn.latest, "RevisionId");
    txn.expect(keys::functionVersion(fn.name, version), 0);
  }
  if (!cp.empty()) {
    HEARTH_ASSIGN_OR_RETURN(auto uses, store_->list(keys::capacityProviderUsePrefix(cp), "", 101));
    if (uses.size() > 100) {
      return Status(StatusCode::kLimitExceeded,
                    "A capacity provider can run at most 100 function versions.");
    }
  }
  config["Version"] = version;
  config["FunctionArn"] = account_.qualifiedFunctionArn(fn.name, version);
  config["Description"] =
      description.empty() ? stringMember(fn.latest, "Description") : description;
  config["LastModified"] = formatAwsTimestamp(clock_->wallNow());
  config["RevisionId"] = newUuid();
  if (cp.empty()) {
    setState(&config, "Active", "", "");
  } else {
    // The data plane moves the version to Active once its minimum execution environments
    // have passed init.
    setState(&config, "Pending", "Lambda is provisioning execution environments.", "Creating");
    txn.put(keys::capacityProviderUse(cp, fn.name, version), "Pending");
  }
  FunctionVersionRecord record;
  record.config = config;
  record.code_hex = fn.code_hex;
  record.scaling = scaling;
  txn.put(keys::functionVersion(fn.name, version), versionRecordJson(record));
  return config;
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
    if (revision && *revision != stringMember(fn.latest, "RevisionId")) {
      return revisionMismatch();
    }
    std::string current_sha = stringMember(fn.latest, "CodeSha256");
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
  std::vector<json::object> all;
  std::string start_after;
  if (!marker) {
    all.push_back(fn.latest);
    all.back()["FunctionArn"] = account_.qualifiedFunctionArn(ref.name, kLatest);
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
    last_version = stringMember(all[i], "Version");
    out_versions.push_back(std::move(all[i]));
  }
  json::object out{{"Versions", std::move(out_versions)}};
  if (next) {
    out["NextMarker"] = *next;
  }
  return out;
}

namespace {

Result<json::object> parseRoutingConfig(const json::object& request) {
  HEARTH_ASSIGN_OR_RETURN(const json::object* routing, readObject(request, "RoutingConfig"));
  json::object weights;
  if (routing != nullptr) {
    HEARTH_ASSIGN_OR_RETURN(const json::object* in,
                            readObject(*routing, "AdditionalVersionWeights"));
    if (in != nullptr) {
      for (const auto& [version, weight] : *in) {
        if (!weight.is_number()) {
          return Status(StatusCode::kInvalidRequestContent,
                        "Could not parse request body into json: version weights must be "
                        "numbers");
        }
        double w = weight.is_double() ? weight.get_double()
                                      : static_cast<double>(weight.to_number<int64_t>());
        if (w < 0.0 || w > 1.0) {
          return validationError(fmt::format("{}", w), "routingConfig.additionalVersionWeights",
                                 "Map value must satisfy constraint: [Member must have value "
                                 "less than or equal to 1.0, Member must have value greater than "
                                 "or equal to 0.0]");
        }
        if (!isNumericVersion(version)) {
          return validationError(std::string(version), "routingConfig.additionalVersionWeights",
                                 "Map keys must satisfy constraint: [Member must satisfy regular "
                                 "expression pattern: [0-9]+]");
        }
        weights[version] = w;
      }
    }
  }
  if (weights.size() > 1) {
    return invalidParameter("Number of additional version weights cannot be greater than 1.");
  }
  return weights;
}

}  // namespace

Result<json::object> FunctionRegistry::createAlias(std::string_view function,
                                                   const json::object& request) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRef ref, parseFunctionRef(function, account_));
  HEARTH_ASSIGN_OR_RETURN(auto name, readString(request, "Name"));
  HEARTH_ASSIGN_OR_RETURN(auto version, readString(request, "FunctionVersion"));
  HEARTH_ASSIGN_OR_RETURN(auto description, readString(request, "Description"));
  if (!name) {
    return validationError("null", "name", "Member must not be null");
  }
  if (!isValidAliasName(*name)) {
    return validationError(*name, "name",
                           "Member must satisfy regular expression pattern: "
                           "(?!^[0-9]+$)([a-zA-Z0-9-_]+)");
  }
  if (!version) {
    return validationError("null", "functionVersion", "Member must not be null");
  }
  if (description && description->size() > 256) {
    return lengthError(*description, "description", 0, 256);
  }
  HEARTH_ASSIGN_OR_RETURN(json::object weights, parseRoutingConfig(request));
  return casUpdate(ref.name, [&](FunctionRecord& fn, Txn& txn) -> Result<CasStep> {
    if (*version != kLatest) {
      HEARTH_ASSIGN_OR_RETURN(auto target, loadVersion(ref.name, *version));
      if (!target) {
        return functionNotFound(account_, ref.name, *version);
      }
    }
    for (const auto& [v, w] : weights) {
      HEARTH_ASSIGN_OR_RETURN(auto extra, loadVersion(ref.name, v));
      if (!extra) {
        return functionNotFound(account_, ref.name, v);
      }
      if (std::string_view(v) == *version) {
        return invalidParameter(
            "Invalid function version in the routing config: the additional "
            "version must differ from the alias's primary version.");
      }
    }
    HEARTH_ASSIGN_OR_RETURN(auto existing, store_->get(keys::alias(ref.name, *name)));
    if (existing) {
      return conflict(
          fmt::format("Alias already exists: {}", account_.qualifiedFunctionArn(ref.name, *name)));
    }
    json::object alias{{"AliasArn", account_.qualifiedFunctionArn(ref.name, *name)},
                       {"Name", *name},
                       {"FunctionVersion", *version},
                       {"Description", description.value_or("")},
                       {"RevisionId", newUuid()}};
    if (!weights.empty()) {
      alias["RoutingConfig"] = json::object{{"AdditionalVersionWeights", weights}};
    }
    txn.expect(keys::alias(ref.name, *name), 0)
        .put(keys::alias(ref.name, *name), json::serialize(alias));
    return CasStep{std::move(alias)};
  });
}

Result<json::object> FunctionRegistry::getAlias(std::string_view function, std::string_view alias) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRef ref, parseFunctionRef(function, account_));
  HEARTH_ASSIGN_OR_RETURN(FunctionRecord fn, loadFunction(ref.name));
  HEARTH_ASSIGN_OR_RETURN(auto stored, store_->get(keys::alias(ref.name, alias)));
  if (!stored) {
    return Status(StatusCode::kNotFound,
                  "Alias not found: " + account_.qualifiedFunctionArn(ref.name, alias));
  }
  boost::system::error_code ec;
  json::value value = json::parse(stored->value, ec);
  if (ec || !value.is_object()) {
    return internalError("corrupt alias record");
  }
  return std::move(value.get_object());
}

Result<json::object> FunctionRegistry::updateAlias(std::string_view function,
                                                   std::string_view alias_name,
                                                   const json::object& request) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRef ref, parseFunctionRef(function, account_));
  HEARTH_ASSIGN_OR_RETURN(auto version, readString(request, "FunctionVersion"));
  HEARTH_ASSIGN_OR_RETURN(auto description, readString(request, "Description"));
  HEARTH_ASSIGN_OR_RETURN(auto revision, readString(request, "RevisionId"));
  HEARTH_ASSIGN_OR_RETURN(const json::object* routing, readObject(request, "RoutingConfig"));
  HEARTH_ASSIGN_OR_RETURN(json::object weights, parseRoutingConfig(request));
  if (description && description->size() > 256) {
    return lengthError(*description, "description", 0, 256);
  }
  return casUpdate(ref.name, [&](FunctionRecord&, Txn& txn) -> Result<CasStep> {
    HEARTH_ASSIGN_OR_RETURN(json::object alias, getAlias(function, alias_name));
    if (revision && *revision != stringMember(alias, "RevisionId")) {
      return revisionMismatch();
    }
    if (version) {
      if (*version != kLatest) {
        HEARTH_ASSIGN_OR_RETURN(auto target, loadVersion(ref.name, *version));
        if (!target) {
          return functionNotFound(account_, ref.name, *version);
        }
      }
      alias["FunctionVersion"] = *version;
    }
    if (description) {
      alias["Description"] = *description;
    }
    if (routing != nullptr) {
      for (const auto& [v, w] : weights) {
        HEARTH_ASSIGN_OR_RETURN(auto extra, loadVersion(ref.name, v));
        if (!extra) {
          return functionNotFound(account_, ref.name, v);
        }
        if (std::string_view(v) == stringMember(alias, "FunctionVersion")) {
          return invalidParameter(
              "Invalid function version in the routing config: the additional version must "
              "differ from the alias's primary version.");
        }
      }
      if (weights.empty()) {
        alias.erase("RoutingConfig");
      } else {
        alias["RoutingConfig"] = json::object{{"AdditionalVersionWeights", weights}};
      }
    }
    alias["RevisionId"] = newUuid();
    txn.put(keys::alias(ref.name, alias_name), json::serialize(alias));
    return CasStep{std::move(alias)};
  });
}

Status FunctionRegistry::deleteAlias(std::string_view function, std::string_view alias) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRef ref, parseFunctionRef(function, account_));
  return casUpdate(
             ref.name,
             [&](FunctionRecord&, Txn& txn) -> Result<CasStep> {
               HEARTH_ASSIGN_OR_RETURN(auto stored, store_->get(keys::alias(ref.name, alias)));
               if (!stored) {
                 return CasStep{{}, false};  // AWS answers 204 for an alias that does not exist
               }
               txn.del(keys::alias(ref.name, alias));
               return CasStep{};
             })
      .status();
}

Result<json::object> FunctionRegistry::listAliases(
    std::string_view function, const std::optional<std::string>& function_version,
    const std::optional<std::string>& marker, std::optional<int64_t> max_items) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRef ref, parseFunctionRef(function, account_));
  HEARTH_ASSIGN_OR_RETURN(auto max, validateMaxItems(max_items, kMaxListFunctions));
  int64_t limit = max.value_or(kDefaultListItems);
  HEARTH_ASSIGN_OR_RETURN(FunctionRecord fn, loadFunction(ref.name));
  std::string prefix = keys::aliasPrefix(ref.name);
  json::array aliases;
  std::optional<std::string> next;
  std::string last;
  bool corrupt = false;
  HEARTH_RETURN_IF_ERROR(
      scanPrefix(*store_, prefix, marker ? prefix + *marker : "", [&](const Record& record) {
        boost::system::error_code ec;
        json::value value = json::parse(record.value, ec);
        if (ec || !value.is_object()) {
          corrupt = true;
          return false;
        }
        if (function_version &&
            stringMember(value.get_object(), "FunctionVersion") != *function_version) {
          return true;
        }
        if (static_cast<int64_t>(aliases.size()) == limit) {
          next = last;
          return false;
        }
        last = stringMember(value.get_object(), "Name");
        aliases.push_back(std::move(value));
        return true;
      }));
  if (corrupt) {
    return internalError("corrupt alias record");
  }
  json::object out{{"Aliases", std::move(aliases)}};
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
  HEARTH_ASSIGN_OR_RETURN(auto min_in, readInt(in, "MinExecutionEnvironments"));
  HEARTH_ASSIGN_OR_RETURN(auto max_in, readInt(in, "MaxExecutionEnvironments"));
  for (const auto& [value, member] :
       {std::pair{min_in, "functionScalingConfig.minExecutionEnvironments"},
        std::pair{max_in, "functionScalingConfig.maxExecutionEnvironments"}}) {
    if (value && (*value < 0 || *value > kMaxExecutionEnvironments)) {
      return rangeError(*value, member, 0, kMaxExecutionEnvironments);
    }
  }
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
  json::object scaling{{"MinExecutionEnvironments", min}};
  if (max_in) {
    scaling["MaxExecutionEnvironments"] = *max_in;
  }
  return casUpdate(ref.name, [&](FunctionRecord& fn, Txn& txn) -> Result<CasStep> {
    if (capacityProviderOf(fn.latest).empty()) {
      return invalidParameter(
          "Function scaling config is only supported for functions that use a capacity "
          "provider.");
    }
    HEARTH_ASSIGN_OR_RETURN(auto version, loadVersion(ref.name, *q));
    if (!version) {
      return functionNotFound(account_, ref.name, *q);
    }
    version->scaling = scaling;
    std::string state = stringMember(version->config, "State");
    if (min == 0 && scaling.contains("MaxExecutionEnvironments")) {
      setState(&version->config, "Deactivated",
               "The function version was deactivated by its scaling config.", "");
      version->config.erase("StateReasonCode");
      state = "Deactivated";
    }
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
  json::object applied = version->scaling.value_or(json::object{{"MinExecutionEnvironments", 3}});
  json::object out{{"FunctionArn", account_.qualifiedFunctionArn(ref.name, *q)},
                   {"AppliedFunctionScalingConfig", applied}};
  if (version->scaling) {
    out["RequestedFunctionScalingConfig"] = *version->scaling;
  }
  return out;
}

Result<std::map<std::string, std::string>> FunctionRegistry::functionTags(std::string_view name) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRecord fn, loadFunction(name));
  return fn.tags;
}

Status FunctionRegistry::setFunctionTags(std::string_view name,
                                         const std::map<std::string, std::string>& tags) {
  HEARTH_RETURN_IF_ERROR(validateTags(tags));
  HEARTH_ASSIGN_OR_RETURN(FunctionRecord fn, loadFunction(name));
  fn.tags = tags;
  Txn txn;
  return commitFunctionChange(fn, txn, json::object()).status();
}

Status FunctionRegistry::collectGarbageCode() {
  std::set<std::string> referenced;
  for (std::string_view prefix : {keys::kFunctionPrefix, keys::kFunctionVersionPrefix}) {
    HEARTH_RETURN_IF_ERROR(scanPrefix(*store_, prefix, "", [&](const Record& stored) {
      boost::system::error_code ec;
      json::value value = json::parse(stored.value, ec);
      if (!ec && value.is_object()) {
        referenced.insert(stringMember(value.get_object(), "code"));
      }
      return true;
    }));
  }
  for (const auto& hex : code_->listHex()) {
    if (!referenced.contains(hex)) {
      code_->removeIfIdle(hex, code_gc_grace_).status().permitUnchecked();
    }
  }
  return Status::ok();
}

Result<std::vector<FunctionRegistry::ManagedVersion>> FunctionRegistry::managedVersions() {
  std::vector<ManagedVersion> out;
  std::map<std::string, bool> live;  // function name → exists and is not being deleted
  std::vector<Record> uses;
  HEARTH_RETURN_IF_ERROR(scanPrefix(*store_, "cpuse/", "", [&](const Record& use) {
    uses.push_back(use);
    return true;
  }));
  for (const auto& use : uses) {
    // cpuse/<cp>/<function>/<version>
    std::string_view rest = std::string_view(use.key).substr(6);
    size_t a = rest.find('/');
    size_t b = rest.find('/', a + 1);
    if (a == std::string_view::npos || b == std::string_view::npos) {
      continue;
    }
    ManagedVersion mv;
    mv.capacity_provider = std::string(rest.substr(0, a));
    mv.function = std::string(rest.substr(a + 1, b - a - 1));
    mv.version = std::string(rest.substr(b + 1));
    if (mv.version == kLatest) {
      continue;
    }
    auto known = live.find(mv.function);
    if (known == live.end()) {
      auto fn = loadFunction(mv.function);
      if (!fn.isOk() && fn.status().code() != StatusCode::kNotFound) {
        return fn.status();
      }
      known = live.emplace(mv.function, fn.isOk()).first;  // false: gone or being deleted
    }
    if (!known->second) {
      continue;
    }
    HEARTH_ASSIGN_OR_RETURN(auto record, loadVersion(mv.function, mv.version));
    if (!record) {
      continue;
    }
    mv.config = std::move(record->config);
    mv.scaling = std::move(record->scaling);
    mv.code_hex = std::move(record->code_hex);
    out.push_back(std::move(mv));
  }
  return out;
}

Result<std::vector<FunctionRegistry::AliasSummary>> FunctionRegistry::allAliases() {
  std::vector<AliasSummary> out;
  std::vector<Record> records;
  HEARTH_RETURN_IF_ERROR(scanPrefix(*store_, "fa/", "", [&](const Record& record) {
    records.push_back(record);
    return true;
  }));
  for (const auto& record : records) {
    boost::system::error_code ec;
    json::value value = json::parse(record.value, ec);
    if (ec || !value.is_object()) {
      continue;
    }
    const auto& o = value.get_object();
    AliasSummary alias;
    std::string_view rest = std::string_view(record.key).substr(3);
    alias.function = std::string(rest.substr(0, rest.find('/')));
    alias.name = stringMember(o, "Name");
    alias.version = stringMember(o, "FunctionVersion");
    if (const auto* rc = o.if_contains("RoutingConfig"); rc && rc->is_object()) {
      if (const auto* w = rc->get_object().if_contains("AdditionalVersionWeights");
          w && w->is_object() && !w->get_object().empty()) {
        const auto& [v, weight] = *w->get_object().begin();
        alias.additional_version = std::string(v);
        alias.additional_weight = weight.is_double()
                                      ? weight.get_double()
                                      : static_cast<double>(weight.to_number<int64_t>());
      }
    }
    out.push_back(std::move(alias));
  }
  return out;
}

Status FunctionRegistry::setVersionState(const std::string& function, const std::string& version,
                                         const std::string& state, const std::string& reason,
                                         const std::string& reason_code) {
  // A compare-and-swap on the version record alone: the data plane's state never races the
  // function's own updates.
  return retryLostRaces([&]() -> Result<std::optional<json::object>> {
           HEARTH_ASSIGN_OR_RETURN(auto record, loadVersion(function, version));
           if (!record || (stringMember(record->config, "State") == state &&
                           stringMember(record->config, "StateReasonCode") == reason_code)) {
             return std::optional<json::object>(json::object());  // gone, or already so
           }
           setState(&record->config, state, reason, reason_code);
           if (reason_code.empty()) {
             record->config.erase("StateReasonCode");
           }
           Txn txn;
           txn.expect(keys::functionVersion(function, version), record->version)
               .put(keys::functionVersion(function, version), versionRecordJson(*record));
           std::string cp = capacityProviderOf(record->config);
           if (!cp.empty()) {
             txn.put(keys::capacityProviderUse(cp, function, version), state);
           }
           return commitUnlessRaced(txn, json::object());
         })
      .status();
}

}  // namespace hearth
