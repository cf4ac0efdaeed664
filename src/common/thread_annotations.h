#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

// Clang's thread-safety analysis (-Wthread-safety). The macros expand to nothing elsewhere.
#if defined(__clang__)
#define HEARTH_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define HEARTH_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) HEARTH_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY HEARTH_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) HEARTH_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) HEARTH_THREAD_ANNOTATION(pt_guarded_by(x))
#define REQUIRES(...) HEARTH_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) HEARTH_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) HEARTH_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) HEARTH_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS HEARTH_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace hearth {

// A std::mutex the analysis understands.
class CAPABILITY("mutex") Mutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  // For std::condition_variable_any and the like.
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

// Holds a Mutex for its scope; unlock() releases it early (the destructor then does nothing).
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->lock(); }
  ~MutexLock() RELEASE() {
    if (held_) {
      mu_->unlock();
    }
  }
  void unlock() RELEASE() {
    held_ = false;
    mu_->unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
  bool held_ = true;
};

// A condition variable for Mutex. The caller holds the mutex; waiting releases it and takes it
// again before returning. Predicates are the caller's loop, so the analysis sees every access.
class CondVar {
 public:
  void wait(Mutex* mu) REQUIRES(mu) { cv_.wait(*mu); }
  // Returns false when `timeout` passed without a notification (or spuriously).
  template <typename Rep, typename Period>
  bool waitFor(Mutex* mu, std::chrono::duration<Rep, Period> timeout) REQUIRES(mu) {
    return cv_.wait_for(*mu, timeout) == std::cv_status::no_timeout;
  }
  void notifyOne() { cv_.notify_one(); }
  void notifyAll() { cv_.notify_all(); }

 private:
  std::condition_variable_any cv_;
};

}  // namespace hearth
