#include "net/connection_limiter.h"

#include <gtest/gtest.h>

namespace hearth {
namespace {

TEST(ConnectionLimiter, CapsEachClientAndTheTotal) {
  ConnectionLimiter limiter(ConnectionLimits{/*max_total=*/3, /*max_per_client=*/2});
  EXPECT_EQ(limiter.tryAdmit("10.0.0.1"), Admission::kAdmitted);
  EXPECT_EQ(limiter.tryAdmit("10.0.0.1"), Admission::kAdmitted);
  EXPECT_EQ(limiter.tryAdmit("10.0.0.1"), Admission::kClientOverCap);
  EXPECT_EQ(limiter.forClient("10.0.0.1"), 2u);
  EXPECT_EQ(limiter.tryAdmit("10.0.0.2"), Admission::kAdmitted);
  EXPECT_EQ(limiter.tryAdmit("10.0.0.3"), Admission::kServerOverCap);
  EXPECT_EQ(limiter.total(), 3u);
}

TEST(ConnectionLimiter, ReleaseFreesAPlaceForThatClient) {
  ConnectionLimiter limiter(ConnectionLimits{/*max_total=*/10, /*max_per_client=*/1});
  ASSERT_EQ(limiter.tryAdmit("a"), Admission::kAdmitted);
  EXPECT_EQ(limiter.tryAdmit("a"), Admission::kClientOverCap);
  limiter.release("a");
  EXPECT_EQ(limiter.forClient("a"), 0u);
  EXPECT_EQ(limiter.total(), 0u);
  EXPECT_EQ(limiter.tryAdmit("a"), Admission::kAdmitted);
}

TEST(ConnectionLimiter, RefusalsHoldNoPlace) {
  ConnectionLimiter limiter(ConnectionLimits{/*max_total=*/1, /*max_per_client=*/1});
  ASSERT_EQ(limiter.tryAdmit("a"), Admission::kAdmitted);
  for (int i = 0; i < 100; ++i) {
    EXPECT_NE(limiter.tryAdmit("b"), Admission::kAdmitted);
  }
  EXPECT_EQ(limiter.forClient("b"), 0u);
  limiter.release("b");  // an unadmitted release changes nothing
  EXPECT_EQ(limiter.total(), 1u);
}

}  // namespace
}  // namespace hearth
