#include "router/router.h"

#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "net/async_http_client.h"
#include "net/event_loop.h"
#include "net/http_server.h"

namespace hearth {
namespace {

// A fake agent: answers invocations of each environment id per a scripted mode.
class FakeAgent {
 public:
  FakeAgent() {
    auto server = HttpServer::create({}, [this](HttpRequest request, Responder respond) {
      std::string id = request.target.substr(std::string("/agent/v1/environments/").size());
      id = id.substr(0, id.find('/'));
      std::lock_guard lock(mu_);
      seen_.push_back(id);
      if (refuse_.count(id)) {
        HttpResponse refused;
        refused.status = 429;
        refused.set("X-Hearth-Refused", "cpu");
        respond(std::move(refused));
        return;
      }
      if (hold_) {
        held_.push_back(std::move(respond));
        return;
      }
      HttpResponse ok;
      ok.set("X-Hearth-Outcome", "success");
      ok.body = "from " + id;
      respond(std::move(ok));
    });
    server_ = std::move(server).value();
    server_->start();
  }
  ~FakeAgent() { server_->drain(std::chrono::milliseconds(100)); }

  uint16_t port() const { return server_->port(); }
  void refuse(const std::string& id) {
    std::lock_guard lock(mu_);
    refuse_.insert(id);
  }
  void hold(bool on) {
    std::lock_guard lock(mu_);
    hold_ = on;
  }
  size_t heldCount() {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  void releaseOne() {
    Responder r;
    {
      std::lock_guard lock(mu_);
      r = std::move(held_.front());
      held_.erase(held_.begin());
    }
    HttpResponse ok;
    ok.set("X-Hearth-Outcome", "success");
    ok.body = "released";
    r(std::move(ok));
  }
  std::vector<std::string> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  HttpServerPtr server_;
  std::mutex mu_;
  std::set<std::string> refuse_;
  bool hold_ = false;
  std::vector<Responder> held_;
  std::vector<std::string> seen_;
};

class RouterTest : public ::testing::Test {
 protected:
  RouterTest()
      : client_(AsyncHttpClient::create({})),
        loop_(EventLoop::create(1)),
        router_(RouterOptions{std::chrono::milliseconds(200), 16, 2, 1}, client_.get(), loop_.get(),
                "token") {}
  ~RouterTest() override {
    client_->shutdown();
    loop_->stop();
  }

  void publish(std::vector<std::pair<std::string, int>> environments) {
    RoutingTable table;
    FunctionRoute& fn = table.functions["fn"];
    fn.managed = true;
    VersionRoute& v = fn.versions["1"];
    v.function_name = "fn";
    v.version = "1";
    v.function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fn:1";
    for (const auto& [id, max] : environments) {
      v.slots.push_back(router_.slotFor(id, "127.0.0.1", agent_.port(), max));
    }
    fn.versions["$LATEST.PUBLISHED"] = v;
    fn.versions["$LATEST.PUBLISHED"].version = "$LATEST.PUBLISHED";
    fn.aliases["live"] = AliasRoute{"1", "", 0};
    router_.publish(std::move(table));
  }

  std::future<RouterResult> invoke(std::optional<std::string> qualifier = std::string("1")) {
    auto promise = std::make_shared<std::promise<RouterResult>>();
    RouterInvoke request;
    request.function_name = "fn";
    request.qualifier = std::move(qualifier);
    request.request_id = "req";
    request.payload = "{}";
    router_.invoke(request, [promise](RouterResult r) { promise->set_value(std::move(r)); });
    return promise->get_future();
  }

  FakeAgent agent_;
  AsyncHttpClientPtr client_;
  EventLoopPtr loop_;
  Router router_;
};

TEST_F(RouterTest, RoutesVersionsAliasesAndUnqualifiedInvokes) {
  publish({{"ee-a", 4}});
  RouterResult result = invoke().get();
  ASSERT_TRUE(result.status.isOk()) << result.status.toString();
  EXPECT_EQ(result.body, "from ee-a");
  EXPECT_EQ(result.executed_version, "1");
  EXPECT_EQ(invoke(std::string("live")).get().executed_version, "1");
  EXPECT_EQ(invoke(std::nullopt).get().executed_version, "$LATEST.PUBLISHED");
  RouterInvoke missing;
  missing.function_name = "nope";
  std::promise<RouterResult> p;
  router_.invoke(missing, [&](RouterResult r) { p.set_value(std::move(r)); });
  EXPECT_EQ(p.get_future().get().status.code(), StatusCode::kNotFound);
}

TEST_F(RouterTest, RetriesAnotherEnvironmentWhenAnAgentRefuses) {
  publish({{"ee-hot", 4}, {"ee-cool", 4}});
  agent_.refuse("ee-hot");
  for (int i = 0; i < 10; ++i) {
    RouterResult result = invoke().get();
    ASSERT_TRUE(result.status.isOk());
    EXPECT_EQ(result.body, "from ee-cool");
  }
}

TEST_F(RouterTest, ThrottlesWhenSaturatedAndServesWaitersWhenASlotFrees) {
  publish({{"ee-a", 1}});
  agent_.hold(true);
  auto first = invoke();
  while (agent_.heldCount() < 1) {
    std::this_thread::yield();
  }
  auto waiting = invoke();  // waits up to 200 ms for the slot
  agent_.releaseOne();
  EXPECT_EQ(first.get().body, "released");
  while (agent_.heldCount() < 1) {
    std::this_thread::yield();
  }
  agent_.releaseOne();
  EXPECT_TRUE(waiting.get().status.isOk());

  auto holder = invoke();
  while (agent_.heldCount() < 1) {
    std::this_thread::yield();
  }
  RouterResult throttled = invoke().get();  // nothing frees within the wait
  EXPECT_EQ(throttled.status.code(), StatusCode::kThrottled);
  EXPECT_EQ(throttled.status.reason(), "ConcurrentInvocationLimitExceeded");
  agent_.releaseOne();
  EXPECT_TRUE(holder.get().status.isOk());
}

TEST(PickAliasVersion, HonoursWeights) {
  AliasRoute alias{"1", "2", 0.25};
  EXPECT_EQ(pickAliasVersion(alias, 0.1), "2");
  EXPECT_EQ(pickAliasVersion(alias, 0.5), "1");
  EXPECT_EQ(pickAliasVersion(AliasRoute{"3", "", 0}, 0.0), "3");
}

}  // namespace
}  // namespace hearth

namespace hearth {
namespace {

TEST(InvokedFunctionArn, IsQualifiedAsTheCallerQualifiedIt) {
  const std::string arn = "arn:aws:lambda:us-east-1:123456789012:function:fn";
  EXPECT_EQ(invokedFunctionArn(arn + ":2", "2", std::string("live")), arn + ":live");
  EXPECT_EQ(invokedFunctionArn(arn + ":2", "2", std::string("2")), arn + ":2");
  EXPECT_EQ(invokedFunctionArn(arn + ":$LATEST.PUBLISHED", "$LATEST.PUBLISHED", std::nullopt), arn);
  EXPECT_EQ(invokedFunctionArn(arn + ":$LATEST.PUBLISHED", "$LATEST.PUBLISHED",
                               std::string("$LATEST.PUBLISHED")),
            arn + ":$LATEST.PUBLISHED");
}

}  // namespace
}  // namespace hearth
