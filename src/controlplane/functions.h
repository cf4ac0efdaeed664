#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "controlplane/capacity_providers.h"
#include "controlplane/function_configuration.h"
#include "controlplane/model.h"
#include "controlplane/names.h"
#include "store/store.h"

namespace hearth {

class CodeStore;

namespace keys {
std::string function(std::string_view name);                                   // fn/<name>
std::string functionVersion(std::string_view name, std::string_view version);  // fv/<name>/<v>
std::string functionVersionPrefix(std::string_view name);
std::string alias(std::string_view name, std::string_view alias);  // fa/<name>/<alias>
std::string aliasPrefix(std::string_view name);
inline constexpr std::string_view kFunctionPrefix = "fn/";
inline constexpr std::string_view kFunctionVersionPrefix = "fv/";
}  // namespace keys

inline constexpr std::string_view kLatest = "$LATEST";
inline constexpr std::string_view kLatestPublished = "$LATEST.PUBLISHED";

// A published version (or $LATEST) as the data plane needs it.
struct FunctionVersionRecord {
  FunctionConfiguration config;
  std::string code_hex;                  // content address of the deployment zip in the CodeStore
  std::optional<ScalingConfig> scaling;  // requested FunctionScalingConfig
  int64_t version = 0;                   // store version
};

// Functions, versions, aliases, function scaling config and function tags. Requests and
// responses are the AWS JSON shapes; each method is one API operation. Thread-safe: every
// mutation of a function is a compare-and-swap on its fn/<name> record, so concurrent writers to
// one function serialise and the loser sees ResourceConflictException.
// *store, *code, *providers and *clock must outlive this object.
class FunctionRegistry {
 public:
  FunctionRegistry(Store* store, CodeStore* code, CapacityProviderRegistry* providers,
                   const Clock* clock, AccountContext account);

  Result<boost::json::object> createFunction(const boost::json::object& request);
  Result<boost::json::object> getFunction(std::string_view function,
                                          const std::optional<std::string>& qualifier);
  Result<boost::json::object> getFunctionConfiguration(std::string_view function,
                                                       const std::optional<std::string>& qualifier);
  Result<boost::json::object> listFunctions(const std::optional<std::string>& marker,
                                            std::optional<int64_t> max_items,
                                            const std::optional<std::string>& function_version);
  Result<boost::json::object> updateFunctionCode(std::string_view function,
                                                 const boost::json::object& request);
  Result<boost::json::object> updateFunctionConfiguration(std::string_view function,
                                                          const boost::json::object& request);
  // What DeleteFunction did. The environments of a capacity-provider function (or version) are
  // drained asynchronously after its records are gone, so AWS answers 202 for it and 204
  // otherwise.
  struct DeleteOutcome {
    bool asynchronous = false;
  };
  Result<DeleteOutcome> deleteFunction(std::string_view function,
                                       const std::optional<std::string>& qualifier);

  Result<boost::json::object> publishVersion(std::string_view function,
                                             const boost::json::object& request);
  Result<boost::json::object> listVersions(std::string_view function,
                                           const std::optional<std::string>& marker,
                                           std::optional<int64_t> max_items);

  Result<boost::json::object> createAlias(std::string_view function,
                                          const boost::json::object& request);
  Result<boost::json::object> getAlias(std::string_view function, std::string_view alias);
  Result<boost::json::object> updateAlias(std::string_view function, std::string_view alias,
                                          const boost::json::object& request);
  Status deleteAlias(std::string_view function, std::string_view alias);
  Result<boost::json::object> listAliases(std::string_view function,
                                          const std::optional<std::string>& function_version,
                                          const std::optional<std::string>& marker,
                                          std::optional<int64_t> max_items);

  Result<boost::json::object> putScalingConfig(std::string_view function,
                                               const std::optional<std::string>& qualifier,
                                               const boost::json::object& request);
  Result<boost::json::object> getScalingConfig(std::string_view function,
                                               const std::optional<std::string>& qualifier);

  // Tags of an unqualified function.
  Result<std::map<std::string, std::string>> functionTags(std::string_view name);
  // Applies `edit` to the function's tags as a compare-and-swap update (see casUpdate).
  Status editFunctionTags(std::string_view name,
                          const std::function<void(std::map<std::string, std::string>&)>& edit);

  // Resolves a qualifier (version, alias, or none = $LATEST.PUBLISHED) to a stored version.
  Result<FunctionVersionRecord> resolveVersion(std::string_view function,
                                               const std::optional<std::string>& qualifier);

  // What the data plane needs to know about every published version on a capacity provider.
  struct ManagedVersion {
    std::string capacity_provider;
    std::string function;
    std::string version;
    FunctionConfiguration config;
    std::optional<ScalingConfig> scaling;
    std::string code_hex;
  };
  struct AliasSummary {
    std::string function;
    std::string name;
    std::string version;
    std::string additional_version;
    double additional_weight = 0;
  };
  Result<std::vector<ManagedVersion>> managedVersions();
  Result<std::vector<AliasSummary>> allAliases();

  // Sets a published version's State (and StateReason/StateReasonCode; empty = cleared), as the
  // data plane observes it. A no-op when the version no longer exists.
  Status setVersionState(const std::string& function, const std::string& version,
                         FunctionState state, const std::string& reason,
                         const std::string& reason_code);

  // Finishes deletions a crash interrupted (functions marked as being deleted). Call at start.
  Status finishPendingDeletes();

  // Removes stored code that no function or version references and that nobody stored within
  // the grace period (a request stores its code before it commits the reference). Safe to call
  // at any time, from any thread; the server calls it in the background (it reads every
  // function and version record).
  Status collectGarbageCode();
  // REQUIRES: called before the registry is shared between threads.
  void setCodeGcGrace(std::chrono::seconds grace) { code_gc_grace_ = grace; }

  const AccountContext& account() const { return account_; }

  // Base URL (http://host:port) for Code.Location in GetFunction. REQUIRES: called before the
  // registry is shared between threads.
  void setCodeLocationBase(std::string base) { code_location_base_ = std::move(base); }

 private:
  struct FunctionRecord;

  // The function record; kNotFound when absent or being deleted.
  Result<FunctionRecord> loadFunction(std::string_view name);
  // The record even while it is being deleted.
  Result<FunctionRecord> loadFunctionRecord(std::string_view name);
  // Removes the records of a function marked as being deleted, a bounded batch per
  // transaction, the function record last.
  Status finishDelete(std::string_view name);
  Result<std::optional<FunctionVersionRecord>> loadVersion(std::string_view name,
                                                           std::string_view version);
  Result<boost::json::object> publishLocked(FunctionRecord& fn, const std::string& description,
                                            bool to_latest_published, Txn& txn);
  Result<boost::json::object> commitFunctionChange(FunctionRecord& fn, Txn& txn,
                                                   boost::json::object response);
  // Commits a new function (and its first version when publishing). "already exist" only when
  // the name is taken; a provider record that changed meanwhile is re-checked and retried.
  Result<boost::json::object> commitNewFunction(const FunctionRecord& base, bool publish,
                                                bool publish_to_latest_published);
  // Adds to `txn` a compare on capacity provider `name`'s record as it is now; an error when
  // the provider is gone, deleting or failed.
  Status expectUsableProvider(const std::string& name, Txn& txn);

  // What one attempt of a compare-and-swap update decided: its answer, and whether anything
  // is to be written (false: answer without committing).
  struct CasStep {
    boost::json::object response;
    bool commit = true;
  };
  // A compare-and-swap update of fn/<name>, the one way every change of a function is made:
  // loads the record, lets `change` check and edit it and add to `txn` the other records it
  // writes (with the compares they need), then commits them with a compare on the function
  // record. A commit that lost a race to another writer is retried from the load, at most
  // kCasAttempts times, then ResourceConflictException; whatever `change` returns that is not ok
  // ends the update as it is (a RevisionId mismatch stays PreconditionFailed), and so does any
  // other commit error.
  Result<boost::json::object> casUpdate(
      std::string_view name, const std::function<Result<CasStep>(FunctionRecord&, Txn&)>& change);
  // The loop under every compare-and-swap: runs `attempt` until it returns an answer (done) or
  // an error, and again while it returns nullopt (it lost a race), at most kCasAttempts times.
  Result<boost::json::object> retryLostRaces(
      const std::function<Result<std::optional<boost::json::object>>()>& attempt);
  // Commits `txn`: `response` when it landed, nullopt when a compare failed (a lost race).
  Result<std::optional<boost::json::object>> commitUnlessRaced(const Txn& txn,
                                                               boost::json::object response);

  Store* store_;
  CodeStore* code_;
  CapacityProviderRegistry* providers_;
  const Clock* clock_;
  AccountContext account_;
  std::string code_location_base_ = "http://127.0.0.1:9001";
  std::chrono::seconds code_gc_grace_{600};
};

}  // namespace hearth
