#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "common/result.h"
#include "controlplane/capacity_providers.h"
#include "controlplane/function_configuration.h"
#include "controlplane/names.h"

namespace hearth {

// True for runtimes Hearth accepts, and for those LMI runs on a capacity provider.
bool isKnownRuntime(std::string_view runtime);
bool isManagedInstancesRuntime(std::string_view runtime);

// Decodes the configuration members of a CreateFunction or UpdateFunctionConfiguration request
// (the API edge) and applies them onto `config`, validating each as AWS does. On create,
// `config` holds only the function's name and ARN and defaults are filled in. `providers`
// resolves CapacityProviderArn. Does not touch code, versions, state or revision fields; on an
// error `config` may be partly changed.
Status applyConfiguration(const boost::json::object& request, bool is_create,
                          const AccountContext& account, CapacityProviderRegistry* providers,
                          FunctionConfiguration* config);

}  // namespace hearth
