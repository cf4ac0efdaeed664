#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "store/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace hearth {

namespace store_internal {
class WatchRegistry;
}  // namespace store_internal

// A Store in one SQLite file, in WAL mode with synchronous=NORMAL: a commit survives a process
// crash; the last commits before a power loss may be lost, but the file stays consistent.
//
// Layout: kv(key, value, version) holds the records, meta('revision') the store revision, and
// schema_migrations(version) one row per applied migration. open() applies missing migrations,
// each in its own transaction, and refuses files written by a newer schema.
//
// A commit whose compares hold but that changes nothing (no puts, only deletes of absent keys)
// does not advance the revision and returns the current one, as etcd does.
//
// Threading: all methods are safe to call from any thread; one connection serves every call under
// a mutex. Watch callbacks run on a committing thread, outside that mutex. Other processes may open
// the same file; a write then waits up to the busy timeout and fails with kUnavailable. Watches
// only see commits made through this object. The store must outlive calls in flight; watch handles
// may outlive it.
class SqliteStore final : public Store {
 public:
  // The schema version this build creates and understands.
  static constexpr int kSchemaVersion = 1;
  // How long a statement waits for a lock held by another connection.
  static constexpr int kBusyTimeoutMs = 5000;

  // Opens or creates the store at `path` (":memory:" gives a private in-memory database, without
  // WAL). Errors: kInvalidParameter when the path cannot be opened, is not a SQLite file, holds a
  // database that is not a Hearth store, or has a schema newer than kSchemaVersion; kInternal when
  // the file is corrupt; kUnavailable when the file is locked or I/O fails.
  static Result<StorePtr> open(const std::string& path);

  ~SqliteStore() override;

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Result<std::optional<Record>> get(std::string_view key) override;
  Result<std::vector<Record>> list(std::string_view prefix, std::string_view start_after,
                                   size_t limit) override;
  Result<int64_t> commit(const Txn& txn) override;
  WatchHandlePtr watch(std::string prefix, WatchCallback callback) override;

 private:
  // Takes ownership of `db`.
  SqliteStore(std::string path, sqlite3* db);

  // Sets pragmas and brings the schema to kSchemaVersion. Called once, before the store is shared.
  Status initialize();
  // Refuses a file that holds another application's database or a newer schema; creates the
  // schema_migrations table in an empty file.
  Status adoptFile();
  // Applies the missing migrations, one transaction each.
  Status migrate();

  // Everything below REQUIRES: mu_ held (or the store not yet shared).

  // Returns the cached prepared statement for `sql`. REQUIRES: `sql` has static storage duration.
  Result<sqlite3_stmt*> statement(const char* sql);
  // Runs a statement that returns no rows of interest.
  Status run(const char* sql);
  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT; rolls back when body or COMMIT fails.
  Status inTransaction(const std::function<Status()>& body);
  // Runs a query and returns the first column of its first row as an integer.
  Result<int64_t> queryInt(const char* sql);
  // Returns the version of `key`, 0 when absent.
  Result<int64_t> readVersion(std::string_view key);
  // Applies a validated txn inside an open transaction; fills `changes` and `revision`.
  Status applyTxn(const Txn& txn, std::vector<Change>& changes, int64_t& revision);
  // A Status for the SQLite result code `rc`, with the connection's error message.
  Status sqliteError(int rc, std::string_view what) const;

  const std::string path_;
  std::mutex mu_;
  sqlite3* db_;                                                // Owned; guarded by mu_.
  std::unordered_map<const char*, sqlite3_stmt*> statements_;  // Owned; guarded by mu_.
  std::shared_ptr<store_internal::WatchRegistry> watches_;
};

}  // namespace hearth
