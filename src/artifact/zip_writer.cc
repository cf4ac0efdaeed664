#include "artifact/zip_writer.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hearth {
namespace {

void put16(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v & 0xff));
  out->push_back(static_cast<char>((v >> 8) & 0xff));
}

void put32(std::string* out, uint32_t v) {
  put16(out, v & 0xffff);
  put16(out, v >> 16);
}

std::string deflateRaw(const std::string& data) {
  z_stream stream{};
  deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&stream, data.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

}  // namespace

std::string buildZip(const std::vector<ZipEntry>& entries) {
  std::string out;
  std::string central;
  constexpr uint32_t kDosTime = 0;                         // 00:00:00
  constexpr uint32_t kDosDate = (45 << 9) | (1 << 5) | 1;  // 2025-01-01
  for (const auto& entry : entries) {
    bool is_dir = !entry.name.empty() && entry.name.back() == '/';
    uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(entry.data.data()),
                                               static_cast<uInt>(entry.data.size())));
    std::string compressed = is_dir ? std::string() : deflateRaw(entry.data);
    uint16_t method = is_dir ? 0 : 8;
    uint32_t offset = static_cast<uint32_t>(out.size());
    uint32_t mode = is_dir ? 040755 : (entry.executable ? 0100755 : 0100644);

    put32(&out, 0x04034b50);
    put16(&out, 20);
    put16(&out, 0x0800);  // UTF-8 names
    put16(&out, method);
    put16(&out, kDosTime);
    put16(&out, kDosDate);
    put32(&out, crc);
    put32(&out, static_cast<uint32_t>(compressed.size()));
    put32(&out, static_cast<uint32_t>(entry.data.size()));
    put16(&out, static_cast<uint32_t>(entry.name.size()));
    put16(&out, 0);
    out += entry.name;
    out += compressed;

    put32(&central, 0x02014b50);
    put16(&central, (3 << 8) | 20);  // made by unix
    put16(&central, 20);
    put16(&central, 0x0800);
    put16(&central, method);
    put16(&central, kDosTime);
    put16(&central, kDosDate);
    put32(&central, crc);
    put32(&central, static_cast<uint32_t>(compressed.size()));
    put32(&central, static_cast<uint32_t>(entry.data.size()));
    put16(&central, static_cast<uint32_t>(entry.name.size()));
    put16(&central, 0);
    put16(&central, 0);
    put16(&central, 0);
    put16(&central, 0);
    put32(&central, mode << 16);
    put32(&central, offset);
    central += entry.name;
  }
  uint32_t central_offset = static_cast<uint32_t>(out.size());
  out += central;
  put32(&out, 0x06054b50);
  put16(&out, 0);
  put16(&out, 0);
  put16(&out, static_cast<uint32_t>(entries.size()));
  put16(&out, static_cast<uint32_t>(entries.size()));
  put32(&out, static_cast<uint32_t>(central.size()));
  put32(&out, central_offset);
  put16(&out, 0);
  return out;
}

Result<std::vector<ZipEntry>> readDirectoryForZip(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Status(StatusCode::kNotFound, "not a directory: " + dir);
  }
  std::vector<ZipEntry> entries;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) {
      continue;
    }
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream data;
    data << in.rdbuf();
    ZipEntry entry;
    entry.name = fs::relative(it->path(), dir, ec).generic_string();
    entry.data = data.str();
    auto perms = it->status(ec).permissions();
    entry.executable = (perms & fs::perms::owner_exec) != fs::perms::none;
    entries.push_back(std::move(entry));
  }
  if (ec) {
    return Status(StatusCode::kUnavailable, "cannot read " + dir + ": " + ec.message());
  }
  std::sort(entries.begin(), entries.end(),
            [](const ZipEntry& a, const ZipEntry& b) { return a.name < b.name; });
  return entries;
}

}  // namespace hearth
