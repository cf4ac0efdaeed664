#include "cli/code_loader.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "artifact/zip_writer.h"

namespace hearth {

Result<std::string> loadCode(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    HEARTH_ASSIGN_OR_RETURN(auto entries, readDirectoryForZip(path));
    if (entries.empty()) {
      return invalidParameter("directory " + path + " has no files");
    }
    return buildZip(entries);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status(StatusCode::kNotFound, "cannot read " + path);
  }
  std::ostringstream data;
  data << in.rdbuf();
  return data.str();
}

}  // namespace hearth
