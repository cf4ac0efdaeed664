#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <map>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "controlplane/capacity_provider.h"
#include "controlplane/names.h"
#include "store/store.h"

namespace hearth {

// Store keys owned by the control plane. One place, so the layout is visible at a glance.
namespace keys {
std::string capacityProvider(std::string_view name);  // cp/<name>
inline constexpr std::string_view kCapacityProviderPrefix = "cp/";
// cpuse/<cp>/<function>/<version>: a function version ($LATEST included) that uses <cp>.
std::string capacityProviderUse(std::string_view cp, std::string_view function,
                                std::string_view version);
std::string capacityProviderUsePrefix(std::string_view cp);
}  // namespace keys

// A stored capacity provider and its tags.
struct CapacityProviderRecord {
  CapacityProvider provider;
  std::map<std::string, std::string> tags;
  int64_t version = 0;  // store version, for compare-and-swap
};

// Create/Get/List/Update/Delete of capacity providers. Requests and responses are the AWS JSON
// shapes. Thread-safe (all state is in the Store). *store and *clock must outlive this object.
class CapacityProviderRegistry {
 public:
  CapacityProviderRegistry(Store* store, const Clock* clock, AccountContext account);

  Result<boost::json::object> create(const boost::json::object& request);
  Result<boost::json::object> get(std::string_view name_or_arn);
  Result<boost::json::object> list(const std::optional<std::string>& state_filter,
                                   const std::optional<std::string>& marker,
                                   std::optional<int64_t> max_items);
  Result<boost::json::object> update(std::string_view name_or_arn,
                                     const boost::json::object& request);
  Result<boost::json::object> remove(std::string_view name_or_arn);
  // {CapacityProviderArn, FunctionVersions[{FunctionArn, State}], NextMarker}
  Result<boost::json::object> listFunctionVersions(std::string_view name_or_arn,
                                                   const std::optional<std::string>& marker,
                                                   std::optional<int64_t> max_items);

  // The published function versions on provider `name`, as listFunctionVersions lists them
  // (every version but $LATEST), counted up to `stop_at`. The per-provider version quota counts
  // these.
  Result<int64_t> countPublishedVersions(std::string_view name, int64_t stop_at);

  // Moves every Pending provider to Active. Called by the server's reconcile loop; later the
  // fleet manager does this once the provider's zones are reachable.
  Status activatePending();

  Result<CapacityProviderRecord> load(std::string_view name);
  // The provider a function may be placed on now: InvalidParameterValue naming `arn` when it
  // does not exist or is Deleting or Failed.
  Result<CapacityProviderRecord> loadUsable(std::string_view name, std::string_view arn);
  // Applies `edit` to provider `name`'s tags as a compare-and-swap: a write that lost a race
  // (another tag change, an update, the Pending → Active step) is retried on the record as it
  // is now, a bounded number of times.
  Status editTags(std::string_view name,
                  const std::function<void(std::map<std::string, std::string>&)>& edit);
  const AccountContext& account() const { return account_; }

 private:
  Store* store_;
  const Clock* clock_;
  AccountContext account_;
};

std::string serializeRecord(const CapacityProviderRecord& record);
Result<CapacityProviderRecord> parseCapacityProviderRecord(const Record& stored);

}  // namespace hearth
