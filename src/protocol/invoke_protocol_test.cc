#include "protocol/invoke_protocol.h"

#include <gtest/gtest.h>

namespace hearth::protocol {
namespace {

TEST(InvokeProtocol, HeadersRoundTrip) {
  InvokeHeaders invoke{"req-1", 1700000000123, "arn:aws:lambda:us-east-1:1:function:fn:live",
                       "eyJ9",  "tenant-7",    "text/plain",
                       true};
  HeaderList headers;
  encodeInvoke(invoke, headers);
  auto decoded = decodeInvoke(headers);
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(*decoded, invoke);
}

TEST(InvokeProtocol, ABadDeadlineIsRefused) {
  for (const char* bad : {"soon", "12x", "-5", "99999999999999999999999"}) {
    HeaderList headers{{"X-Hearth-Deadline-Ms", bad}};
    EXPECT_FALSE(decodeInvoke(headers).isOk()) << bad;
  }
}

TEST(InvokeProtocol, EveryOutcomeRoundTrips) {
  for (auto outcome : {InvokeOutcome::kSuccess, InvokeOutcome::kFunctionError,
                       InvokeOutcome::kTimeout, InvokeOutcome::kRuntimeExit}) {
    InvokeAnswer answer{outcome, outcome == InvokeOutcome::kSuccess ? "" : "Some.Error", "bG9n", "",
                        "application/json"};
    HttpResponse response = encodeAnswer(answer, "{}");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "{}");
    auto decoded = decodeAnswer(response);
    ASSERT_TRUE(decoded.isOk());
    EXPECT_EQ(*decoded, answer);
    EXPECT_EQ(outcomeFromName(outcomeName(outcome)), outcome);
  }
  InvokeAnswer refused{InvokeOutcome::kRefused, "", "", "concurrency", ""};
  HttpResponse response = encodeAnswer(refused, "ignored");
  EXPECT_EQ(response.status, 429);
  auto decoded = decodeAnswer(response);
  ASSERT_TRUE(decoded.isOk());
  EXPECT_EQ(decoded->outcome, InvokeOutcome::kRefused);
  EXPECT_EQ(decoded->refusal, "concurrency");
}

TEST(InvokeProtocol, AnAnswerWithoutAnOutcomeIsAnError) {
  HttpResponse odd;
  odd.status = 200;
  EXPECT_FALSE(decodeAnswer(odd).isOk());
  odd.set("X-Hearth-Outcome", "maybe");
  EXPECT_FALSE(decodeAnswer(odd).isOk());
  HttpResponse failed;
  failed.status = 500;
  EXPECT_FALSE(decodeAnswer(failed).isOk());
}

}  // namespace
}  // namespace hearth::protocol
