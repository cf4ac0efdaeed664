#include "server/demo.h"

#include <boost/json/object.hpp>

#include "artifact/encoding.h"
#include "artifact/zip_writer.h"
#include "controlplane/capacity_providers.h"
#include "controlplane/functions.h"

namespace hearth {
namespace json = boost::json;

namespace {

constexpr const char* kDemoHandler = R"(import json
import os


def handler(event, context):
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    return {
        "message": f"Hello, {name}!",
        "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
        "version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION"),
    }
)";

}  // namespace

Status ensureDemo(CapacityProviderRegistry* providers, FunctionRegistry* functions) {
  auto existing = providers->load(kDemoCapacityProvider);
  if (!existing.isOk()) {
    if (existing.status().code() != StatusCode::kNotFound) {
      return existing.status();
    }
    json::object request{
        {"CapacityProviderName", kDemoCapacityProvider},
        {"VpcConfig", json::object{{"SubnetIds", json::array{"zone-a", "zone-b", "zone-c"}},
                                   {"SecurityGroupIds", json::array{}}}},
        {"PermissionsConfig", json::object{{"CapacityProviderOperatorRoleArn",
                                            "arn:aws:iam::" + providers->account().account_id +
                                                ":role/hearth-operator"}}},
        {"CapacityProviderScalingConfig", json::object{{"MaxVCpuCount", 16}}}};
    auto created = providers->create(request);
    if (!created.isOk()) {
      return created.status();
    }
  }
  auto fn = functions->getFunctionConfiguration(kDemoFunction, std::nullopt);
  if (fn.isOk()) {
    return Status::ok();
  }
  if (fn.status().code() != StatusCode::kNotFound) {
    return fn.status();
  }
  std::string zip = buildZip({{"lambda_function.py", kDemoHandler, false}});
  json::object request{
      {"FunctionName", kDemoFunction},
      {"Runtime", kDemoRuntime},
      {"Handler", "lambda_function.handler"},
      {"Role", "arn:aws:iam::" + providers->account().account_id + ":role/hearth-demo"},
      {"MemorySize", 2048},
      {"Description", "Hearth demo function"},
      {"Code", json::object{{"ZipFile", base64Encode(zip)}}},
      {"CapacityProviderConfig",
       json::object{{"LambdaManagedInstancesCapacityProviderConfig",
                     json::object{{"CapacityProviderArn",
                                   providers->account().capacityProviderArn(kDemoCapacityProvider)},
                                  {"PerExecutionEnvironmentMaxConcurrency", 16}}}}},
      {"PublishTo", "LATEST_PUBLISHED"}};
  return functions->createFunction(request).status();
}

}  // namespace hearth
