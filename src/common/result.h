#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include "common/status.h"

namespace hearth {

// A value or an error Status. REQUIRES: a Result built from a Status holds a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::in_place_index<1>, std::move(status)) {  // NOLINT
    assert(!std::get<1>(v_).isOk());
  }

  bool isOk() const { return v_.index() == 0; }
  explicit operator bool() const { return isOk(); }

  // REQUIRES: isOk().
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // Returns Status::ok() when a value is held.
  Status status() const { return isOk() ? Status::ok() : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace hearth

#define HEARTH_CONCAT_INNER(a, b) a##b
#define HEARTH_CONCAT(a, b) HEARTH_CONCAT_INNER(a, b)

// HEARTH_ASSIGN_OR_RETURN(auto x, expr): evaluates expr (a Result<T>); returns its Status on error,
// otherwise moves the value into the declaration.
#define HEARTH_ASSIGN_OR_RETURN(decl, expr)                  \
  auto HEARTH_CONCAT(hearth_result_, __LINE__) = (expr);     \
  if (!HEARTH_CONCAT(hearth_result_, __LINE__).isOk()) {     \
    return HEARTH_CONCAT(hearth_result_, __LINE__).status(); \
  }                                                          \
  decl = std::move(HEARTH_CONCAT(hearth_result_, __LINE__)).value()
