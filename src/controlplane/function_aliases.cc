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

}  // namespace hearth
