// FunctionRegistry: aliases.
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

namespace {

Result<std::map<std::string, double>> parseRoutingConfig(const json::object& request) {
  HEARTH_ASSIGN_OR_RETURN(const json::object* routing, readObject(request, "RoutingConfig"));
  std::map<std::string, double> weights;
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
        double w = weight.is_double()  ? weight.get_double()
                   : weight.is_int64() ? static_cast<double>(weight.get_int64())
                                       : static_cast<double>(weight.get_uint64());
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
        weights[std::string(version)] = w;
      }
    }
  }
  if (weights.size() > 1) {
    return invalidParameter("Number of additional version weights cannot be greater than 1.");
  }
  return weights;
}

}  // namespace

Result<AliasRecord> functions_internal::parseAlias(const Record& stored) {
  boost::system::error_code ec;
  json::value value = json::parse(stored.value, ec);
  auto alias = ec ? std::nullopt : AliasRecord::fromJson(value);
  if (!alias) {
    return internalError("corrupt alias record " + stored.key);
  }
  return std::move(*alias);
}

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
  HEARTH_ASSIGN_OR_RETURN(auto weights, parseRoutingConfig(request));
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
    AliasRecord alias{*name,     account_.qualifiedFunctionArn(ref.name, *name),
                      *version,  description.value_or(""),
                      newUuid(), weights};
    json::object shape = alias.toJson();
    txn.expect(keys::alias(ref.name, *name), 0)
        .put(keys::alias(ref.name, *name), json::serialize(shape));
    return CasStep{std::move(shape)};
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
  HEARTH_ASSIGN_OR_RETURN(AliasRecord record, parseAlias(*stored));
  return record.toJson();
}

Result<json::object> FunctionRegistry::updateAlias(std::string_view function,
                                                   std::string_view alias_name,
                                                   const json::object& request) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRef ref, parseFunctionRef(function, account_));
  HEARTH_ASSIGN_OR_RETURN(auto version, readString(request, "FunctionVersion"));
  HEARTH_ASSIGN_OR_RETURN(auto description, readString(request, "Description"));
  HEARTH_ASSIGN_OR_RETURN(auto revision, readString(request, "RevisionId"));
  HEARTH_ASSIGN_OR_RETURN(const json::object* routing, readObject(request, "RoutingConfig"));
  HEARTH_ASSIGN_OR_RETURN(auto weights, parseRoutingConfig(request));
  if (description && description->size() > 256) {
    return lengthError(*description, "description", 0, 256);
  }
  return casUpdate(ref.name, [&](FunctionRecord&, Txn& txn) -> Result<CasStep> {
    HEARTH_ASSIGN_OR_RETURN(auto stored, store_->get(keys::alias(ref.name, alias_name)));
    if (!stored) {
      return Status(StatusCode::kNotFound,
                    "Alias not found: " + account_.qualifiedFunctionArn(ref.name, alias_name));
    }
    HEARTH_ASSIGN_OR_RETURN(AliasRecord alias, parseAlias(*stored));
    if (revision && *revision != alias.revision_id) {
      return revisionMismatch();
    }
    if (version) {
      if (*version != kLatest) {
        HEARTH_ASSIGN_OR_RETURN(auto target, loadVersion(ref.name, *version));
        if (!target) {
          return functionNotFound(account_, ref.name, *version);
        }
      }
      alias.function_version = *version;
    }
    if (description) {
      alias.description = *description;
    }
    if (routing != nullptr) {
      for (const auto& [v, w] : weights) {
        HEARTH_ASSIGN_OR_RETURN(auto extra, loadVersion(ref.name, v));
        if (!extra) {
          return functionNotFound(account_, ref.name, v);
        }
        if (v == alias.function_version) {
          return invalidParameter(
              "Invalid function version in the routing config: the additional version must "
              "differ from the alias's primary version.");
        }
      }
      alias.additional_weights = weights;
    }
    alias.revision_id = newUuid();
    json::object shape = alias.toJson();
    txn.put(keys::alias(ref.name, alias_name), json::serialize(shape));
    return CasStep{std::move(shape)};
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
        auto alias = parseAlias(record);
        if (!alias.isOk()) {
          corrupt = true;
          return false;
        }
        if (function_version && alias->function_version != *function_version) {
          return true;
        }
        if (static_cast<int64_t>(aliases.size()) == limit) {
          next = last;
          return false;
        }
        last = alias->name;
        aliases.push_back(alias->toJson());
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

}  // namespace hearth
