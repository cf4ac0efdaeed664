#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "common/result.h"
#include "controlplane/capacity_providers.h"
#include "controlplane/names.h"

namespace hearth {

// True for runtimes Hearth accepts, and for those LMI runs on a capacity provider.
bool isKnownRuntime(std::string_view runtime);
bool isManagedInstancesRuntime(std::string_view runtime);

// Applies the configuration members of a CreateFunction or UpdateFunctionConfiguration request
// onto `config` (a FunctionConfiguration shape), validating each as AWS does. On create,
// `config` starts empty and defaults are filled in. `providers` resolves CapacityProviderArn.
// Does not touch code, versions, state or revision fields.
Status applyConfiguration(const boost::json::object& request, bool is_create,
                          const AccountContext& account, CapacityProviderRegistry* providers,
                          boost::json::object* config);

// The capacity provider name a config runs on, or "" for a function without one.
std::string capacityProviderOf(const boost::json::object& config);

// Members of FunctionConfiguration compared to decide whether $LATEST differs from a version.
bool sameCodeAndConfig(const boost::json::object& a, const boost::json::object& b);

// Reads a string member, or "" when it is absent or not a string.
std::string stringMember(const boost::json::object& o, std::string_view key);

}  // namespace hearth
