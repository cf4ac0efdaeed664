#pragma once

// The Asio face of IoWorkers. Internal to src/net: it includes Asio.

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "net/io_workers.h"

namespace hearth::net_internal {

class IoWorkersImpl final : public IoWorkers {
 public:
  explicit IoWorkersImpl(int threads);
  ~IoWorkersImpl() override;

  int size() const override { return static_cast<int>(loops_.size()); }
  void start() override;
  void stop() override;

  // The loop of worker `index`. Each runs on exactly one thread, so handlers posted to it from
  // that thread need no lock and wake nobody.
  boost::asio::io_context& loop(size_t index) { return loops_[index]->context; }
  // The calling thread's worker, or -1 when it is not one of these workers.
  int currentIndex() const;
  // A worker for new work: the caller's own, else the next in turn.
  size_t pick();
  // The next worker in turn (spreads accepted connections).
  size_t nextIndex() { return next_.fetch_add(1, std::memory_order_relaxed) % loops_.size(); }

 private:
  struct Loop {
    Loop() : context(1), guard(boost::asio::make_work_guard(context)) {}
    boost::asio::io_context context;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard;
  };
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
  std::mutex lifecycle_mu_;
  bool started_ = false;
  bool stopped_ = false;
};

// The IoWorkersImpl behind `workers`, or a new one of `threads` workers when it is null.
std::shared_ptr<IoWorkersImpl> workersOrOwn(const IoWorkersPtr& workers, int threads);

}  // namespace hearth::net_internal
