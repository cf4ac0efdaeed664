#pragma once

// The deadline of a socket's current operation. Internal to src/net: it includes Asio.

#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace hearth::net_internal {

// The deadline of the operation in progress on one socket. Moving it later is a store: its timer
// is re-armed only when a deadline is set earlier than the one the timer waits for, or when the
// timer waits for none. (A connection moves from a short header deadline to long handler, write
// and idle ones, so most requests re-arm nothing.) When the deadline passes, the socket's pending
// operations are cancelled, timedOut() turns true and `on_expiry` runs. Used only on the
// socket's executor; the socket must outlive this.
class SocketDeadline {
 public:
  using Clock = std::chrono::steady_clock;

  explicit SocketDeadline(boost::asio::ip::tcp::socket* socket,
                          std::function<void()> on_expiry = nullptr);
  ~SocketDeadline();
  SocketDeadline(const SocketDeadline&) = delete;
  SocketDeadline& operator=(const SocketDeadline&) = delete;

  // The current operation must end within `after` from now. Clears timedOut().
  void expiresAfter(std::chrono::milliseconds after);
  // No deadline until the next expiresAfter().
  void clear();
  bool timedOut() const;

 private:
  struct State;
  static void wait(const std::shared_ptr<State>& state, Clock::time_point until);
  std::shared_ptr<State> state_;  // shared with the timer's pending wait
};

// A socket as the stream its reads and writes go through, under its deadline. Once the deadline has
// passed, every operation fails at once with operation_aborted: cancelling the socket reaches
// only the operation pending at that instant, and a composed read or write (Beast's) would
// otherwise start its next step and wait without a deadline.
class DeadlineStream {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;
  DeadlineStream(boost::asio::ip::tcp::socket* socket, const SocketDeadline* deadline)
      : socket_(socket), deadline_(deadline) {}
  executor_type get_executor() { return socket_->get_executor(); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [this](auto handler, const MutableBuffers& target) {
          if (deadline_->timedOut()) {
            failNow(std::move(handler));
          } else {
            socket_->async_read_some(target, std::move(handler));
          }
        },
        token, buffers);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [this](auto handler, const ConstBuffers& source) {
          if (deadline_->timedOut()) {
            failNow(std::move(handler));
          } else {
            socket_->async_write_some(source, std::move(handler));
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
  boost::asio::ip::tcp::socket* socket_;
  const SocketDeadline* deadline_;
};

}  // namespace hearth::net_internal
