#include "net/async_http_client.h"

#include "net/beast_messages.h"

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
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "net/event_loop.h"

namespace hearth {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);

struct PooledConnection {
  explicit PooledConnection(net::io_context& ioc) : stream(net::make_strand(ioc)) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
};
using ConnectionPtr = std::unique_ptr<PooledConnection>;

class AsyncHttpClientImpl final : public AsyncHttpClient {
 public:
  explicit AsyncHttpClientImpl(AsyncHttpClientOptions options)
      : options_(options), work_(net::make_work_guard(ioc_)) {
    for (int i = 0; i < std::max(1, options_.threads); ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
  }
  ~AsyncHttpClientImpl() override { shutdown(); }

  void send(std::string host, uint16_t port, HttpRequest request, std::chrono::milliseconds timeout,
            Callback done) override {
    if (stopped_) {
      done(Status(StatusCode::kUnavailable, "http client is shut down"));
      return;
    }
    ++in_flight_;
    net::co_spawn(
        net::make_strand(ioc_),
        exchange(this, std::move(host), port, std::move(request), timeout, std::move(done)),
        net::detached);
  }

  void shutdown() override {
    if (stopped_.exchange(true)) {
      return;
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (in_flight_ > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    {
      std::lock_guard lock(mu_);
      idle_.clear();
    }
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) {
        t.join();
      }
    }
  }

 private:
  static std::string key(const std::string& host, uint16_t port) {
    return host + ":" + std::to_string(port);
  }

  ConnectionPtr takeIdle(const std::string& k) {
    std::lock_guard lock(mu_);
    auto it = idle_.find(k);
    if (it == idle_.end() || it->second.empty()) {
      return nullptr;
    }
    ConnectionPtr conn = std::move(it->second.back());
    it->second.pop_back();
    return conn;
  }

  void putIdle(const std::string& k, ConnectionPtr conn) {
    std::lock_guard lock(mu_);
    auto& list = idle_[k];
    if (!stopped_ && list.size() < options_.max_idle_per_host) {
      list.push_back(std::move(conn));
    }
  }

  static net::awaitable<void> exchange(AsyncHttpClientImpl* self, std::string host, uint16_t port,
                                       HttpRequest request, std::chrono::milliseconds timeout,
                                       Callback done) {
    std::string k = key(host, port);
    std::string body = std::move(request.body);
    auto message = net_internal::toBeastRequest(request, std::move(body), k);

    Result<HttpResponse> result = Status(StatusCode::kUnavailable, "not sent");
    for (int attempt = 0; attempt < 2; ++attempt) {
      ConnectionPtr conn = self->takeIdle(k);
      bool reused = conn != nullptr;
      if (!conn) {
        conn = std::make_unique<PooledConnection>(self->ioc_);
        tcp::resolver resolver(co_await net::this_coro::executor);
        auto [resolve_ec, endpoints] =
            co_await resolver.async_resolve(host, std::to_string(port), kNoThrow);
        if (resolve_ec) {
          result = Status(StatusCode::kUnavailable, "cannot resolve " + host);
          break;
        }
        conn->stream.expires_after(timeout);
        auto [connect_ec, endpoint] = co_await conn->stream.async_connect(endpoints, kNoThrow);
        if (connect_ec) {
          result = Status(StatusCode::kUnavailable,
                          "cannot connect to " + k + ": " + connect_ec.message());
          break;
        }
        conn->stream.socket().set_option(tcp::no_delay(true));
      }
      conn->stream.expires_after(timeout);
      auto [write_ec, written] = co_await http::async_write(conn->stream, message, kNoThrow);
      if (write_ec) {
        result =
            Status(StatusCode::kUnavailable, "write to " + k + " failed: " + write_ec.message());
        if (reused) {
          continue;
        }
        break;
      }
      http::response_parser<http::string_body> parser;
      parser.body_limit(self->options_.max_response_bytes);
      auto [read_ec, read] =
          co_await http::async_read(conn->stream, conn->buffer, parser, kNoThrow);
      if (read_ec) {
        if (read_ec == beast::error::timeout) {
          result = Status(StatusCode::kDeadlineExceeded, "no response from " + k + " in time");
          break;
        }
        if (read_ec == http::error::body_limit) {
          result = Status(StatusCode::kResponseTooLarge, "response from " + k + " is too large");
          break;
        }
        // The request may have reached the peer: never send it again, and tell the caller it
        // was lost rather than undelivered.
        result =
            Status(StatusCode::kInternal, "connection to " + k + " lost: " + read_ec.message());
        break;
      }
      auto response_message = parser.release();
      bool keep_alive = response_message.keep_alive();
      HttpResponse response = net_internal::toHttpResponse(std::move(response_message));
      if (keep_alive) {
        conn->stream.expires_never();
        self->putIdle(k, std::move(conn));
      }
      result = std::move(response);
      break;
    }
    done(std::move(result));
    --self->in_flight_;
  }

  AsyncHttpClientOptions options_;
  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
  std::atomic<int> in_flight_{0};
  std::mutex mu_;
  std::unordered_map<std::string, std::vector<ConnectionPtr>> idle_;
};

class EventLoopImpl final : public EventLoop {
 public:
  explicit EventLoopImpl(int threads) : work_(net::make_work_guard(ioc_)) {
    for (int i = 0; i < std::max(1, threads); ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
  }
  ~EventLoopImpl() override { stop(); }

  void post(std::function<void()> task) override { net::post(ioc_, std::move(task)); }

  uint64_t runAfter(std::chrono::milliseconds delay, std::function<void()> task) override {
    auto timer = std::make_shared<net::steady_timer>(ioc_, delay);
    uint64_t id = next_id_++;
    {
      std::lock_guard lock(mu_);
      timers_[id] = timer;
    }
    timer->async_wait([this, id, timer, task = std::move(task)](boost::system::error_code ec) {
      bool owned = false;
      {
        std::lock_guard lock(mu_);
        owned = timers_.erase(id) > 0;
      }
      if (!ec && owned) {
        task();
      }
    });
    return id;
  }

  bool cancel(uint64_t timer_id) override {
    std::shared_ptr<net::steady_timer> timer;
    {
      std::lock_guard lock(mu_);
      auto it = timers_.find(timer_id);
      if (it == timers_.end()) {
        return false;
      }
      timer = it->second;
      timers_.erase(it);
    }
    net::post(ioc_, [timer] { timer->cancel(); });
    return true;
  }

  void stop() override {
    if (stopped_.exchange(true)) {
      return;
    }
    {
      std::lock_guard lock(mu_);
      for (auto& [id, timer] : timers_) {
        net::post(ioc_, [timer = timer] { timer->cancel(); });
      }
      timers_.clear();
    }
    work_.reset();
    for (auto& t : threads_) {
      if (t.joinable()) {
        t.join();
      }
    }
  }

 private:
  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
  std::atomic<uint64_t> next_id_{1};
  std::mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<net::steady_timer>> timers_;
};

}  // namespace

std::unique_ptr<AsyncHttpClient> AsyncHttpClient::create(AsyncHttpClientOptions options) {
  return std::make_unique<AsyncHttpClientImpl>(options);
}

std::unique_ptr<EventLoop> EventLoop::create(int threads) {
  return std::make_unique<EventLoopImpl>(threads);
}

}  // namespace hearth
