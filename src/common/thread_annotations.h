#pragma once

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

// Holds a Mutex for its scope.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->lock(); }
  ~MutexLock() RELEASE() { mu_->unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

}  // namespace hearth
