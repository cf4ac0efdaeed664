#include "store/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>
#include <string>
#include <utility>

#include "store/store_internal.h"

namespace hearth {
namespace {

// One schema step. Steps run in order, each in its own transaction together with the insert of
// its version into schema_migrations. Never edit a released step; append a new one.
struct Migration {
  int version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
      CREATE TABLE kv(
        key TEXT PRIMARY KEY NOT NULL,
        value BLOB NOT NULL,
        version INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE meta(
        name TEXT PRIMARY KEY NOT NULL,
        value INTEGER NOT NULL
      );
      INSERT INTO meta(name, value) VALUES('revision', 0);
    )sql"},
};

static_assert(std::size(kMigrations) == SqliteStore::kSchemaVersion,
              "kSchemaVersion must name the last migration");

constexpr const char* kBeginSql = "BEGIN IMMEDIATE";
constexpr const char* kCommitSql = "COMMIT";
constexpr const char* kRollbackSql = "ROLLBACK";
constexpr const char* kHasMigrationsTableSql =
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";
constexpr const char* kCountUserObjectsSql =
    "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";
constexpr const char* kCreateMigrationsTableSql =
    "CREATE TABLE schema_migrations(version INTEGER PRIMARY KEY NOT NULL)";
constexpr const char* kSchemaVersionSql = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr const char* kRecordMigrationSql = "INSERT INTO schema_migrations(version) VALUES(?1)";
constexpr const char* kGetSql = "SELECT value, version FROM kv WHERE key = ?1";
constexpr const char* kVersionSql = "SELECT version FROM kv WHERE key = ?1";
constexpr const char* kListBoundedSql =
    "SELECT key, value, version FROM kv WHERE key > ?1 AND key >= ?2 AND key < ?3 "
    "ORDER BY key LIMIT ?4";
constexpr const char* kListUnboundedSql =
    "SELECT key, value, version FROM kv WHERE key > ?1 AND key >= ?2 ORDER BY key LIMIT ?3";
constexpr const char* kUpsertSql =
    "INSERT INTO kv(key, value, version) VALUES(?1, ?2, ?3) "
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = excluded.version";
constexpr const char* kDeleteSql = "DELETE FROM kv WHERE key = ?1";
constexpr const char* kReadRevisionSql = "SELECT value FROM meta WHERE name = 'revision'";
constexpr const char* kWriteRevisionSql = "UPDATE meta SET value = ?1 WHERE name = 'revision'";

StatusCode codeForSqlite(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_PROTOCOL:
    case SQLITE_NOMEM:
      return StatusCode::kUnavailable;
    case SQLITE_CANTOPEN:
    case SQLITE_NOTADB:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return StatusCode::kInvalidParameter;
    default:
      return StatusCode::kInternal;
  }
}

Status checkNotNewer(int64_t version) {
  if (version > SqliteStore::kSchemaVersion) {
    return invalidParameter("the store has schema version " + std::to_string(version) +
                            ", newer than version " + std::to_string(SqliteStore::kSchemaVersion) +
                            " that this build understands");
  }
  return Status::ok();
}

// Resets a cached statement and clears its bindings when the scope ends, so that statements bound
// with SQLITE_STATIC never outlive the bound data and never keep a read transaction open.
class StatementScope {
 public:
  explicit StatementScope(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~StatementScope() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  StatementScope(const StatementScope&) = delete;
  StatementScope& operator=(const StatementScope&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

// Binds without copying. REQUIRES: `text` outlives the binding (see StatementScope).
int bindText(sqlite3_stmt* stmt, int index, std::string_view text) {
  static constexpr char kEmpty[] = "";
  return sqlite3_bind_text64(stmt, index, text.empty() ? kEmpty : text.data(), text.size(),
                             SQLITE_STATIC, SQLITE_UTF8);
}

int bindBlob(sqlite3_stmt* stmt, int index, std::string_view bytes) {
  static constexpr char kEmpty[] = "";
  return sqlite3_bind_blob64(stmt, index, bytes.empty() ? kEmpty : bytes.data(), bytes.size(),
                             SQLITE_STATIC);
}

std::string columnText(sqlite3_stmt* stmt, int index) {
  const unsigned char* text = sqlite3_column_text(stmt, index);
  const int size = sqlite3_column_bytes(stmt, index);
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text), size);
}

std::string columnBlob(sqlite3_stmt* stmt, int index) {
  const void* bytes = sqlite3_column_blob(stmt, index);
  const int size = sqlite3_column_bytes(stmt, index);
  return bytes == nullptr ? std::string() : std::string(static_cast<const char*>(bytes), size);
}

// Runs `sql` (one or more statements) and stores the first column of the first row, if any.
int execute(sqlite3* db, const char* sql, std::string* first_value) {
  auto on_row = [](void* out, int columns, char** values, char** /*names*/) -> int {
    auto* first = static_cast<std::string*>(out);
    if (first != nullptr && first->empty() && columns > 0 && values[0] != nullptr) {
      *first = values[0];
    }
    return 0;
  };
  return sqlite3_exec(db, sql, on_row, first_value, nullptr);
}

}  // namespace

SqliteStore::SqliteStore(std::string path, sqlite3* db)
    : path_(std::move(path)),
      db_(db),
      watches_(std::make_shared<store_internal::WatchRegistry>()) {}

SqliteStore::~SqliteStore() {
  for (auto& [sql, stmt] : statements_) {
    sqlite3_finalize(stmt);
  }
  sqlite3_close_v2(db_);
}

Result<StorePtr> SqliteStore::open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Status(codeForSqlite(rc), "cannot open store at '" + path + "': " + message);
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, db));
  Status status = store->initialize();
  if (!status.isOk()) {
    return Status(status.code(), "cannot open store at '" + path + "': " + status.message());
  }
  return StorePtr(std::move(store));
}

Status SqliteStore::initialize() {
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  // Checked before anything else so that a refused file is left as it was.
  HEARTH_RETURN_IF_ERROR(adoptFile());
  std::string mode;
  int rc = execute(db_, "PRAGMA journal_mode=WAL", &mode);
  if (rc != SQLITE_OK) {
    return sqliteError(rc, "enabling WAL");
  }
  if (mode != "wal" && path_ != ":memory:") {
    return invalidParameter("the file does not support WAL (journal mode is '" + mode + "')");
  }
  rc = execute(db_, "PRAGMA synchronous=NORMAL", nullptr);
  if (rc != SQLITE_OK) {
    return sqliteError(rc, "setting synchronous=NORMAL");
  }
  return migrate();
}

Status SqliteStore::adoptFile() {
  return inTransaction([&]() -> Status {
    HEARTH_ASSIGN_OR_RETURN(int64_t has_table, queryInt(kHasMigrationsTableSql));
    if (has_table == 0) {
      HEARTH_ASSIGN_OR_RETURN(int64_t user_objects, queryInt(kCountUserObjectsSql));
      if (user_objects > 0) {
        return invalidParameter("the database is not a Hearth store (no schema_migrations table)");
      }
      HEARTH_RETURN_IF_ERROR(run(kCreateMigrationsTableSql));
    }
    HEARTH_ASSIGN_OR_RETURN(int64_t version, queryInt(kSchemaVersionSql));
    return checkNotNewer(version);
  });
}

Status SqliteStore::migrate() {
  for (const Migration& migration : kMigrations) {
    Status migrated = inTransaction([&]() -> Status {
      // Re-read inside the write lock: another process may have migrated meanwhile.
      HEARTH_ASSIGN_OR_RETURN(int64_t version, queryInt(kSchemaVersionSql));
      HEARTH_RETURN_IF_ERROR(checkNotNewer(version));
      if (version >= migration.version) {
        return Status::ok();
      }
      if (version != migration.version - 1) {
        return internalError("schema version " + std::to_string(version) +
                             " cannot be migrated to " + std::to_string(migration.version));
      }
      const int rc = execute(db_, migration.sql, nullptr);
      if (rc != SQLITE_OK) {
        return sqliteError(rc, "applying migration " + std::to_string(migration.version));
      }
      HEARTH_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, statement(kRecordMigrationSql));
      StatementScope scope(stmt);
      sqlite3_bind_int64(stmt, 1, migration.version);
      const int step = sqlite3_step(stmt);
      if (step != SQLITE_DONE) {
        return sqliteError(step, "recording migration " + std::to_string(migration.version));
      }
      return Status::ok();
    });
    HEARTH_RETURN_IF_ERROR(migrated);
  }
  return Status::ok();
}

Result<sqlite3_stmt*> SqliteStore::statement(const char* sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) {
    return it->second;
  }
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return sqliteError(rc, std::string("preparing '") + sql + "'");
  }
  statements_.emplace(sql, stmt);
  return stmt;
}

Status SqliteStore::run(const char* sql) {
  HEARTH_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, statement(sql));
  StatementScope scope(stmt);
  const int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    return sqliteError(rc, sql);
  }
  return Status::ok();
}

Result<int64_t> SqliteStore::queryInt(const char* sql) {
  HEARTH_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, statement(sql));
  StatementScope scope(stmt);
  const int rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) {
    return rc == SQLITE_DONE ? internalError(std::string("no row from '") + sql + "'")
                             : sqliteError(rc, sql);
  }
  return static_cast<int64_t>(sqlite3_column_int64(stmt, 0));
}

Status SqliteStore::inTransaction(const std::function<Status()>& body) {
  HEARTH_RETURN_IF_ERROR(run(kBeginSql));
  Status status = body();
  if (status.isOk()) {
    status = run(kCommitSql);
  }
  if (!status.isOk() && sqlite3_get_autocommit(db_) == 0) {
    run(kRollbackSql).permitUnchecked();
  }
  return status;
}

Result<int64_t> SqliteStore::readVersion(std::string_view key) {
  HEARTH_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, statement(kVersionSql));
  StatementScope scope(stmt);
  if (const int rc = bindText(stmt, 1, key); rc != SQLITE_OK) {
    return sqliteError(rc, "binding key");
  }
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) {
    return int64_t{0};
  }
  if (rc != SQLITE_ROW) {
    return sqliteError(rc, "reading version");
  }
  return static_cast<int64_t>(sqlite3_column_int64(stmt, 0));
}

Status SqliteStore::applyTxn(const Txn& txn, std::vector<Change>& changes, int64_t& revision) {
  for (const Compare& compare : txn.compares) {
    HEARTH_ASSIGN_OR_RETURN(int64_t actual, readVersion(compare.key));
    if (actual != compare.expected_version) {
      return store_internal::compareFailed(compare, actual);
    }
  }
  HEARTH_ASSIGN_OR_RETURN(const int64_t current, queryInt(kReadRevisionSql));
  const int64_t next = current + 1;

  for (const auto& [key, value] : txn.puts) {
    HEARTH_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, statement(kUpsertSql));
    StatementScope scope(stmt);
    int rc = bindText(stmt, 1, key);
    if (rc == SQLITE_OK) {
      rc = bindBlob(stmt, 2, value);
    }
    if (rc == SQLITE_OK) {
      rc = sqlite3_bind_int64(stmt, 3, next);
    }
    if (rc != SQLITE_OK) {
      return sqliteError(rc, "binding put of '" + key + "'");
    }
    rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) {
      return sqliteError(rc, "writing '" + key + "'");
    }
    changes.push_back(Change{key, value, next, false});
  }

  for (const std::string& key : txn.deletes) {
    HEARTH_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, statement(kDeleteSql));
    StatementScope scope(stmt);
    int rc = bindText(stmt, 1, key);
    if (rc != SQLITE_OK) {
      return sqliteError(rc, "binding delete of '" + key + "'");
    }
    rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) {
      return sqliteError(rc, "deleting '" + key + "'");
    }
    if (sqlite3_changes(db_) > 0) {
      changes.push_back(Change{key, "", next, true});
    }
  }

  if (changes.empty()) {
    revision = current;
    return Status::ok();
  }
  HEARTH_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, statement(kWriteRevisionSql));
  StatementScope scope(stmt);
  sqlite3_bind_int64(stmt, 1, next);
  const int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) {
    return sqliteError(rc, "writing the revision");
  }
  if (sqlite3_changes(db_) != 1) {
    return internalError("the meta table has no revision row");
  }
  revision = next;
  return Status::ok();
}

Status SqliteStore::sqliteError(int rc, std::string_view what) const {
  std::string message(what);
  message += ": ";
  message += sqlite3_errmsg(db_);
  return Status(codeForSqlite(rc), std::move(message));
}

Result<std::optional<Record>> SqliteStore::get(std::string_view key) {
  std::lock_guard lock(mu_);
  HEARTH_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, statement(kGetSql));
  StatementScope scope(stmt);
  if (const int rc = bindText(stmt, 1, key); rc != SQLITE_OK) {
    return sqliteError(rc, "binding key");
  }
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) {
    return std::optional<Record>();
  }
  if (rc != SQLITE_ROW) {
    return sqliteError(rc, "reading '" + std::string(key) + "'");
  }
  return std::optional<Record>(Record{std::string(key), columnBlob(stmt, 0),
                                      static_cast<int64_t>(sqlite3_column_int64(stmt, 1))});
}

Result<std::vector<Record>> SqliteStore::list(std::string_view prefix, std::string_view start_after,
                                              size_t limit) {
  std::vector<Record> out;
  if (limit == 0) {
    return out;
  }
  const std::optional<std::string> upper = store_internal::prefixUpperBound(prefix);
  const auto sql_limit = static_cast<sqlite3_int64>(
      std::min<size_t>(limit, static_cast<size_t>(std::numeric_limits<sqlite3_int64>::max())));

  std::lock_guard lock(mu_);
  HEARTH_ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                          statement(upper.has_value() ? kListBoundedSql : kListUnboundedSql));
  StatementScope scope(stmt);
  int rc = bindText(stmt, 1, start_after);
  if (rc == SQLITE_OK) {
    rc = bindText(stmt, 2, prefix);
  }
  if (rc == SQLITE_OK && upper.has_value()) {
    rc = bindText(stmt, 3, *upper);
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_bind_int64(stmt, upper.has_value() ? 4 : 3, sql_limit);
  }
  if (rc != SQLITE_OK) {
    return sqliteError(rc, "binding list");
  }
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    out.push_back(Record{columnText(stmt, 0), columnBlob(stmt, 1),
                         static_cast<int64_t>(sqlite3_column_int64(stmt, 2))});
  }
  if (rc != SQLITE_DONE) {
    return sqliteError(rc, "listing '" + std::string(prefix) + "'");
  }
  return out;
}

Result<int64_t> SqliteStore::commit(const Txn& txn) {
  HEARTH_RETURN_IF_ERROR(store_internal::validateTxn(txn));
  int64_t revision = 0;
  uint64_t ticket = 0;
  {
    std::lock_guard lock(mu_);
    std::vector<Change> changes;
    HEARTH_RETURN_IF_ERROR(inTransaction([&] { return applyTxn(txn, changes, revision); }));
    if (!changes.empty()) {
      ticket = watches_->publish(std::move(changes));
    }
  }
  if (ticket != 0) {
    watches_->deliver(ticket);
  }
  return revision;
}

WatchHandlePtr SqliteStore::watch(std::string prefix, WatchCallback callback) {
  return watches_->add(std::move(prefix), std::move(callback));
}

}  // namespace hearth
