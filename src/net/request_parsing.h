#pragma once

// The transport's checks on a request as Beast parses it, shared by the server and the HTTP
// parser fuzz target. Internal to src/net: it includes Beast.

#include <boost/beast/http.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "net/http_server.h"
#include "net/request_framing.h"

namespace hearth::net_internal {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// A parser for one request. Its body limit stays open until the header is known and the caller
// sets the real one.
inline void configureParser(RequestParser& parser, size_t max_header_bytes) {
  parser.header_limit(static_cast<std::uint32_t>(max_header_bytes));
  parser.body_limit(boost::none);
}

// The error to answer for a header Beast could not parse.
inline TransportError headerReadError(boost::beast::error_code ec) {
  return ec == boost::beast::http::error::header_limit ? TransportError::kHeaderTooLarge
                                                       : TransportError::kBadRequest;
}

// Checks a parsed header before any of its body is read: the request is refused (and the
// connection closed) when its body framing is not one Hearth can delimit exactly.
inline std::optional<TransportError> checkRequestHeader(const RequestParser& parser) {
  const auto& header = parser.get();
  std::vector<std::string_view> encodings;
  auto range = header.equal_range(boost::beast::http::field::transfer_encoding);
  for (auto it = range.first; it != range.second; ++it) {
    encodings.emplace_back(it->value().data(), it->value().size());
  }
  switch (checkTransferEncoding(static_cast<int>(header.version() % 10), encodings)) {
    case FramingVerdict::kOk:
      return std::nullopt;
    case FramingVerdict::kBadRequest:
      return TransportError::kBadRequest;
    case FramingVerdict::kNotImplemented:
      return TransportError::kNotImplemented;
  }
  return TransportError::kBadRequest;
}

// Sets the body limit chosen for this request once its header is known. A declared
// Content-Length beyond it is refused before any of the body is read (the string body would
// otherwise reserve the declared length up front).
inline std::optional<TransportError> applyBodyLimit(RequestParser& parser, size_t limit) {
  auto declared = parser.content_length();
  if (declared && *declared > limit) {
    return TransportError::kBodyTooLarge;
  }
  parser.body_limit(limit);
  return std::nullopt;
}

}  // namespace hearth::net_internal
