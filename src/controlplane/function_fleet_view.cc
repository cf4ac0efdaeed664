// FunctionRegistry: tags, code garbage collection, and what the fleet reads.
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
#include "controlplane/stored_fields.h"
#include "store/scan.h"

namespace hearth {
namespace json = boost::json;
using namespace functions_internal;  // NOLINT(google-build-using-namespace)

Result<std::map<std::string, std::string>> FunctionRegistry::functionTags(std::string_view name) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRecord fn, loadFunction(name));
  return fn.tags;
}

Status FunctionRegistry::editFunctionTags(
    std::string_view name, const std::function<void(std::map<std::string, std::string>&)>& edit) {
  return casUpdate(name,
                   [&](FunctionRecord& fn, Txn&) -> Result<CasStep> {
                     edit(fn.tags);
                     HEARTH_RETURN_IF_ERROR(validateTags(fn.tags));
                     return CasStep{};
                   })
      .status();
}

Status FunctionRegistry::collectGarbageCode() {
  std::set<std::string> referenced;
  for (std::string_view prefix : {keys::kFunctionPrefix, keys::kFunctionVersionPrefix}) {
    HEARTH_RETURN_IF_ERROR(scanPrefix(*store_, prefix, "", [&](const Record& stored) {
      boost::system::error_code ec;
      json::value value = json::parse(stored.value, ec);
      if (!ec && value.is_object()) {
        referenced.insert(stored::stringAt(value.get_object(), "code").value_or(""));
      }
      return true;
    }));
  }
  for (const auto& hex : code_->listHex()) {
    if (!referenced.contains(hex)) {
      code_->removeIfIdle(hex, code_gc_grace_).status().permitUnchecked();
    }
  }
  return Status::ok();
}

Result<std::vector<FunctionRegistry::ManagedVersion>> FunctionRegistry::managedVersions() {
  std::vector<ManagedVersion> out;
  std::map<std::string, bool> live;  // function name → exists and is not being deleted
  std::vector<Record> uses;
  HEARTH_RETURN_IF_ERROR(scanPrefix(*store_, "cpuse/", "", [&](const Record& use) {
    uses.push_back(use);
    return true;
  }));
  for (const auto& use : uses) {
    // cpuse/<cp>/<function>/<version>
    std::string_view rest = std::string_view(use.key).substr(6);
    size_t a = rest.find('/');
    size_t b = rest.find('/', a + 1);
    if (a == std::string_view::npos || b == std::string_view::npos) {
      continue;
    }
    ManagedVersion mv;
    mv.capacity_provider = std::string(rest.substr(0, a));
    mv.function = std::string(rest.substr(a + 1, b - a - 1));
    mv.version = std::string(rest.substr(b + 1));
    if (mv.version == kLatest) {
      continue;
    }
    auto known = live.find(mv.function);
    if (known == live.end()) {
      auto fn = loadFunction(mv.function);
      if (!fn.isOk() && fn.status().code() != StatusCode::kNotFound) {
        return fn.status();
      }
      known = live.emplace(mv.function, fn.isOk()).first;  // false: gone or being deleted
    }
    if (!known->second) {
      continue;
    }
    HEARTH_ASSIGN_OR_RETURN(auto record, loadVersion(mv.function, mv.version));
    if (!record) {
      continue;
    }
    mv.config = std::move(record->config);
    mv.scaling = record->scaling;
    mv.code_hex = std::move(record->code_hex);
    out.push_back(std::move(mv));
  }
  return out;
}

Result<std::vector<FunctionRegistry::AliasSummary>> FunctionRegistry::allAliases() {
  std::vector<AliasSummary> out;
  std::vector<Record> records;
  HEARTH_RETURN_IF_ERROR(scanPrefix(*store_, "fa/", "", [&](const Record& record) {
    records.push_back(record);
    return true;
  }));
  for (const auto& record : records) {
    auto parsed = parseAlias(record);
    if (!parsed.isOk()) {
      continue;
    }
    AliasSummary alias;
    std::string_view rest = std::string_view(record.key).substr(3);
    alias.function = std::string(rest.substr(0, rest.find('/')));
    alias.name = parsed->name;
    alias.version = parsed->function_version;
    if (!parsed->additional_weights.empty()) {
      alias.additional_version = parsed->additional_weights.begin()->first;
      alias.additional_weight = parsed->additional_weights.begin()->second;
    }
    out.push_back(std::move(alias));
  }
  return out;
}

}  // namespace hearth
