#pragma once

#include <boost/json/value.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "common/result.h"

namespace hearth {

// Runs the API interactions of one subcommand, with the credentials of the environment
// (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
class Runner {
 public:
  explicit Runner(const ClientOptions* options) : options_(options) {}

  Result<boost::json::value> call(const std::string& method, const std::string& target,
                                  const std::string& body = "");
  // The client, created on first use; null when the endpoint is malformed.
  ApiClient* client();
  bool json() const { return options_->output == "json"; }
  const ClientOptions& options() const { return *options_; }

 private:
  const ClientOptions* options_;
  std::unique_ptr<ApiClient> client_;
};

// The member `key` of an object as text ("" when absent or null; JSON for non-strings).
std::string str(const boost::json::value& v, std::string_view key);
// A number member, or 0.
double num(const boost::json::value& v, std::string_view key);
// Prints "error: <message>" to stderr; returns 1.
int fail(const Status& status);
void printJson(const boost::json::value& v);

}  // namespace hearth
