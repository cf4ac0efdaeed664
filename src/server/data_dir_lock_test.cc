#include "server/data_dir_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace hearth {
namespace {

class DataDirLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("hearth-lock-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(DataDirLockTest, ASecondHolderIsRefusedWithThePidOfTheFirst) {
  auto first = DataDirLock::acquire(dir_.string());
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  auto second = DataDirLock::acquire(dir_.string());
  ASSERT_FALSE(second.isOk());
  EXPECT_EQ(second.status().code(), StatusCode::kConflict);
  EXPECT_NE(second.status().message().find("pid " + std::to_string(::getpid())), std::string::npos)
      << second.status().message();
}

TEST_F(DataDirLockTest, TheLockIsFreedWithItsHolder) {
  {
    auto first = DataDirLock::acquire(dir_.string());
    ASSERT_TRUE(first.isOk());
  }
  auto again = DataDirLock::acquire(dir_.string());
  EXPECT_TRUE(again.isOk()) << again.status().toString();
}

TEST_F(DataDirLockTest, AMissingDirIsAnError) {
  auto lock = DataDirLock::acquire((dir_ / "absent").string());
  ASSERT_FALSE(lock.isOk());
  EXPECT_EQ(lock.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace hearth
