#include "net/http_connection.h"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <vector>

#include "net/request_parsing.h"
#include "net/wire_format.h"

namespace hearth::net_internal {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);

constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kMaxDiscardBytes = 256u * 1024 * 1024;
constexpr size_t kMaxDiscardAfterRefusalBytes = 64u * 1024;

// Waits until the handler's response is in `pending` or the connection's deadline passes.
net::awaitable<void> awaitResponse(std::shared_ptr<Connection> conn,
                                   std::shared_ptr<PendingResponse> pending) {
  conn->awaiting = pending.get();
  pending->waiting = true;
  pending->wakeup.expires_at(net::steady_timer::time_point::max());
  co_await pending->wakeup.async_wait(kNoThrow);
  pending->waiting = false;
  conn->awaiting = nullptr;
}

net::awaitable<void> writeResponse(ConnectionContext context, std::shared_ptr<Connection> conn,
                                   HttpResponse response, bool keep_alive, bool* write_ok) {
  // The head goes out of one contiguous buffer and the body after it, in one gathered write.
  conn->write_head.clear();
  appendResponseHead(response, keep_alive, &conn->write_head);
  std::array<net::const_buffer, 2> buffers{net::buffer(conn->write_head), net::const_buffer()};
  if (responseHasBody(response.status)) {
    buffers[1] = net::buffer(response.body);
  }
  conn->deadline.expiresAfter(context.options->write_timeout);
  DeadlineStream stream(&conn->socket, &conn->deadline);
  auto [ec, written] = co_await net::async_write(stream, buffers, kNoThrow);
  *write_ok = !ec;
}

// Answers a request the transport rejected and closes: the reply is sent, then what the client
// still sends is read and dropped (at most `discard_bytes`, for a bounded time) so that closing
// the socket does not reset the connection before the client has read the reply.
net::awaitable<void> refuseAndClose(ConnectionContext context, std::shared_ptr<Connection> conn,
                                    TransportError error, size_t discard_bytes) {
  HttpResponse response = context.options->transport_error_response(error);
  bool write_ok = false;
  co_await writeResponse(context, conn, std::move(response), false, &write_ok);
  if (!write_ok) {
    co_return;
  }
  boost::system::error_code ignored;
  conn->socket.shutdown(tcp::socket::shutdown_send, ignored);
  if (discard_bytes == 0) {
    co_return;
  }
  std::vector<char> scratch(discard_bytes > kMaxDiscardAfterRefusalBytes ? 64 * 1024 : 4 * 1024);
  size_t total = 0;
  conn->deadline.expiresAfter(
      std::chrono::seconds(discard_bytes > kMaxDiscardAfterRefusalBytes ? 5 : 1));
  DeadlineStream stream(&conn->socket, &conn->deadline);
  while (total < discard_bytes) {
    auto [ec, n] = co_await stream.async_read_some(net::buffer(scratch), kNoThrow);
    if (ec) {
      break;
    }
    total += n;
  }
}

net::awaitable<void> serveRequests(ConnectionContext context, std::shared_ptr<Connection> conn) {
  beast::flat_buffer buffer;  // persists across the requests of this connection
  DeadlineStream stream(&conn->socket, &conn->deadline);
  std::string peer;
  {
    boost::system::error_code ec;
    auto endpoint = conn->socket.remote_endpoint(ec);
    if (!ec) {
      peer = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
    }
  }
  for (bool first_request = true;; first_request = false) {
    conn->busy = false;
    if (*context.draining) {
      co_return;
    }
    // Wait for the request's first byte (unless it is pipelined behind the last one). A
    // connection that sends nothing in time is closed without an answer.
    if (buffer.size() == 0) {
      conn->deadline.expiresAfter(first_request ? context.options->first_byte_timeout
                                                : context.options->idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(kReadChunk), kNoThrow);
      if (ec) {
        co_return;
      }
      buffer.commit(n);
    }
    RequestParser parser;
    configureParser(parser, context.options->max_header_bytes);
    conn->deadline.expiresAfter(context.options->header_timeout);
    auto [read_ec, header_bytes] =
        co_await http::async_read_header(stream, buffer, parser, kNoThrow);
    if (read_ec) {
      if (conn->deadline.timedOut()) {
        co_await refuseAndClose(context, conn, TransportError::kReadTimeout,
                                kMaxDiscardAfterRefusalBytes);
      } else if (read_ec != http::error::end_of_stream &&
                 read_ec != net::error::operation_aborted && read_ec != net::error::eof &&
                 read_ec != net::error::connection_reset) {
        co_await refuseAndClose(context, conn, headerReadError(read_ec),
                                kMaxDiscardAfterRefusalBytes);
      }
      co_return;
    }
    if (auto framing_error = checkRequestHeader(parser)) {
      co_await refuseAndClose(context, conn, *framing_error, kMaxDiscardAfterRefusalBytes);
      co_return;
    }
    conn->busy = true;
    ++*context.in_flight;
    struct InFlightGuard {
      std::atomic<size_t>* counter;
      ~InFlightGuard() { --*counter; }
    } guard{context.in_flight};

    std::string method(parser.get().method_string());
    std::string target(parser.get().target());
    size_t limit = context.options->body_limit_for ? context.options->body_limit_for(method, target)
                                                   : context.options->max_body_bytes;
    if (auto too_large = applyBodyLimit(parser, limit)) {
      co_await refuseAndClose(context, conn, *too_large, kMaxDiscardBytes);
      co_return;
    }
    auto expect = parser.get()[http::field::expect];
    // An HTTP/1.0 client cannot read an interim response (RFC 9110 §10.1.1).
    if (!parser.is_done() && parser.get().version() >= 11 &&
        beast::iequals(expect, "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, 11};
      conn->deadline.expiresAfter(context.options->write_timeout);
      auto [cont_ec, cont_n] = co_await http::async_write(stream, cont, kNoThrow);
      if (cont_ec) {
        co_return;
      }
    }
    if (!parser.is_done()) {
      conn->deadline.expiresAfter(context.options->body_timeout);
      auto [body_ec, body_bytes] = co_await http::async_read(stream, buffer, parser, kNoThrow);
      if (body_ec) {
        if (body_ec == http::error::body_limit) {
          co_await refuseAndClose(context, conn, TransportError::kBodyTooLarge, kMaxDiscardBytes);
        } else if (conn->deadline.timedOut()) {
          co_await refuseAndClose(context, conn, TransportError::kReadTimeout,
                                  kMaxDiscardAfterRefusalBytes);
        } else if (body_ec != http::error::end_of_stream &&
                   body_ec != net::error::operation_aborted &&
                   body_ec != http::error::partial_message && body_ec != net::error::eof &&
                   body_ec != net::error::connection_reset) {
          co_await refuseAndClose(context, conn, TransportError::kBadRequest,
                                  kMaxDiscardAfterRefusalBytes);
        }
        co_return;
      }
    }
    conn->deadline.clear();
    auto message = parser.release();
    bool keep_alive = message.keep_alive();

    HttpRequest request;
    request.method = std::move(method);
    request.target = std::move(target);
    request.headers.reserve(16);
    for (const auto& field : message) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    request.peer = peer;
    request.listener = conn->listener;

    // A response given on this worker while the handler runs is taken as it is; any other is
    // posted to this worker, which then resumes the session.
    net::any_io_executor executor = conn->socket.get_executor();
    auto pending = std::make_shared<PendingResponse>(executor);
    Responder responder = [pending, executor](HttpResponse response) {
      const auto* worker = executor.target<net::io_context::executor_type>();
      if (worker != nullptr && worker->running_in_this_thread() && !pending->waiting) {
        if (!pending->response && !pending->abandoned) {
          pending->response = std::move(response);
        }
        return;
      }
      net::post(executor, [pending, response = std::move(response)]() mutable {
        if (!pending->response && !pending->abandoned) {
          pending->response = std::move(response);
          pending->wake();
        }
      });
    };
    conn->deadline.expiresAfter(context.options->handler_timeout);
    (*context.handler)(std::move(request), std::move(responder));
    if (!pending->response) {
      co_await awaitResponse(conn, pending);
    }
    HttpResponse response;
    if (pending->response) {
      response = std::move(*pending->response);
    } else {
      pending->abandoned = true;
      response.status = 500;
      response.set("Content-Type", "text/plain");
      response.body = "handler timed out";
      keep_alive = false;
    }
    bool write_ok = false;
    co_await writeResponse(context, conn, std::move(response), keep_alive && !*context.draining,
                           &write_ok);
    if (!write_ok || !keep_alive || *context.draining) {
      co_return;
    }
  }
}

}  // namespace

net::awaitable<void> serveConnection(ConnectionContext context, std::shared_ptr<Connection> conn) {
  std::exception_ptr failure;
  try {
    co_await serveRequests(context, conn);
  } catch (...) {
    failure = std::current_exception();
  }
  // Even after a failure the client must see the close; the failure is then reported to the
  // session's completion handler.
  conn->deadline.clear();
  boost::system::error_code ignored;
  conn->socket.shutdown(tcp::socket::shutdown_send, ignored);
  conn->busy = false;
  if (failure) {
    std::rethrow_exception(failure);
  }
}

net::awaitable<void> refuseConnection(ConnectionContext context, std::shared_ptr<Connection> conn,
                                      bool wait_for_client) {
  std::exception_ptr failure;
  try {
    co_await refuseAndClose(context, conn, TransportError::kTooManyConnections,
                            wait_for_client ? kMaxDiscardAfterRefusalBytes : 0);
  } catch (...) {
    failure = std::current_exception();
  }
  conn->deadline.clear();
  if (failure) {
    std::rethrow_exception(failure);
  }
}

}  // namespace hearth::net_internal
