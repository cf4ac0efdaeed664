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
#include "controlplane/stored_fields.h"
#include "store/scan.h"

namespace hearth::functions_internal {
namespace json = boost::json;

Status functionNotFound(const AccountContext& account, std::string_view name,
                        std::optional<std::string_view> qualifier) {
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
Status checkPublishTo(const std::optional<std::string>& publish_to,
                      const FunctionConfiguration* config) {
  if (!publish_to) {
    return Status::ok();
  }
  if (*publish_to != "LATEST_PUBLISHED") {
    return validationError(*publish_to, "publishTo",
                           "Member must satisfy enum value set: [LATEST_PUBLISHED]");
  }
  if (config != nullptr && !config->runsOnCapacityProvider()) {
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
  json::object out{{"config", v.config.toJson()}, {"code", v.code_hex}};
  if (v.scaling) {
    out["scaling"] = v.scaling->toJson();
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
    out.config = FunctionConfiguration::fromJson(c->get_object());
  }
  out.code_hex = stored::stringAt(o, "code").value_or("");
  if (const auto* s = o.if_contains("scaling"); s && s->is_object()) {
    out.scaling = ScalingConfig::fromJson(s->get_object());
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

}  // namespace hearth::functions_internal
