#pragma once

#include <string_view>
#include <vector>

namespace hearth {

// What the transport does with a request whose body framing it has read from the header alone.
enum class FramingVerdict {
  kOk,              // no Transfer-Encoding, or exactly "chunked"
  kBadRequest,      // 400 and close: the body length cannot be determined reliably
  kNotImplemented,  // 501 and close: a transfer coding other than chunked is applied
};

// Checks a request's Transfer-Encoding fields (RFC 9112 §6.1 and §6.3). `http_minor` is the
// minor HTTP version (0 or 1); `transfer_encodings` are the values of every Transfer-Encoding
// field, in order. Hearth decodes only "chunked", so the codings must be exactly that one:
//   - none at all: the body is delimited by Content-Length (or is empty);
//   - chunked as the one and final coding: OK;
//   - any final coding other than chunked, chunked more than once, a parameter on chunked, an
//     empty list, or any Transfer-Encoding in an HTTP/1.0 request: 400;
//   - other codings before a final chunked (for example "gzip, chunked"): 501.
// Pure; the fuzz target and the server share it.
FramingVerdict checkTransferEncoding(int http_minor,
                                     const std::vector<std::string_view>& transfer_encodings);

}  // namespace hearth
