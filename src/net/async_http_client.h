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

struct AsyncHttpClientOptions {
  int threads = 2;  // when `workers` is null: the client runs its own workers
  // Workers shared with an HttpServer (see io_workers.h): a send() from one of them runs, and
  // completes, on the caller's thread. Their owner stops them after shutdown(). Null: the client
  // owns `threads` workers.
  IoWorkersPtr workers;
  size_t max_idle_per_host = 256;  // kept-alive connections parked per host:port and worker
  size_t max_response_bytes = 8u * 1024 * 1024;
};

// An asynchronous HTTP/1.1 client with per-host pools of kept-alive connections, one set of
// pools per worker. Thread-safe. Completion callbacks run on the worker that sent the request
// (the caller's own when it is one): they must not block.
class AsyncHttpClient {
 public:
  using Callback = std::function<void(Result<HttpResponse>)>;

  virtual ~AsyncHttpClient() = default;
  static std::unique_ptr<AsyncHttpClient> create(AsyncHttpClientOptions options);

  // Sends `request` to host:port and calls `done` exactly once. Errors: kUnavailable (the request
  // was not delivered: cannot connect, or writing it failed), kInternal (the connection was lost
  // after the request was written: it may have been processed), kDeadlineExceeded (no full
  // response within `timeout`), kResponseTooLarge. A write that fails on a reused idle
  // connection is retried once on a fresh connection; nothing is re-sent after it was written.
  virtual void send(std::string host, uint16_t port, HttpRequest request,
                    std::chrono::milliseconds timeout, Callback done) = 0;

  // Fails new sends, closes idle connections and joins the threads after in-flight requests.
  virtual void shutdown() = 0;
};

using AsyncHttpClientPtr = std::unique_ptr<AsyncHttpClient>;

}  // namespace hearth
