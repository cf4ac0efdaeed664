#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "net/http.h"
#include "net/io_workers.h"

namespace hearth {

// Completes one request. Call exactly once, from any thread. Safe to call after the connection
// has gone away (the response is then dropped).
using Responder = std::function<void(HttpResponse)>;

// Handles a request. Runs on a server I/O thread: must not block for long. Long work (an invoke)
// keeps the Responder and completes it later.
using HttpHandler = std::function<void(HttpRequest, Responder)>;

// Why the transport rejected a request before it reached the handler.
enum class TransportError {
  kBodyTooLarge,        // 413, then the rest of the body is read and dropped
  kHeaderTooLarge,      // 431 and close
  kBadRequest,          // 400 and close: unparseable, or body framing that cannot be trusted
  kNotImplemented,      // 501 and close: a transfer coding other than chunked
  kReadTimeout,         // 408 and close: the header or body did not arrive in time
  kTooManyConnections,  // 503 with Retry-After, then close: over the per-client or total cap
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;   // 0 = pick a free port; read it back with port()
  int io_threads = 2;  // when `workers` is null: the server runs its own workers
  // Workers shared with other servers and clients (see io_workers.h); their owner starts them,
  // and stops them after this server has drained. Null: the server owns `io_threads` workers.
  IoWorkersPtr workers;
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 8 * 1024 * 1024;
  // Per-request body limit chosen after the header is read; defaults to max_body_bytes.
  std::function<size_t(const std::string& method, const std::string& target)> body_limit_for;
  // A new connection must send its first byte within first_byte_timeout of the accept, and a
  // kept-alive one within idle_timeout of its last response; either is otherwise closed quietly.
  // Each request's header must then arrive within header_timeout of its first byte, its body
  // within body_timeout of the header's end, and its response be written within write_timeout.
  std::chrono::milliseconds first_byte_timeout{10000};
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds write_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds handler_timeout{960000};  // bound on one handler's response
  // Connections over either cap are answered 503 with Retry-After and closed.
  size_t max_connections = 4096;
  size_t max_connections_per_client = 1024;  // per IPv4 address or IPv6 /64
  // Renders the response for a request the transport rejected; a kTooManyConnections answer
  // should carry Retry-After (the default one does).
  std::function<HttpResponse(TransportError)> transport_error_response;
};

// An HTTP/1.1 server with keep-alive on Boost.Beast coroutines. Everything Boost lives in the .cc.
// Thread-safety: start/drain/stop may be called from any one thread; handlers run on I/O threads.
class HttpServer {
 public:
  virtual ~HttpServer() = default;

  // Binds and listens. Throws nothing; a bind failure is a Status.
  static Result<std::unique_ptr<HttpServer>> create(HttpServerOptions options, HttpHandler handler);

  virtual uint16_t port() const = 0;
  // Starts the I/O threads. Returns at once.
  virtual void start() = 0;
  // Stops accepting, lets in-flight requests finish (up to `grace`), closes idle connections,
  // then stops the I/O threads. Blocks until done.
  virtual void drain(std::chrono::milliseconds grace) = 0;
  // Number of open client connections (for tests and metrics).
  virtual size_t connectionCount() const = 0;

  // Opens another listening socket served by the same threads and handler; requests accepted on
  // it carry `tag` in HttpRequest::listener. REQUIRES: tag != 0 and not in use. Returns the bound
  // port (pass port 0 to pick one). Thread-safe.
  virtual Result<uint16_t> addListener(const std::string& host, uint16_t port, uint64_t tag) = 0;
  // Like addListener for an IPv4 socket already bound and listening (for example one made in
  // another network namespace); the server takes ownership of `fd`, also on failure.
  virtual Result<uint16_t> adoptListener(int fd, uint64_t tag) = 0;
  // Closes the listener `tag` and the connections it accepted. Thread-safe; unknown tags are
  // ignored.
  virtual void removeListener(uint64_t tag) = 0;
};

using HttpServerPtr = std::unique_ptr<HttpServer>;

}  // namespace hearth
