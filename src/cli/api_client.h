#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "auth/sigv4.h"
#include "common/result.h"
#include "net/http_client.h"

namespace hearth {

// A Lambda API client for the `hearth` subcommands. Signs with SigV4 when credentials are set.
// Not thread-safe.
class ApiClient {
 public:
  // `endpoint` is http://HOST:PORT.
  static Result<std::unique_ptr<ApiClient>> create(const std::string& endpoint, std::string region,
                                                   std::optional<Credentials> credentials);

  // Sends one request. A non-2xx answer becomes a Status whose message is
  // "<X-Amzn-ErrorType>: <message>"; its code is kUnavailable for 5xx, else kInvalidParameter.
  Result<HttpResponse> call(const std::string& method, const std::string& target,
                            const std::string& body = "", const HeaderList& extra_headers = {});
  // Like call(), parsing the body as JSON (an empty body is null).
  Result<boost::json::value> callJson(const std::string& method, const std::string& target,
                                      const std::string& body = "");

 private:
  ApiClient(std::string host, uint16_t port, std::string region,
            std::optional<Credentials> credentials);

  std::string host_;
  uint16_t port_;
  std::string region_;
  std::optional<Credentials> credentials_;
  std::unique_ptr<HttpClient> http_;
};

}  // namespace hearth
