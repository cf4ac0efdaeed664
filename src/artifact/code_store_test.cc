#include "artifact/code_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "artifact/encoding.h"
#include "artifact/zip_test_util.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;

std::string validZip(std::string content = "exports.handler = async () => 1;\n") {
  ziptest::TestEntry e;
  e.name = "index.js";
  e.data = std::move(content);
  e.unix_mode = ziptest::kModeFile;
  return ziptest::buildZip({e});
}

class CodeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "hearth-code-XXXXXX").string();
    base_ = ::mkdtemp(tmpl.data());
    root_ = base_ + "/data/code";
    auto store = CodeStore::open(root_);
    ASSERT_TRUE(store.isOk()) << store.status().toString();
    store_ = std::move(*store);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  std::string base_;
  std::string root_;
  std::unique_ptr<CodeStore> store_;
};

TEST_F(CodeStoreTest, PutStoresByDigest) {
  const std::string zip = validZip();
  auto stored = store_->put(zip);
  ASSERT_TRUE(stored.isOk()) << stored.status().toString();
  EXPECT_TRUE(stored->created);
  EXPECT_EQ(stored->size, static_cast<int64_t>(zip.size()));
  EXPECT_EQ(stored->sha256_hex, hexEncode(sha256Raw(zip)));
  EXPECT_EQ(stored->sha256_base64, base64Encode(sha256Raw(zip)));
  EXPECT_EQ(stored->sha256_base64.size(), 44u);

  EXPECT_EQ(store_->pathFor(stored->sha256_hex), root_ + "/" + stored->sha256_hex + ".zip");
  EXPECT_TRUE(fs::is_regular_file(store_->pathFor(stored->sha256_hex)));
  EXPECT_TRUE(store_->contains(stored->sha256_hex));
  auto read = store_->read(stored->sha256_hex);
  ASSERT_TRUE(read.isOk());
  EXPECT_EQ(*read, zip);
  EXPECT_EQ(store_->listHex(), std::vector<std::string>{stored->sha256_hex});
}

TEST_F(CodeStoreTest, PutTwiceDedupes) {
  const std::string zip = validZip();
  auto first = store_->put(zip);
  auto second = store_->put(zip);
  ASSERT_TRUE(first.isOk());
  ASSERT_TRUE(second.isOk());
  EXPECT_TRUE(first->created);
  EXPECT_FALSE(second->created);
  EXPECT_EQ(first->sha256_hex, second->sha256_hex);
  EXPECT_EQ(first->sha256_base64, second->sha256_base64);

  auto other = store_->put(validZip("different"));
  ASSERT_TRUE(other.isOk());
  EXPECT_TRUE(other->created);
  EXPECT_EQ(store_->listHex().size(), 2u);
}

TEST_F(CodeStoreTest, ConcurrentPutsCreateOnce) {
  const std::string zip = validZip();
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::atomic<int> created{0};
  std::atomic<int> failed{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      auto stored = store_->put(zip);
      if (!stored.isOk()) {
        ++failed;
      } else if (stored->created) {
        ++created;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(store_->listHex().size(), 1u);
  // No temporary files remain.
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(root_)) {
    static_cast<void>(entry);
    ++files;
  }
  EXPECT_EQ(files, 1u);
}

TEST_F(CodeStoreTest, InvalidZipRejectedAndNotStored) {
  auto stored = store_->put("not a zip");
  ASSERT_FALSE(stored.isOk());
  EXPECT_EQ(stored.status().code(), StatusCode::kInvalidParameter);
  ziptest::TestEntry evil;
  evil.name = "../evil";
  evil.data = "x";
  EXPECT_EQ(store_->put(ziptest::buildZip({evil})).status().code(), StatusCode::kInvalidParameter);
  EXPECT_TRUE(store_->listHex().empty());
  EXPECT_TRUE(fs::is_empty(root_));
}

TEST_F(CodeStoreTest, Remove) {
  auto stored = store_->put(validZip());
  ASSERT_TRUE(stored.isOk());
  EXPECT_TRUE(store_->remove(stored->sha256_hex).isOk());
  EXPECT_FALSE(store_->contains(stored->sha256_hex));
  EXPECT_EQ(store_->read(stored->sha256_hex).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->remove(stored->sha256_hex).code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->listHex().empty());

  // After removal the same content is created afresh.
  auto again = store_->put(validZip());
  ASSERT_TRUE(again.isOk());
  EXPECT_TRUE(again->created);
}

TEST_F(CodeStoreTest, MalformedHexRejected) {
  const std::string upper(64, 'A');
  for (const std::string& hex :
       {std::string(), std::string(63, 'a'), std::string(65, 'a'), upper,
        std::string("../../../../etc/passwd"), std::string(62, 'a') + "/x"}) {
    SCOPED_TRACE(hex);
    EXPECT_FALSE(store_->contains(hex));
    EXPECT_EQ(store_->pathFor(hex), "");
    EXPECT_EQ(store_->read(hex).status().code(), StatusCode::kInvalidParameter);
    EXPECT_EQ(store_->remove(hex).code(), StatusCode::kInvalidParameter);
  }
  EXPECT_TRUE(CodeStore::isValidHex(std::string(64, 'f')));
}

TEST_F(CodeStoreTest, OpenRemovesStaleTemporariesAndKeepsCode) {
  auto stored = store_->put(validZip());
  ASSERT_TRUE(stored.isOk());
  { std::ofstream(root_ + "/.tmp-abandoned") << "partial"; }
  { std::ofstream(root_ + "/notes.txt") << "unrelated"; }
  auto reopened = CodeStore::open(root_);
  ASSERT_TRUE(reopened.isOk());
  EXPECT_FALSE(fs::exists(root_ + "/.tmp-abandoned"));
  EXPECT_TRUE((*reopened)->contains(stored->sha256_hex));
  EXPECT_EQ((*reopened)->listHex(), std::vector<std::string>{stored->sha256_hex});
}

TEST_F(CodeStoreTest, OpenFailsWhenRootIsAFile) {
  { std::ofstream(base_ + "/file") << "x"; }
  auto store = CodeStore::open(base_ + "/file/code");
  ASSERT_FALSE(store.isOk());
  EXPECT_EQ(store.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace hearth

namespace hearth {
namespace {

// A collector must never delete code a request has just stored but not yet referenced.
TEST_F(CodeStoreTest, RecentlyStoredCodeIsNotIdle) {
  std::string zip = validZip();
  auto put = store_->put(zip);
  ASSERT_TRUE(put.isOk());
  auto kept = store_->removeIfIdle(put->sha256_hex, std::chrono::seconds(600));
  ASSERT_TRUE(kept.isOk());
  EXPECT_FALSE(*kept);
  EXPECT_TRUE(store_->contains(put->sha256_hex));

  // Old code put() again is fresh again.
  std::string path = store_->pathFor(put->sha256_hex);
  struct timespec old_times[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), old_times, 0), 0);
  ASSERT_TRUE(store_->put(zip).isOk());
  auto still = store_->removeIfIdle(put->sha256_hex, std::chrono::seconds(600));
  ASSERT_TRUE(still.isOk());
  EXPECT_FALSE(*still);

  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), old_times, 0), 0);
  auto removed = store_->removeIfIdle(put->sha256_hex, std::chrono::seconds(600));
  ASSERT_TRUE(removed.isOk());
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(store_->contains(put->sha256_hex));
}

}  // namespace
}  // namespace hearth
