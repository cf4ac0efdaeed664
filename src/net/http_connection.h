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
#include <string>

#include "net/http_server.h"

namespace hearth::net_internal {

// One client connection. Everything but `listener` is touched only on the connection's strand.
struct Connection {
  Connection(boost::asio::ip::tcp::socket client_socket, uint64_t listener_tag)
      : socket(std::move(client_socket)), deadline(socket.get_executor()), listener(listener_tag) {}
  boost::asio::ip::tcp::socket socket;
  // The pending operation's deadline: when it passes, the socket's operations are cancelled and
  // `timed_out` is set, so that the session can still answer (a 408) on the open socket.
  boost::asio::steady_timer deadline;
  uint64_t deadline_generation = 0;
  bool timed_out = false;
  const uint64_t listener;
  bool busy = false;
  std::string write_head;  // the response head being written; its capacity is reused
};

// The connection's socket as the stream its reads and writes go through. Once the deadline has
// passed, every operation fails at once with operation_aborted: cancelling the socket reaches
// only the operation pending at that instant, and a composed read or write (Beast's) would
// otherwise start its next step and wait without a deadline.
class DeadlineStream {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;
  explicit DeadlineStream(Connection* conn) : conn_(conn) {}
  executor_type get_executor() { return conn_->socket.get_executor(); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [this](auto handler, const MutableBuffers& target) {
          if (conn_->timed_out) {
            failNow(std::move(handler));
          } else {
            conn_->socket.async_read_some(target, std::move(handler));
          }
        },
        token, buffers);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [this](auto handler, const ConstBuffers& source) {
          if (conn_->timed_out) {
            failNow(std::move(handler));
          } else {
            conn_->socket.async_write_some(source, std::move(handler));
          }
        },
        token, buffers);
  }

 private:
  template <class Handler>
  void failNow(Handler handler) {
    boost::system::error_code aborted = boost::asio::error::operation_aborted;
    boost::asio::post(get_executor(), boost::asio::append(std::move(handler), aborted, size_t{0}));
  }
  Connection* conn_;
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
