#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/memory_store.h"
#include "store/sqlite_store.h"
#include "store/store.h"

namespace hearth {
namespace {

// A fresh directory under the test temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string base = testing::TempDir();
    if (base.empty() || base.back() != '/') {
      base += '/';
    }
    std::string pattern = base + "hearth_store_XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) {
      path_ = pattern;
    }
  }
  ~TempDir() {
    if (!path_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(path_, ignored);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs `sql` on its own connection to `path` and returns the first column of the first row.
std::string rawQuery(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path;
    sqlite3_close(db);
    return out;
  }
  auto on_row = [](void* result, int columns, char** values, char**) -> int {
    auto* first = static_cast<std::string*>(result);
    if (first->empty() && columns > 0 && values[0] != nullptr) {
      *first = values[0];
    }
    return 0;
  };
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), on_row, &out, &error) != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << (error != nullptr ? error : "");
  }
  sqlite3_free(error);
  sqlite3_close(db);
  return out;
}

std::vector<std::string> keysOf(const std::vector<Record>& records) {
  std::vector<std::string> keys;
  for (const Record& record : records) {
    keys.push_back(record.key);
  }
  return keys;
}

// Collects watch deliveries; safe to use from the delivering thread and the test thread.
class Recorder {
 public:
  WatchCallback callback() {
    return [this](const std::vector<Change>& changes) {
      std::lock_guard lock(mu_);
      batches_.push_back(changes);
    };
  }
  std::vector<std::vector<Change>> batches() const {
    std::lock_guard lock(mu_);
    return batches_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::vector<Change>> batches_;
};

enum class Backend { kMemory, kSqlite };

class StoreConformanceTest : public testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    store_ = open();
    ASSERT_NE(store_, nullptr);
  }

  StorePtr open() {
    if (GetParam() == Backend::kMemory) {
      return makeMemoryStore();
    }
    Result<StorePtr> store = SqliteStore::open(dir_.path() + "/state.db");
    if (!store.isOk()) {
      ADD_FAILURE() << store.status().toString();
      return nullptr;
    }
    return std::move(store).value();
  }

  // Commits `txn`, failing the test on error; returns the revision.
  int64_t commitOk(const Txn& txn) {
    Result<int64_t> revision = store_->commit(txn);
    EXPECT_TRUE(revision.isOk()) << revision.status().toString();
    return revision.isOk() ? *revision : -1;
  }

  std::optional<Record> getOk(std::string_view key) {
    Result<std::optional<Record>> record = store_->get(key);
    EXPECT_TRUE(record.isOk()) << record.status().toString();
    return record.isOk() ? *record : std::nullopt;
  }

  std::vector<Record> listOk(std::string_view prefix, std::string_view start_after, size_t limit) {
    Result<std::vector<Record>> records = store_->list(prefix, start_after, limit);
    EXPECT_TRUE(records.isOk()) << records.status().toString();
    return records.isOk() ? *records : std::vector<Record>();
  }

  TempDir dir_;
  StorePtr store_;
};

TEST_P(StoreConformanceTest, GetMissingKeyReturnsNullopt) {
  EXPECT_EQ(getOk("functions/missing"), std::nullopt);
}

TEST_P(StoreConformanceTest, PutThenGetRoundTripsBytes) {
  const std::string binary("{\"a\":1}\0\xff\x01", 10);
  const int64_t revision =
      commitOk(Txn().put("functions/a", binary).put("functions/empty", "").put("fn/é", "ü"));

  std::optional<Record> a = getOk("functions/a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->key, "functions/a");
  EXPECT_EQ(a->value, binary);
  EXPECT_EQ(a->version, revision);

  std::optional<Record> empty = getOk("functions/empty");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->value, "");

  std::optional<Record> unicode = getOk("fn/é");
  ASSERT_TRUE(unicode.has_value());
  EXPECT_EQ(unicode->value, "ü");
}

TEST_P(StoreConformanceTest, RevisionsIncreaseAndStampWrittenRecords) {
  const int64_t r1 = commitOk(Txn().put("a", "1"));
  const int64_t r2 = commitOk(Txn().put("b", "1"));
  const int64_t r3 = commitOk(Txn().put("a", "2"));
  EXPECT_GT(r1, 0);
  EXPECT_GT(r2, r1);
  EXPECT_GT(r3, r2);
  EXPECT_EQ(getOk("a")->version, r3);
  EXPECT_EQ(getOk("a")->value, "2");
  EXPECT_EQ(getOk("b")->version, r2);
}

TEST_P(StoreConformanceTest, CompareOnAbsentCreatesOnlyOnce) {
  commitOk(Txn().expect("k", 0).put("k", "first"));

  Result<int64_t> again = store_->commit(Txn().expect("k", 0).put("k", "second"));
  ASSERT_FALSE(again.isOk());
  EXPECT_EQ(again.status().code(), StatusCode::kConflict);
  EXPECT_EQ(getOk("k")->value, "first");
}

TEST_P(StoreConformanceTest, CompareOnVersionSucceedsWhenCurrent) {
  const int64_t created = commitOk(Txn().put("k", "v1"));
  const int64_t updated = commitOk(Txn().expect("k", created).put("k", "v2"));
  EXPECT_GT(updated, created);
  EXPECT_EQ(getOk("k")->value, "v2");
  EXPECT_EQ(getOk("k")->version, updated);
}

TEST_P(StoreConformanceTest, FailedCompareAppliesNothing) {
  const int64_t created = commitOk(Txn().put("k", "v1").put("doomed", "x"));
  const int64_t updated = commitOk(Txn().put("k", "v2"));

  Txn stale;
  stale.expect("other", 0).expect("k", created).put("k", "v3").put("new", "n").del("doomed");
  Result<int64_t> result = store_->commit(stale);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), StatusCode::kConflict);

  EXPECT_EQ(getOk("k")->value, "v2");
  EXPECT_EQ(getOk("k")->version, updated);
  EXPECT_EQ(getOk("new"), std::nullopt);
  EXPECT_TRUE(getOk("doomed").has_value());
  // The failed commit did not consume a revision.
  EXPECT_EQ(commitOk(Txn().put("later", "x")), updated + 1);
}

TEST_P(StoreConformanceTest, MultiKeyTxnAppliesAtOneRevision) {
  commitOk(Txn().put("old", "x"));
  const int64_t revision = commitOk(Txn()
                                        .expect("a", 0)
                                        .expect("old", getOk("old")->version)
                                        .put("a", "1")
                                        .put("b", "2")
                                        .put("c", "3")
                                        .del("old"));
  for (const char* key : {"a", "b", "c"}) {
    std::optional<Record> record = getOk(key);
    ASSERT_TRUE(record.has_value()) << key;
    EXPECT_EQ(record->version, revision) << key;
  }
  EXPECT_EQ(getOk("old"), std::nullopt);
}

TEST_P(StoreConformanceTest, DeleteRemovesRecord) {
  commitOk(Txn().put("k", "v"));
  const int64_t deleted = commitOk(Txn().del("k"));
  EXPECT_EQ(getOk("k"), std::nullopt);
  // Absent again, so a create-if-absent succeeds.
  EXPECT_GT(commitOk(Txn().expect("k", 0).put("k", "again")), deleted);
}

TEST_P(StoreConformanceTest, TxnWithoutEffectKeepsRevision) {
  const int64_t revision = commitOk(Txn().put("k", "v"));
  EXPECT_EQ(commitOk(Txn().del("missing")), revision);
  EXPECT_EQ(commitOk(Txn().expect("k", revision)), revision);
  EXPECT_EQ(commitOk(Txn()), revision);
  EXPECT_EQ(commitOk(Txn().put("k2", "v")), revision + 1);
}

TEST_P(StoreConformanceTest, RejectsMalformedTxn) {
  commitOk(Txn().put("k", "v"));
  const std::vector<Txn> malformed = {
      Txn().put("", "v"),
      Txn().del(""),
      Txn().expect("", 0),
      Txn().expect("k", -1),
      Txn().put("a", "1").put("a", "2"),
      Txn().put("k", "1").del("k"),
  };
  for (const Txn& txn : malformed) {
    Result<int64_t> result = store_->commit(txn);
    ASSERT_FALSE(result.isOk());
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidParameter) << result.status().toString();
  }
  EXPECT_EQ(getOk("k")->value, "v");
  EXPECT_EQ(getOk("a"), std::nullopt);
}

TEST_P(StoreConformanceTest, ListReturnsPrefixInKeyOrder) {
  Txn txn;
  for (const char* key : {"fn/c", "fn", "fn/a", "fo/x", "fn0", "a", "fn/b", "fn/a/nested"}) {
    txn.put(key, std::string("value of ") + key);
  }
  const int64_t revision = commitOk(txn);

  std::vector<Record> records = listOk("fn/", "", 100);
  EXPECT_EQ(keysOf(records), (std::vector<std::string>{"fn/a", "fn/a/nested", "fn/b", "fn/c"}));
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records[0].value, "value of fn/a");
  EXPECT_EQ(records[0].version, revision);

  EXPECT_EQ(keysOf(listOk("", "", 100)), (std::vector<std::string>{"a", "fn", "fn/a", "fn/a/nested",
                                                                   "fn/b", "fn/c", "fn0", "fo/x"}));
  EXPECT_TRUE(listOk("zzz/", "", 100).empty());
}

TEST_P(StoreConformanceTest, ListPaginatesWithStartAfterAndLimit) {
  Txn txn;
  std::vector<std::string> expected;
  for (int i = 0; i < 10; ++i) {
    std::string key = "p/" + std::to_string(i);
    expected.push_back(key);
    txn.put(key, "v");
  }
  txn.put("o", "before").put("q", "after");
  commitOk(txn);

  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    std::vector<Record> records = listOk("p/", cursor, 3);
    EXPECT_LE(records.size(), 3u);
    if (records.empty()) {
      break;
    }
    for (const Record& record : records) {
      seen.push_back(record.key);
    }
    cursor = records.back().key;
  }
  EXPECT_EQ(seen, expected);

  EXPECT_EQ(keysOf(listOk("p/", "p/4", 2)), (std::vector<std::string>{"p/5", "p/6"}));
  EXPECT_EQ(keysOf(listOk("p/", "a", 1)), (std::vector<std::string>{"p/0"}));
  EXPECT_TRUE(listOk("p/", "p/9", 10).empty());
  EXPECT_TRUE(listOk("p/", "z", 10).empty());
  EXPECT_TRUE(listOk("p/", "", 0).empty());
  EXPECT_EQ(keysOf(listOk("", "p/8", 10)), (std::vector<std::string>{"p/9", "q"}));
}

TEST_P(StoreConformanceTest, ListHandlesHighBytePrefixes) {
  commitOk(Txn()
               .put("a\xff", "1")
               .put("a\xff\x01", "2")
               .put("a\xff\xff", "3")
               .put("b", "4")
               .put("\xff", "5")
               .put("\xff\xff", "6"));
  EXPECT_EQ(keysOf(listOk("a\xff", "", 10)),
            (std::vector<std::string>{"a\xff", "a\xff\x01", "a\xff\xff"}));
  EXPECT_EQ(keysOf(listOk("\xff", "", 10)), (std::vector<std::string>{"\xff", "\xff\xff"}));
  EXPECT_EQ(keysOf(listOk("\xff\xff", "", 10)), (std::vector<std::string>{"\xff\xff"}));
}

TEST_P(StoreConformanceTest, WatchDeliversOnlyChangesUnderItsPrefix) {
  Recorder recorder;
  WatchHandlePtr handle = store_->watch("fn/", recorder.callback());

  const int64_t put_revision = commitOk(Txn().put("fn/a", "1").put("other/x", "2"));
  commitOk(Txn().put("other/y", "3"));
  const int64_t delete_revision = commitOk(Txn().del("fn/a").del("fn/missing"));

  std::vector<std::vector<Change>> batches = recorder.batches();
  ASSERT_EQ(batches.size(), 2u);
  ASSERT_EQ(batches[0].size(), 1u);
  EXPECT_EQ(batches[0][0].key, "fn/a");
  EXPECT_EQ(batches[0][0].value, "1");
  EXPECT_EQ(batches[0][0].version, put_revision);
  EXPECT_FALSE(batches[0][0].deleted);
  ASSERT_EQ(batches[1].size(), 1u);
  EXPECT_EQ(batches[1][0].key, "fn/a");
  EXPECT_EQ(batches[1][0].value, "");
  EXPECT_EQ(batches[1][0].version, delete_revision);
  EXPECT_TRUE(batches[1][0].deleted);
}

TEST_P(StoreConformanceTest, WatchDeliversWholeCommitInOneBatch) {
  Recorder recorder;
  WatchHandlePtr handle = store_->watch("", recorder.callback());
  const int64_t revision = commitOk(Txn().put("a", "1").put("b", "2").put("c", "3"));
  std::vector<std::vector<Change>> batches = recorder.batches();
  ASSERT_EQ(batches.size(), 1u);
  ASSERT_EQ(batches[0].size(), 3u);
  for (const Change& change : batches[0]) {
    EXPECT_EQ(change.version, revision);
  }
}

TEST_P(StoreConformanceTest, WatchSkipsFailedCommitsAndEarlierCommits) {
  commitOk(Txn().put("fn/before", "x"));
  Recorder recorder;
  WatchHandlePtr handle = store_->watch("fn/", recorder.callback());
  EXPECT_FALSE(store_->commit(Txn().expect("fn/before", 0).put("fn/a", "1")).isOk());
  EXPECT_TRUE(recorder.batches().empty());
  commitOk(Txn().put("fn/after", "y"));
  ASSERT_EQ(recorder.batches().size(), 1u);
  EXPECT_EQ(recorder.batches()[0][0].key, "fn/after");
}

TEST_P(StoreConformanceTest, WatchStopsAfterHandleDestroyed) {
  Recorder recorder;
  WatchHandlePtr handle = store_->watch("fn/", recorder.callback());
  commitOk(Txn().put("fn/a", "1"));
  handle.reset();
  commitOk(Txn().put("fn/b", "2"));
  EXPECT_EQ(recorder.batches().size(), 1u);
}

TEST_P(StoreConformanceTest, WatchCallbackMayCommitAndDropItsHandle) {
  Recorder nested;
  WatchHandlePtr nested_handle = store_->watch("b/", nested.callback());
  int calls = 0;
  WatchHandlePtr handle;
  handle = store_->watch("a/", [&](const std::vector<Change>& changes) {
    ++calls;
    EXPECT_TRUE(store_->commit(Txn().put("b/" + changes[0].key, "derived")).isOk());
    handle.reset();
  });

  commitOk(Txn().put("a/1", "x"));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(handle, nullptr);
  // The nested commit was delivered before the outer commit returned.
  ASSERT_EQ(nested.batches().size(), 1u);
  EXPECT_EQ(nested.batches()[0][0].key, "b/a/1");

  commitOk(Txn().put("a/2", "x"));
  EXPECT_EQ(calls, 1);
}

TEST_P(StoreConformanceTest, DestroyingHandleWaitsForRunningCallback) {
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool release = false;
  std::atomic<bool> finished{false};
  std::atomic<int> calls{0};
  WatchHandlePtr handle = store_->watch("k", [&](const std::vector<Change>&) {
    ++calls;
    std::unique_lock lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    finished = true;
  });

  std::thread committer([&] { EXPECT_TRUE(store_->commit(Txn().put("k", "1")).isOk()); });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return entered; });
  }
  bool finished_when_destroyed = false;
  std::thread destroyer([&] {
    handle.reset();
    finished_when_destroyed = finished;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  {
    std::lock_guard lock(mu);
    release = true;
    cv.notify_all();
  }
  destroyer.join();
  committer.join();
  EXPECT_TRUE(finished_when_destroyed);
  commitOk(Txn().put("k", "2"));
  EXPECT_EQ(calls, 1);
}

TEST_P(StoreConformanceTest, WatchHandleMayOutliveStore) {
  Recorder recorder;
  WatchHandlePtr handle = store_->watch("", recorder.callback());
  commitOk(Txn().put("k", "v"));
  store_.reset();
  handle.reset();
  EXPECT_EQ(recorder.batches().size(), 1u);
}

TEST_P(StoreConformanceTest, ConcurrentCompareAndSetLosesNoUpdate) {
  constexpr int kThreads = 4;
  constexpr int kIncrementsPerThread = 25;
  const int64_t start = commitOk(Txn().put("counter", "0"));

  std::mutex mu;
  std::vector<int64_t> delivered;
  WatchHandlePtr handle = store_->watch("counter", [&](const std::vector<Change>& changes) {
    std::lock_guard lock(mu);
    delivered.push_back(changes[0].version);
  });

  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int done = 0; done < kIncrementsPerThread;) {
        Result<std::optional<Record>> current = store_->get("counter");
        ASSERT_TRUE(current.isOk() && current->has_value());
        const int value = std::stoi((*current)->value);
        Result<int64_t> result = store_->commit(
            Txn().expect("counter", (*current)->version).put("counter", std::to_string(value + 1)));
        if (result.isOk()) {
          ++done;
        } else {
          ASSERT_EQ(result.status().code(), StatusCode::kConflict);
          ++conflicts;
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }

  std::optional<Record> counter = getOk("counter");
  ASSERT_TRUE(counter.has_value());
  EXPECT_EQ(counter->value, std::to_string(kThreads * kIncrementsPerThread));
  EXPECT_EQ(counter->version, start + kThreads * kIncrementsPerThread);

  // Every commit returned only after its changes were delivered, in commit order.
  std::lock_guard lock(mu);
  ASSERT_EQ(delivered.size(), static_cast<size_t>(kThreads * kIncrementsPerThread));
  for (size_t i = 0; i < delivered.size(); ++i) {
    EXPECT_EQ(delivered[i], start + 1 + static_cast<int64_t>(i));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformanceTest,
                         testing::Values(Backend::kMemory, Backend::kSqlite),
                         [](const testing::TestParamInfo<Backend>& param_info) {
                           return param_info.param == Backend::kMemory ? "Memory" : "Sqlite";
                         });

class SqliteStoreTest : public testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  std::string dbPath() const { return dir_.path() + "/state.db"; }

  StorePtr openOk() {
    Result<StorePtr> store = SqliteStore::open(dbPath());
    if (!store.isOk()) {
      ADD_FAILURE() << store.status().toString();
      return nullptr;
    }
    return std::move(store).value();
  }

  TempDir dir_;
};

TEST_F(SqliteStoreTest, DataAndRevisionPersistAcrossReopen) {
  int64_t revision = 0;
  {
    StorePtr store = openOk();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->commit(Txn().put("fn/a", "1")).isOk());
    Result<int64_t> committed = store->commit(Txn().put("fn/b", "2").put("fn/c", "3"));
    ASSERT_TRUE(committed.isOk());
    revision = *committed;
    ASSERT_TRUE(store->commit(Txn().del("fn/c")).isOk());
    ++revision;
  }
  StorePtr store = openOk();
  ASSERT_NE(store, nullptr);
  Result<std::vector<Record>> records = store->list("fn/", "", 10);
  ASSERT_TRUE(records.isOk());
  EXPECT_EQ(keysOf(*records), (std::vector<std::string>{"fn/a", "fn/b"}));
  EXPECT_EQ((*records)[1].value, "2");
  EXPECT_EQ((*records)[1].version, revision - 1);

  Result<int64_t> next = store->commit(Txn().put("fn/d", "4"));
  ASSERT_TRUE(next.isOk());
  EXPECT_EQ(*next, revision + 1);
}

TEST_F(SqliteStoreTest, RecordsSchemaVersionOnce) {
  ASSERT_NE(openOk(), nullptr);
  ASSERT_NE(openOk(), nullptr);
  EXPECT_EQ(rawQuery(dbPath(), "SELECT MAX(version) FROM schema_migrations"),
            std::to_string(SqliteStore::kSchemaVersion));
  EXPECT_EQ(rawQuery(dbPath(), "SELECT count(*) FROM schema_migrations"),
            std::to_string(SqliteStore::kSchemaVersion));
  EXPECT_EQ(rawQuery(dbPath(), "SELECT value FROM meta WHERE name = 'revision'"), "0");
}

TEST_F(SqliteStoreTest, UsesWriteAheadLog) {
  StorePtr store = openOk();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->commit(Txn().put("k", "v")).isOk());
  EXPECT_EQ(rawQuery(dbPath(), "PRAGMA journal_mode"), "wal");
  EXPECT_TRUE(std::filesystem::exists(dbPath() + "-wal"));
}

TEST_F(SqliteStoreTest, RefusesNewerSchemaVersion) {
  {
    StorePtr store = openOk();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->commit(Txn().put("k", "v")).isOk());
  }
  const std::string future = std::to_string(SqliteStore::kSchemaVersion + 1);
  rawQuery(dbPath(), "INSERT INTO schema_migrations(version) VALUES(" + future + ")");

  Result<StorePtr> store = SqliteStore::open(dbPath());
  ASSERT_FALSE(store.isOk());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidParameter);
  EXPECT_NE(store.status().message().find("schema version " + future), std::string::npos)
      << store.status().message();
  EXPECT_NE(store.status().message().find(dbPath()), std::string::npos);
  // Nothing was touched.
  EXPECT_EQ(rawQuery(dbPath(), "SELECT value FROM kv WHERE key = 'k'"), "v");
}

TEST_F(SqliteStoreTest, RefusesFileThatIsNotADatabase) {
  {
    std::ofstream out(dbPath(), std::ios::binary);
    for (int i = 0; i < 512; ++i) {
      out << "this is not a database ";
    }
  }
  Result<StorePtr> store = SqliteStore::open(dbPath());
  ASSERT_FALSE(store.isOk());
  EXPECT_NE(store.status().message().find(dbPath()), std::string::npos);
}

TEST_F(SqliteStoreTest, RefusesForeignDatabase) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dbPath().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE other(x)", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  Result<StorePtr> store = SqliteStore::open(dbPath());
  ASSERT_FALSE(store.isOk());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidParameter);
  EXPECT_NE(store.status().message().find("not a Hearth store"), std::string::npos);
  // The refused file was left as it was.
  EXPECT_EQ(rawQuery(dbPath(), "SELECT count(*) FROM sqlite_master"), "1");
  EXPECT_EQ(rawQuery(dbPath(), "PRAGMA journal_mode"), "delete");
}

TEST_F(SqliteStoreTest, RefusesUnopenablePath) {
  Result<StorePtr> store = SqliteStore::open(dir_.path() + "/missing/dir/state.db");
  ASSERT_FALSE(store.isOk());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidParameter);
  EXPECT_NE(store.status().message().find("missing/dir/state.db"), std::string::npos);
}

TEST_F(SqliteStoreTest, TwoStoresOnOneFileShareRevisions) {
  StorePtr first = openOk();
  StorePtr second = openOk();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  Result<int64_t> r1 = first->commit(Txn().put("k", "1"));
  ASSERT_TRUE(r1.isOk());
  Result<std::optional<Record>> seen = second->get("k");
  ASSERT_TRUE(seen.isOk() && seen->has_value());
  Result<int64_t> r2 = second->commit(Txn().expect("k", (*seen)->version).put("k", "2"));
  ASSERT_TRUE(r2.isOk());
  EXPECT_EQ(*r2, *r1 + 1);
  Result<int64_t> stale = first->commit(Txn().expect("k", *r1).put("k", "3"));
  ASSERT_FALSE(stale.isOk());
  EXPECT_EQ(stale.status().code(), StatusCode::kConflict);
}

TEST_F(SqliteStoreTest, InMemoryDatabaseWorks) {
  Result<StorePtr> store = SqliteStore::open(":memory:");
  ASSERT_TRUE(store.isOk()) << store.status().toString();
  Result<int64_t> revision = (*store)->commit(Txn().put("k", "v"));
  ASSERT_TRUE(revision.isOk());
  EXPECT_EQ(*revision, 1);
}

}  // namespace
}  // namespace hearth
