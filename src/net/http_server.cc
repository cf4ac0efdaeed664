#include "net/http_server.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "net/connection_limiter.h"
#include "net/http_connection.h"
#include "net/io_workers_impl.h"

namespace hearth {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using net_internal::Connection;
using net_internal::ConnectionContext;
using net_internal::refuseConnection;
using net_internal::serveConnection;
constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);
constexpr std::chrono::milliseconds kAcceptBackoff{100};

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
    case TransportError::kNotImplemented:
      response.status = 501;
      break;
    case TransportError::kReadTimeout:
      response.status = 408;
      break;
    case TransportError::kTooManyConnections:
      response.status = 503;
      response.set("Retry-After", "1");
      break;
  }
  response.set("Content-Type", "text/plain");
  response.body = std::string(httpReasonPhrase(response.status));
  return response;
}

// The per-client cap's key: the IPv4 address, or the /64 prefix of an IPv6 one (a single host
// is commonly given a whole /64).
std::string clientAddress(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) {
    return "";
  }
  auto address = endpoint.address();
  if (address.is_v4()) {
    return address.to_string();
  }
  auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) {
    return net::ip::make_address_v4(net::ip::v4_mapped, v6).to_string();
  }
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return net::ip::address_v6(bytes).to_string() + "/64";
}

class HttpServerImpl final : public HttpServer {
 public:
  HttpServerImpl(HttpServerOptions options, HttpHandler handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        limiter_(ConnectionLimits{options_.max_connections, options_.max_connections_per_client}),
        workers_(net_internal::workersOrOwn(options_.workers, options_.io_threads)),
        owns_workers_(workers_ != options_.workers),
        acceptor_(workers_->loop(0)) {
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
    auto acceptor = std::make_shared<tcp::acceptor>(workers_->loop(workers_->nextIndex()));
    HEARTH_RETURN_IF_ERROR(openAcceptor(*acceptor, host, port));
    uint16_t bound = acceptor->local_endpoint().port();
    {
      std::lock_guard lock(connections_mu_);
      extra_acceptors_[tag] = acceptor;
    }
    ++accept_loops_;
    net::co_spawn(acceptor->get_executor(), acceptLoop(acceptor.get(), tag, acceptor),
                  net::detached);
    return bound;
  }

  Result<uint16_t> adoptListener(int fd, uint64_t tag) override {
    auto acceptor = std::make_shared<tcp::acceptor>(workers_->loop(workers_->nextIndex()));
    boost::system::error_code ec;
    acceptor->assign(tcp::v4(), fd, ec);
    if (ec) {
      ::close(fd);
      return Status(StatusCode::kUnavailable, "cannot adopt a listening socket: " + ec.message());
    }
    uint16_t bound = acceptor->local_endpoint(ec).port();
    {
      std::lock_guard lock(connections_mu_);
      extra_acceptors_[tag] = acceptor;
    }
    ++accept_loops_;
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
          net::post(conn->socket.get_executor(), [conn] {
            boost::system::error_code ignored;
            conn->socket.shutdown(tcp::socket::shutdown_both, ignored);
            conn->socket.close(ignored);
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
    ++accept_loops_;
    net::co_spawn(acceptor_.get_executor(), acceptLoop(&acceptor_, 0, nullptr), net::detached);
    workers_->start();
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
    // Sessions and accept loops unwind on their workers; shared workers outlive this server, so
    // they must be gone before it is.
    auto unwind_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while ((connections_ > 0 || accept_loops_ > 0) &&
           std::chrono::steady_clock::now() < unwind_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (owns_workers_) {
      workers_->stop();
    }
    stopped_ = true;
  }

  size_t connectionCount() const override { return connections_; }

 private:
  // Over-cap connections being answered 503: up to kMaxLingeringRefusals wait for their client
  // to close; up to kMaxRefusals are answered and closed at once; beyond that, closed unanswered.
  static constexpr size_t kMaxLingeringRefusals = 1024;
  static constexpr size_t kMaxRefusals = 4096;
  void cancelConnections(bool only_idle) {
    std::lock_guard lock(connections_mu_);
    for (auto& entry : connections_by_id_) {
      auto conn = entry.second;
      net::post(conn->socket.get_executor(), [conn, only_idle] {
        if (!only_idle || !conn->busy) {
          boost::system::error_code ignored;
          conn->socket.cancel(ignored);
          conn->socket.shutdown(tcp::socket::shutdown_both, ignored);
          if (conn->awaiting != nullptr) {
            conn->awaiting->wake();  // the session stops waiting for its handler and ends
          }
        }
      });
    }
  }

  // `owner` owns an extra listener's acceptor for the life of its loop (null for the main
  // one, which the server owns). The spawner counts the loop in accept_loops_; it uncounts
  // itself when it ends.
  net::awaitable<void> acceptLoop(tcp::acceptor* acceptor, uint64_t tag,
                                  std::shared_ptr<tcp::acceptor> owner) {
    struct LoopGuard {
      std::atomic<int>* loops;
      ~LoopGuard() { --*loops; }
    } loop_guard{&accept_loops_};
    for (;;) {
      // Each connection goes to the next worker in turn and stays there.
      auto [ec, accepted] =
          co_await acceptor->async_accept(workers_->loop(workers_->nextIndex()), kNoThrow);
      if (ec) {
        if (draining_ || ec == net::error::operation_aborted || !acceptor->is_open()) {
          co_return;
        }
        // Out of descriptors or memory, accept fails at once until some are freed: wait
        // instead of spinning (the pending connections stay queued in the backlog).
        if (ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
            ec == net::error::no_memory || ec.value() == ENFILE) {
          net::steady_timer pause(acceptor->get_executor(), kAcceptBackoff);
          co_await pause.async_wait(kNoThrow);
        }
        continue;
      }
      tcp::socket socket(std::move(accepted));
      std::string client = clientAddress(socket);
      bool admitted = limiter_.tryAdmit(client) == Admission::kAdmitted;
      size_t refusing = refusing_;
      if (!admitted && refusing >= kMaxRefusals) {
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
      if (!admitted) {
        ++refusing_;
      }
      auto done = [this, id, admitted, client](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            spdlog::error("http session failed: {}", ex.what());
          }
        }
        if (admitted) {
          limiter_.release(client);
        } else {
          --refusing_;
        }
        {
          std::lock_guard lock(connections_mu_);
          connections_by_id_.erase(id);
        }
        --connections_;  // last: once it reaches zero, drain() may return and the server go
      };
      ConnectionContext context{&options_, &handler_, &in_flight_, &draining_};
      if (admitted) {
        net::co_spawn(conn->socket.get_executor(), serveConnection(context, conn), done);
      } else {
        net::co_spawn(conn->socket.get_executor(),
                      refuseConnection(context, conn, refusing < kMaxLingeringRefusals), done);
      }
    }
  }

  HttpServerOptions options_;
  HttpHandler handler_;
  ConnectionLimiter limiter_;
  std::shared_ptr<net_internal::IoWorkersImpl> workers_;
  const bool owns_workers_;
  tcp::acceptor acceptor_;
  std::atomic<int> accept_loops_{0};
  uint16_t port_ = 0;
  std::atomic<bool> draining_{false};
  bool stopped_ = false;
  std::atomic<size_t> connections_{0};
  std::atomic<size_t> refusing_{0};
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
