#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "controlplane/capacity_providers.h"
#include "controlplane/functions.h"

namespace hearth {

// TagResource, UntagResource and ListTags for function and capacity provider ARNs.
// *functions and *providers must outlive this object. Thread-safe.
class TagRegistry {
 public:
  TagRegistry(FunctionRegistry* functions, CapacityProviderRegistry* providers,
              AccountContext account);

  Status tagResource(std::string_view arn, const boost::json::object& request);
  Status untagResource(std::string_view arn, const std::vector<std::string>& keys);
  Result<boost::json::object> listTags(std::string_view arn);

 private:
  Result<std::map<std::string, std::string>> read(const ParsedArn& arn);
  // Read-modify-write of the resource's tags; races with other writers are retried.
  Status edit(const ParsedArn& arn,
              const std::function<void(std::map<std::string, std::string>&)>& change);

  FunctionRegistry* functions_;
  CapacityProviderRegistry* providers_;
  AccountContext account_;
};

}  // namespace hearth
