#include "agent/execution_environment.h"

#include <gtest/gtest.h>

#include <optional>

#include "net/fake_event_loop.h"

namespace hearth {
namespace {

class ExecutionEnvironmentTest : public ::testing::Test {
 protected:
  ExecutionEnvironmentPtr make(int max_concurrency) {
    EnvironmentIdentity identity{"ee-1", "fn", "1", max_concurrency, 3, 1024};
    return std::make_shared<ExecutionEnvironment>(
        identity, &loop_, &clock_,
        [this](const EnvironmentIdentity&, std::string line) { logs_.push_back(line); });
  }

  // Issues GET /next; returns a slot that holds the response once delivered.
  std::shared_ptr<std::optional<HttpResponse>> next(ExecutionEnvironment& ee) {
    auto slot = std::make_shared<std::optional<HttpResponse>>();
    HttpRequest request{"GET", "/2018-06-01/runtime/invocation/next", {}, "", "", 0};
    ee.handleRuntimeRequest(request, [slot](HttpResponse r) { *slot = std::move(r); });
    return slot;
  }

  HttpResponse post(ExecutionEnvironment& ee, const std::string& path, std::string body,
                    HeaderList headers = {}) {
    std::optional<HttpResponse> out;
    HttpRequest request{
        "POST", "/2018-06-01/runtime/" + path, std::move(headers), std::move(body), "", 0};
    ee.handleRuntimeRequest(request, [&out](HttpResponse r) { out = std::move(r); });
    return *out;
  }

  std::shared_ptr<std::optional<InvokeResult>> invoke(ExecutionEnvironment& ee, std::string id,
                                                      bool tail = false) {
    auto slot = std::make_shared<std::optional<InvokeResult>>();
    InvokeRequest request;
    request.request_id = std::move(id);
    request.payload = R"({"k":1})";
    request.deadline_epoch_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_.wallNow().time_since_epoch())
            .count() +
        3000;
    request.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fn:1";
    request.tail_logs = tail;
    ee.invoke(request, [slot](InvokeResult r) { *slot = std::move(r); });
    return slot;
  }

  FakeClock clock_;
  FakeEventLoop loop_;
  std::vector<std::string> logs_;
};

TEST_F(ExecutionEnvironmentTest, FirstNextMakesItReadyAndDeliversInvocations) {
  auto ee = make(2);
  auto refused = invoke(*ee, "early");
  ASSERT_TRUE(*refused);
  EXPECT_EQ((*refused)->outcome, InvokeOutcome::kRefused);
  EXPECT_EQ((*refused)->refusal, "starting");

  auto poll = next(*ee);
  EXPECT_EQ(ee->state(), EnvironmentState::kReady);
  EXPECT_FALSE(*poll);
  auto result = invoke(*ee, "req-1");
  ASSERT_TRUE(*poll);
  const HttpResponse& delivered = **poll;
  EXPECT_EQ(delivered.status, 200);
  EXPECT_EQ(*delivered.header("Lambda-Runtime-Aws-Request-Id"), "req-1");
  EXPECT_EQ(*delivered.header("Lambda-Runtime-Invoked-Function-Arn"),
            "arn:aws:lambda:us-east-1:123456789012:function:fn:1");
  EXPECT_NE(delivered.header("Lambda-Runtime-Deadline-Ms"), nullptr);
  EXPECT_EQ(delivered.body, R"({"k":1})");
  EXPECT_FALSE(*result);

  HttpResponse ack = post(*ee, "invocation/req-1/response", R"({"ok":true})");
  EXPECT_EQ(ack.status, 202);
  ASSERT_TRUE(*result);
  EXPECT_EQ((*result)->outcome, InvokeOutcome::kSuccess);
  EXPECT_EQ((*result)->body, R"({"ok":true})");
  EXPECT_EQ(ee->outstanding(), 0);
  EXPECT_EQ(post(*ee, "invocation/req-1/response", "{}").status, 400);
}

TEST_F(ExecutionEnvironmentTest, EnforcesConcurrencyEvenWhenTheRuntimePollsAhead) {
  auto ee = make(2);
  // A Node-style worker keeps one poll parked while its invocations run.
  auto p1 = next(*ee);
  auto r1 = invoke(*ee, "a");
  auto p2 = next(*ee);
  auto r2 = invoke(*ee, "b");
  auto p3 = next(*ee);
  auto r3 = invoke(*ee, "c");
  ASSERT_TRUE(*r3);
  EXPECT_EQ((*r3)->outcome, InvokeOutcome::kRefused);
  EXPECT_EQ((*r3)->refusal, "concurrency");
  EXPECT_FALSE(*p3);  // still parked: the cap, not the polls, bounds the work
  EXPECT_EQ(ee->outstanding(), 2);
  EXPECT_EQ(post(*ee, "invocation/a/response", "1").status, 202);
  auto r4 = invoke(*ee, "d");
  ASSERT_TRUE(*p3);
  EXPECT_EQ(*(*p3)->header("Lambda-Runtime-Aws-Request-Id"), "d");
  EXPECT_FALSE(*r4);
}

TEST_F(ExecutionEnvironmentTest, QueuesUntilTheNextPoll) {
  auto ee = make(4);
  auto p1 = next(*ee);
  auto r1 = invoke(*ee, "a");
  auto r2 = invoke(*ee, "b");
  EXPECT_FALSE(*r2);
  auto p2 = next(*ee);
  ASSERT_TRUE(*p2);
  EXPECT_EQ(*(*p2)->header("Lambda-Runtime-Aws-Request-Id"), "b");
}

TEST_F(ExecutionEnvironmentTest, ErrorsTimeoutsAndExit) {
  auto ee = make(4);
  auto p = next(*ee);
  auto failing = invoke(*ee, "fail");
  HttpResponse ack =
      post(*ee, "invocation/fail/error", R"({"errorMessage":"boom","errorType":"ValueError"})",
           {{"Lambda-Runtime-Function-Error-Type", "ValueError"}});
  EXPECT_EQ(ack.status, 202);
  ASSERT_TRUE(*failing);
  EXPECT_EQ((*failing)->outcome, InvokeOutcome::kFunctionError);
  EXPECT_EQ((*failing)->error_type, "ValueError");

  auto p2 = next(*ee);
  auto slow = invoke(*ee, "slow");
  loop_.fireUpTo(std::chrono::milliseconds(5000));
  ASSERT_TRUE(*slow);
  EXPECT_EQ((*slow)->outcome, InvokeOutcome::kTimeout);
  EXPECT_NE((*slow)->body.find("Task timed out after 3.00 seconds"), std::string::npos);
  EXPECT_EQ(ee->outstanding(), 1);  // the runtime is still working on it

  auto p3 = next(*ee);
  auto crashed = invoke(*ee, "crash");
  ee->onExit(137);
  ASSERT_TRUE(*crashed);
  EXPECT_EQ((*crashed)->outcome, InvokeOutcome::kRuntimeExit);
  EXPECT_EQ((*crashed)->error_type, "Runtime.ExitError");
  EXPECT_EQ(ee->state(), EnvironmentState::kExited);
  auto after = invoke(*ee, "after");
  EXPECT_EQ((*after)->refusal, "stopped");
}

// Opt-in recycling: an invocation still running its grace period after its timeout answer gets
// the EE recycled, once; one that finishes within the grace does not.
TEST_F(ExecutionEnvironmentTest, RecyclesOnlyWhenATimedOutInvocationOutlivesItsGrace) {
  auto ee = make(4);
  int recycled = 0;
  ee->recycleAfterTimeout(std::chrono::seconds(10), [&recycled] { ++recycled; });
  auto p1 = next(*ee);
  auto finishes = invoke(*ee, "finishes");
  loop_.fireUpTo(std::chrono::milliseconds(5000));  // its deadline: answered Sandbox.Timedout
  ASSERT_TRUE(*finishes);
  EXPECT_EQ((*finishes)->outcome, InvokeOutcome::kTimeout);
  EXPECT_EQ(post(*ee, "invocation/finishes/response", "{}").status, 202);  // within the grace
  loop_.fireUpTo(std::chrono::milliseconds(10000));
  EXPECT_EQ(recycled, 0);

  auto p2 = next(*ee);
  auto hangs = invoke(*ee, "hangs");
  loop_.fireUpTo(std::chrono::milliseconds(5000));
  ASSERT_TRUE(*hangs);
  EXPECT_EQ(recycled, 0);
  loop_.fireUpTo(std::chrono::milliseconds(10000));  // the grace has passed
  EXPECT_EQ(recycled, 1);
  auto refused = invoke(*ee, "after");
  ASSERT_TRUE(*refused);
  EXPECT_EQ((*refused)->outcome, InvokeOutcome::kRefused);
}

TEST_F(ExecutionEnvironmentTest, WithoutTheOptionATimedOutInvocationKeepsRunning) {
  auto ee = make(4);
  auto p1 = next(*ee);
  auto hangs = invoke(*ee, "hangs");
  loop_.fireUpTo(std::chrono::hours(1));
  ASSERT_TRUE(*hangs);
  EXPECT_EQ((*hangs)->outcome, InvokeOutcome::kTimeout);
  EXPECT_EQ(ee->outstanding(), 1);
  EXPECT_EQ(loop_.pendingTimers(), 0u);
  auto p2 = next(*ee);
  auto next_one = invoke(*ee, "next");
  EXPECT_FALSE(*next_one);  // still taken: the EE keeps serving
}

TEST_F(ExecutionEnvironmentTest, InitErrorFailsTheEnvironment) {
  auto ee = make(4);
  HttpResponse ack =
      post(*ee, "init/error",
           R"({"errorMessage":"No module named app","errorType":"Runtime.ImportModuleError"})",
           {{"Lambda-Runtime-Function-Error-Type", "Runtime.ImportModuleError"}});
  EXPECT_EQ(ack.status, 202);
  EXPECT_EQ(ee->state(), EnvironmentState::kInitFailed);
  EXPECT_EQ(ee->initErrorType(), "Runtime.ImportModuleError");
  EXPECT_EQ(ee->initErrorMessage(), "No module named app");
}

TEST_F(ExecutionEnvironmentTest, TailCollectsTheInvocationsOwnLines) {
  auto ee = make(4);
  auto p1 = next(*ee);
  auto r1 = invoke(*ee, "one", /*tail=*/true);
  auto p2 = next(*ee);
  auto r2 = invoke(*ee, "two", /*tail=*/true);
  ee->onOutputLine(false, R"({"level":"INFO","requestId":"one","message":"hello from one"})");
  ee->onOutputLine(false, R"({"level":"INFO","requestId":"two","message":"hello from two"})");
  post(*ee, "invocation/one/response", "1");
  loop_.fireUpTo(std::chrono::milliseconds(50));
  ASSERT_TRUE(*r1);
  EXPECT_NE((*r1)->log_tail.find("hello from one"), std::string::npos);
  EXPECT_EQ((*r1)->log_tail.find("hello from two"), std::string::npos);
  EXPECT_NE((*r1)->log_tail.find("platform.report"), std::string::npos);
  ee->onOutputLine(true, "plain text");
  EXPECT_NE(logs_.back().find(R"("message":"plain text")"), std::string::npos);
}

}  // namespace
}  // namespace hearth

namespace hearth {
namespace {

TEST_F(ExecutionEnvironmentTest, PressureRefusesNewWorkButNeverStarvesAnIdleEnvironment) {
  auto ee = make(4);
  auto p1 = next(*ee);
  ee->setPressure("memory");
  auto first = invoke(*ee, "a");  // idle: accepted despite pressure
  EXPECT_FALSE(*first);
  auto second = invoke(*ee, "b");
  ASSERT_TRUE(*second);
  EXPECT_EQ((*second)->outcome, InvokeOutcome::kRefused);
  EXPECT_EQ((*second)->refusal, "memory");
  ee->setPressure("");
  auto third = invoke(*ee, "c");
  EXPECT_FALSE(*third);
}

TEST_F(ExecutionEnvironmentTest, BilledDurationRoundsUpThePrintedDuration) {
  auto ee = make(1);
  auto poll = next(*ee);
  auto first = invoke(*ee, "req-a");
  ASSERT_TRUE(*poll);
  clock_.advance(std::chrono::microseconds(1000) + std::chrono::nanoseconds(400));
  post(*ee, "invocation/req-a/response", "{}");
  auto poll2 = next(*ee);
  auto second = invoke(*ee, "req-b");
  ASSERT_TRUE(*poll2);
  clock_.advance(std::chrono::microseconds(1000) + std::chrono::nanoseconds(600));
  post(*ee, "invocation/req-b/response", "{}");
  std::vector<std::string> reports;
  for (const auto& line : logs_) {
    if (line.find("\"platform.report\"") != std::string::npos) {
      reports.push_back(line);
    }
  }
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_NE(reports[0].find(R"("durationMs":1.000,"billedDurationMs":1,)"), std::string::npos)
      << reports[0];
  EXPECT_NE(reports[1].find(R"("durationMs":1.001,"billedDurationMs":2,)"), std::string::npos)
      << reports[1];
}

TEST_F(ExecutionEnvironmentTest, ReportsCarryAwsMetricsAndTheFirstCarriesInitDuration) {
  auto ee = make(2);
  clock_.advance(std::chrono::milliseconds(250));  // init takes 250 ms
  auto poll = next(*ee);
  auto first = invoke(*ee, "req-1");
  ASSERT_TRUE(*poll);
  clock_.advance(std::chrono::milliseconds(12));
  post(*ee, "invocation/req-1/response", "{}");
  auto poll2 = next(*ee);
  auto second = invoke(*ee, "req-2");
  ASSERT_TRUE(*poll2);
  post(*ee, "invocation/req-2/error", R"({"errorType":"Boom","errorMessage":"no"})",
       {{"Lambda-Runtime-Function-Error-Type", "Boom"}});
  std::vector<std::string> reports;
  for (const auto& line : logs_) {
    if (line.find("\"platform.report\"") != std::string::npos) {
      reports.push_back(line);
    }
  }
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_NE(reports[0].find(R"("durationMs":12.000,"billedDurationMs":12,"memorySizeMB":1024)"),
            std::string::npos)
      << reports[0];
  EXPECT_NE(reports[0].find(R"("initDurationMs":250.000)"), std::string::npos) << reports[0];
  EXPECT_NE(reports[0].find(R"("status":"success")"), std::string::npos) << reports[0];
  EXPECT_EQ(reports[1].find("initDurationMs"), std::string::npos) << reports[1];
  EXPECT_NE(reports[1].find(R"("status":"error","errorType":"Boom")"), std::string::npos)
      << reports[1];
}

}  // namespace
}  // namespace hearth
