#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace hearth {

// One versioned record. `version` is the store-wide revision at which the record was last
// written (etcd's mod_revision); it is > 0 for every stored record.
struct Record {
  std::string key;
  std::string value;
  int64_t version = 0;
};

// A condition checked atomically at commit time. expected_version == 0 means "key is absent".
struct Compare {
  std::string key;
  int64_t expected_version = 0;
};

// An atomic multi-record update: every compare must hold, then every put and delete applies, all
// or nothing. The shape is what both SQLite (one transaction) and etcd (one Txn) can execute.
struct Txn {
  std::vector<Compare> compares;
  std::vector<std::pair<std::string, std::string>> puts;  // key, value
  std::vector<std::string> deletes;                       // keys; deleting a missing key is fine

  Txn& expect(std::string key, int64_t version) {
    compares.push_back({std::move(key), version});
    return *this;
  }
  Txn& put(std::string key, std::string value) {
    puts.emplace_back(std::move(key), std::move(value));
    return *this;
  }
  Txn& del(std::string key) {
    deletes.push_back(std::move(key));
    return *this;
  }
};

// A change delivered to watchers after a commit. `deleted` is true for deletes; then value is "".
struct Change {
  std::string key;
  std::string value;
  int64_t version = 0;
  bool deleted = false;
};

using WatchCallback = std::function<void(const std::vector<Change>&)>;

// RAII registration of a watch; destroying it stops delivery.
class WatchHandle {
 public:
  virtual ~WatchHandle() = default;
};
using WatchHandlePtr = std::unique_ptr<WatchHandle>;

// The state store. Keys are UTF-8 strings ordered bytewise; values are opaque bytes (Hearth stores
// JSON). Implementations are safe to call from any thread. Calls may block on I/O, so they belong
// on the control plane, never on the invoke path.
class Store {
 public:
  virtual ~Store() = default;

  // Returns the record, or std::nullopt when the key is absent.
  virtual Result<std::optional<Record>> get(std::string_view key) = 0;

  // Returns up to `limit` records whose keys start with `prefix` and sort strictly after
  // `start_after` (empty = from the beginning), in key order.
  virtual Result<std::vector<Record>> list(std::string_view prefix, std::string_view start_after,
                                           size_t limit) = 0;

  // Applies `txn` atomically. Returns kConflict (and changes nothing) when a compare fails.
  // On success returns the new store revision.
  virtual Result<int64_t> commit(const Txn& txn) = 0;

  // Registers `callback` for changes to keys under `prefix`. Callbacks run after the commit that
  // caused them, on the committing thread or a store thread; they must not call back into the
  // store synchronously with a lock held and must be quick.
  virtual WatchHandlePtr watch(std::string prefix, WatchCallback callback) = 0;
};

using StorePtr = std::unique_ptr<Store>;

}  // namespace hearth
