#include "router/router.h"

#include <gtest/gtest.h>

#include <optional>

#include "common/clock.h"
#include "common/random.h"
#include "net/async_http_client.h"
#include "net/fake_event_loop.h"
#include "protocol/invoke_protocol.h"

namespace hearth {
namespace {

// The agents' side of the router, by hand: every send is recorded, and the test answers it.
class FakeAgents final : public AsyncHttpClient {
 public:
  struct Sent {
    std::string environment_id;
    HttpRequest request;
    Callback done;
  };
  void send(std::string host, uint16_t port, HttpRequest request, std::chrono::milliseconds timeout,
            Callback done) override {
    std::string id = request.target.substr(std::string("/agent/v1/environments/").size());
    id = id.substr(0, id.find('/'));
    sent.push_back({id, std::move(request), std::move(done)});
  }
  void shutdown() override {}

  // Answers the oldest unanswered send from `environment_id` (any when empty).
  void answer(const std::string& environment_id, protocol::InvokeAnswer answer,
              std::string body = "") {
    for (auto& s : sent) {
      if (s.done && (environment_id.empty() || s.environment_id == environment_id)) {
        auto done = std::move(s.done);
        s.done = nullptr;
        done(protocol::encodeAnswer(answer, body.empty() ? "from " + s.environment_id : body));
        return;
      }
    }
    ADD_FAILURE() << "nothing to answer from " << environment_id;
  }
  size_t unanswered() const {
    size_t n = 0;
    for (const auto& s : sent) {
      n += s.done ? 1 : 0;
    }
    return n;
  }
  std::vector<Sent> sent;
};

// Scripted randomness: index() and uniform() return the queued values, then 0.
class ScriptedRandom final : public RandomSource {
 public:
  double uniform() override { return next_uniform; }
  size_t index(size_t n) override { return indexes.empty() ? 0 : (indexes.front() % n); }
  double next_uniform = 0;
  std::vector<size_t> indexes;
};

protocol::InvokeAnswer success() {
  return protocol::InvokeAnswer{protocol::InvokeOutcome::kSuccess, "", "", "", "application/json"};
}

protocol::InvokeAnswer refused(std::string why) {
  return protocol::InvokeAnswer{protocol::InvokeOutcome::kRefused, "", "", std::move(why), ""};
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest()
      : router_(RouterOptions{std::chrono::milliseconds(200), 16, 2, 1}, &agents_, &loop_, "token",
                &clock_, &random_) {}

  void publish(std::vector<std::pair<std::string, int>> environments) {
    RoutingTable table;
    FunctionRoute& fn = table.functions["fn"];
    fn.managed = true;
    VersionRoute& v = fn.versions["1"];
    v.function_name = "fn";
    v.version = "1";
    v.function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fn:1";
    for (const auto& [id, max] : environments) {
      v.slots.push_back(router_.slotFor(id, "127.0.0.1", 7000, max));
    }
    fn.versions["$LATEST.PUBLISHED"] = v;
    fn.versions["$LATEST.PUBLISHED"].version = "$LATEST.PUBLISHED";
    fn.versions["$LATEST.PUBLISHED"].function_arn =
        "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST.PUBLISHED";
    fn.aliases["live"] = AliasRoute{"1", "", 0};
    router_.publish(std::move(table));
  }

  // Starts an invocation; its result lands in the returned slot when the router completes it.
  std::shared_ptr<std::optional<RouterResult>> invoke(
      std::optional<std::string> qualifier = std::string("1")) {
    auto slot = std::make_shared<std::optional<RouterResult>>();
    RouterInvoke request;
    request.function_name = "fn";
    request.qualifier = std::move(qualifier);
    request.request_id = "req";
    request.payload = "{}";
    router_.invoke(request, [slot](RouterResult r) { *slot = std::move(r); });
    return slot;
  }

  FakeAgents agents_;
  FakeEventLoop loop_;
  FakeClock clock_;
  ScriptedRandom random_;
  Router router_;
};

TEST_F(RouterTest, RoutesVersionsAliasesAndUnqualifiedInvokesWithTheInvokedArn) {
  publish({{"ee-a", 4}});
  auto versioned = invoke();
  auto aliased = invoke(std::string("live"));
  auto unqualified = invoke(std::nullopt);
  ASSERT_EQ(agents_.sent.size(), 3u);
  auto header = [&](size_t i, std::string_view name) {
    const std::string* v = agents_.sent[i].request.header(name);
    return v ? *v : std::string();
  };
  const std::string arn = "arn:aws:lambda:us-east-1:123456789012:function:fn";
  EXPECT_EQ(header(0, "X-Hearth-Function-Arn"), arn + ":1");
  EXPECT_EQ(header(1, "X-Hearth-Function-Arn"), arn + ":live");
  EXPECT_EQ(header(2, "X-Hearth-Function-Arn"), arn);
  EXPECT_EQ(header(0, "X-Hearth-Agent-Token"), "token");
  // The deadline is the function's Timeout from now, on the injected clock.
  int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.wallNow().time_since_epoch())
          .count();
  EXPECT_EQ(header(0, "X-Hearth-Deadline-Ms"), std::to_string(now_ms + 3000));
  for (int i = 0; i < 3; ++i) {
    agents_.answer("ee-a", success());
  }
  ASSERT_TRUE(*versioned && *aliased && *unqualified);
  EXPECT_TRUE((*versioned)->status.isOk()) << (*versioned)->status.toString();
  EXPECT_EQ((*versioned)->body, "from ee-a");
  EXPECT_EQ((*versioned)->outcome, protocol::InvokeOutcome::kSuccess);
  EXPECT_EQ((*aliased)->executed_version, "1");
  EXPECT_EQ((*unqualified)->executed_version, "$LATEST.PUBLISHED");

  RouterInvoke missing;
  missing.function_name = "nope";
  std::optional<RouterResult> none;
  router_.invoke(missing, [&](RouterResult r) { none = std::move(r); });
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status.code(), StatusCode::kNotFound);
}

TEST_F(RouterTest, RetriesAnotherEnvironmentWhenAnAgentRefuses) {
  publish({{"ee-hot", 4}, {"ee-cool", 4}});
  random_.indexes = {0};  // both picks land on ee-hot first
  auto result = invoke();
  ASSERT_EQ(agents_.sent.size(), 1u);
  EXPECT_EQ(agents_.sent[0].environment_id, "ee-hot");
  agents_.answer("ee-hot", refused("cpu"));
  ASSERT_EQ(agents_.sent.size(), 2u);
  EXPECT_EQ(agents_.sent[1].environment_id, "ee-cool") << "the refusing EE is not tried again";
  agents_.answer("ee-cool", success());
  ASSERT_TRUE(*result);
  EXPECT_EQ((*result)->body, "from ee-cool");
}

TEST_F(RouterTest, ALostInvocationIsNotSentAgain) {
  publish({{"ee-a", 4}, {"ee-b", 4}});
  auto result = invoke();
  ASSERT_EQ(agents_.sent.size(), 1u);
  auto done = std::move(agents_.sent[0].done);
  done(Status(StatusCode::kInternal, "connection lost after the request was written"));
  EXPECT_EQ(agents_.sent.size(), 1u) << "it may have run: at most once";
  ASSERT_TRUE(*result);
  EXPECT_EQ((*result)->outcome, protocol::InvokeOutcome::kRuntimeExit);
  EXPECT_EQ((*result)->error_type, "Runtime.ExitError");
}

TEST_F(RouterTest, ThrottlesWhenSaturatedAndServesWaitersWhenASlotFrees) {
  publish({{"ee-a", 1}});
  auto first = invoke();
  auto waiting = invoke();  // no free slot: it waits (a timer of max_queue_wait)
  EXPECT_EQ(agents_.sent.size(), 1u);
  EXPECT_FALSE(*waiting);
  agents_.answer("ee-a", success(), "first");
  ASSERT_TRUE(*first);
  EXPECT_EQ((*first)->body, "first");
  ASSERT_EQ(agents_.sent.size(), 2u) << "the freed slot went to the waiter";
  agents_.answer("ee-a", success());
  ASSERT_TRUE(*waiting);
  EXPECT_TRUE((*waiting)->status.isOk());

  auto holder = invoke();
  auto throttled = invoke();
  EXPECT_FALSE(*throttled);
  clock_.advance(std::chrono::milliseconds(200));
  loop_.fireUpTo(std::chrono::milliseconds(200));  // the wait ends with nothing freed
  ASSERT_TRUE(*throttled);
  EXPECT_EQ((*throttled)->status.code(), StatusCode::kThrottled);
  EXPECT_EQ((*throttled)->status.reason(), "ConcurrentInvocationLimitExceeded");
  agents_.answer("ee-a", success());
  ASSERT_TRUE(*holder);
  EXPECT_TRUE((*holder)->status.isOk());
}

TEST_F(RouterTest, AWeightedAliasFollowsTheDraw) {
  RoutingTable table;
  FunctionRoute& fn = table.functions["fn"];
  for (const char* version : {"1", "2"}) {
    VersionRoute& v = fn.versions[version];
    v.function_name = "fn";
    v.version = version;
    v.function_arn = std::string("arn:aws:lambda:us-east-1:123456789012:function:fn:") + version;
    v.slots.push_back(router_.slotFor(std::string("ee-") + version, "127.0.0.1", 7000, 4));
  }
  fn.aliases["canary"] = AliasRoute{"1", "2", 0.25};
  router_.publish(std::move(table));
  random_.next_uniform = 0.1;
  auto canary = invoke(std::string("canary"));
  random_.next_uniform = 0.9;
  auto primary = invoke(std::string("canary"));
  ASSERT_EQ(agents_.sent.size(), 2u);
  EXPECT_EQ(agents_.sent[0].environment_id, "ee-2");
  EXPECT_EQ(agents_.sent[1].environment_id, "ee-1");
  agents_.answer("", success());
  agents_.answer("", success());
  EXPECT_EQ((*canary)->executed_version, "2");
  EXPECT_EQ((*primary)->executed_version, "1");
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
