#include "net/http_server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace hearth {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);

// One client connection. `stream` and `busy` are touched only on the connection's strand.
struct Connection {
  Connection(tcp::socket socket, uint64_t listener_tag)
      : stream(std::move(socket)), listener(listener_tag) {}
  beast::tcp_stream stream;
  uint64_t listener;
  bool busy = false;
};

// The response slot a handler completes. Lives on the connection's strand.
struct PendingResponse {
  explicit PendingResponse(const net::any_io_executor& executor) : timer(executor) {}
  net::steady_timer timer;
  std::optional<HttpResponse> response;
};

HttpResponse defaultTransportError(TransportError error) {
  HttpResponse response;
  switch (error) {
    case TransportError::kBodyTooLarge:
      response.status = 413;
      break;
    case TransportError::kHeaderTooLarge:
      response.status = 431;
      break;
    case TransportError::kBadRequest:
      response.status = 400;
      break;
    case TransportError::kReadTimeout:
      response.status = 408;
      break;
  }
  response.set("Content-Type", "text/plain");
  response.body = std::string(httpReasonPhrase(response.status));
  return response;
}

class HttpServerImpl final : public HttpServer {
 public:
  HttpServerImpl(HttpServerOptions options, HttpHandler handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        ioc_(options_.io_threads),
        acceptor_(net::make_strand(ioc_)),
        work_(net::make_work_guard(ioc_)) {
    if (!options_.transport_error_response) {
      options_.transport_error_response = defaultTransportError;
    }
  }

  ~HttpServerImpl() override {
    if (!stopped_) {
      drain(std::chrono::milliseconds(0));
    }
  }

  Status listen() {
    HEARTH_RETURN_IF_ERROR(openAcceptor(acceptor_, options_.host, options_.port));
    port_ = acceptor_.local_endpoint().port();
    return Status::ok();
  }

  static Status openAcceptor(tcp::acceptor& acceptor, const std::string& host, uint16_t port) {
    boost::system::error_code ec;
    auto address = net::ip::make_address(host, ec);
    if (ec) {
      return invalidParameter("invalid listen address '" + host + "'");
    }
    tcp::endpoint endpoint(address, port);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) {
      acceptor.set_option(net::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
      acceptor.bind(endpoint, ec);
    }
    if (!ec) {
      acceptor.listen(net::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      return Status(StatusCode::kUnavailable,
                    "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
    }
    return Status::ok();
  }

  Result<uint16_t> addListener(const std::string& host, uint16_t port, uint64_t tag) override {
    auto acceptor = std::make_shared<tcp::acceptor>(net::make_strand(ioc_));
    HEARTH_RETURN_IF_ERROR(openAcceptor(*acceptor, host, port));
    uint16_t bound = acceptor->local_endpoint().port();
    {
      std::lock_guard lock(connections_mu_);
      extra_acceptors_[tag] = acceptor;
    }
    net::co_spawn(acceptor->get_executor(), acceptLoop(acceptor.get(), tag, acceptor),
                  net::detached);
    return bound;
  }

  void removeListener(uint64_t tag) override {
    std::shared_ptr<tcp::acceptor> acceptor;
    {
      std::lock_guard lock(connections_mu_);
      auto it = extra_acceptors_.find(tag);
      if (it == extra_acceptors_.end()) {
        return;
      }
      acceptor = it->second;
      extra_acceptors_.erase(it);
      for (auto& entry : connections_by_id_) {
        auto conn = entry.second;
        if (conn->listener == tag) {
          net::post(conn->stream.get_executor(), [conn] {
            boost::system::error_code ignored;
            conn->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
            conn->stream.socket().close(ignored);
          });
        }
      }
    }
    net::post(acceptor->get_executor(), [acceptor] {
      boost::system::error_code ignored;
      acceptor->close(ignored);
    });
  }

  uint16_t port() const override { return port_; }

  void start() override {
    net::co_spawn(acceptor_.get_executor(), acceptLoop(&acceptor_, 0, nullptr), net::detached);
    for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
  }

  void drain(std::chrono::milliseconds grace) override {
    if (stopped_) {
      return;
    }
    draining_ = true;
    net::post(acceptor_.get_executor(), [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
    });
    {
      std::lock_guard lock(connections_mu_);
      for (auto& entry : extra_acceptors_) {
        auto acceptor = entry.second;
        net::post(acceptor->get_executor(), [acceptor] {
          boost::system::error_code ignored;
          acceptor->close(ignored);
        });
      }
      extra_acceptors_.clear();
    }
    auto deadline = std::chrono::steady_clock::now() + grace;
    for (;;) {
      cancelConnections(/*only_idle=*/true);
      if (in_flight_ == 0 || std::chrono::steady_clock::now() >= deadline) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    cancelConnections(/*only_idle=*/false);
    work_.reset();
    // Give sessions a moment to unwind before the loop is stopped.
    auto unwind_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (connections_ > 0 && std::chrono::steady_clock::now() < unwind_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ioc_.stop();
    for (auto& thread : threads_) {
      if (thread.joinable()) {
        thread.join();
      }
    }
    threads_.clear();
    stopped_ = true;
  }

  size_t connectionCount() const override { return connections_; }

 private:
  void cancelConnections(bool only_idle) {
    std::lock_guard lock(connections_mu_);
    for (auto& entry : connections_by_id_) {
      auto conn = entry.second;
      net::post(conn->stream.get_executor(), [conn, only_idle] {
        if (!only_idle || !conn->busy) {
          boost::system::error_code ignored;
          conn->stream.socket().cancel(ignored);
          conn->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        }
      });
    }
  }

  // `owner` owns an extra listener's acceptor for the life of its loop (null for the main
  // one, which the server owns).
  net::awaitable<void> acceptLoop(tcp::acceptor* acceptor, uint64_t tag,
                                  std::shared_ptr<tcp::acceptor> owner) {
    for (;;) {
      auto [ec, socket] = co_await acceptor->async_accept(net::make_strand(ioc_), kNoThrow);
      if (ec) {
        if (draining_ || ec == net::error::operation_aborted || !acceptor->is_open()) {
          co_return;
        }
        continue;
      }
      if (connections_ >= options_.max_connections) {
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      auto conn = std::make_shared<Connection>(std::move(socket), tag);
      uint64_t id = next_id_++;
      {
        std::lock_guard lock(connections_mu_);
        connections_by_id_.emplace(id, conn);
      }
      ++connections_;
      net::co_spawn(conn->stream.get_executor(), session(conn), [this, id](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            spdlog::error("http session failed: {}", ex.what());
          }
        }
        std::lock_guard lock(connections_mu_);
        connections_by_id_.erase(id);
        --connections_;
      });
    }
  }

  net::awaitable<void> writeResponse(std::shared_ptr<Connection> conn, HttpResponse response,
                                     bool keep_alive, bool* write_ok) {
    http::response<http::string_body> out;
    out.version(11);
    out.result(static_cast<unsigned>(response.status));
    for (auto& [name, value] : response.headers) {
      out.insert(name, value);
    }
    // 1xx, 204 and 304 responses have no body (RFC 9110); clients reject one.
    if (response.status != 204 && response.status != 304 && response.status >= 200) {
      out.body() = std::move(response.body);
    }
    out.keep_alive(keep_alive);
    out.prepare_payload();
    conn->stream.expires_after(options_.read_timeout);
    auto [ec, written] = co_await http::async_write(conn->stream, out, kNoThrow);
    *write_ok = !ec;
  }

  // After an early error reply, reads and drops what the client still sends (bounded in bytes
  // and time) so that closing the socket does not reset the connection before the client has
  // read the reply.
  net::awaitable<void> discardInput(std::shared_ptr<Connection> conn) {
    boost::system::error_code ignored;
    conn->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    std::vector<char> scratch(64 * 1024);
    size_t total = 0;
    conn->stream.expires_after(std::chrono::seconds(5));
    while (total < kMaxDiscardBytes) {
      auto [ec, n] = co_await conn->stream.async_read_some(net::buffer(scratch), kNoThrow);
      if (ec) {
        break;
      }
      total += n;
    }
  }

  static constexpr size_t kMaxDiscardBytes = 256u * 1024 * 1024;

  net::awaitable<void> session(std::shared_ptr<Connection> conn) {
    beast::flat_buffer buffer;  // persists across the requests of this connection
    std::string peer;
    {
      boost::system::error_code ec;
      auto endpoint = conn->stream.socket().remote_endpoint(ec);
      if (!ec) {
        peer = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
      }
    }
    for (;;) {
      conn->busy = false;
      if (draining_) {
        break;
      }
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
      parser.body_limit(boost::none);  // the real limit is set once the header is known
      conn->stream.expires_after(options_.idle_timeout);
      auto [read_ec, header_bytes] =
          co_await http::async_read_header(conn->stream, buffer, parser, kNoThrow);
      if (read_ec) {
        if (read_ec == http::error::header_limit) {
          bool ok = false;
          co_await writeResponse(
              conn, options_.transport_error_response(TransportError::kHeaderTooLarge), false, &ok);
        } else if (read_ec != http::error::end_of_stream && read_ec != beast::error::timeout &&
                   read_ec != net::error::operation_aborted && buffer.size() > 0) {
          bool ok = false;
          co_await writeResponse(
              conn, options_.transport_error_response(TransportError::kBadRequest), false, &ok);
        }
        break;
      }
      conn->busy = true;
      ++in_flight_;
      struct InFlightGuard {
        std::atomic<size_t>* counter;
        ~InFlightGuard() { --*counter; }
      } guard{&in_flight_};

      std::string method(parser.get().method_string());
      std::string target(parser.get().target());
      size_t limit = options_.body_limit_for ? options_.body_limit_for(method, target)
                                             : options_.max_body_bytes;
      auto declared = parser.content_length();
      if (declared && *declared > limit) {
        bool ok = false;
        co_await writeResponse(
            conn, options_.transport_error_response(TransportError::kBodyTooLarge), false, &ok);
        co_await discardInput(conn);
        break;
      }
      parser.body_limit(limit);
      auto expect = parser.get()[http::field::expect];
      if (!parser.is_done() && beast::iequals(expect, "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, 11};
        conn->stream.expires_after(options_.read_timeout);
        auto [cont_ec, cont_n] = co_await http::async_write(conn->stream, cont, kNoThrow);
        if (cont_ec) {
          break;
        }
      }
      if (!parser.is_done()) {
        conn->stream.expires_after(options_.read_timeout);
        auto [body_ec, body_bytes] =
            co_await http::async_read(conn->stream, buffer, parser, kNoThrow);
        if (body_ec) {
          std::optional<TransportError> reply;
          if (body_ec == http::error::body_limit) {
            reply = TransportError::kBodyTooLarge;
          } else if (body_ec == beast::error::timeout) {
            reply = TransportError::kReadTimeout;
          } else if (body_ec != http::error::end_of_stream &&
                     body_ec != net::error::operation_aborted &&
                     body_ec != http::error::partial_message) {
            reply = TransportError::kBadRequest;
          }
          if (reply) {
            bool ok = false;
            co_await writeResponse(conn, options_.transport_error_response(*reply), false, &ok);
            if (*reply == TransportError::kBodyTooLarge) {
              co_await discardInput(conn);
            }
          }
          break;
        }
      }
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

      auto pending = std::make_shared<PendingResponse>(conn->stream.get_executor());
      pending->timer.expires_after(options_.handler_timeout);
      net::any_io_executor executor = conn->stream.get_executor();
      Responder responder = [pending, executor](HttpResponse response) {
        net::post(executor, [pending, response = std::move(response)]() mutable {
          if (!pending->response) {
            pending->response = std::move(response);
            pending->timer.cancel();
          }
        });
      };
      handler_(std::move(request), std::move(responder));
      if (!pending->response) {
        co_await pending->timer.async_wait(kNoThrow);
      }
      HttpResponse response;
      if (pending->response) {
        response = std::move(*pending->response);
      } else {
        response.status = 500;
        response.set("Content-Type", "text/plain");
        response.body = "handler timed out";
        keep_alive = false;
      }
      bool write_ok = false;
      co_await writeResponse(conn, std::move(response), keep_alive && !draining_, &write_ok);
      if (!write_ok || !keep_alive || draining_) {
        break;
      }
    }
    boost::system::error_code ignored;
    conn->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    conn->busy = false;
  }

  HttpServerOptions options_;
  HttpHandler handler_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::atomic<bool> draining_{false};
  bool stopped_ = false;
  std::atomic<size_t> connections_{0};
  std::atomic<size_t> in_flight_{0};
  std::atomic<uint64_t> next_id_{1};
  std::mutex connections_mu_;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> connections_by_id_;
  std::unordered_map<uint64_t, std::shared_ptr<tcp::acceptor>> extra_acceptors_;
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::create(HttpServerOptions options,
                                                       HttpHandler handler) {
  auto server = std::make_unique<HttpServerImpl>(std::move(options), std::move(handler));
  HEARTH_RETURN_IF_ERROR(server->listen());
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace hearth
