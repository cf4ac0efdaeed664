#include "net/http_server.h"

#include <gtest/gtest.h>

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
