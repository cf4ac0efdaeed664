#pragma once

// One accepted client connection and the coroutines that serve it. Internal to src/net: it
// includes Asio.

#include <atomic>
#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "net/http_server.h"
#include "net/socket_deadline.h"

namespace hearth::net_internal {

// The response a handler gives for one request, delivered on the connection's executor.
struct PendingResponse {
  explicit PendingResponse(const boost::asio::any_io_executor& executor) : wakeup(executor) {}
  // The session waits on it, without expiry, while the handler works; cancelling it resumes the
  // session (the connection's deadline bounds the wait).
  boost::asio::steady_timer wakeup;
  std::optional<HttpResponse> response;
  bool waiting = false;    // the session waits on `wakeup`
  bool abandoned = false;  // the session stopped waiting: a late response is dropped

  void wake() { wakeup.cancel(); }
};

// One client connection. Everything but `listener` is touched only on the connection's worker.
struct Connection {
  Connection(boost::asio::ip::tcp::socket client_socket, uint64_t listener_tag)
      : socket(std::move(client_socket)),
        deadline(&socket,
                 [this] {
                   if (awaiting != nullptr) {
                     awaiting->wake();
                   }
                 }),
        listener(listener_tag) {}
  boost::asio::ip::tcp::socket socket;
  // The pending operation's deadline: when it passes, the socket's operations are cancelled and
  // a handler's response is no longer awaited, so that the session can still answer (a 408 or
  // a 500) on the open socket.
  SocketDeadline deadline;
  PendingResponse* awaiting = nullptr;  // the response the session waits for, if it waits
  const uint64_t listener;
  bool busy = false;
  std::string write_head;  // the response head being written; its capacity is reused
};

// What a connection's coroutines need of their server, which outlives them.
struct ConnectionContext {
  const HttpServerOptions* options;
  const HttpHandler* handler;
  std::atomic<size_t>* in_flight;     // requests read and not yet answered
  const std::atomic<bool>* draining;  // once set, no further request is read
};

// Serves the requests of an admitted connection until it closes, fails a deadline or the server
// drains, then shuts its sending side.
boost::asio::awaitable<void> serveConnection(ConnectionContext context,
                                             std::shared_ptr<Connection> conn);

// Answers a connection over a cap with 503 and Retry-After, then closes it: at once, or, with
// `wait_for_client`, once the client has closed too (at most 1 s), so that a request it sent
// meanwhile cannot turn the close into a reset that loses the answer.
boost::asio::awaitable<void> refuseConnection(ConnectionContext context,
                                              std::shared_ptr<Connection> conn,
                                              bool wait_for_client);

}  // namespace hearth::net_internal
