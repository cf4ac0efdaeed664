#include "net/http_connection.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <optional>

namespace hearth::net_internal {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

// A connected pair of loopback sockets: `server` wrapped as a Connection, `client` plain.
struct SocketPair {
  net::io_context ioc;
  tcp::socket client{ioc};
  std::shared_ptr<Connection> conn;

  SocketPair() {
    tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0));
    client.connect(acceptor.local_endpoint());
    tcp::socket accepted(net::make_strand(ioc));
    acceptor.accept(accepted);
    conn = std::make_shared<Connection>(std::move(accepted), 0);
  }
};

// Past its deadline a connection's stream fails every operation at once, even with bytes ready
// to read: a composed read cannot start its next step and wait without a deadline.
TEST(DeadlineStream, FailsEveryOperationOncePastTheDeadline) {
  SocketPair pair;
  net::write(pair.client, net::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
  pair.conn->deadline.expiresAfter(std::chrono::milliseconds(0));
  pair.ioc.run();  // the deadline passes
  pair.ioc.restart();
  ASSERT_TRUE(pair.conn->deadline.timedOut());
  DeadlineStream stream(&pair.conn->socket, &pair.conn->deadline);

  std::optional<boost::system::error_code> read_result;
  char scratch[64];
  stream.async_read_some(net::buffer(scratch), [&](boost::system::error_code ec, size_t n) {
    read_result = ec;
    EXPECT_EQ(n, 0u);
  });
  std::optional<boost::system::error_code> header_result;
  boost::beast::flat_buffer buffer;
  http::request_parser<http::string_body> parser;
  http::async_read_header(stream, buffer, parser,
                          [&](boost::system::error_code ec, size_t) { header_result = ec; });
  std::optional<boost::system::error_code> write_result;
  stream.async_write_some(net::buffer(std::string_view("x")),
                          [&](boost::system::error_code ec, size_t) { write_result = ec; });
  pair.ioc.run();
  ASSERT_TRUE(read_result && header_result && write_result);
  EXPECT_EQ(*read_result, net::error::operation_aborted);
  EXPECT_EQ(*header_result, net::error::operation_aborted);
  EXPECT_EQ(*write_result, net::error::operation_aborted);
  EXPECT_FALSE(parser.is_header_done());
}

TEST(DeadlineStream, PassesOperationsThroughBeforeTheDeadline) {
  SocketPair pair;
  net::write(pair.client, net::buffer(std::string("GET /x HTTP/1.1\r\nHost: x\r\n\r\n")));
  DeadlineStream stream(&pair.conn->socket, &pair.conn->deadline);
  std::optional<boost::system::error_code> header_result;
  boost::beast::flat_buffer buffer;
  http::request_parser<http::string_body> parser;
  http::async_read_header(stream, buffer, parser,
                          [&](boost::system::error_code ec, size_t) { header_result = ec; });
  pair.ioc.run();
  ASSERT_TRUE(header_result);
  EXPECT_FALSE(*header_result) << header_result->message();
  EXPECT_EQ(parser.get().target(), "/x");
}

}  // namespace
}  // namespace hearth::net_internal
