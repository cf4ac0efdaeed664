#include "store/memory_store.h"

#include <utility>

#include "store/store_internal.h"

namespace hearth {

MemoryStore::MemoryStore() : watches_(std::make_shared<store_internal::WatchRegistry>()) {}

MemoryStore::~MemoryStore() = default;

Result<std::optional<Record>> MemoryStore::get(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = records_.find(key);
  if (it == records_.end()) {
    return std::optional<Record>();
  }
  return std::optional<Record>(it->second);
}

Result<std::vector<Record>> MemoryStore::list(std::string_view prefix, std::string_view start_after,
                                              size_t limit) {
  std::vector<Record> out;
  std::lock_guard lock(mu_);
  auto it = start_after < prefix ? records_.lower_bound(prefix) : records_.upper_bound(start_after);
  for (; it != records_.end() && out.size() < limit; ++it) {
    if (!std::string_view(it->first).starts_with(prefix)) {
      break;
    }
    out.push_back(it->second);
  }
  return out;
}

Result<int64_t> MemoryStore::commit(const Txn& txn) {
  HEARTH_RETURN_IF_ERROR(store_internal::validateTxn(txn));
  int64_t revision = 0;
  uint64_t ticket = 0;
  {
    std::lock_guard lock(mu_);
    for (const Compare& compare : txn.compares) {
      auto it = records_.find(compare.key);
      int64_t actual = it == records_.end() ? 0 : it->second.version;
      if (actual != compare.expected_version) {
        return store_internal::compareFailed(compare, actual);
      }
    }
    const int64_t next = revision_ + 1;
    std::vector<Change> changes;
    for (const auto& [key, value] : txn.puts) {
      records_.insert_or_assign(key, Record{key, value, next});
      changes.push_back(Change{key, value, next, false});
    }
    for (const std::string& key : txn.deletes) {
      if (records_.erase(key) > 0) {
        changes.push_back(Change{key, "", next, true});
      }
    }
    if (!changes.empty()) {
      revision_ = next;
      ticket = watches_->publish(std::move(changes));
    }
    revision = revision_;
  }
  if (ticket != 0) {
    watches_->deliver(ticket);
  }
  return revision;
}

WatchHandlePtr MemoryStore::watch(std::string prefix, WatchCallback callback) {
  return watches_->add(std::move(prefix), std::move(callback));
}

StorePtr makeMemoryStore() {
  return std::make_unique<MemoryStore>();
}

}  // namespace hearth
