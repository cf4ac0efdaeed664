#include "logs/log_store.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace hearth {
namespace {

TEST(LogStore, AppendsReadsFollowsAndRotates) {
  auto dir = std::filesystem::temp_directory_path() / ("hearth-logs-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto store = std::move(LogStore::open(dir.string(), 64)).value();
  ASSERT_TRUE(store->append("fn", {"one", "two"}).isOk());
  auto page = store->read("fn", 0, 10);
  ASSERT_TRUE(page.isOk());
  EXPECT_EQ(page->lines, (std::vector<std::string>{"one", "two"}));
  uint64_t cursor = page->cursor;
  EXPECT_TRUE(store->read("fn", cursor, 10)->lines.empty());

  // Fill past the bound twice: the oldest lines are dropped, the cursor keeps working.
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(store->append("fn", {"line-" + std::to_string(i)}).isOk());
  }
  auto next = store->read("fn", cursor, 100);
  ASSERT_TRUE(next.isOk());
  ASSERT_FALSE(next->lines.empty());
  EXPECT_EQ(next->lines.back(), "line-19");
  auto tail = store->tail("fn", 2);
  EXPECT_EQ(tail->lines, (std::vector<std::string>{"line-18", "line-19"}));
  uint64_t total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    total += std::filesystem::file_size(entry.path());
  }
  EXPECT_LE(total, 64u * 2 + 64);  // bounded: current + one rotated file (+ the base marker)
  EXPECT_TRUE(store->read("other", 0, 10)->lines.empty());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hearth
