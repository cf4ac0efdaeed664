#include "cli/table.h"

#include <algorithm>

namespace hearth {

void Table::print(std::ostream& out) const {
  std::vector<size_t> widths(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) {
    widths[i] = headers_[i].size();
    for (const auto& row : rows_) {
      if (i < row.size()) {
        widths[i] = std::max(widths[i], row[i].size());
      }
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < headers_.size(); ++i) {
      std::string cell = i < cells.size() ? cells[i] : "";
      out << cell;
      if (i + 1 < headers_.size()) {
        out << std::string(widths[i] - cell.size() + 2, ' ');
      }
    }
    out << "\n";
  };
  line(headers_);
  for (const auto& row : rows_) {
    line(row);
  }
}

}  // namespace hearth
