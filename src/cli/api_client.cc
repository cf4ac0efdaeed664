#include "cli/api_client.h"

#include <boost/json/parse.hpp>

namespace hearth {
namespace json = boost::json;

Result<std::unique_ptr<ApiClient>> ApiClient::create(const std::string& endpoint,
                                                     std::string region,
                                                     std::optional<Credentials> credentials) {
  std::string rest = endpoint;
  if (rest.rfind("http://", 0) == 0) {
    rest = rest.substr(7);
  } else if (rest.find("://") != std::string::npos) {
    return invalidParameter("only http:// endpoints are supported: " + endpoint);
  }
  while (!rest.empty() && rest.back() == '/') {
    rest.pop_back();
  }
  std::string host;
  uint16_t port = 0;
  if (!splitHostPort(rest, &host, &port)) {
    return invalidParameter("endpoint must be http://HOST:PORT, got " + endpoint);
  }
  return std::unique_ptr<ApiClient>(
      new ApiClient(host, port, std::move(region), std::move(credentials)));
}

ApiClient::ApiClient(std::string host, uint16_t port, std::string region,
                     std::optional<Credentials> credentials)
    : host_(std::move(host)),
      port_(port),
      region_(std::move(region)),
      credentials_(std::move(credentials)),
      http_(HttpClient::create(host_, port_)) {}

Result<HttpResponse> ApiClient::call(const std::string& method, const std::string& target,
                                     const std::string& body, const HeaderList& extra_headers) {
  HttpRequest request;
  request.method = method;
  request.target = target;
  request.body = body;
  request.headers = extra_headers;
  std::string host_header = host_.find(':') != std::string::npos
                                ? "[" + host_ + "]:" + std::to_string(port_)
                                : host_ + ":" + std::to_string(port_);
  request.headers.emplace_back("Host", host_header);
  if (!body.empty() && findHeader(request.headers, "Content-Type") == nullptr) {
    request.headers.emplace_back("Content-Type", "application/json");
  }
  if (credentials_) {
    SignedRequest to_sign{request.method, request.target, request.headers, request.body};
    signRequest(to_sign, *credentials_, region_, "lambda", std::chrono::system_clock::now());
    request.headers = to_sign.headers;
  }
  HEARTH_ASSIGN_OR_RETURN(HttpResponse response, http_->send(request, std::chrono::seconds(960)));
  if (response.status >= 300) {
    std::string type = response.header("X-Amzn-ErrorType")
                           ? *response.header("X-Amzn-ErrorType")
                           : "HTTP " + std::to_string(response.status);
    type = type.substr(0, type.find(':'));
    std::string message = response.body;
    boost::system::error_code ec;
    json::value parsed = json::parse(response.body, ec);
    if (!ec && parsed.is_object()) {
      for (const char* key : {"message", "Message"}) {
        if (const auto* m = parsed.get_object().if_contains(key); m && m->is_string()) {
          message = std::string(m->get_string());
        }
      }
    }
    return Status(response.status >= 500 ? StatusCode::kUnavailable : StatusCode::kInvalidParameter,
                  type + ": " + message);
  }
  return response;
}

Result<json::value> ApiClient::callJson(const std::string& method, const std::string& target,
                                        const std::string& body) {
  HEARTH_ASSIGN_OR_RETURN(HttpResponse response, call(method, target, body));
  if (response.body.empty()) {
    return json::value();
  }
  boost::system::error_code ec;
  json::value parsed = json::parse(response.body, ec);
  if (ec) {
    return Status(StatusCode::kInternal, "the server answered with invalid JSON");
  }
  return parsed;
}

}  // namespace hearth
