#include "net/async_http_client.h"

#include "net/beast_messages.h"

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/thread_annotations.h"
#include "net/event_loop.h"
#include "net/io_workers_impl.h"
#include "net/socket_deadline.h"
#include "net/wire_format.h"

namespace hearth {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);

struct PooledConnection {
  explicit PooledConnection(net::io_context& ioc) : socket(ioc.get_executor()), deadline(&socket) {}
  tcp::socket socket;
  // One deadline per exchange: from the connect or the write to the end of the response.
  net_internal::SocketDeadline deadline;
  beast::flat_buffer buffer;
  std::string request_head;  // the head being written; its capacity is reused
};
using ConnectionPtr = std::unique_ptr<PooledConnection>;

// The kept-alive connections of one worker, by host:port. Used by that worker's thread, and
// cleared by shutdown().
struct WorkerPools {
  Mutex mu;
  std::unordered_map<std::string, std::vector<ConnectionPtr>> idle GUARDED_BY(mu);
};

class AsyncHttpClientImpl final : public AsyncHttpClient {
 public:
  explicit AsyncHttpClientImpl(AsyncHttpClientOptions options)
      : options_(options),
        workers_(net_internal::workersOrOwn(options_.workers, options_.threads)),
        owns_workers_(workers_ != options_.workers),
        pools_(static_cast<size_t>(workers_->size())) {
    workers_->start();
  }
  ~AsyncHttpClientImpl() override { shutdown(); }

  void send(std::string host, uint16_t port, HttpRequest request, std::chrono::milliseconds timeout,
            Callback done) override {
    if (stopped_) {
      done(Status(StatusCode::kUnavailable, "http client is shut down"));
      return;
    }
    ++in_flight_;
    size_t worker = workers_->pick();
    net::co_spawn(
        workers_->loop(worker),
        exchange(this, worker, std::move(host), port, std::move(request), timeout, std::move(done)),
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
    // Idle connections close on their own worker, where their deadlines' timers run (or, when
    // the workers stop first, when their loops are destroyed, after their threads have ended).
    for (size_t worker = 0; worker < pools_.size(); ++worker) {
      std::unordered_map<std::string, std::vector<ConnectionPtr>> idle;
      {
        MutexLock lock(&pools_[worker].mu);
        idle.swap(pools_[worker].idle);
      }
      net::post(workers_->loop(worker), [idle = std::move(idle)] {});
    }
    if (owns_workers_) {
      workers_->stop();
    }
  }

 private:
  static std::string key(const std::string& host, uint16_t port) {
    return host + ":" + std::to_string(port);
  }

  ConnectionPtr takeIdle(size_t worker, const std::string& k) {
    WorkerPools& pools = pools_[worker];
    MutexLock lock(&pools.mu);
    auto it = pools.idle.find(k);
    if (it == pools.idle.end() || it->second.empty()) {
      return nullptr;
    }
    ConnectionPtr conn = std::move(it->second.back());
    it->second.pop_back();
    return conn;
  }

  void putIdle(size_t worker, const std::string& k, ConnectionPtr conn) {
    WorkerPools& pools = pools_[worker];
    MutexLock lock(&pools.mu);
    auto& list = pools.idle[k];
    if (!stopped_ && list.size() < options_.max_idle_per_host) {
      list.push_back(std::move(conn));
    }
  }

// GCC 12 misreads the coroutine frame's own operator new/delete pair as mismatched once the
// exchange is inlined into its frame (a false -Wmismatched-new-delete).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
  static net::awaitable<void> exchange(AsyncHttpClientImpl* self, size_t worker, std::string host,
                                       uint16_t port, HttpRequest request,
                                       std::chrono::milliseconds timeout, Callback done) {
    std::string k = key(host, port);
    Result<HttpResponse> result = Status(StatusCode::kUnavailable, "not sent");
    for (int attempt = 0; attempt < 2; ++attempt) {
      ConnectionPtr conn = self->takeIdle(worker, k);
      bool reused = conn != nullptr;
      if (!conn) {
        conn = std::make_unique<PooledConnection>(self->workers_->loop(worker));
        tcp::resolver resolver(co_await net::this_coro::executor);
        auto [resolve_ec, endpoints] =
            co_await resolver.async_resolve(host, std::to_string(port), kNoThrow);
        if (resolve_ec) {
          result = Status(StatusCode::kUnavailable, "cannot resolve " + host);
          break;
        }
        conn->deadline.expiresAfter(timeout);
        // Past the deadline no further endpoint is tried: cancelling only ends the attempt
        // in progress.
        PooledConnection* connecting = conn.get();
        auto [connect_ec, endpoint] = co_await net::async_connect(
            conn->socket, endpoints,
            [connecting](const boost::system::error_code&, const tcp::endpoint&) {
              return !connecting->deadline.timedOut();
            },
            kNoThrow);
        if (connect_ec) {
          result = Status(
              StatusCode::kUnavailable,
              "cannot connect to " + k + ": " +
                  (conn->deadline.timedOut() ? std::string("timed out") : connect_ec.message()));
          break;
        }
        conn->socket.set_option(tcp::no_delay(true));
      }
      // The head goes out of one contiguous buffer and the body after it, in one gathered write.
      conn->request_head.clear();
      net_internal::appendRequestHead(request, k, &conn->request_head);
      std::array<net::const_buffer, 2> buffers{net::buffer(conn->request_head),
                                               net::buffer(request.body)};
      conn->deadline.expiresAfter(timeout);
      net_internal::DeadlineStream stream(&conn->socket, &conn->deadline);
      auto [write_ec, written] = co_await net::async_write(stream, buffers, kNoThrow);
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
      auto [read_ec, read] = co_await http::async_read(stream, conn->buffer, parser, kNoThrow);
      if (read_ec) {
        if (conn->deadline.timedOut()) {
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
        conn->deadline.clear();
        self->putIdle(worker, k, std::move(conn));
      }
      result = std::move(response);
      break;
    }
    done(std::move(result));
    --self->in_flight_;
  }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

  AsyncHttpClientOptions options_;
  std::shared_ptr<net_internal::IoWorkersImpl> workers_;
  const bool owns_workers_;
  std::atomic<bool> stopped_{false};
  std::atomic<int> in_flight_{0};
  std::vector<WorkerPools> pools_;
};

// Timers share one Asio timer, armed for the earliest deadline. Scheduling a deadline later
// than that one, and cancelling any, only updates the table: the loop's thread is woken when a
// deadline falls due or moves earlier, not once per call.
class EventLoopImpl final : public EventLoop {
 public:
  explicit EventLoopImpl(int threads)
      : work_(net::make_work_guard(ioc_)),
        timer_strand_(net::make_strand(ioc_)),
        timer_(timer_strand_) {
    for (int i = 0; i < std::max(1, threads); ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
  }
  ~EventLoopImpl() override { stop(); }

  void post(std::function<void()> task) override { net::post(ioc_, std::move(task)); }

  uint64_t runAfter(std::chrono::milliseconds delay, std::function<void()> task) override {
    auto due = Clock::now() + delay;
    bool earlier = false;
    uint64_t id = 0;
    {
      MutexLock lock(&mu_);
      id = next_id_++;
      if (stopped_) {
        return id;
      }
      auto at = deadlines_.emplace(due, id);
      pending_.emplace(id, Pending{at, std::move(task)});
      if (due < armed_) {
        armed_ = due;
        earlier = true;
      }
    }
    if (earlier) {
      net::post(timer_strand_, [this] { rearm(); });
    }
    return id;
  }

  bool cancel(uint64_t timer_id) override {
    MutexLock lock(&mu_);
    auto it = pending_.find(timer_id);
    if (it == pending_.end()) {
      return false;
    }
    deadlines_.erase(it->second.at);
    pending_.erase(it);
    return true;
  }

  void stop() override {
    {
      MutexLock lock(&mu_);
      if (stopped_) {
        return;
      }
      stopped_ = true;
      deadlines_.clear();
      pending_.clear();
    }
    net::post(timer_strand_, [this] { timer_.cancel(); });
    work_.reset();
    for (auto& t : threads_) {
      if (t.joinable()) {
        t.join();
      }
    }
  }

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    std::multimap<Clock::time_point, uint64_t>::iterator at;
    std::function<void()> task;
  };

  // On the timer strand: aims the timer at the earliest deadline.
  void rearm() {
    Clock::time_point earliest = Clock::time_point::max();
    {
      MutexLock lock(&mu_);
      if (!deadlines_.empty() && !stopped_) {
        earliest = deadlines_.begin()->first;
      }
      armed_ = earliest;
    }
    if (earliest == Clock::time_point::max()) {
      timer_.cancel();
      return;
    }
    timer_.expires_at(earliest);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) {
        fire();
      }
    });
  }

  // On the timer strand: runs what is due, outside the lock, then re-arms.
  void fire() {
    std::vector<std::function<void()>> due;
    {
      MutexLock lock(&mu_);
      auto now = Clock::now();
      while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
        auto it = pending_.find(deadlines_.begin()->second);
        due.push_back(std::move(it->second.task));
        pending_.erase(it);
        deadlines_.erase(deadlines_.begin());
      }
      armed_ = Clock::time_point::max();
    }
    for (auto& task : due) {
      task();
    }
    rearm();
  }

  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  net::strand<net::io_context::executor_type> timer_strand_;
  net::steady_timer timer_;  // touched only on timer_strand_
  std::vector<std::thread> threads_;
  Mutex mu_;
  bool stopped_ GUARDED_BY(mu_) = false;
  uint64_t next_id_ GUARDED_BY(mu_) = 1;
  std::multimap<Clock::time_point, uint64_t> deadlines_ GUARDED_BY(mu_);
  std::unordered_map<uint64_t, Pending> pending_ GUARDED_BY(mu_);
  // Where the timer is aimed (max: not armed); a deadline before it must re-arm the timer.
  Clock::time_point armed_ GUARDED_BY(mu_) = Clock::time_point::max();
};

}  // namespace

std::unique_ptr<AsyncHttpClient> AsyncHttpClient::create(AsyncHttpClientOptions options) {
  return std::make_unique<AsyncHttpClientImpl>(options);
}

std::unique_ptr<EventLoop> EventLoop::create(int threads) {
  return std::make_unique<EventLoopImpl>(threads);
}

}  // namespace hearth
