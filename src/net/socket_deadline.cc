#include "net/socket_deadline.h"

namespace hearth::net_internal {

namespace {
constexpr auto kNone = SocketDeadline::Clock::time_point::max();
}  // namespace

struct SocketDeadline::State {
  State(boost::asio::ip::tcp::socket* owner_socket, std::function<void()> expiry)
      : timer(owner_socket->get_executor()), socket(owner_socket), on_expiry(std::move(expiry)) {}
  boost::asio::steady_timer timer;
  boost::asio::ip::tcp::socket* socket;  // null once the SocketDeadline is gone
  std::function<void()> on_expiry;
  Clock::time_point due = kNone;          // the current operation's deadline
  Clock::time_point waiting_for = kNone;  // what the timer's pending wait ends at; kNone: no wait
  uint64_t generation = 0;                // of the pending wait; older waits are stale
  bool timed_out = false;
};

SocketDeadline::SocketDeadline(boost::asio::ip::tcp::socket* socket,
                               std::function<void()> on_expiry)
    : state_(std::make_shared<State>(socket, std::move(on_expiry))) {}

SocketDeadline::~SocketDeadline() {
  state_->socket = nullptr;
  ++state_->generation;
  state_->timer.cancel();  // the pending wait completes at once and lets go of the state
}

void SocketDeadline::expiresAfter(std::chrono::milliseconds after) {
  state_->timed_out = false;
  state_->due = Clock::now() + after;
  if (state_->due < state_->waiting_for) {
    wait(state_, state_->due);
  }
}

void SocketDeadline::clear() {
  state_->due = kNone;
}

bool SocketDeadline::timedOut() const {
  return state_->timed_out;
}

void SocketDeadline::wait(const std::shared_ptr<State>& state, Clock::time_point until) {
  state->waiting_for = until;
  uint64_t generation = ++state->generation;
  state->timer.expires_at(until);  // cancels the pending wait, if any: it is stale now
  state->timer.async_wait([state, generation](boost::system::error_code ec) {
    if (generation != state->generation || state->socket == nullptr) {
      return;
    }
    state->waiting_for = kNone;
    if (ec || state->due == kNone) {
      return;  // no deadline now: the next expiresAfter() waits again
    }
    if (Clock::now() < state->due) {
      wait(state, state->due);  // the deadline moved later meanwhile
      return;
    }
    state->timed_out = true;
    boost::system::error_code ignored;
    state->socket->cancel(ignored);
    if (state->on_expiry) {
      state->on_expiry();
    }
  });
}

}  // namespace hearth::net_internal
