#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hearth {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Returns the first header named `name` (ASCII case-insensitive), or nullptr.
const std::string* findHeader(const HeaderList& headers, std::string_view name);

// A complete HTTP/1.1 request. Plain data; Boost-free so that every component can use it.
struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // raw request target, e.g. "/2015-03-31/functions?MaxItems=2"
  HeaderList headers;
  std::string body;
  std::string peer;       // "ip:port" of the client
  uint64_t listener = 0;  // tag of the listener that accepted the connection (0 = the main one)

  const std::string* header(std::string_view name) const { return findHeader(headers, name); }
};

struct HttpResponse {
  int status = 200;
  HeaderList headers;
  std::string body;

  const std::string* header(std::string_view name) const { return findHeader(headers, name); }
  HttpResponse& set(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// The path and the decoded query parameters of a request target.
struct ParsedTarget {
  std::string path;                                        // percent-decoded path
  std::string raw_path;                                    // as on the wire
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order

  // Returns the first value of query parameter `name`, or nullptr.
  const std::string* param(std::string_view name) const;
  // Returns every value of query parameter `name`.
  std::vector<std::string> params(std::string_view name) const;
};

// Splits and percent-decodes a request target. Returns false on invalid percent-encoding.
bool parseTarget(std::string_view target, ParsedTarget* out);

// Percent-decodes `in`; `plus_as_space` applies to query strings. Returns false on bad escapes.
bool percentDecode(std::string_view in, bool plus_as_space, std::string* out);
// Percent-encodes everything but the RFC 3986 unreserved set.
std::string percentEncode(std::string_view in);

std::string_view httpReasonPhrase(int status);

}  // namespace hearth
