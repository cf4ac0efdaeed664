#include "net/http_server.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "net/http_client.h"

namespace hearth {
namespace {

HttpServerPtr startServer(HttpServerOptions options, HttpHandler handler) {
  auto server = HttpServer::create(std::move(options), std::move(handler));
  EXPECT_TRUE(server.isOk()) << server.status().toString();
  (*server)->start();
  return std::move(server).value();
}

HttpRequest makeRequest(std::string method, std::string target, std::string body = "") {
  HttpRequest request;
  request.method = std::move(method);
  request.target = std::move(target);
  request.body = std::move(body);
  return request;
}

// A plain TCP client from `source` (any 127.0.0.0/8 address) for bytes the HTTP client would
// never send.
class RawClient {
 public:
  RawClient(uint16_t port, const char* source = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &local.sin_addr);
    connected_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) == 0;
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
    connected_ =
        connected_ && ::connect(fd_, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) == 0;
    timeval timeout{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  void send(const std::string& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // Everything the server sends until it closes (or 10 s pass).
  std::string readUntilClosed() {
    std::string all;
    char chunk[4096];
    for (;;) {
      ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) {
        return all;
      }
      all.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

size_t countOf(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

HttpHandler countingEcho(std::atomic<int>* handled) {
  return [handled](HttpRequest request, Responder respond) {
    ++*handled;
    HttpResponse response;
    response.body = "echo:" + request.target + ":" + request.body;
    respond(std::move(response));
  };
}

// RFC 9112 §6.3: a Transfer-Encoding whose final coding is not chunked leaves the body length
// unknown. The server answers 400 and closes; the body is never parsed as a second request.
TEST(HttpServer, UnknownTransferEncodingIsA400AndNothingIsSmuggled) {
  std::atomic<int> handled{0};
  auto server = startServer({}, countingEcho(&handled));
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  for (std::string coding : {"xchunked", "gzip", "chunked, identity", "chunked, chunked"}) {
    RawClient client(server->port());
    client.send(
        "POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding: " +
        coding + "\r\n\r\n" + smuggled);
    std::string answer = client.readUntilClosed();
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << coding << ": " << answer;
    EXPECT_EQ(countOf(answer, "HTTP/1.1"), 1u) << coding << ": " << answer;
    EXPECT_EQ(answer.find("smuggled"), std::string::npos) << coding;
  }
  {
    RawClient client(server->port());
    client.send("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" +
                smuggled);
    EXPECT_EQ(client.readUntilClosed().rfind("HTTP/1.1 501", 0), 0u);
  }
  {
    RawClient client(server->port());
    client.send("POST /x HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    EXPECT_EQ(client.readUntilClosed().rfind("HTTP/1.1 400", 0), 0u);
  }
  EXPECT_EQ(handled.load(), 0);
  // Chunked alone still works, and a pipelined second request is served as one.
  RawClient client(server->port());
  client.send(
      "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string answer = client.readUntilClosed();
  EXPECT_NE(answer.find("echo:/a:abc"), std::string::npos) << answer;
  EXPECT_NE(answer.find("echo:/b:"), std::string::npos) << answer;
  EXPECT_EQ(handled.load(), 2);
  server->drain(std::chrono::milliseconds(100));
}

TEST(HttpServer, OversizedHeaderIsA431) {
  HttpServerOptions options;
  options.max_header_bytes = 1024;
  std::atomic<int> handled{0};
  auto server = startServer(options, countingEcho(&handled));
  RawClient client(server->port());
  client.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2048, 'a') + "\r\n\r\n");
  EXPECT_EQ(client.readUntilClosed().rfind("HTTP/1.1 431", 0), 0u);
  EXPECT_EQ(handled.load(), 0);
  server->drain(std::chrono::milliseconds(100));
}

TEST(HttpServer, StalledBodyGetsA408) {
  HttpServerOptions options;
  options.body_timeout = std::chrono::milliseconds(200);
  std::atomic<int> handled{0};
  auto server = startServer(options, countingEcho(&handled));
  RawClient client(server->port());
  client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part");
  std::string answer = client.readUntilClosed();
  EXPECT_EQ(answer.rfind("HTTP/1.1 408", 0), 0u) << answer;
  EXPECT_EQ(handled.load(), 0);
  server->drain(std::chrono::milliseconds(100));
}

// The header deadline runs from the request's first byte, not from the idle timeout.
TEST(HttpServer, StalledHeaderGetsA408AtTheHeaderDeadline) {
  HttpServerOptions options;
  options.first_byte_timeout = std::chrono::milliseconds(200);
  options.header_timeout = std::chrono::milliseconds(200);
  options.idle_timeout = std::chrono::seconds(60);
  std::atomic<int> handled{0};
  auto server = startServer(options, countingEcho(&handled));
  auto started = std::chrono::steady_clock::now();
  RawClient client(server->port());
  client.send("GET / HTTP/1.1\r\nHost: x\r\n");
  std::string answer = client.readUntilClosed();
  EXPECT_EQ(answer.rfind("HTTP/1.1 408", 0), 0u) << answer;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  // A connection that never sends a byte is closed quietly at its first-byte deadline.
  RawClient silent(server->port());
  EXPECT_EQ(silent.readUntilClosed(), "");
  // The sessions unwind just after closing.
  auto unwind_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (server->connectionCount() > 0 && std::chrono::steady_clock::now() < unwind_deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(server->connectionCount(), 0u);
  server->drain(std::chrono::milliseconds(100));
}

// `Expect: 100-continue` gets its interim response only from HTTP/1.1 on: an HTTP/1.0 client
// would read the 100 as the final answer.
TEST(HttpServer, InterimContinueOnlyForHttp11) {
  std::atomic<int> handled{0};
  auto server = startServer({}, countingEcho(&handled));
  RawClient http11(server->port());
  http11.send(
      "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n"
      "Connection: close\r\n\r\nbody");
  std::string answer11 = http11.readUntilClosed();
  EXPECT_EQ(answer11.rfind("HTTP/1.1 100", 0), 0u) << answer11;
  RawClient http10(server->port());
  http10.send("POST /b HTTP/1.0\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\nbody");
  std::string answer10 = http10.readUntilClosed();
  EXPECT_EQ(answer10.rfind("HTTP/1.1 200", 0), 0u) << answer10;
  EXPECT_EQ(answer10.find(" 100 "), std::string::npos) << answer10;
  EXPECT_EQ(handled.load(), 2);
  server->drain(std::chrono::milliseconds(100));
}

// One address cannot take every connection: over its cap it gets a 503 with Retry-After, and
// another address is still served.
TEST(HttpServer, PerClientCapAnswers503WhileOtherClientsAreServed) {
  HttpServerOptions options;
  options.max_connections_per_client = 2;
  std::atomic<int> handled{0};
  auto server = startServer(options, countingEcho(&handled));
  RawClient first(server->port());
  RawClient second(server->port());
  first.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
  second.send("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
  while (handled.load() < 2) {
    std::this_thread::yield();
  }
  RawClient third(server->port());
  third.send("GET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string refused = third.readUntilClosed();
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused;
  EXPECT_NE(refused.find("Retry-After: 1"), std::string::npos) << refused;
  RawClient other(server->port(), "127.0.0.2");
  ASSERT_TRUE(other.connected());
  other.send("GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(other.readUntilClosed().find("echo:/other:"), std::string::npos);
  EXPECT_EQ(handled.load(), 3);
  server->drain(std::chrono::milliseconds(100));
}

TEST(HttpServer, EchoesOverKeptAliveConnection) {
  auto server = startServer({}, [](HttpRequest request, Responder respond) {
    HttpResponse response;
    response.body = request.method + " " + request.target + " " + request.body;
    respond(std::move(response));
  });
  auto client = HttpClient::create("127.0.0.1", server->port());
  for (int i = 0; i < 20; ++i) {
    auto response = client->send(makeRequest("POST", "/x?i=" + std::to_string(i), "hello"),
                                 std::chrono::seconds(5));
    ASSERT_TRUE(response.isOk()) << response.status().toString();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "POST /x?i=" + std::to_string(i) + " hello");
  }
  EXPECT_EQ(server->connectionCount(), 1u);
  server->drain(std::chrono::milliseconds(100));
}

TEST(HttpServer, RespondsFromAnotherThread) {
  std::vector<std::thread> workers;
  std::mutex mu;
  auto server = startServer({}, [&](HttpRequest request, Responder respond) {
    std::lock_guard lock(mu);
    workers.emplace_back([respond = std::move(respond)] {
      HttpResponse response;
      response.status = 202;
      response.body = "later";
      respond(std::move(response));
    });
  });
  auto client = HttpClient::create("127.0.0.1", server->port());
  auto response = client->send(makeRequest("GET", "/"), std::chrono::seconds(5));
  ASSERT_TRUE(response.isOk());
  EXPECT_EQ(response->status, 202);
  EXPECT_EQ(response->body, "later");
  server->drain(std::chrono::milliseconds(100));
  for (auto& worker : workers) {
    worker.join();
  }
}

TEST(HttpServer, RejectsOversizedBodyWithTransportResponse) {
  HttpServerOptions options;
  options.body_limit_for = [](const std::string&, const std::string& target) {
    return target == "/small" ? size_t{10} : size_t{1000};
  };
  options.transport_error_response = [](TransportError error) {
    HttpResponse response;
    response.status = error == TransportError::kBodyTooLarge ? 413 : 400;
    response.set("X-Amzn-ErrorType", "RequestTooLargeException");
    return response;
  };
  int handled = 0;
  auto server = startServer(options, [&](HttpRequest, Responder respond) {
    ++handled;
    respond(HttpResponse{});
  });
  auto client = HttpClient::create("127.0.0.1", server->port());
  auto response =
      client->send(makeRequest("POST", "/small", std::string(11, 'x')), std::chrono::seconds(5));
  ASSERT_TRUE(response.isOk());
  EXPECT_EQ(response->status, 413);
  ASSERT_NE(response->header("x-amzn-errortype"), nullptr);
  auto ok =
      client->send(makeRequest("POST", "/big", std::string(11, 'x')), std::chrono::seconds(5));
  ASSERT_TRUE(ok.isOk());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(handled, 1);
  server->drain(std::chrono::milliseconds(100));
}

TEST(HttpServer, DrainWaitsForInFlightRequest) {
  std::promise<Responder> parked;
  auto server = startServer(
      {}, [&](HttpRequest, Responder respond) { parked.set_value(std::move(respond)); });
  auto port = server->port();
  auto result = std::async(std::launch::async, [port] {
    auto client = HttpClient::create("127.0.0.1", port);
    return client->send(makeRequest("GET", "/slow"), std::chrono::seconds(10));
  });
  Responder respond = parked.get_future().get();
  std::thread drainer([&] { server->drain(std::chrono::seconds(5)); });
  HttpResponse response;
  response.body = "done";
  respond(std::move(response));
  drainer.join();
  auto got = result.get();
  ASSERT_TRUE(got.isOk()) << got.status().toString();
  EXPECT_EQ(got->body, "done");
  // Drained: nothing is served any more.
  auto after =
      HttpClient::create("127.0.0.1", port)->send(makeRequest("GET", "/"), std::chrono::seconds(2));
  EXPECT_FALSE(after.isOk());
}

TEST(HttpClient, ReportsUnreachableServer) {
  auto server = startServer({}, [](HttpRequest, Responder respond) { respond(HttpResponse{}); });
  auto port = server->port();
  server->drain(std::chrono::milliseconds(0));
  server.reset();
  auto client = HttpClient::create("127.0.0.1", port);
  auto response = client->send(makeRequest("GET", "/"), std::chrono::seconds(2));
  ASSERT_FALSE(response.isOk());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace hearth
