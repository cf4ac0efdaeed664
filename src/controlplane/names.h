#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hearth {

// Where resources live: the region and account id that ARNs carry. Configurable per server.
struct AccountContext {
  std::string region = "us-east-1";
  std::string account_id = "123456789012";

  std::string functionArn(std::string_view name) const;
  std::string qualifiedFunctionArn(std::string_view name, std::string_view qualifier) const;
  std::string capacityProviderArn(std::string_view name) const;
};

// A function reference as the API accepts it: a name, a partial ARN (123456789012:function:name)
// or a full ARN, each optionally with ":qualifier".
struct FunctionRef {
  std::string name;
  std::optional<std::string> qualifier;
};

// Parses `input` (the FunctionName path or body member). Errors are kValidation with AWS's
// pattern message, or kInvalidParameter when an ARN names another region or account.
Result<FunctionRef> parseFunctionRef(std::string_view input, const AccountContext& account);

// Parses a capacity provider name or ARN.
Result<std::string> parseCapacityProviderRef(std::string_view input, const AccountContext& account);

bool isValidFunctionName(std::string_view name);          // [a-zA-Z0-9-_]{1,64}
bool isValidAliasName(std::string_view name);             // (?!^[0-9]+$)([a-zA-Z0-9-_]+){1,128}
bool isValidCapacityProviderName(std::string_view name);  // [a-zA-Z0-9-_]{1,140}
bool isValidRoleArn(std::string_view arn);
bool isNumericVersion(std::string_view version);

// Kind of resource an ARN names, for the tagging operations.
enum class ArnKind { kFunction, kCapacityProvider, kOther };
struct ParsedArn {
  ArnKind kind = ArnKind::kOther;
  std::string name;
  std::optional<std::string> qualifier;
};
Result<ParsedArn> parseResourceArn(std::string_view arn, const AccountContext& account);

}  // namespace hearth
