#include "net/async_http_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "net/event_loop.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/io_workers.h"

namespace hearth {
namespace {

HttpServerPtr echoServer() {
  auto server = HttpServer::create({}, [](HttpRequest request, Responder respond) {
    HttpResponse response;
    response.body = std::to_string(request.listener) + ":" + request.body;
    respond(std::move(response));
  });
  EXPECT_TRUE(server.isOk());
  (*server)->start();
  return std::move(server).value();
}

TEST(AsyncHttpClient, ConcurrentRequestsReusePooledConnections) {
  auto server = echoServer();
  auto client = AsyncHttpClient::create({});
  constexpr int kRequests = 200;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  int ok = 0;
  for (int i = 0; i < kRequests; ++i) {
    HttpRequest request;
    request.method = "POST";
    request.target = "/";
    request.body = std::to_string(i);
    client->send("127.0.0.1", server->port(), request, std::chrono::seconds(5),
                 [&, i](Result<HttpResponse> response) {
                   std::lock_guard lock(mu);
                   if (response.isOk() && response->body == "0:" + std::to_string(i)) {
                     ++ok;
                   }
                   ++done;
                   cv.notify_all();
                 });
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return done == kRequests; }));
  EXPECT_EQ(ok, kRequests);
  lock.unlock();
  // Pooled: far fewer connections than requests.
  EXPECT_LE(server->connectionCount(), 256u);
  client->shutdown();
  server->drain(std::chrono::milliseconds(100));
}

TEST(AsyncHttpClient, ReportsConnectFailure) {
  auto server = echoServer();
  uint16_t port = server->port();
  server->drain(std::chrono::milliseconds(0));
  server.reset();
  auto client = AsyncHttpClient::create({});
  std::promise<Status> result;
  client->send("127.0.0.1", port, HttpRequest{"GET", "/", {}, "", "", 0}, std::chrono::seconds(2),
               [&](Result<HttpResponse> r) { result.set_value(r.status()); });
  EXPECT_EQ(result.get_future().get().code(), StatusCode::kUnavailable);
}

TEST(HttpServer, ExtraListenersTagRequests) {
  auto server = echoServer();
  auto port = server->addListener("127.0.0.1", 0, 42);
  ASSERT_TRUE(port.isOk());
  auto client = HttpClient::create("127.0.0.1", *port);
  HttpRequest request{"POST", "/", {}, "x", "", 0};
  auto response = client->send(request, std::chrono::seconds(5));
  ASSERT_TRUE(response.isOk());
  EXPECT_EQ(response->body, "42:x");
  server->removeListener(42);
  auto after = HttpClient::create("127.0.0.1", *port)->send(request, std::chrono::seconds(2));
  EXPECT_FALSE(after.isOk());
  server->drain(std::chrono::milliseconds(100));
}

// A handler on shared workers that forwards its request through the client gets the answer, and
// writes its own, on the thread that read the request.
TEST(IoWorkers, ProxiedRequestStaysOnTheHandlersThread) {
  auto backend = echoServer();
  IoWorkersPtr workers = IoWorkers::create(2);
  AsyncHttpClientOptions client_options;
  client_options.workers = workers;
  auto client = AsyncHttpClient::create(client_options);
  uint16_t backend_port = backend->port();
  std::atomic<int> same_thread{0};
  std::atomic<int> answered{0};
  HttpServerOptions proxy_options;
  proxy_options.workers = workers;
  auto proxy = HttpServer::create(proxy_options, [&](HttpRequest request, Responder respond) {
    auto reader = std::this_thread::get_id();
    client->send(
        "127.0.0.1", backend_port, std::move(request), std::chrono::seconds(5),
        [&, reader, respond = std::move(respond)](Result<HttpResponse> response) {
          if (std::this_thread::get_id() == reader) {
            ++same_thread;
          }
          ++answered;
          respond(response.isOk() ? std::move(response).value() : HttpResponse{502, {}, ""});
        });
  });
  ASSERT_TRUE(proxy.isOk());
  (*proxy)->start();
  constexpr int kConnections = 4;
  constexpr int kRequestsEach = 10;
  for (int c = 0; c < kConnections; ++c) {
    auto caller = HttpClient::create("127.0.0.1", (*proxy)->port());
    for (int i = 0; i < kRequestsEach; ++i) {
      HttpRequest request{"POST", "/", {}, std::to_string(i), "", 0};
      auto response = caller->send(request, std::chrono::seconds(5));
      ASSERT_TRUE(response.isOk());
      EXPECT_EQ(response->body, "0:" + std::to_string(i));
    }
  }
  EXPECT_EQ(answered, kConnections * kRequestsEach);
  EXPECT_EQ(same_thread, kConnections * kRequestsEach);
  (*proxy)->drain(std::chrono::milliseconds(100));
  client->shutdown();
  workers->stop();
  backend->drain(std::chrono::milliseconds(100));
}

TEST(EventLoop, TimersRunInDeadlineOrderWhateverTheOrderTheyWereSet) {
  auto loop = EventLoop::create(1);
  std::mutex mu;
  std::vector<int> order;
  std::promise<void> all;
  auto record = [&](int n) {
    std::lock_guard lock(mu);
    order.push_back(n);
    if (order.size() == 3) {
      all.set_value();
    }
  };
  loop->runAfter(std::chrono::milliseconds(60), [&] { record(3); });
  loop->runAfter(std::chrono::milliseconds(20), [&] { record(1); });  // earlier: re-aims the timer
  uint64_t dropped = loop->runAfter(std::chrono::milliseconds(30), [&] { record(99); });
  loop->runAfter(std::chrono::milliseconds(40), [&] { record(2); });
  EXPECT_TRUE(loop->cancel(dropped));
  ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  loop->stop();
  std::lock_guard lock(mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(EventLoop, RunsTimersUnlessCancelled) {
  auto loop = EventLoop::create(1);
  std::promise<void> fired;
  std::atomic<bool> cancelled_ran{false};
  uint64_t cancelled = loop->runAfter(std::chrono::milliseconds(20), [&] { cancelled_ran = true; });
  EXPECT_TRUE(loop->cancel(cancelled));
  EXPECT_FALSE(loop->cancel(cancelled));
  loop->runAfter(std::chrono::milliseconds(40), [&] { fired.set_value(); });
  EXPECT_EQ(fired.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_FALSE(cancelled_ran);
  std::promise<void> posted;
  loop->post([&] { posted.set_value(); });
  posted.get_future().wait();
  loop->stop();
}

}  // namespace
}  // namespace hearth
