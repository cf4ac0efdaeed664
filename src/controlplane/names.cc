#include "controlplane/names.h"

#include <fmt/format.h>

#include <vector>

#include "controlplane/json_fields.h"

namespace hearth {
namespace {

constexpr std::string_view kFunctionPattern =
    "Member must satisfy regular expression pattern: "
    "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?"
    "([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?";

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool allNameChars(std::string_view s) {
  for (char c : s) {
    if (!isNameChar(c)) {
      return false;
    }
  }
  return true;
}

bool allDigits(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

std::vector<std::string_view> splitColons(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t colon = s.find(':', start);
    if (colon == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, colon - start));
    start = colon + 1;
  }
}

bool isValidQualifier(std::string_view q) {
  return q == "$LATEST" || q == "$LATEST.PUBLISHED" ||
         (!q.empty() && q.size() <= 128 && allNameChars(q));
}

}  // namespace

std::string AccountContext::functionArn(std::string_view name) const {
  return fmt::format("arn:aws:lambda:{}:{}:function:{}", region, account_id, name);
}

std::string AccountContext::qualifiedFunctionArn(std::string_view name,
                                                 std::string_view qualifier) const {
  return fmt::format("arn:aws:lambda:{}:{}:function:{}:{}", region, account_id, name, qualifier);
}

std::string AccountContext::capacityProviderArn(std::string_view name) const {
  return fmt::format("arn:aws:lambda:{}:{}:capacity-provider:{}", region, account_id, name);
}

bool isValidFunctionName(std::string_view name) {
  return !name.empty() && name.size() <= 64 && allNameChars(name);
}

bool isValidAliasName(std::string_view name) {
  return !name.empty() && name.size() <= 128 && allNameChars(name) && !allDigits(name);
}

bool isValidCapacityProviderName(std::string_view name) {
  return !name.empty() && name.size() <= 140 && allNameChars(name);
}

bool isNumericVersion(std::string_view version) {
  return allDigits(version) && version.size() <= 10;
}

bool isValidRoleArn(std::string_view arn) {
  // arn:aws[a-zA-Z-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+
  auto parts = splitColons(arn);
  if (parts.size() != 6 || parts[0] != "arn" || parts[1].substr(0, 3) != "aws" ||
      parts[2] != "iam" || !parts[3].empty() || parts[4].size() != 12 || !allDigits(parts[4])) {
    return false;
  }
  std::string_view resource = parts[5];
  if (resource.substr(0, 4) != "role") {
    return false;
  }
  resource.remove_prefix(4);
  if (!resource.empty() && resource[0] == '/') {
    resource.remove_prefix(1);
  }
  if (resource.empty()) {
    return false;
  }
  for (char c : resource) {
    if (!isNameChar(c) && std::string_view("+=,.@/").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

Result<FunctionRef> parseFunctionRef(std::string_view input, const AccountContext& account) {
  auto bad = [&] { return validationError(input, "functionName", kFunctionPattern); };
  if (input.empty() || input.size() > 170) {
    return input.empty() ? lengthError(input, "functionName", 1, 170)
                         : lengthError(input, "functionName", 1, 170);
  }
  auto parts = splitColons(input);
  FunctionRef ref;
  std::string_view region;
  std::string_view account_id;
  if (parts[0] == "arn") {
    // arn:aws:lambda:region:account:function:name[:qualifier]
    if (parts.size() < 7 || parts.size() > 8 || parts[1].substr(0, 3) != "aws" ||
        parts[2] != "lambda" || parts[5] != "function") {
      return bad();
    }
    region = parts[3];
    account_id = parts[4];
    ref.name = std::string(parts[6]);
    if (parts.size() == 8) {
      ref.qualifier = std::string(parts[7]);
    }
  } else if (parts.size() >= 3 && parts[1] == "function") {
    // account:function:name[:qualifier]
    if (parts.size() > 4) {
      return bad();
    }
    account_id = parts[0];
    ref.name = std::string(parts[2]);
    if (parts.size() == 4) {
      ref.qualifier = std::string(parts[3]);
    }
  } else if (parts.size() <= 2) {
    ref.name = std::string(parts[0]);
    if (parts.size() == 2) {
      ref.qualifier = std::string(parts[1]);
    }
  } else {
    return bad();
  }
  if (!isValidFunctionName(ref.name) || (ref.qualifier && !isValidQualifier(*ref.qualifier))) {
    return bad();
  }
  if ((!region.empty() && region != account.region) ||
      (!account_id.empty() && account_id != account.account_id)) {
    return Status(StatusCode::kNotFound, fmt::format("Function not found: {}", std::string(input)));
  }
  return ref;
}

Result<std::string> parseCapacityProviderRef(std::string_view input,
                                             const AccountContext& account) {
  if (input.empty() || input.size() > 140) {
    return lengthError(input, "capacityProviderName", 1, 140);
  }
  std::string_view name = input;
  if (input.substr(0, 4) == "arn:") {
    auto parts = splitColons(input);
    if (parts.size() != 7 || parts[2] != "lambda" || parts[5] != "capacity-provider") {
      return validationError(input, "capacityProviderName",
                             "Member must satisfy regular expression pattern: "
                             "(arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(-gov)?-[a-z]+-\\d{1}:\\d{12}:"
                             "capacity-provider:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+");
    }
    if (parts[3] != account.region || parts[4] != account.account_id) {
      return Status(StatusCode::kNotFound,
                    fmt::format("Capacity provider not found: {}", std::string(input)));
    }
    name = parts[6];
  }
  if (!isValidCapacityProviderName(name)) {
    return validationError(input, "capacityProviderName",
                           "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+");
  }
  return std::string(name);
}

Result<ParsedArn> parseResourceArn(std::string_view arn, const AccountContext& account) {
  auto parts = splitColons(arn);
  auto bad = [&] {
    return validationError(arn, "resource",
                           "Member must satisfy regular expression pattern: "
                           "arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-"
                           "\\d{1}:\\d{12}:(function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?|"
                           "capacity-provider:[a-zA-Z0-9-_]+)");
  };
  if (parts.size() < 7 || parts[0] != "arn" || parts[2] != "lambda") {
    return bad();
  }
  if (parts[3] != account.region || parts[4] != account.account_id) {
    return Status(StatusCode::kNotFound, fmt::format("Resource not found: {}", std::string(arn)));
  }
  ParsedArn out;
  out.name = std::string(parts[6]);
  if (parts[5] == "function" && parts.size() <= 8 && isValidFunctionName(out.name)) {
    out.kind = ArnKind::kFunction;
    if (parts.size() == 8) {
      out.qualifier = std::string(parts[7]);
    }
    return out;
  }
  if (parts[5] == "capacity-provider" && parts.size() == 7 &&
      isValidCapacityProviderName(out.name)) {
    out.kind = ArnKind::kCapacityProvider;
    return out;
  }
  return bad();
}

}  // namespace hearth
