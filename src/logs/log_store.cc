#include "logs/log_store.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace hearth {
namespace fs = std::filesystem;

namespace {

uint64_t fileSize(const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  return ec ? 0 : size;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void splitLines(std::string_view data, std::vector<std::string>* out) {
  size_t start = 0;
  while (start < data.size()) {
    size_t end = data.find('\n', start);
    if (end == std::string_view::npos) {
      break;  // a partial line is never written, but be safe
    }
    out->emplace_back(data.substr(start, end - start));
    start = end + 1;
  }
}

}  // namespace

Result<std::unique_ptr<LogStore>> LogStore::open(std::string dir, size_t max_bytes) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return Status(StatusCode::kInvalidParameter, "cannot create log dir " + dir);
  }
  return std::unique_ptr<LogStore>(new LogStore(std::move(dir), max_bytes));
}

std::string LogStore::path(const std::string& function, bool rotated) const {
  return dir_ + "/" + function + (rotated ? ".log.1" : ".log");
}

uint64_t LogStore::base(const std::string& function) const {
  std::ifstream in(dir_ + "/" + function + ".base");
  uint64_t value = 0;
  in >> value;
  return value;
}

Status LogStore::append(const std::string& function, const std::vector<std::string>& lines) {
  if (lines.empty()) {
    return Status::ok();
  }
  std::lock_guard lock(mu_);
  std::string current = path(function, false);
  uint64_t size = fileSize(current);
  if (size >= max_bytes_) {
    uint64_t next_base = base(function) + size;
    std::error_code ec;
    fs::rename(current, path(function, true), ec);
    std::ofstream(dir_ + "/" + function + ".base", std::ios::trunc) << next_base;
  }
  std::ofstream out(current, std::ios::app | std::ios::binary);
  for (const auto& line : lines) {
    out << line << '\n';
  }
  if (!out) {
    return Status(StatusCode::kUnavailable, "cannot write logs of " + function);
  }
  return Status::ok();
}

Result<LogStore::Page> LogStore::read(const std::string& function, uint64_t cursor,
                                      size_t max_lines) {
  std::lock_guard lock(mu_);
  uint64_t current_base = base(function);
  std::string rotated = path(function, true);
  uint64_t rotated_size = fileSize(rotated);
  uint64_t rotated_base = current_base >= rotated_size ? current_base - rotated_size : 0;
  Page page;
  page.cursor = std::max(cursor, rotated_base);
  auto consume = [&](const std::string& file, uint64_t file_base) {
    uint64_t size = fileSize(file);
    if (page.cursor >= file_base + size || page.lines.size() >= max_lines) {
      return;
    }
    std::string data = readFile(file);
    uint64_t offset = page.cursor - file_base;
    std::vector<std::string> lines;
    splitLines(std::string_view(data).substr(offset), &lines);
    for (auto& line : lines) {
      if (page.lines.size() >= max_lines) {
        break;
      }
      page.cursor += line.size() + 1;
      page.lines.push_back(std::move(line));
    }
  };
  if (rotated_size > 0) {
    consume(rotated, rotated_base);
  }
  consume(path(function, false), current_base);
  return page;
}

Result<LogStore::Page> LogStore::tail(const std::string& function, size_t count) {
  HEARTH_ASSIGN_OR_RETURN(Page all, read(function, 0, SIZE_MAX));
  if (all.lines.size() > count) {
    all.lines.erase(all.lines.begin(), all.lines.end() - static_cast<ptrdiff_t>(count));
  }
  return all;
}

}  // namespace hearth
