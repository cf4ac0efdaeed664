#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/store.h"

namespace hearth {

namespace store_internal {
class WatchRegistry;
}  // namespace store_internal

// An in-memory Store for tests. Behaves like SqliteStore (same validation, revisions, conflicts
// and watch delivery) but keeps nothing after destruction.
//
// Threading: all methods are safe to call from any thread. Watch callbacks run on a committing
// thread, outside the store lock. The store must outlive calls in flight; watch handles may
// outlive it.
class MemoryStore final : public Store {
 public:
  MemoryStore();
  ~MemoryStore() override;

  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  Result<std::optional<Record>> get(std::string_view key) override;
  Result<std::vector<Record>> list(std::string_view prefix, std::string_view start_after,
                                   size_t limit) override;
  Result<int64_t> commit(const Txn& txn) override;
  WatchHandlePtr watch(std::string prefix, WatchCallback callback) override;

 private:
  std::mutex mu_;
  std::map<std::string, Record, std::less<>> records_;  // Guarded by mu_.
  int64_t revision_ = 0;                                // Guarded by mu_.
  std::shared_ptr<store_internal::WatchRegistry> watches_;
};

StorePtr makeMemoryStore();

}  // namespace hearth
