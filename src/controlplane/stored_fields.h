#pragma once

// Lenient reads of records from the Store, shared by the typed model's fromJson functions: a
// member that is absent or of another JSON type reads as nullopt (or nullptr), so a record from
// an older release keeps the model's defaults. Requests are read with json_fields.h instead,
// which rejects wrong types.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::stored {

inline std::optional<std::string> stringAt(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    return std::nullopt;
  }
  return std::string(v->get_string());
}

// Sets *out when the member is a string.
inline void readString(const boost::json::object& o, std::string_view key, std::string* out) {
  if (auto s = stringAt(o, key)) {
    *out = std::move(*s);
  }
}

inline std::optional<int64_t> intAt(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->is_int64()) {
    return v->get_int64();
  }
  if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v->get_uint64());
  }
  return std::nullopt;
}

inline std::optional<double> doubleAt(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_number()) {
    return std::nullopt;
  }
  return v->to_number<double>();
}

inline const boost::json::object* objectAt(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

// The string elements of an array member; nullopt when it is not an array.
inline std::optional<std::vector<std::string>> stringsAt(const boost::json::object& o,
                                                         std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) {
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& item : v->get_array()) {
    if (item.is_string()) {
      out.emplace_back(item.get_string());
    }
  }
  return out;
}

// The string members of an object member; nullopt when it is not an object.
inline std::optional<std::map<std::string, std::string>> stringMapAt(const boost::json::object& o,
                                                                     std::string_view key) {
  const boost::json::object* in = objectAt(o, key);
  if (in == nullptr) {
    return std::nullopt;
  }
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : *in) {
    if (v.is_string()) {
      out.emplace(std::string(k), std::string(v.get_string()));
    }
  }
  return out;
}

inline boost::json::array toJsonArray(const std::vector<std::string>& items) {
  boost::json::array out;
  for (const auto& item : items) {
    out.emplace_back(item);
  }
  return out;
}

inline boost::json::object toJsonObject(const std::map<std::string, std::string>& items) {
  boost::json::object out;
  for (const auto& [k, v] : items) {
    out[k] = v;
  }
  return out;
}

}  // namespace hearth::stored
