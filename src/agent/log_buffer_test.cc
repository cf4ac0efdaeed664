#include "agent/log_buffer.h"

#include <gtest/gtest.h>

namespace hearth {
namespace {

protocol::LogLine line(int n) {
  return protocol::LogLine{"fn", "1", "ee", "line " + std::to_string(n)};
}

TEST(LogBuffer, LinesLeaveOnlyWhenStored) {
  LogBuffer buffer(100);
  for (int i = 0; i < 5; ++i) {
    buffer.append(line(i));
  }
  auto batch = buffer.peek(3);
  ASSERT_EQ(batch.lines.size(), 3u);
  EXPECT_EQ(batch.lines[0].line, "line 0");
  EXPECT_EQ(buffer.size(), 5u) << "a peek removes nothing (the server may be down)";
  buffer.ack(batch, /*stored=*/true);
  EXPECT_EQ(buffer.size(), 2u);
  EXPECT_EQ(buffer.peek(10).lines[0].line, "line 3");
  EXPECT_EQ(buffer.dropped(), 0);
}

TEST(LogBuffer, AFullBufferDropsTheOldestAndCountsThem) {
  LogBuffer buffer(3);
  for (int i = 0; i < 5; ++i) {
    buffer.append(line(i));
  }
  auto batch = buffer.peek(10);
  EXPECT_EQ(batch.dropped, 2);
  EXPECT_EQ(batch.lines.front().line, "line 2");
  buffer.ack(batch, true);
  EXPECT_EQ(buffer.dropped(), 0) << "reported with the batch";
  EXPECT_EQ(buffer.size(), 0u);
}

TEST(LogBuffer, LinesEvictedWhileTheirBatchIsInFlightAreNotCountedAsDropped) {
  LogBuffer buffer(4);
  for (int i = 0; i < 4; ++i) {
    buffer.append(line(i));
  }
  auto batch = buffer.peek(2);  // lines 0 and 1 in flight
  buffer.append(line(4));       // evicts line 0 (in the batch)
  buffer.append(line(5));       // evicts line 1 (in the batch)
  buffer.append(line(6));       // evicts line 2 (not shipped: really dropped)
  buffer.ack(batch, true);
  EXPECT_EQ(buffer.dropped(), 1);
  auto next = buffer.peek(10);
  ASSERT_EQ(next.lines.size(), 4u);
  EXPECT_EQ(next.lines.front().line, "line 3");
}

TEST(LogBuffer, ARefusedBatchLeavesAndCountsAsDropped) {
  LogBuffer buffer(10);
  buffer.append(line(0));
  buffer.append(line(1));
  auto batch = buffer.peek(10);
  buffer.ack(batch, /*stored=*/false);
  EXPECT_EQ(buffer.size(), 0u);
  EXPECT_EQ(buffer.dropped(), 2);
}

}  // namespace
}  // namespace hearth
