#include <gtest/gtest.h>

#include <set>

#include "common/clock.h"
#include "common/ids.h"
#include "common/result.h"
#include "common/utf8.h"

namespace hearth {
namespace {

Result<int> half(int x) {
  if (x % 2 != 0) {
    return invalidParameter("odd");
  }
  return x / 2;
}

Result<int> quarter(int x) {
  HEARTH_ASSIGN_OR_RETURN(int h, half(x));
  HEARTH_ASSIGN_OR_RETURN(int q, half(h));
  return q;
}

TEST(Result, PropagatesErrors) {
  EXPECT_EQ(*quarter(8), 2);
  auto bad = quarter(6);
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidParameter);
  EXPECT_EQ(bad.status().message(), "odd");
}

TEST(Status, CarriesThrottleDetail) {
  Status s(StatusCode::kThrottled, "busy");
  s.withReason("ConcurrentInvocationLimitExceeded", 1);
  EXPECT_EQ(s.reason(), "ConcurrentInvocationLimitExceeded");
  EXPECT_EQ(s.retryAfterSeconds(), 1);
  EXPECT_EQ(s.toString(), "Throttled: busy");
  EXPECT_TRUE(Status::ok().isOk());
}

TEST(Clock, FormatsAwsTimestamps) {
  FakeClock clock(std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123)));
  EXPECT_EQ(formatAwsTimestamp(clock.wallNow()), "2023-11-14T22:13:20.123+0000");
  EXPECT_EQ(formatIso8601(clock.wallNow()), "2023-11-14T22:13:20.123Z");
  auto before = clock.steadyNow();
  clock.advance(std::chrono::seconds(2));
  EXPECT_EQ(clock.steadyNow() - before, std::chrono::seconds(2));
}

TEST(Ids, UuidsAreWellFormedAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string id = newUuid();
    ASSERT_EQ(id.size(), 36u);
    EXPECT_EQ(id[14], '4');
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
}

}  // namespace
}  // namespace hearth

#include <atomic>
#include <future>
#include <stdexcept>

#include "common/work_queue.h"

namespace hearth {
namespace {

TEST(WorkQueue, RunsTasksAndRefusesWhenFull) {
  std::atomic<int> ran{0};
  std::mutex gate;
  std::unique_lock hold(gate);
  WorkQueue queue(1, 2);
  // The first task blocks the only worker; two more fill the queue; the fourth is refused.
  std::promise<void> started;
  ASSERT_TRUE(queue.trySubmit([&] {
    started.set_value();
    std::lock_guard wait(gate);
    ++ran;
  }));
  started.get_future().wait();
  int accepted = 0;
  for (int i = 0; i < 3; ++i) {
    accepted += queue.trySubmit([&] { ++ran; }) ? 1 : 0;
  }
  EXPECT_EQ(accepted, 2);
  hold.unlock();
  queue.drain();
  EXPECT_EQ(ran.load(), 1 + accepted);
  EXPECT_FALSE(queue.trySubmit([] {}));
}

TEST(WorkQueue, ATaskThatThrowsIsCountedAndTheQueueKeepsRunning) {
  std::atomic<int> ran{0};
  WorkQueue queue(1, 8);
  ASSERT_TRUE(queue.trySubmit([] { throw std::runtime_error("boom"); }));
  ASSERT_TRUE(queue.trySubmit([] { throw 42; }));
  ASSERT_TRUE(queue.trySubmit([&] { ++ran; }));
  queue.drain();
  EXPECT_EQ(ran.load(), 1);
  EXPECT_EQ(queue.failedTasks(), 2u);
}

TEST(Utf8, KeepsValidTextAndReplacesEachInvalidByte) {
  EXPECT_EQ(toValidUtf8("plain ascii"), "plain ascii");
  EXPECT_EQ(toValidUtf8("z\xC3\xB3\xC5\x82w \xE2\x82\xAC \xF0\x9F\x94\xA5"),
            "z\xC3\xB3\xC5\x82w \xE2\x82\xAC \xF0\x9F\x94\xA5");
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(toValidUtf8("\xC0\xAF"), r + r);                  // overlong '/'
  EXPECT_EQ(toValidUtf8("\xE0\x80\xAF"), r + r + r);          // overlong, three bytes
  EXPECT_EQ(toValidUtf8("\xED\xA0\x80"), r + r + r);          // surrogate U+D800
  EXPECT_EQ(toValidUtf8("\xF4\x90\x80\x80"), r + r + r + r);  // above U+10FFFF
  EXPECT_EQ(toValidUtf8("a\xE2\x82"), "a" + r + r);           // truncated
  EXPECT_EQ(toValidUtf8("\xFF"), r);
  EXPECT_EQ(toValidUtf8(std::string("a\0b", 3)), std::string("a\0b", 3));
}

}  // namespace
}  // namespace hearth
