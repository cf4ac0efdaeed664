#pragma once

// Conversions between Beast messages and Hearth's plain HttpRequest/HttpResponse. Internal to
// src/net: it includes Beast, so only the net .cc files may include it.

#include <boost/beast/http.hpp>

#include "net/http.h"

namespace hearth::net_internal {

// Moves a Beast response into an HttpResponse (status, headers in order, body).
inline HttpResponse toHttpResponse(
    boost::beast::http::response<boost::beast::http::string_body>&& message) {
  HttpResponse response;
  response.status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  response.body = std::move(message.body());
  return response;
}

// Builds a keep-alive Beast request from an HttpRequest; Host defaults to `default_host`.
inline boost::beast::http::request<boost::beast::http::string_body> toBeastRequest(
    const HttpRequest& request, std::string body, const std::string& default_host) {
  namespace http = boost::beast::http;
  http::request<http::string_body> message;
  message.version(11);
  message.method_string(request.method);
  message.target(request.target);
  for (const auto& [name, value] : request.headers) {
    message.insert(name, value);
  }
  if (message.find(http::field::host) == message.end()) {
    message.set(http::field::host, default_host);
  }
  message.body() = std::move(body);
  message.keep_alive(true);
  message.prepare_payload();
  return message;
}

}  // namespace hearth::net_internal
