#include "fleet/instance_types.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <limits>
#include <set>
#include <system_error>

namespace hearth {
namespace {

namespace json = boost::json;

// Memory ratios closer than this are the same tier (the API's ratio is a double).
constexpr double kRatioTolerance = 1e-6;

Status entryError(size_t index, std::string_view name, std::string_view problem) {
  if (name.empty()) {
    return invalidParameter(fmt::format("instance catalogue entry {}: {}", index, problem));
  }
  return invalidParameter(
      fmt::format("instance catalogue entry {} ({}): {}", index, name, problem));
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// "large", "xlarge" or "<N>xlarge" with N a positive decimal without leading zeros.
bool isValidSize(std::string_view size) {
  if (size == "large" || size == "xlarge") {
    return true;
  }
  constexpr std::string_view kSuffix = "xlarge";
  if (size.size() <= kSuffix.size() || !size.ends_with(kSuffix)) {
    return false;
  }
  std::string_view count = size.substr(0, size.size() - kSuffix.size());
  if (count.front() == '0') {
    return false;
  }
  return std::all_of(count.begin(), count.end(), isDigit);
}

// "<prefix>.<size>": prefix of [a-z0-9-] starting with the family letter.
bool isValidName(std::string_view name, std::string_view family) {
  size_t dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0) {
    return false;
  }
  std::string_view prefix = name.substr(0, dot);
  if (!prefix.starts_with(family)) {
    return false;
  }
  bool prefix_ok = std::all_of(prefix.begin(), prefix.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || isDigit(c) || c == '-';
  });
  return prefix_ok && isValidSize(name.substr(dot + 1));
}

// A positive JSON integer no larger than `max`; std::nullopt otherwise.
std::optional<int64_t> positiveInteger(const json::value& v, int64_t max) {
  if (v.is_int64()) {
    int64_t n = v.get_int64();
    if (n > 0 && n <= max) {
      return n;
    }
  } else if (v.is_uint64()) {
    uint64_t n = v.get_uint64();
    if (n > 0 && n <= static_cast<uint64_t>(max)) {
      return static_cast<int64_t>(n);
    }
  }
  return std::nullopt;
}

std::optional<double> positiveNumber(const json::value& v) {
  double d = 0;
  if (v.is_double()) {
    d = v.get_double();
  } else if (v.is_int64()) {
    d = static_cast<double>(v.get_int64());
  } else if (v.is_uint64()) {
    d = static_cast<double>(v.get_uint64());
  } else {
    return std::nullopt;
  }
  if (!std::isfinite(d) || d <= 0) {
    return std::nullopt;
  }
  return d;
}

const json::string* stringMember(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v == nullptr ? nullptr : v->if_string();
}

Result<InstanceType> parseEntry(const json::value& value, size_t index) {
  const json::object* entry = value.if_object();
  if (entry == nullptr) {
    return entryError(index, "", "must be an object");
  }
  InstanceType type;
  const json::string* name = stringMember(*entry, "name");
  if (name == nullptr) {
    return entryError(index, "", "name must be a string");
  }
  type.name = std::string(*name);

  const json::string* family = stringMember(*entry, "family");
  if (family == nullptr || (*family != "c" && *family != "m" && *family != "r")) {
    return entryError(index, type.name, "family must be \"c\", \"m\" or \"r\"");
  }
  type.family = std::string(*family);

  if (!isValidName(type.name, type.family)) {
    return entryError(index, type.name,
                      "name must be <family><generation>.<size> with a size of large, xlarge or "
                      "<N>xlarge");
  }

  const json::string* architecture = stringMember(*entry, "architecture");
  if (architecture == nullptr || (*architecture != "x86_64" && *architecture != "arm64")) {
    return entryError(index, type.name, "architecture must be \"x86_64\" or \"arm64\"");
  }
  type.architecture = std::string(*architecture);

  const json::value* vcpus = entry->if_contains("vcpus");
  std::optional<int64_t> vcpu_count =
      vcpus == nullptr ? std::nullopt : positiveInteger(*vcpus, std::numeric_limits<int>::max());
  if (!vcpu_count) {
    return entryError(index, type.name, "vcpus must be a positive integer");
  }
  type.vcpus = static_cast<int>(*vcpu_count);

  const json::value* memory = entry->if_contains("memoryMiB");
  std::optional<int64_t> memory_mib =
      memory == nullptr ? std::nullopt
                        : positiveInteger(*memory, std::numeric_limits<int64_t>::max());
  if (!memory_mib) {
    return entryError(index, type.name, "memoryMiB must be a positive integer");
  }
  type.memory_mib = *memory_mib;

  const json::value* price = entry->if_contains("pricePerHour");
  std::optional<double> price_per_hour = price == nullptr ? std::nullopt : positiveNumber(*price);
  if (!price_per_hour) {
    return entryError(index, type.name, "pricePerHour must be a positive number");
  }
  type.price_per_hour = *price_per_hour;
  return type;
}

double gibPerVcpu(const InstanceType& type) {
  return static_cast<double>(type.memory_mib) / 1024.0 / type.vcpus;
}

// How many EEs of `size` fit on an empty instance of `type`. REQUIRES: positive size.
int64_t environmentsPerInstance(const InstanceType& type, const EnvironmentSize& size) {
  return std::min<int64_t>(type.vcpus / size.vcpus, type.memory_mib / size.memory_mib);
}

bool isCandidate(const InstanceType& type, const InstanceRequirements& requirements) {
  if (type.architecture != requirements.architecture) {
    return false;
  }
  if (!requirements.allowed.empty() &&
      std::find(requirements.allowed.begin(), requirements.allowed.end(), type.name) ==
          requirements.allowed.end()) {
    return false;
  }
  return std::none_of(
      requirements.excluded.begin(), requirements.excluded.end(),
      [&](const std::string& pattern) { return matchesInstancePattern(pattern, type.name); });
}

// The choice within one ratio tier, or nullptr when no type of the tier holds one EE.
const InstanceType* chooseWithinTier(const std::vector<const InstanceType*>& tier,
                                     const EnvironmentSize& size, int64_t preferred_count) {
  const InstanceType* cheapest_preferred = nullptr;
  const InstanceType* most = nullptr;
  int64_t most_count = 0;
  for (const InstanceType* type : tier) {
    int64_t fits = environmentsPerInstance(*type, size);
    if (fits < 1) {
      continue;
    }
    if (fits >= preferred_count && (cheapest_preferred == nullptr ||
                                    type->price_per_hour < cheapest_preferred->price_per_hour)) {
      cheapest_preferred = type;
    }
    if (most == nullptr || fits > most_count ||
        (fits == most_count && type->price_per_hour < most->price_per_hour)) {
      most = type;
      most_count = fits;
    }
  }
  return cheapest_preferred != nullptr ? cheapest_preferred : most;
}

}  // namespace

Result<InstanceCatalog> InstanceCatalog::parse(std::string_view text) {
  std::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) {
    return invalidParameter(fmt::format("instance catalogue is not valid JSON: {}", ec.message()));
  }
  const json::object* object = root.if_object();
  const json::value* list = object == nullptr ? nullptr : object->if_contains("instanceTypes");
  const json::array* array = list == nullptr ? nullptr : list->if_array();
  if (array == nullptr) {
    return invalidParameter("instance catalogue must be an object with an instanceTypes array");
  }
  if (array->empty()) {
    return invalidParameter("instance catalogue has no instance types");
  }
  InstanceCatalog catalog;
  std::set<std::string, std::less<>> names;
  for (size_t i = 0; i < array->size(); ++i) {
    HEARTH_ASSIGN_OR_RETURN(InstanceType type, parseEntry((*array)[i], i));
    if (!names.insert(type.name).second) {
      return entryError(i, type.name, "duplicate instance type name");
    }
    catalog.types_.push_back(std::move(type));
  }
  return catalog;
}

const InstanceType* InstanceCatalog::find(std::string_view name) const {
  for (const InstanceType& type : types_) {
    if (type.name == name) {
      return &type;
    }
  }
  return nullptr;
}

bool matchesInstancePattern(std::string_view pattern, std::string_view name) {
  // Greedy glob match with backtracking to the most recent '*'.
  size_t p = 0;
  size_t n = 0;
  size_t star = std::string_view::npos;
  size_t star_n = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_n = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++star_n;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') {
    ++p;
  }
  return p == pattern.size();
}

std::optional<InstanceType> chooseInstanceType(const InstanceCatalog& catalog,
                                               const InstanceRequirements& requirements,
                                               const EnvironmentSize& size, int preferred_count) {
  if (size.vcpus <= 0 || size.memory_mib <= 0) {
    return std::nullopt;
  }
  int64_t preferred = std::max(preferred_count, 1);

  std::vector<const InstanceType*> candidates;
  for (const InstanceType& type : catalog.types()) {
    if (isCandidate(type, requirements) &&
        gibPerVcpu(type) > size.memory_gib_per_vcpu - kRatioTolerance) {
      candidates.push_back(&type);
    }
  }
  // Ascending ratio; stable so catalogue order breaks ties within a tier.
  std::stable_sort(
      candidates.begin(), candidates.end(),
      [](const InstanceType* a, const InstanceType* b) { return gibPerVcpu(*a) < gibPerVcpu(*b); });

  size_t begin = 0;
  while (begin < candidates.size()) {
    double tier_ratio = gibPerVcpu(*candidates[begin]);
    size_t end = begin;
    while (end < candidates.size() && gibPerVcpu(*candidates[end]) < tier_ratio + kRatioTolerance) {
      ++end;
    }
    std::vector<const InstanceType*> tier(candidates.begin() + static_cast<std::ptrdiff_t>(begin),
                                          candidates.begin() + static_cast<std::ptrdiff_t>(end));
    if (const InstanceType* chosen = chooseWithinTier(tier, size, preferred)) {
      return *chosen;
    }
    begin = end;
  }
  return std::nullopt;
}

}  // namespace hearth
