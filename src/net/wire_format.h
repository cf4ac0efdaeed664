#pragma once

// HTTP/1.1 message heads written in one contiguous buffer (RFC 9112), for the server's responses
// and the async client's requests. Pure; internal to src/net.

#include <cstddef>
#include <string>

#include "net/http.h"

namespace hearth::net_internal {

// Whether a response with `status` carries a body (RFC 9110: not 1xx, 204 or 304).
bool responseHasBody(int status);

// Appends the status line and headers of `response`, then Content-Length (when the status has a
// body), "Connection: close" unless `keep_alive`, and the blank line. The response's own
// Content-Length, Transfer-Encoding and Connection headers are replaced by these; a header whose
// name or value holds CR or LF is dropped, so no header can split the message.
void appendResponseHead(const HttpResponse& response, bool keep_alive, std::string* out);

// Appends the request line and headers of `request`, a Host of `default_host` when it has none,
// Content-Length and the blank line (keep-alive is HTTP/1.1's default). The same headers as
// above are replaced or dropped.
void appendRequestHead(const HttpRequest& request, const std::string& default_host,
                       std::string* out);

}  // namespace hearth::net_internal
