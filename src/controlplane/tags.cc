#include "controlplane/tags.h"

#include "controlplane/json_fields.h"

namespace hearth {
namespace json = boost::json;

TagRegistry::TagRegistry(FunctionRegistry* functions, CapacityProviderRegistry* providers,
                         AccountContext account)
    : functions_(functions), providers_(providers), account_(std::move(account)) {}

Result<std::map<std::string, std::string>> TagRegistry::read(const ParsedArn& arn) {
  if (arn.kind == ArnKind::kFunction) {
    if (arn.qualifier) {
      return invalidParameter(
          "Tags are supported only on unqualified function ARNs; versions and aliases inherit "
          "the function's tags.");
    }
    return functions_->functionTags(arn.name);
  }
  HEARTH_ASSIGN_OR_RETURN(auto record, providers_->load(arn.name));
  return record.tags;
}

Status TagRegistry::edit(const ParsedArn& arn,
                         const std::function<void(std::map<std::string, std::string>&)>& change) {
  if (arn.kind == ArnKind::kFunction) {
    if (arn.qualifier) {
      return invalidParameter(
          "Tags are supported only on unqualified function ARNs; versions and aliases inherit "
          "the function's tags.");
    }
    return functions_->editFunctionTags(arn.name, change);
  }
  return providers_->editTags(arn.name, change);
}

Status TagRegistry::tagResource(std::string_view arn_text, const json::object& request) {
  HEARTH_ASSIGN_OR_RETURN(ParsedArn arn, parseResourceArn(arn_text, account_));
  HEARTH_ASSIGN_OR_RETURN(auto tags, readStringMap(request, "Tags"));
  if (!tags) {
    return validationError("null", "tags", "Member must not be null");
  }
  return edit(arn, [&](std::map<std::string, std::string>& current) {
    for (const auto& [k, v] : *tags) {
      current[k] = v;
    }
  });
}

Status TagRegistry::untagResource(std::string_view arn_text, const std::vector<std::string>& keys) {
  HEARTH_ASSIGN_OR_RETURN(ParsedArn arn, parseResourceArn(arn_text, account_));
  return edit(arn, [&](std::map<std::string, std::string>& current) {
    for (const auto& k : keys) {
      current.erase(k);
    }
  });
}

Result<json::object> TagRegistry::listTags(std::string_view arn_text) {
  HEARTH_ASSIGN_OR_RETURN(ParsedArn arn, parseResourceArn(arn_text, account_));
  HEARTH_ASSIGN_OR_RETURN(auto current, read(arn));
  json::object tags;
  for (const auto& [k, v] : current) {
    tags[k] = v;
  }
  return json::object{{"Tags", std::move(tags)}};
}

}  // namespace hearth
