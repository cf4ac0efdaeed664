#pragma once

#include <functional>
#include <string_view>

#include "store/store.h"

namespace hearth {

// Visits every record under `prefix` after `start_after`, in key order, reading the Store a page
// at a time so no read holds more than `page_size` records. `visit` returns false to stop early.
// A Store error ends the scan and is returned.
Status scanPrefix(Store& store, std::string_view prefix, std::string_view start_after,
                  const std::function<bool(const Record&)>& visit, size_t page_size = 500);

// The most operations Hearth puts in one transaction: etcd's default limit (128), less room for
// the compares that go with them.
inline constexpr size_t kMaxTxnOps = 100;

}  // namespace hearth
