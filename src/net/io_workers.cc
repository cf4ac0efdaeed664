#include "net/io_workers.h"

#include "net/io_workers_impl.h"

namespace hearth {
namespace net_internal {
namespace {

// The worker set and index of the calling thread, if it is a worker.
thread_local const IoWorkersImpl* current_workers = nullptr;
thread_local int current_worker = -1;

}  // namespace

IoWorkersImpl::IoWorkersImpl(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    loops_.push_back(std::make_unique<Loop>());
  }
}

IoWorkersImpl::~IoWorkersImpl() {
  stop();
}

void IoWorkersImpl::start() {
  std::lock_guard lock(lifecycle_mu_);
  if (started_ || stopped_) {
    return;
  }
  started_ = true;
  for (size_t i = 0; i < loops_.size(); ++i) {
    threads_.emplace_back([this, i] {
      current_workers = this;
      current_worker = static_cast<int>(i);
      loops_[i]->context.run();
      current_workers = nullptr;
      current_worker = -1;
    });
  }
}

void IoWorkersImpl::stop() {
  std::lock_guard lock(lifecycle_mu_);
  if (stopped_) {
    return;
  }
  stopped_ = true;
  for (auto& loop : loops_) {
    loop->guard.reset();
    loop->context.stop();
  }
  for (auto& thread : threads_) {
    if (thread.joinable()) {
      thread.join();
    }
  }
  threads_.clear();
}

int IoWorkersImpl::currentIndex() const {
  return current_workers == this ? current_worker : -1;
}

size_t IoWorkersImpl::pick() {
  int own = currentIndex();
  if (own >= 0) {
    return static_cast<size_t>(own);
  }
  return nextIndex();
}

std::shared_ptr<IoWorkersImpl> workersOrOwn(const IoWorkersPtr& workers, int threads) {
  if (workers) {
    auto impl = std::dynamic_pointer_cast<IoWorkersImpl>(workers);
    if (impl) {
      return impl;
    }
  }
  return std::make_shared<IoWorkersImpl>(threads);
}

}  // namespace net_internal

std::shared_ptr<IoWorkers> IoWorkers::create(int threads) {
  return std::make_shared<net_internal::IoWorkersImpl>(threads);
}

}  // namespace hearth
