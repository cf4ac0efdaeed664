#pragma once

// Helpers shared by the Store implementations in this folder. Not part of the public interface:
// include store.h, memory_store.h or sqlite_store.h instead.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace hearth::store_internal {

// Returns the smallest string that sorts (bytewise) after every string starting with `prefix`, or
// std::nullopt when there is none (empty prefix, or a prefix made only of 0xff bytes).
inline std::optional<std::string> prefixUpperBound(std::string_view prefix) {
  std::string bound(prefix);
  while (!bound.empty() && static_cast<unsigned char>(bound.back()) == 0xff) {
    bound.pop_back();
  }
  if (bound.empty()) {
    return std::nullopt;
  }
  bound.back() = static_cast<char>(static_cast<unsigned char>(bound.back()) + 1);
  return bound;
}

// Checks the shape of a Txn before it touches storage: keys are non-empty, expected versions are
// not negative, and no key is written (put or deleted) more than once, as etcd requires.
inline Status validateTxn(const Txn& txn) {
  for (const Compare& compare : txn.compares) {
    if (compare.key.empty()) {
      return invalidParameter("txn compare has an empty key");
    }
    if (compare.expected_version < 0) {
      return invalidParameter("txn compare on key '" + compare.key + "' expects negative version " +
                              std::to_string(compare.expected_version));
    }
  }
  std::set<std::string_view> written;
  for (const auto& [key, value] : txn.puts) {
    if (key.empty()) {
      return invalidParameter("txn put has an empty key");
    }
    if (!written.insert(key).second) {
      return invalidParameter("txn writes key '" + key + "' more than once");
    }
  }
  for (const std::string& key : txn.deletes) {
    if (key.empty()) {
      return invalidParameter("txn delete has an empty key");
    }
    if (!written.insert(key).second) {
      return invalidParameter("txn writes key '" + key + "' more than once");
    }
  }
  return Status::ok();
}

inline Status compareFailed(const Compare& compare, int64_t actual_version) {
  return conflict("txn compare failed on key '" + compare.key + "': expected version " +
                  std::to_string(compare.expected_version) + ", found " +
                  std::to_string(actual_version));
}

// Fans the changes of each commit out to the registered watchers, in commit order.
//
// A store calls publish() while holding its own lock, right after the commit became durable, so
// batches are queued in commit order; then, with no store lock held, it calls deliver() with the
// returned ticket. Only one thread delivers at a time, so callbacks never run concurrently with
// each other. deliver() returns once the ticket's batch has reached every watcher, except when it
// is called from inside a callback (a commit made by a watcher): that batch is delivered by the
// outer delivery loop after the running callback returns.
//
// A watcher sees exactly the batches published after add() returned, so a caller that watches and
// then reads the store misses no change. Destroying a handle waits for a callback of that watcher
// running on another thread; after the destructor returns the callback is not called again. A
// handle may be destroyed from inside any callback, and may outlive the registry.
//
// Threading: every method is safe to call from any thread. Callbacks must not throw and must not
// block on a lock that a committing thread may hold.
class WatchRegistry : public std::enable_shared_from_this<WatchRegistry> {
 public:
  // REQUIRES: the registry is owned by a std::shared_ptr.
  WatchHandlePtr add(std::string prefix, WatchCallback callback) {
    auto watcher = std::make_shared<Watcher>();
    watcher->prefix = std::move(prefix);
    watcher->callback = std::move(callback);
    std::lock_guard lock(mu_);
    watcher->first_ticket = next_ticket_;
    watchers_.push_back(watcher);
    return std::make_unique<Handle>(weak_from_this(), std::move(watcher));
  }

  // Queues the changes of one commit. REQUIRES: `changes` is not empty; calls are made in commit
  // order. Returns the ticket to pass to deliver().
  uint64_t publish(std::vector<Change> changes) {
    std::lock_guard lock(mu_);
    uint64_t ticket = next_ticket_++;
    pending_.emplace_back(ticket, std::move(changes));
    return ticket;
  }

  // Delivers queued batches until `ticket` has been delivered (see the class comment for the
  // re-entrant case). REQUIRES: the caller holds no store lock.
  void deliver(uint64_t ticket) {
    std::unique_lock lock(mu_);
    const std::thread::id self = std::this_thread::get_id();
    if (drainer_ == self) {
      return;
    }
    delivered_cv_.wait(lock, [&] { return delivered_ >= ticket || !drainer_.has_value(); });
    if (delivered_ >= ticket) {
      return;
    }
    drainer_ = self;
    while (!pending_.empty()) {
      auto [batch_ticket, changes] = std::move(pending_.front());
      pending_.pop_front();
      std::vector<std::shared_ptr<Watcher>> watchers = watchers_;
      lock.unlock();
      for (const std::shared_ptr<Watcher>& watcher : watchers) {
        deliverTo(*watcher, batch_ticket, changes);
      }
      lock.lock();
      delivered_ = batch_ticket;
      delivered_cv_.notify_all();
    }
    drainer_.reset();
    delivered_cv_.notify_all();
  }

 private:
  struct Watcher {
    std::string prefix;
    WatchCallback callback;
    uint64_t first_ticket = 0;  // Batches with a smaller ticket predate the watch.
    // Held while the callback runs; recursive so a callback may destroy its own handle.
    std::recursive_mutex mu;
    bool active = true;  // Guarded by mu.
  };

  class Handle final : public WatchHandle {
   public:
    Handle(std::weak_ptr<WatchRegistry> registry, std::shared_ptr<Watcher> watcher)
        : registry_(std::move(registry)), watcher_(std::move(watcher)) {}
    ~Handle() override {
      {
        std::lock_guard lock(watcher_->mu);
        watcher_->active = false;
      }
      if (std::shared_ptr<WatchRegistry> registry = registry_.lock()) {
        registry->remove(watcher_.get());
      }
    }

   private:
    std::weak_ptr<WatchRegistry> registry_;
    std::shared_ptr<Watcher> watcher_;
  };

  void remove(const Watcher* watcher) {
    std::lock_guard lock(mu_);
    std::erase_if(watchers_, [&](const std::shared_ptr<Watcher>& w) { return w.get() == watcher; });
  }

  static void deliverTo(Watcher& watcher, uint64_t ticket,
                        const std::vector<Change>& changes) noexcept {
    if (ticket < watcher.first_ticket) {
      return;
    }
    std::vector<Change> matching;
    for (const Change& change : changes) {
      if (std::string_view(change.key).starts_with(watcher.prefix)) {
        matching.push_back(change);
      }
    }
    if (matching.empty()) {
      return;
    }
    std::lock_guard lock(watcher.mu);
    if (watcher.active) {
      watcher.callback(matching);
    }
  }

  std::mutex mu_;
  std::condition_variable delivered_cv_;
  std::vector<std::shared_ptr<Watcher>> watchers_;
  std::deque<std::pair<uint64_t, std::vector<Change>>> pending_;
  uint64_t next_ticket_ = 1;
  uint64_t delivered_ = 0;                  // Every ticket <= delivered_ has reached its watchers.
  std::optional<std::thread::id> drainer_;  // The thread running the delivery loop, if any.
};

}  // namespace hearth::store_internal
