#include "cli/runner.h"

#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <iostream>

namespace hearth {
namespace json = boost::json;

namespace {

std::optional<Credentials> credentialsFromEnv() {
  const char* id = std::getenv("AWS_ACCESS_KEY_ID");
  const char* secret = std::getenv("AWS_SECRET_ACCESS_KEY");
  if (id == nullptr || secret == nullptr || *id == '\0') {
    return std::nullopt;
  }
  return Credentials{id, secret};
}

}  // namespace

Result<json::value> Runner::call(const std::string& method, const std::string& target,
                                 const std::string& body) {
  if (!client_) {
    HEARTH_ASSIGN_OR_RETURN(
        client_, ApiClient::create(options_->endpoint, options_->region, credentialsFromEnv()));
  }
  return client_->callJson(method, target, body);
}

ApiClient* Runner::client() {
  if (!client_) {
    auto created = ApiClient::create(options_->endpoint, options_->region, credentialsFromEnv());
    if (created.isOk()) {
      client_ = std::move(created).value();
    }
  }
  return client_.get();
}

std::string str(const json::value& v, std::string_view key) {
  if (!v.is_object()) {
    return "";
  }
  const json::value* m = v.get_object().if_contains(key);
  if (m == nullptr || m->is_null()) {
    return "";
  }
  if (m->is_string()) {
    return std::string(m->get_string());
  }
  return json::serialize(*m);
}

double num(const json::value& v, std::string_view key) {
  if (!v.is_object()) {
    return 0;
  }
  const json::value* m = v.get_object().if_contains(key);
  if (m == nullptr) {
    return 0;
  }
  if (m->is_double()) {
    return m->get_double();
  }
  if (m->is_int64()) {
    return static_cast<double>(m->get_int64());
  }
  if (m->is_uint64()) {
    return static_cast<double>(m->get_uint64());
  }
  return 0;
}

int fail(const Status& status) {
  std::cerr << "error: " << status.message() << "\n";
  return 1;
}

void printJson(const json::value& v) {
  std::cout << json::serialize(v) << "\n";
}

}  // namespace hearth
