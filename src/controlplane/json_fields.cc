#include "controlplane/json_fields.h"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <cmath>

namespace hearth {
namespace {

namespace json = boost::json;

const json::value* member(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) {
    return nullptr;
  }
  return v;
}

Status wrongType(std::string_view key, std::string_view expected) {
  return Status(StatusCode::kInvalidRequestContent,
                fmt::format("Could not parse request body into json: Could not parse payload into "
                            "json: member '{}' must be {}",
                            key, expected));
}

}  // namespace

std::string memberPath(std::string_view member) {
  std::string out(member);
  if (!out.empty()) {
    out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  }
  return out;
}

Result<std::optional<std::string>> readString(const json::object& o, std::string_view key) {
  const json::value* v = member(o, key);
  if (v == nullptr) {
    return std::optional<std::string>();
  }
  if (!v->is_string()) {
    return wrongType(key, "a string");
  }
  return std::optional<std::string>(std::string(v->get_string()));
}

Result<std::optional<int64_t>> readIntInRange(const json::object& o, std::string_view key,
                                              std::string_view member_path, int64_t min,
                                              int64_t max) {
  const json::value* v = member(o, key);
  if (v == nullptr) {
    return std::optional<int64_t>();
  }
  auto below = [&](const std::string& text) {
    return validationError(text, member_path,
                           fmt::format("Member must have value greater than or equal to {}", min));
  };
  auto above = [&](const std::string& text) {
    return validationError(text, member_path,
                           fmt::format("Member must have value less than or equal to {}", max));
  };
  if (v->is_int64()) {
    int64_t n = v->get_int64();
    if (n < min) {
      return below(std::to_string(n));
    }
    if (n > max) {
      return above(std::to_string(n));
    }
    return std::optional<int64_t>(n);
  }
  if (v->is_uint64()) {  // Boost.JSON uses uint64 only above INT64_MAX
    uint64_t n = v->get_uint64();
    if (n > static_cast<uint64_t>(max)) {
      return above(std::to_string(n));
    }
    return std::optional<int64_t>(static_cast<int64_t>(n));
  }
  if (v->is_double()) {  // 3.0, 1e3, or an integer beyond 64 bits
    double d = v->get_double();
    if (std::isfinite(d) && std::trunc(d) != d) {
      return wrongType(key, "an integer");
    }
    if (d < static_cast<double>(min)) {
      return below(fmt::format("{}", d));
    }
    // 2^63 itself rounds from INT64_MAX and does not fit: compare against it, not max alone.
    if (d > static_cast<double>(max) || d >= 0x1p63) {
      return above(fmt::format("{}", d));
    }
    return std::optional<int64_t>(static_cast<int64_t>(d));
  }
  return wrongType(key, "an integer");
}

Result<std::optional<double>> readDouble(const json::object& o, std::string_view key) {
  const json::value* v = member(o, key);
  if (v == nullptr) {
    return std::optional<double>();
  }
  if (v->is_double()) {
    return std::optional<double>(v->get_double());
  }
  if (v->is_int64()) {
    return std::optional<double>(static_cast<double>(v->get_int64()));
  }
  if (v->is_uint64()) {
    return std::optional<double>(static_cast<double>(v->get_uint64()));
  }
  return wrongType(key, "a number");
}

Result<std::optional<bool>> readBool(const json::object& o, std::string_view key) {
  const json::value* v = member(o, key);
  if (v == nullptr) {
    return std::optional<bool>();
  }
  if (!v->is_bool()) {
    return wrongType(key, "a boolean");
  }
  return std::optional<bool>(v->get_bool());
}

Result<const json::object*> readObject(const json::object& o, std::string_view key) {
  const json::value* v = member(o, key);
  if (v == nullptr) {
    return static_cast<const json::object*>(nullptr);
  }
  if (!v->is_object()) {
    return wrongType(key, "an object");
  }
  return &v->get_object();
}

Result<std::optional<std::vector<std::string>>> readStringList(const json::object& o,
                                                               std::string_view key) {
  const json::value* v = member(o, key);
  if (v == nullptr) {
    return std::optional<std::vector<std::string>>();
  }
  if (!v->is_array()) {
    return wrongType(key, "a list of strings");
  }
  std::vector<std::string> out;
  for (const auto& item : v->get_array()) {
    if (!item.is_string()) {
      return wrongType(key, "a list of strings");
    }
    out.emplace_back(item.get_string());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::optional<std::map<std::string, std::string>>> readStringMap(const json::object& o,
                                                                        std::string_view key) {
  const json::value* v = member(o, key);
  if (v == nullptr) {
    return std::optional<std::map<std::string, std::string>>();
  }
  if (!v->is_object()) {
    return wrongType(key, "a map of strings");
  }
  std::map<std::string, std::string> out;
  for (const auto& [k, item] : v->get_object()) {
    if (!item.is_string()) {
      return wrongType(key, "a map of strings");
    }
    out.emplace(std::string(k), std::string(item.get_string()));
  }
  return std::optional<std::map<std::string, std::string>>(std::move(out));
}

Status validationError(std::string_view value, std::string_view member,
                       std::string_view constraint) {
  return Status(StatusCode::kValidation,
                fmt::format("1 validation error detected: Value '{}' at '{}' failed to satisfy "
                            "constraint: {}",
                            value, memberPath(member), constraint));
}

Status rangeError(int64_t value, std::string_view member, int64_t min, int64_t max) {
  if (value < min) {
    return validationError(std::to_string(value), member,
                           fmt::format("Member must have value greater than or equal to {}", min));
  }
  return validationError(std::to_string(value), member,
                         fmt::format("Member must have value less than or equal to {}", max));
}

Status lengthError(std::string_view value, std::string_view member, size_t min, size_t max) {
  if (value.size() < min) {
    return validationError(value, member,
                           fmt::format("Member must have length greater than or equal to {}", min));
  }
  return validationError(value, member,
                         fmt::format("Member must have length less than or equal to {}", max));
}

Result<json::object> parseJsonObject(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return json::object();
  }
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec) {
    return Status(StatusCode::kInvalidRequestContent,
                  "Could not parse request body into json: " + ec.message());
  }
  if (!value.is_object()) {
    return Status(StatusCode::kInvalidRequestContent,
                  "Could not parse request body into json: the body must be a JSON object");
  }
  return std::move(value.get_object());
}

}  // namespace hearth
