#include "store/scan.h"

#include <string>

namespace hearth {

Status scanPrefix(Store& store, std::string_view prefix, std::string_view start_after,
                  const std::function<bool(const Record&)>& visit, size_t page_size) {
  std::string after(start_after);
  for (;;) {
    HEARTH_ASSIGN_OR_RETURN(auto page, store.list(prefix, after, page_size));
    for (const auto& record : page) {
      if (!visit(record)) {
        return Status::ok();
      }
    }
    if (page.size() < page_size) {
      return Status::ok();
    }
    after = page.back().key;
  }
}

}  // namespace hearth
