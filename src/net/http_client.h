#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "net/http.h"

namespace hearth {

// A blocking HTTP/1.1 client holding one kept-alive connection to host:port. It reconnects when
// the server closed the connection. Not thread-safe: use one per thread.
class HttpClient {
 public:
  virtual ~HttpClient() = default;

  static std::unique_ptr<HttpClient> create(std::string host, uint16_t port);

  // Sends `request` (target, method, headers, body) and waits for the full response. Host and
  // Content-Length are filled in. Errors: kUnavailable when the server cannot be reached,
  // kDeadlineExceeded on timeout.
  virtual Result<HttpResponse> send(const HttpRequest& request,
                                    std::chrono::milliseconds timeout) = 0;
};

// Splits "host:port" (or "[v6]:port"). Returns false when malformed.
bool splitHostPort(const std::string& address, std::string* host, uint16_t* port);

}  // namespace hearth
