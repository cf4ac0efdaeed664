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

Status TagRegistry::write(const ParsedArn& arn, const std::map<std::string, std::string>& tags) {
  if (arn.kind == ArnKind::kFunction) {
    return functions_->setFunctionTags(arn.name, tags);
  }
  HEARTH_ASSIGN_OR_RETURN(auto record, providers_->load(arn.name));
  if (tags.size() > 50) {
    return invalidParameter("A resource can have at most 50 tags.");
  }
  return providers_->saveTags(arn.name, tags, record.version, record);
}

Status TagRegistry::tagResource(std::string_view arn_text, const json::object& request) {
  HEARTH_ASSIGN_OR_RETURN(ParsedArn arn, parseResourceArn(arn_text, account_));
  HEARTH_ASSIGN_OR_RETURN(auto tags, readStringMap(request, "Tags"));
  if (!tags) {
    return validationError("null", "tags", "Member must not be null");
  }
  HEARTH_ASSIGN_OR_RETURN(auto current, read(arn));
  for (const auto& [k, v] : *tags) {
    current[k] = v;
  }
  return write(arn, current);
}

Status TagRegistry::untagResource(std::string_view arn_text, const std::vector<std::string>& keys) {
  HEARTH_ASSIGN_OR_RETURN(ParsedArn arn, parseResourceArn(arn_text, account_));
  HEARTH_ASSIGN_OR_RETURN(auto current, read(arn));
  for (const auto& k : keys) {
    current.erase(k);
  }
  return write(arn, current);
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
