// FunctionRegistry: DeleteFunction (a version, or the whole function in bounded batches).
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

Result<FunctionRegistry::DeleteOutcome> FunctionRegistry::deleteFunction(
    std::string_view function, const std::optional<std::string>& qualifier) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRef ref, parseFunctionRef(function, account_));
  std::optional<std::string> q = qualifier ? qualifier : ref.qualifier;
  if (q && *q == kLatest) {
    return invalidParameter("$LATEST version cannot be deleted without deleting the function.");
  }
  if (q && !isNumericVersion(*q) && *q != kLatestPublished) {
    return invalidParameter(
        "Deletion of aliases is not supported by DeleteFunction; use DeleteAlias.");
  }
  std::string cp;
  if (q) {
    auto deleted = casUpdate(ref.name, [&](FunctionRecord& fn, Txn& txn) -> Result<CasStep> {
      cp = fn.latest.capacityProvider();
      HEARTH_ASSIGN_OR_RETURN(auto version, loadVersion(ref.name, *q));
      if (!version) {
        return functionNotFound(account_, ref.name, *q);
      }
      std::vector<std::string> users;
      HEARTH_RETURN_IF_ERROR(
          scanPrefix(*store_, keys::aliasPrefix(ref.name), "", [&](const Record& stored) {
            if (auto alias = parseAlias(stored); alias.isOk() && alias->uses(*q)) {
              users.push_back(alias->name);
            }
            return true;
          }));
      if (!users.empty()) {
        std::string list;
        for (const auto& u : users) {
          list += (list.empty() ? "" : ", ") + u;
        }
        return conflict("Unable to delete version because the following aliases reference it: [" +
                        list + "]");
      }
      txn.expect(keys::functionVersion(ref.name, *q), version->version)
          .del(keys::functionVersion(ref.name, *q));
      if (!cp.empty()) {
        txn.del(keys::capacityProviderUse(cp, ref.name, *q));
      }
      return CasStep{};
    });
    HEARTH_RETURN_IF_ERROR(deleted.status());
  } else {
    // The function disappears for readers in one transaction (the mark); its versions, aliases
    // and index entries then go in transactions that each fit an etcd transaction. A delete that
    // was interrupted is finished by the next one.
    if (auto record = loadFunctionRecord(ref.name); record.isOk() && record->deleting) {
      HEARTH_RETURN_IF_ERROR(finishDelete(ref.name));
      return DeleteOutcome{.asynchronous = record->latest.runsOnCapacityProvider()};
    }
    auto marked = casUpdate(ref.name, [&](FunctionRecord& fn, Txn&) -> Result<CasStep> {
      cp = fn.latest.capacityProvider();
      fn.deleting = true;
      return CasStep{};
    });
    HEARTH_RETURN_IF_ERROR(marked.status());
    HEARTH_RETURN_IF_ERROR(finishDelete(ref.name));
  }
  return DeleteOutcome{.asynchronous = !cp.empty()};
}

Status FunctionRegistry::finishDelete(std::string_view name) {
  HEARTH_ASSIGN_OR_RETURN(FunctionRecord fn, loadFunctionRecord(name));
  if (!fn.deleting) {
    return Status::ok();
  }
  // Versions before their index entries: a version-state write that races the delete compares on
  // the version record, so once it is gone nothing recreates an index entry.
  std::vector<std::string> prefixes = {keys::aliasPrefix(name), keys::functionVersionPrefix(name)};
  if (std::string cp = fn.latest.capacityProvider(); !cp.empty()) {
    prefixes.push_back(keys::capacityProviderUsePrefix(cp) + std::string(name) + "/");
  }
  for (const auto& prefix : prefixes) {
    for (;;) {
      HEARTH_ASSIGN_OR_RETURN(auto batch, store_->list(prefix, "", kMaxTxnOps));
      if (batch.empty()) {
        break;
      }
      Txn txn;
      for (const auto& record : batch) {
        txn.del(record.key);
      }
      HEARTH_RETURN_IF_ERROR(store_->commit(txn).status());
    }
  }
  Txn last;
  last.expect(keys::function(name), fn.version).del(keys::function(name));
  return store_->commit(last).status();
}

Status FunctionRegistry::finishPendingDeletes() {
  std::vector<std::string> pending;
  HEARTH_RETURN_IF_ERROR(scanPrefix(*store_, keys::kFunctionPrefix, "", [&](const Record& r) {
    if (r.value.find("\"deleting\":true") != std::string::npos) {
      pending.push_back(r.key.substr(keys::kFunctionPrefix.size()));
    }
    return true;
  }));
  for (const auto& name : pending) {
    HEARTH_RETURN_IF_ERROR(finishDelete(name));
  }
  return Status::ok();
}

}  // namespace hearth
