#include "net/socket_deadline.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <optional>

namespace hearth::net_internal {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using std::chrono::hours;
using std::chrono::milliseconds;

// A connected pair of loopback sockets and a read pending on `server` under `deadline`.
struct PendingRead {
  net::io_context ioc;
  tcp::socket client{ioc};
  tcp::socket server{ioc};
  int expiries = 0;
  std::optional<SocketDeadline> deadline;
  std::optional<boost::system::error_code> read_result;
  char scratch[16];

  PendingRead() {
    tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0));
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
    deadline.emplace(&server, [this] { ++expiries; });
    server.async_read_some(net::buffer(scratch),
                           [this](boost::system::error_code ec, size_t) { read_result = ec; });
  }
};

TEST(SocketDeadline, CancelsThePendingOperationWhenItPasses) {
  PendingRead t;
  t.deadline->expiresAfter(milliseconds(0));
  t.ioc.run();
  ASSERT_TRUE(t.read_result);
  EXPECT_EQ(*t.read_result, net::error::operation_aborted);
  EXPECT_TRUE(t.deadline->timedOut());
  EXPECT_EQ(t.expiries, 1);
}

TEST(SocketDeadline, ALaterDeadlineSetBeforeTheEarlierPassesReplacesIt) {
  PendingRead t;
  t.deadline->expiresAfter(milliseconds(0));
  t.deadline->expiresAfter(hours(1));  // a store: the timer still waits for the first
  t.ioc.poll();                        // it wakes, finds the deadline later and waits again
  EXPECT_FALSE(t.read_result);
  EXPECT_FALSE(t.deadline->timedOut());
  EXPECT_EQ(t.expiries, 0);
  EXPECT_FALSE(t.ioc.stopped());              // still waiting, for the hour
  t.deadline->expiresAfter(milliseconds(0));  // earlier than the hour: the timer is re-armed
  t.ioc.run();
  EXPECT_TRUE(t.deadline->timedOut());
  EXPECT_EQ(t.expiries, 1);
}

TEST(SocketDeadline, AClearedDeadlineNeverPasses) {
  PendingRead t;
  t.deadline->expiresAfter(milliseconds(0));
  t.deadline->clear();
  t.ioc.poll();
  EXPECT_FALSE(t.read_result);
  EXPECT_FALSE(t.deadline->timedOut());
  EXPECT_EQ(t.expiries, 0);
  t.deadline->expiresAfter(milliseconds(0));  // a new deadline after clear() is kept again
  t.ioc.run();
  EXPECT_TRUE(t.deadline->timedOut());
}

TEST(SocketDeadline, SettingADeadlineAgainClearsTimedOut) {
  PendingRead t;
  t.deadline->expiresAfter(milliseconds(0));
  t.ioc.run();
  ASSERT_TRUE(t.deadline->timedOut());
  t.deadline->expiresAfter(hours(1));
  EXPECT_FALSE(t.deadline->timedOut());
  t.deadline.reset();
}

TEST(SocketDeadline, ItsWaitEndsWithIt) {
  PendingRead t;
  t.deadline->expiresAfter(hours(1));
  t.deadline.reset();
  boost::system::error_code ignored;
  t.server.cancel(ignored);  // the read ends; nothing else may keep the loop busy
  t.ioc.run();               // returns at once: no wait for the hour is left
  EXPECT_TRUE(t.read_result);
  EXPECT_EQ(t.expiries, 0);
}

}  // namespace
}  // namespace hearth::net_internal
