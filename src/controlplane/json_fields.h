#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hearth {

// Typed reads of request members. A member that is absent or null reads as std::nullopt; one of
// the wrong JSON type is kInvalidRequestContent, as AWS reports a body it cannot deserialize.
Result<std::optional<std::string>> readString(const boost::json::object& o, std::string_view key);
// The one reader of integer members: nullopt when absent; a validation error on `member` (the
// model's camelCase path) when outside [min, max], however large the number written (beyond
// 64 bits too); a type error when not an integer.
Result<std::optional<int64_t>> readIntInRange(const boost::json::object& o, std::string_view key,
                                              std::string_view member, int64_t min, int64_t max);
Result<std::optional<double>> readDouble(const boost::json::object& o, std::string_view key);
Result<std::optional<bool>> readBool(const boost::json::object& o, std::string_view key);
// Returns nullptr when absent or null.
Result<const boost::json::object*> readObject(const boost::json::object& o, std::string_view key);
Result<std::optional<std::vector<std::string>>> readStringList(const boost::json::object& o,
                                                               std::string_view key);
Result<std::optional<std::map<std::string, std::string>>> readStringMap(
    const boost::json::object& o, std::string_view key);

// AWS's model-constraint error: "1 validation error detected: Value 'v' at 'member' failed to
// satisfy constraint: Member must ...".
Status validationError(std::string_view value, std::string_view member,
                       std::string_view constraint);
Status rangeError(int64_t value, std::string_view member, int64_t min, int64_t max);
Status lengthError(std::string_view value, std::string_view member, size_t min, size_t max);

// Parses a request body. Empty bodies are an empty object. Errors are kInvalidRequestContent.
Result<boost::json::object> parseJsonObject(std::string_view body);

// Lower camel case of a member name, as AWS writes it in validation messages.
std::string memberPath(std::string_view member);

}  // namespace hearth
